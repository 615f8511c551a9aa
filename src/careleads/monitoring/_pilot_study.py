"""Pilots as a use case: define one, follow it, report on it, and simulate routing outcomes to plan it.

A pilot runs scoring on one service line, region or queue against the prior routing method (the rule
baseline's order, or first-come order), either

- by random assignment (``mode="random"``): each lead in scope is put in the scoring or the prior arm from
  its id and the pilot seed (:func:`pilot_arms`; the router and the report compute the same arm), and the
  report compares conversion and time to first contact between the arms (:func:`pilot_report`); or
- in shadow mode (``mode="shadow"``): the prior method is acted on, the model only ranks, and the report
  asks which ranking would have put more eventual converters in the day's call capacity
  (:func:`shadow_comparison`).

Definitions are JSON files in a pilots folder (:func:`start_pilot`, :func:`load_pilot`). The routing
simulator (:func:`simulate_routing`) says who gets contacted first under each arm given a capacity of calls
per day, and hence converts with the simulator's true probabilities, so the statistics can be checked on
cases where the truth is known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.errors import ConfigError, InputError, NotFoundError
from careleads.monitoring._sources import MonitorData, MonitorSource, scored_frame
from careleads.settings import MonitorSettings
from careleads.stats import (
    CONTROL_ARM,
    TREATMENT_ARM,
    PilotReport,
    ShadowComparison,
    assign_arms,
    pct,
    pilot_report,
    required_leads_per_arm,
    shadow_comparison,
)
from careleads.types import JSONDict, PathLikeStr

__all__ = [
    "PRIOR_METHODS",
    "PILOT_MODES",
    "PilotDefinition",
    "PilotResult",
    "PilotStatus",
    "evaluate_pilot",
    "list_pilots",
    "load_pilot",
    "pilot_arms",
    "pilot_frame",
    "pilot_status",
    "simulate_routing",
    "start_pilot",
]

PriorMethod = Literal["rules", "first_come"]
PilotMode = Literal["random", "shadow"]
PRIOR_METHODS: tuple[str, ...] = ("rules", "first_come")
PILOT_MODES: tuple[str, ...] = ("random", "shadow")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@dataclass(frozen=True)
class PilotDefinition:
    """What a pilot compares, where and from when.

    Parameters
    ----------
    name : str
        Short lowercase name (letters, digits, ``-`` and ``_``); the file is ``<name>.json``.
    start : str
        First day of the pilot (ISO date); leads scored on or after it take part.
    scope : dict of str to str
        Which leads: field and value, e.g. ``{"service_line": "orthopedics"}``, ``{"region": "north"}`` or
        ``{"queue": "intake"}`` (a column of the decisions file); empty means every lead.
    prior : {"first_come", "rules"}
        The routing the scoring arm is compared with: first-come order, or the rule baseline's order.
    mode : {"random", "shadow"}
        Random assignment of leads to the arms, or shadow mode (score without acting).
    seed : int
        Seed of the random assignment.
    treatment_share : float
        Expected share of leads in the scoring arm (random mode).
    capacity_per_day : int, optional
        Calls the team makes per day in scope; needed in shadow mode.
    end : str, optional
        Last day (excluded); default open.
    created_at : str
        When the pilot was defined (UTC, ISO).
    """

    name: str
    start: str
    scope: dict[str, str] = field(default_factory=dict)
    prior: PriorMethod = "first_come"
    mode: PilotMode = "random"
    seed: int = 0
    treatment_share: float = 0.5
    capacity_per_day: int | None = None
    end: str | None = None
    created_at: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"pilot name {self.name!r} must be lowercase letters, digits, '-' or '_' (at most 63)."
            )
        if self.prior not in PRIOR_METHODS:
            raise ConfigError(f"pilot prior method {self.prior!r} must be one of {list(PRIOR_METHODS)}.")
        if self.mode not in PILOT_MODES:
            raise ConfigError(f"pilot mode {self.mode!r} must be one of {list(PILOT_MODES)}.")
        if not 0 < self.treatment_share < 1:
            raise ConfigError(f"pilot treatment share must be between 0 and 1, got {self.treatment_share}.")
        if self.mode == "shadow" and not self.capacity_per_day:
            raise ConfigError("a shadow pilot needs capacity_per_day: how many calls the team makes a day.")
        if self.capacity_per_day is not None and self.capacity_per_day < 1:
            raise ConfigError(f"capacity_per_day must be at least 1, got {self.capacity_per_day}.")
        for label, value in (("start", self.start), ("end", self.end)):
            if value is None:
                continue
            try:
                pd.Timestamp(value)
            except ValueError as exc:
                raise ConfigError(f"pilot {label} {value!r} is not a date (use YYYY-MM-DD): {exc}") from None
        if self.end is not None and pd.Timestamp(self.end) <= pd.Timestamp(self.start):
            raise ConfigError(f"pilot end {self.end} must come after its start {self.start}.")

    def describe(self) -> str:
        """One line: scope, arms, design."""
        scope = ", ".join(f"{k}={v}" for k, v in self.scope.items()) or "all leads"
        prior = "the rule baseline's order" if self.prior == "rules" else "first-come order"
        design = (
            f"random assignment ({pct(self.treatment_share)} to scoring, seed {self.seed})"
            if self.mode == "random"
            else f"shadow mode ({self.capacity_per_day} calls a day)"
        )
        return f"Pilot {self.name}: scoring against {prior} on {scope}, {design}, from {self.start}."

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PilotDefinition:
        """Read a definition written by :meth:`to_dict`; unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"pilot definition has unknown field(s) {unknown}; known: {sorted(known)}.")
        values = dict(data)
        values["scope"] = {str(k): str(v) for k, v in dict(values.get("scope") or {}).items()}
        return cls(**values)


def start_pilot(definition: PilotDefinition, folder: PathLikeStr) -> Path:
    """Save a new pilot definition as ``folder/<name>.json``; an existing pilot is never overwritten."""
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{definition.name}.json"
    if path.exists():
        raise InputError(f"pilot {definition.name!r} already exists at {path}; choose another name.")
    stamped = definition
    if not definition.created_at:
        stamped = PilotDefinition(
            **{**definition.to_dict(), "created_at": datetime.now(UTC).replace(microsecond=0).isoformat()}
        )
    path.write_text(json.dumps(stamped.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def load_pilot(name: str, folder: PathLikeStr) -> PilotDefinition:
    """The definition of pilot ``name`` from ``folder``."""
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        known = [p.stem for p in sorted(Path(folder).glob("*.json"))] if Path(folder).is_dir() else []
        raise NotFoundError(f"no pilot {name!r} in {folder}; known pilots: {known or 'none'}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    return PilotDefinition.from_dict(data)


def list_pilots(folder: PathLikeStr) -> list[PilotDefinition]:
    """Every pilot defined in ``folder``, by name."""
    base = Path(folder)
    return [load_pilot(p.stem, base) for p in sorted(base.glob("*.json"))] if base.is_dir() else []


def pilot_arms(definition: PilotDefinition, lead_ids: Any) -> npt.NDArray[np.str_]:
    """The arm of each lead under ``definition`` (random mode): what the router and the report both use."""
    return assign_arms(lead_ids, seed=definition.seed, treatment_share=definition.treatment_share)


def pilot_frame(
    definition: PilotDefinition, data: MonitorData, settings: MonitorSettings | None = None
) -> pd.DataFrame:
    """The pilot's leads: in scope, scored from the start (to the end), with arm, priorities and outcome.

    Columns: those of :func:`careleads.monitoring.scored_frame` plus ``day``, ``arm`` (random mode; an
    ``arm`` column of the decisions file wins), ``model_priority`` and ``prior_priority`` (higher first).
    """
    frame, _notes = scored_frame(data, settings)
    leads = data.leads.reset_index(drop=True)
    for key in definition.scope:
        if key in leads.columns:
            column = leads[key]
        elif data.decisions is not None and key in data.decisions.columns:
            table = data.decisions.assign(lead_id=data.decisions["lead_id"].astype(str))
            column = frame["lead_id"].map(table.drop_duplicates("lead_id").set_index("lead_id")[key])
        else:
            raise InputError(
                f"pilot scope field {key!r} is neither a lead column nor a column of the decisions file."
            )
        frame[key] = column.astype("string").to_numpy()
    in_scope = pd.Series(True, index=frame.index)
    for key, value in definition.scope.items():
        in_scope &= (frame[key] == value).fillna(False).astype(bool)
    in_time = frame["as_of"] >= pd.Timestamp(definition.start)
    if definition.end is not None:
        in_time &= frame["as_of"] < pd.Timestamp(definition.end)
    part = frame[in_scope & in_time].copy()
    part["day"] = part["created_at"].dt.floor("D")
    if definition.mode == "random":
        given = None
        if data.decisions is not None and "arm" in data.decisions.columns:
            table = data.decisions.assign(lead_id=data.decisions["lead_id"].astype(str))
            given = part["lead_id"].map(table.drop_duplicates("lead_id").set_index("lead_id")["arm"])
        arms = pilot_arms(definition, part["lead_id"].tolist())
        part["arm"] = arms if given is None else given.fillna(pd.Series(arms, index=part.index)).to_numpy()
    part["model_priority"] = part["probability"].to_numpy(dtype=float)
    part["prior_priority"] = _prior_priority(definition, data, part)
    return part


def _prior_priority(definition: PilotDefinition, data: MonitorData, part: pd.DataFrame) -> npt.NDArray[Any]:
    if definition.prior == "first_come":
        # earlier leads first: the negative creation time, so higher still means sooner
        seconds = part["created_at"].astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
        return np.asarray(-seconds, dtype=float)
    fallback = data.model.fallback
    if fallback is None:
        raise InputError(
            f"model {data.model.version} has no rule baseline to compare with; use prior 'first_come'."
        )
    if len(part) == 0:
        return np.zeros(0)
    return np.asarray(fallback.predict_proba(part[data.model.features])[:, 1], dtype=float)


@dataclass(frozen=True)
class PilotStatus:
    """How far a pilot has come: leads so far, per arm, with outcomes matured or still open."""

    definition: PilotDefinition
    n_leads: int
    arms: dict[str, dict[str, int]]
    first_lead: str | None
    last_lead: str | None
    n_needed_per_arm: int

    def summary_lines(self) -> list[str]:
        """The definition, then counts per arm and how many more leads are needed."""
        d = self.definition
        lines = [d.describe()]
        if self.n_leads == 0:
            lines.append("No lead in scope has been scored since the start yet.")
            return lines
        lines.append(f"{self.n_leads:,} leads in scope from {self.first_lead} to {self.last_lead}.")
        for arm, counts in self.arms.items():
            lines.append(
                f"{arm.capitalize()}: {counts['n']:,} leads, {counts['n_matured']:,} with a known outcome "
                f"({counts['n_converted']:,} converted), {counts['n_open']:,} still open."
            )
        matured = min((c["n_matured"] for c in self.arms.values()), default=0)
        if matured < self.n_needed_per_arm:
            lines.append(
                f"About {self.n_needed_per_arm:,} leads with known outcomes are needed per arm; "
                f"{self.n_needed_per_arm - matured:,} to go in the smaller arm."
            )
        else:
            lines.append("Enough outcomes have matured: run `careleads pilot report`.")
        return lines

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict, with the summary lines."""
        return {
            "definition": self.definition.to_dict(),
            "n_leads": self.n_leads,
            "arms": self.arms,
            "first_lead": self.first_lead,
            "last_lead": self.last_lead,
            "n_needed_per_arm": self.n_needed_per_arm,
            "summary": self.summary_lines(),
        }


def pilot_status(
    definition: PilotDefinition,
    source: MonitorSource | MonitorData,
    settings: MonitorSettings | None = None,
) -> PilotStatus:
    """Counts of a pilot so far (leads per arm, matured, converted, still open)."""
    cfg = settings or MonitorSettings()
    data = source if isinstance(source, MonitorData) else source.load()
    part = pilot_frame(definition, data, cfg)
    matured = part["label"].notna() & ~part["censored"]
    groups: dict[str, pd.Series] = (
        {str(a): part["arm"] == a for a in (TREATMENT_ARM, CONTROL_ARM)}
        if definition.mode == "random"
        else {"shadow (both rankings)": pd.Series(True, index=part.index)}
    )
    arms = {
        name: {
            "n": int(mask.sum()),
            "n_matured": int((mask & matured).sum()),
            "n_converted": int((mask & matured & (part["label"] == 1)).sum()),
            "n_open": int((mask & ~matured).sum()),
        }
        for name, mask in groups.items()
    }
    rate = float(part.loc[matured, "label"].mean()) if bool(matured.any()) else 0.15
    n_needed = required_leads_per_arm(
        rate, cfg.pilot_min_detectable_points / 100, alpha=cfg.pilot_alpha, power=0.8
    )
    days = part["created_at"]
    return PilotStatus(
        definition=definition,
        n_leads=len(part),
        arms=arms,
        first_lead=None if part.empty else pd.Timestamp(days.min()).date().isoformat(),
        last_lead=None if part.empty else pd.Timestamp(days.max()).date().isoformat(),
        n_needed_per_arm=n_needed,
    )


@dataclass(frozen=True)
class PilotResult:
    """A pilot's report: the comparison (random assignment or shadow), its status, and the decision."""

    definition: PilotDefinition
    status: PilotStatus
    comparison: PilotReport | ShadowComparison
    conversion_by_arm: list[dict[str, Any]]

    @property
    def decision(self) -> str:
        """What a manager should decide, in one sentence or two."""
        return self.comparison.decision

    def summary_lines(self) -> list[str]:
        """The decision first, then the definition and the evidence."""
        return [
            f"Decision: {self.decision}",
            self.definition.describe(),
            *self.comparison.summary_lines()[1:],
        ]

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict."""
        return {
            "decision": self.decision,
            "definition": self.definition.to_dict(),
            "status": self.status.to_dict(),
            "comparison": _json_safe(self.comparison.to_dict()),
            "conversion_by_arm": _json_safe(self.conversion_by_arm),
            "summary": self.summary_lines(),
        }


def evaluate_pilot(
    definition: PilotDefinition,
    source: MonitorSource | MonitorData,
    settings: MonitorSettings | None = None,
) -> PilotResult:
    """Compare the arms of a pilot on leads with matured outcomes and say what to decide.

    Random mode: conversion (Wilson intervals, Newcombe interval of the difference, z or Fisher test) and
    time to first contact (median, bootstrap interval, Mann-Whitney) per arm. Shadow mode: converters each
    ranking would have put in the day's ``capacity_per_day`` calls (exact McNemar test).
    """
    cfg = settings or MonitorSettings()
    data = source if isinstance(source, MonitorData) else source.load()
    part = pilot_frame(definition, data, cfg)
    status = pilot_status(definition, data, cfg)
    if part.empty:
        raise InputError(f"pilot {definition.name!r} has no lead in scope since {definition.start} yet.")
    matured = part[part["label"].notna() & ~part["censored"]]
    if matured.empty:
        raise InputError(f"pilot {definition.name!r}: no outcome has matured yet; wait and report again.")
    comparison: PilotReport | ShadowComparison
    if definition.mode == "random":
        hours = "hours_to_first_contact" if "hours_to_first_contact" in part.columns else None
        comparison = pilot_report(
            part.assign(converted=part["label"].where(~part["censored"])),
            arm_col="arm",
            converted_col="converted",
            hours_to_contact_col=hours,
            alpha=cfg.pilot_alpha,
            min_detectable_points=cfg.pilot_min_detectable_points,
            seed=definition.seed,
        )
        rows = [_arm_row(comparison.treatment), _arm_row(comparison.control)]
    else:
        # tied priorities (isotonic steps) are ranked by lead id, never by the export's row order
        by_id = matured.sort_values("lead_id", kind="stable")
        ranked = by_id.assign(
            model_rank=by_id.groupby("day")["model_priority"].rank(ascending=False, method="first"),
            prior_rank=by_id.groupby("day")["prior_priority"].rank(ascending=False, method="first"),
        )
        comparison = shadow_comparison(
            ranked,
            model_rank_col="model_rank",
            prior_rank_col="prior_rank",
            converted_col="label",
            capacity=int(cast(int, definition.capacity_per_day)),
            group_col="day",
            alpha=cfg.pilot_alpha,
        )
        rows = [
            {
                "arm": "model ranking",
                "conversion_rate": comparison.model_share,
                "leads": comparison.n_converters,
            },
            {
                "arm": "prior ranking",
                "conversion_rate": comparison.prior_share,
                "leads": comparison.n_converters,
            },
        ]
    return PilotResult(definition=definition, status=status, comparison=comparison, conversion_by_arm=rows)


def simulate_routing(
    frame: pd.DataFrame,
    *,
    priority_cols: Mapping[str, str],
    truth_col: str,
    capacity_per_day: int,
    seed: int,
    arm_col: str | None = None,
    day_col: str = "day",
    uncontacted_factor: float = 0.3,
    work_hours_per_day: float = 8.0,
) -> pd.DataFrame:
    """Who gets contacted under each arm's routing, and hence converts, with known true probabilities.

    Each day the team makes ``capacity_per_day`` calls. With ``arm_col`` (random assignment) each arm gets
    the share of the calls that its share of the day's leads is, and works its own leads in the order of its
    own priority column; without it (shadow mode) each arm in ``priority_cols`` works all leads with the full
    capacity, and one row per lead and arm is returned. A contacted lead converts with its true probability;
    one not contacted that day with ``uncontacted_factor`` times it (some leads call back by themselves).

    Parameters
    ----------
    frame : DataFrame
        One row per lead: ``day_col``, ``truth_col`` and the priority columns (higher is called first).
    priority_cols : mapping of arm to column
        The routing of each arm, e.g. ``{"scoring": "probability", "prior": "first_come"}``.
    truth_col : str
        True probability of converting when contacted promptly (the simulator's truth file).
    capacity_per_day : int
        Calls a day.
    seed : int
        Seed of the conversion draws.
    arm_col : str, optional
        Arm of each lead (random assignment); values must be keys of ``priority_cols``.
    day_col : str
        Day of each lead.
    uncontacted_factor : float
        Conversion probability of a lead not called that day, relative to its true probability.
    work_hours_per_day : float
        Hours over which the day's calls spread; sets the hours to first contact.

    Returns
    -------
    DataFrame
        ``frame``'s rows (repeated per arm in shadow mode) with ``arm``, ``rank`` (1 = first call of the
        day), ``contacted``, ``hours_to_first_contact`` (NaN when not contacted) and ``converted`` (0/1).

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"day": [0, 0, 0, 0], "p": [0.9, 0.1, 0.8, 0.2], "order": [4, 3, 2, 1]})
    >>> out = simulate_routing(leads, priority_cols={"scoring": "p", "prior": "order"}, truth_col="p",
    ...                        capacity_per_day=2, seed=0)
    >>> out.groupby("arm")["contacted"].sum().to_dict()
    {'prior': 2, 'scoring': 2}
    >>> sorted(out.loc[(out["arm"] == "scoring") & out["contacted"], "p"].tolist())
    [0.8, 0.9]
    """
    if capacity_per_day < 1:
        raise InputError(f"simulate_routing: capacity_per_day must be at least 1, got {capacity_per_day}.")
    if not 0 <= uncontacted_factor <= 1:
        raise InputError(f"simulate_routing: uncontacted_factor must be in [0, 1], got {uncontacted_factor}.")
    needed = [day_col, truth_col, *priority_cols.values(), *([arm_col] if arm_col else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"simulate_routing: column(s) {missing} not found; columns: {list(frame.columns)}.")
    p = pd.to_numeric(frame[truth_col], errors="coerce")
    if bool(p.isna().any()) or bool(((p < 0) | (p > 1)).any()):
        raise InputError(f"simulate_routing: {truth_col!r} must hold probabilities in [0, 1] for every lead.")
    rng = np.random.default_rng(seed)
    # numpy rather than groupby: the simulator runs hundreds of times in a false-positive check
    day_codes = pd.factorize(frame[day_col], sort=True)[0]
    day_size = np.bincount(day_codes).astype(float)[day_codes]
    share = np.minimum(1.0, capacity_per_day / day_size)
    parts: list[pd.DataFrame] = []
    for arm, column in priority_cols.items():
        if arm_col is not None:
            mask = frame[arm_col].to_numpy(dtype=object) == arm
        else:
            mask = np.ones(len(frame), dtype=bool)
        part = frame.loc[mask].copy()
        part["arm"] = arm
        codes = day_codes[mask]
        priority = pd.to_numeric(part[column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(priority).any():
            raise InputError(f"simulate_routing: priority column {column!r} must be numbers for every lead.")
        rank = _rank_within(codes, priority)
        n_arm_day = np.bincount(codes, minlength=int(codes.max(initial=-1)) + 1).astype(float)[codes]
        n_calls = np.maximum(np.rint(share[mask] * n_arm_day), 0)
        contacted = rank <= n_calls
        part["rank"] = rank
        part["contacted"] = contacted
        hours = rank / np.maximum(n_calls, 1) * work_hours_per_day
        part["hours_to_first_contact"] = np.where(contacted, hours, np.nan)
        parts.append(part)
    out: pd.DataFrame = pd.concat(parts, ignore_index=True)
    truth = pd.to_numeric(out[truth_col]).to_numpy(dtype=float)
    chance = np.where(out["contacted"].to_numpy(dtype=bool), truth, truth * uncontacted_factor)
    out["converted"] = (rng.random(len(out)) < chance).astype(int)
    return out


# --- internals ---------------------------------------------------------------------------------------------


def _rank_within(groups: npt.NDArray[np.intp], priority: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """1-based rank by descending priority within each group; ties keep row order."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), -priority, groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    position = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = position + 1
    return rank


def _arm_row(arm: Any) -> dict[str, Any]:
    return {"arm": arm.arm, "conversion_rate": arm.conversion_rate, "leads": arm.n}


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
