"""The monitoring use case: is the published model still right, and is scoring doing the team any good?

:func:`monitor` takes a source (a CRM export folder with the model from the registry, optionally the
decisions written when leads were scored; or the operational store) and a recent window, and reports:

- drift: PSI per model feature and for the score, the training window (from the model card) against the
  recent window, plus positive rate and score range changes, each ok / watch / act;
- calibration by tier, month by month, on matured outcomes only (leads whose outcome window is still open
  are excluded and counted), and tier stability (does tier A still convert better than B?);
- business outcomes, where the data has them: conversion and time to first contact by tier, appointments
  per 100 leads, manual review, override and SLA breach rates, feedback labels.

The summary comes first, in plain words ("Tier A converted at 31% in October 2025 against 34% predicted:
ok"), then tables; :meth:`MonitorReport.to_dict` is the JSON twin and :func:`write_monitor_report` the HTML.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from careleads.errors import ConfigError, InputError, NotFoundError
from careleads.features import build_features, label_leads
from careleads.models import LeadModel, ModelRegistry
from careleads.monitoring._business import BusinessOutcomes, business_outcomes
from careleads.stats._drift import DriftReport, DriftThresholds, drift_report
from careleads.stats._reliability import calibration_by_tier, calibration_summary_lines, tier_stability
from careleads.stats._status import Status, period_label, worst_status
from careleads.types import JSONDict, PathLikeStr

__all__ = [
    "DECISION_FIELDS",
    "FolderSource",
    "MonitorData",
    "MonitorReport",
    "MonitorSettings",
    "MonitorSource",
    "monitor",
    "resolve_model",
    "scored_frame",
    "write_monitor_report",
]


def _setting(default: Any, help: str, unit: str = "") -> Any:  # noqa: A002 - "help" reads best here
    return field(default=default, metadata={"help": help, "unit": unit})


@dataclass(frozen=True)
class MonitorSettings:
    """Thresholds and windows of monitoring, pilots and retraining, each with a unit and a help text.

    Every field can be set from the environment as ``CARELEADS_MONITOR_<NAME>`` (see :meth:`from_env`);
    :meth:`describe` lists them for the docs and ``--help``.

    Examples
    --------
    >>> MonitorSettings().thresholds().psi_act
    0.25
    >>> MonitorSettings.from_env({"CARELEADS_MONITOR_PSI_ACT": "0.3"}).psi_act
    0.3
    """

    psi_watch: float = _setting(0.1, "PSI from which a feature or the score is 'watch'.", "PSI")
    psi_act: float = _setting(0.25, "PSI from which a feature or the score is 'act'.", "PSI")
    positive_rate_watch_points: float = _setting(
        2.0, "Change of the positive rate (matured leads) that is 'watch'.", "percentage points"
    )
    positive_rate_act_points: float = _setting(
        5.0, "Change of the positive rate (matured leads) that is 'act'.", "percentage points"
    )
    score_shift_watch: float = _setting(
        0.1, "Move of the score's 5th/50th/95th percentile that is 'watch'.", "share of the 5-95% width"
    )
    score_shift_act: float = _setting(
        0.25, "Move of the score's 5th/50th/95th percentile that is 'act'.", "share of the 5-95% width"
    )
    psi_bins: int = _setting(10, "Quantile buckets for the PSI of numeric features.", "buckets")
    calibration_tolerance: float = _setting(
        0.02, "Predicted within this of observed is 'ok' even outside the interval.", "probability"
    )
    calibration_act_tolerance: float = _setting(
        0.05, "Outside the interval and further than this from observed is 'act'.", "probability"
    )
    confidence: float = _setting(0.95, "Level of the confidence intervals.", "probability")
    stability_alpha: float = _setting(0.05, "Significance level of the tier inversion test.", "probability")
    recent_window_days: int = _setting(90, "Length of the recent window when no --since is given.", "days")
    period_freq: str = _setting("MS", "Period of the calibration table (pandas frequency: MS = month).")
    min_matured_leads: int = _setting(
        30,
        "A tier's month with fewer matured leads is shown but sets no calibration or tier-order status.",
        "leads",
    )
    excluded_features: tuple[str, ...] = _setting(
        ("created_month",),
        "Features left out of drift: the calendar month differs between any two windows by design.",
    )
    contact_outcomes: tuple[str, ...] = _setting(
        ("intake_call_completed",),
        "Outcome types that mark the first contact, for time to first contact when decisions lack it.",
    )
    appointment_outcome: str = _setting(
        "appointment_scheduled", "Outcome type counted for appointments per 100 leads."
    )
    gate_auc_margin: float = _setting(
        0.01, "A candidate may be this much below the published model's AUC and still publish.", "AUC"
    )
    gate_max_ece: float = _setting(
        0.05,
        "Largest calibration error (ECE) a candidate may have on the recent window; ECE on 2,000 leads is "
        "about 0.02 from chance alone.",
        "probability",
    )
    retrain_after_days: int = _setting(
        90, "`retrain --if schedule` retrains when the published model is older than this.", "days"
    )
    pilot_alpha: float = _setting(0.05, "Significance level of pilot comparisons.", "probability")
    pilot_min_detectable_points: float = _setting(
        3.0, "Conversion difference a pilot should be able to detect.", "percentage points"
    )

    def __post_init__(self) -> None:
        # the drift thresholds validate themselves (watch <= act)
        self.thresholds()
        for name in ("confidence", "stability_alpha", "pilot_alpha"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ConfigError(f"monitor setting {name} must be between 0 and 1, got {value}.")
        if self.recent_window_days <= 0 or self.retrain_after_days <= 0:
            raise ConfigError("monitor settings recent_window_days and retrain_after_days must be positive.")

    def thresholds(self) -> DriftThresholds:
        """The drift thresholds of these settings."""
        return DriftThresholds(
            psi_watch=self.psi_watch,
            psi_act=self.psi_act,
            positive_rate_watch_points=self.positive_rate_watch_points,
            positive_rate_act_points=self.positive_rate_act_points,
            score_shift_watch=self.score_shift_watch,
            score_shift_act=self.score_shift_act,
        )

    @classmethod
    def describe(cls) -> list[dict[str, str]]:
        """One dict per setting: name, environment variable, default, unit and help."""
        rows = []
        for f in fields(cls):
            default: Any = f.default if f.default is not MISSING else None
            rows.append(
                {
                    "name": f.name,
                    "env": f"CARELEADS_MONITOR_{f.name.upper()}",
                    "default": ",".join(default) if isinstance(default, tuple) else str(default),
                    "unit": str(f.metadata.get("unit", "")),
                    "help": str(f.metadata.get("help", "")),
                }
            )
        return rows

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MonitorSettings:
        """Settings with every ``CARELEADS_MONITOR_<NAME>`` variable applied (tuples comma-separated)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"CARELEADS_MONITOR_{f.name.upper()}"
            if key not in env:
                continue
            raw = env[key]
            kind: Any = type(f.default)
            try:
                if kind is tuple:
                    values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
                else:
                    values[f.name] = kind(raw)
            except ValueError as exc:
                raise ConfigError(f"{key}={raw!r} is not a valid {kind.__name__}: {exc}") from None
        return cls(**values)


#: Optional columns of a decisions file, by meaning; the first name present is used.
DECISION_FIELDS: dict[str, tuple[str, ...]] = {
    "manual_review": ("review_required", "manual_review"),
    "override": ("override", "overrides", "override_rule"),
    "feedback": ("feedback", "feedback_label"),
    "sla_breached": ("sla_breached", "sla_breach"),
    "hours_to_first_contact": ("hours_to_first_contact",),
}


@dataclass(frozen=True)
class MonitorData:
    """What monitoring reads, whatever the source: clean leads, events and outcomes, the model, decisions.

    ``decisions`` (optional) holds what scoring decided at the time, one row per lead: ``lead_id``,
    ``probability`` and ``tier``, and any of the columns named in :data:`DECISION_FIELDS`.
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    model: LeadModel
    data_end: pd.Timestamp
    decisions: pd.DataFrame | None = None
    description: str = ""


class MonitorSource(Protocol):
    """Anything that can load :class:`MonitorData` (an export folder, the store)."""

    def load(self) -> MonitorData:
        """Read the data and the model."""
        ...


def resolve_model(
    registry: ModelRegistry, version: str | None = None, target: str | None = None
) -> LeadModel:
    """The model to monitor: ``version`` if given, else the published model of ``target``.

    With neither, the registry must have exactly one target with a published model.
    """
    if version:
        return registry.load(version)
    targets = sorted({e.target for e in registry.versions() if e.published})
    if target is None:
        if len(targets) != 1:
            raise NotFoundError(
                f"the registry at {registry.root} has published models for {targets or 'no target'}; "
                "pass --model VERSION (or publish one model first)."
            )
        target = targets[0]
    model = registry.published(target)
    if model is None:
        raise NotFoundError(
            f"no model is published for {target} in {registry.root}; pass --model VERSION or publish one."
        )
    return model


@dataclass(frozen=True)
class FolderSource:
    """An export folder (leads, events, outcomes as CSV or Parquet) and a model from a registry folder.

    Parameters
    ----------
    data_dir : path
        Folder with ``leads``, ``events`` and ``outcomes`` files.
    registry_dir : path
        Model registry folder.
    version : str, optional
        Model version; default the published model (of ``target`` when several targets are published).
    target : str, optional
        Target name such as ``appointment_scheduled_30d``.
    decisions : path, optional
        The decisions written when the leads were scored (CSV or Parquet with ``lead_id, probability,
        tier``); without it the model scores the leads now.
    data_end : Timestamp, optional
        When the export was taken; default the latest timestamp in the tables.
    """

    data_dir: Path
    registry_dir: Path
    version: str | None = None
    target: str | None = None
    decisions: Path | None = None
    data_end: pd.Timestamp | None = None

    def load(self) -> MonitorData:
        """Ingest the export through the data dictionary and load the model."""
        from careleads.datasets import load_crm_folder
        from careleads.dictionary import read_table

        model = resolve_model(ModelRegistry(self.registry_dir), self.version, self.target)
        tables = load_crm_folder(self.data_dir)
        decisions = None
        if self.decisions is not None:
            if not Path(self.decisions).exists():
                raise InputError(f"decisions file {self.decisions} does not exist; pass the scored file.")
            decisions = read_table(self.decisions)
        return MonitorData(
            leads=tables.leads,
            events=tables.events,
            outcomes=tables.outcomes,
            model=model,
            data_end=self.data_end if self.data_end is not None else _latest(tables),
            decisions=decisions,
            description=f"export {self.data_dir}",
        )


def _latest(tables: Any) -> pd.Timestamp:
    stamps = [pd.to_datetime(tables.leads[tables.dictionary.table("leads").time_column]).max()]
    for frame in (tables.events, tables.outcomes):
        if len(frame):
            stamps.append(pd.to_datetime(frame["occurred_at"]).max())
    return pd.Timestamp(max(stamps))


def scored_frame(
    data: MonitorData, settings: MonitorSettings | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One row per lead at its scoring moment: features, probability, tier, label, censoring, follow-up.

    Columns: ``lead_id, created_at, as_of``, the model's features, ``probability, tier, label`` (NaN while the
    outcome window is open or when the lead converted before scoring), ``censored, converted_before,
    n_appointments, hours_to_first_contact`` and the decision columns found (see :data:`DECISION_FIELDS`).

    Returns
    -------
    (DataFrame, list of str)
        The frame and notes on what was filled in or left out.
    """
    cfg = settings or MonitorSettings()
    model, spec = data.model, data.model.spec
    notes: list[str] = []
    leads = data.leads.reset_index(drop=True)
    for column in (spec.key, spec.time_column):
        if column not in leads.columns:
            raise InputError(f"the leads table has no {column!r} column, which the model's features need.")
    created = pd.to_datetime(leads[spec.time_column])
    as_of = created + pd.Timedelta(hours=model.target.as_of_hours)
    X = build_features(leads, data.events, as_of, spec)
    labels = label_leads(leads[spec.key], as_of, data.outcomes, model.target, data_end=data.data_end)
    frame = pd.DataFrame(
        {
            "lead_id": leads[spec.key].astype(str).to_numpy(),
            "created_at": created.to_numpy(),
            "as_of": as_of.to_numpy(),
        }
    )
    features = [c for c in model.features if c in X.columns]
    frame = pd.concat([frame, X[features].reset_index(drop=True)], axis=1)
    probability = pd.Series(model.predict_proba(X), index=frame.index)
    tier = pd.Series(model.tiers.assign(probability.to_numpy()), index=frame.index, dtype=object)
    if data.decisions is not None:
        probability, tier = _from_decisions(frame, data.decisions, probability, tier, notes)
    frame["probability"] = probability.astype(float).to_numpy()
    frame["tier"] = tier.to_numpy()
    frame["label"] = labels.label.astype("Float64").astype(float).to_numpy()
    frame["censored"] = labels.censored.to_numpy(dtype=bool)
    frame["converted_before"] = labels.converted_before.to_numpy(dtype=bool)

    outcomes = data.outcomes
    ids = frame["lead_id"]
    kinds = outcomes["outcome"].astype(str) if len(outcomes) else pd.Series(dtype=str)
    appts = outcomes.loc[kinds == cfg.appointment_outcome]
    frame["n_appointments"] = (
        ids.map(appts["lead_id"].astype(str).value_counts()).fillna(0).astype(float).to_numpy()
    )
    contacts = outcomes.loc[kinds.isin(list(cfg.contact_outcomes))]
    if len(contacts):
        first = (
            contacts.assign(lead_id=contacts["lead_id"].astype(str)).groupby("lead_id")["occurred_at"].min()
        )
        first_at = pd.to_datetime(ids.map(first))
        hours = (first_at - frame["created_at"]).dt.total_seconds() / 3600
        frame["hours_to_first_contact"] = hours.where(hours >= 0).to_numpy()
    if data.decisions is not None:
        _decision_columns(frame, data.decisions, notes)
    return frame, notes


def _from_decisions(
    frame: pd.DataFrame,
    decisions: pd.DataFrame,
    probability: pd.Series,
    tier: pd.Series,
    notes: list[str],
) -> tuple[pd.Series, pd.Series]:
    missing = [c for c in ("lead_id", "probability", "tier") if c not in decisions.columns]
    if missing:
        raise InputError(
            f"the decisions file lacks column(s) {missing}; it needs lead_id, probability and tier "
            "(as written by `careleads score`)."
        )
    table = decisions.assign(lead_id=decisions["lead_id"].astype(str)).drop_duplicates("lead_id", keep="last")
    table = table.set_index("lead_id")
    p_given = pd.to_numeric(frame["lead_id"].map(table["probability"]), errors="coerce")
    t_given = frame["lead_id"].map(table["tier"])
    have = p_given.notna() & t_given.notna()
    if int((~have).sum()):
        notes.append(
            f"{int((~have).sum())} lead(s) have no row in the decisions file: the model scored them now."
        )
    if bool(((p_given < 0) | (p_given > 1)).any()):
        raise InputError("the decisions file's probability column must hold probabilities in [0, 1].")
    return probability.where(~have, p_given), tier.where(~have, t_given.astype(object))


def _decision_columns(frame: pd.DataFrame, decisions: pd.DataFrame, notes: list[str]) -> None:
    table = decisions.assign(lead_id=decisions["lead_id"].astype(str)).drop_duplicates("lead_id", keep="last")
    table = table.set_index("lead_id")
    found = []
    for meaning, names in DECISION_FIELDS.items():
        name = next((n for n in names if n in table.columns), None)
        if name is None:
            continue
        frame[meaning] = frame["lead_id"].map(table[name]).to_numpy()
        found.append(meaning)
    if found:
        notes.append(f"From the decisions file: {', '.join(found)}.")


@dataclass(frozen=True)
class MonitorReport:
    """Everything :func:`monitor` found; ``status`` is the worst of drift, calibration and tier order."""

    model_version: str
    target: str
    reference_window: tuple[pd.Timestamp, pd.Timestamp]
    current_window: tuple[pd.Timestamp, pd.Timestamp]
    data_end: pd.Timestamp
    drift: DriftReport
    calibration: pd.DataFrame
    stability: pd.DataFrame
    business: BusinessOutcomes | None
    settings: MonitorSettings
    reference_scores: np.ndarray = field(repr=False)
    current_scores: np.ndarray = field(repr=False)
    matured_labels: np.ndarray = field(repr=False)
    matured_scores: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()

    def _counted_calibration(self) -> pd.DataFrame:
        table = self.calibration
        return table[(table["n"] >= self.settings.min_matured_leads) & (table["status"] != "pending")]

    def _counted_stability(self) -> pd.DataFrame:
        table = self.stability
        enough = table[["n_higher", "n_lower"]].min(axis=1) >= self.settings.min_matured_leads
        return table[enough & (table["status"] != "pending")]

    @property
    def calibration_status(self) -> Status:
        """Worst calibration status over tiers and months with ``min_matured_leads`` matured leads."""
        return worst_status(self._counted_calibration()["status"])

    @property
    def stability_status(self) -> Status:
        """Worst tier stability status over pairs with enough matured leads on both sides."""
        return worst_status(self._counted_stability()["status"])

    @property
    def status(self) -> Status:
        """ok, watch or act: the worst of drift, calibration and tier stability."""
        return worst_status([self.drift.status, self.calibration_status, self.stability_status])

    def latest_matured_period(self) -> pd.Timestamp | None:
        """The most recent calibration period in which most leads' outcomes have matured."""
        table = self.calibration
        if table.empty:
            return None
        periods = [
            p
            for p, g in table.groupby("period", sort=True)
            if int(g["n"].sum()) > 0 and int(g["n"].sum()) >= int(g["n_excluded"].sum())
        ]
        return pd.Timestamp(str(periods[-1])) if periods else None

    def summary_lines(self) -> list[str]:
        """Plain-language lines: the verdict, tier calibration, tier order, drift, then what to do."""
        ref, cur = self.reference_window, self.current_window
        lines = [
            f"Monitoring {self.status}: model {self.model_version} ({self.target}), recent window "
            f"{_day(cur[0])} to {_day(cur[1])} ({self.drift.n_current:,} leads) against the training window "
            f"{_day(ref[0])} to {_day(ref[1])} ({self.drift.n_reference:,} leads)."
        ]
        latest = self.latest_matured_period()
        if latest is None:
            lines.append("No outcomes have matured in the recent window yet: calibration is pending.")
        else:
            rows = self.calibration[self.calibration["period"] == latest]
            lines.extend(calibration_summary_lines(rows, freq=self.settings.period_freq))
            counted = self._counted_calibration()
            off = counted[(counted["period"] != latest) & counted["status"].isin(["watch", "act"])]
            lines.extend(calibration_summary_lines(off, freq=self.settings.period_freq))
        stability = self._counted_stability()
        inversions = stability[stability["status"].isin(["watch", "act"])]
        if len(inversions):
            lines.extend(calibration_summary_lines(inversions.iloc[:0], stability=inversions))
        elif len(stability):
            lines.append(
                "Tier order holds: each tier converted better than the tier below it in every month with "
                "enough matured leads."
            )
        lines.extend(self.drift.summary_lines())
        lines.append(self.advice())
        return lines

    def advice(self) -> str:
        """What to do, in one line."""
        if self.status == "act":
            causes = []
            if self.drift.status == "act":
                causes.append("inputs or scores drifted")
            if self.calibration_status == "act":
                causes.append("predicted and observed conversion disagree")
            if self.stability_status == "act":
                causes.append("a lower tier converts better than a higher one")
            return (
                f"Act: {' and '.join(causes)}. Check the flagged inputs with the team that owns them, then "
                "retrain (`careleads retrain --if drift`); the publish gate decides on the recent window."
            )
        if self.status == "watch":
            return (
                "Watch: nothing needs action yet; run monitoring again when the next month's outcomes mature."
            )
        return "Ok: the model scores this window as it scored its training window; no action needed."

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict (NaN as null): status, windows, summary, drift, calibration, business."""
        settings = asdict(self.settings)
        settings["excluded_features"] = list(self.settings.excluded_features)
        settings["contact_outcomes"] = list(self.settings.contact_outcomes)
        return {
            "status": self.status,
            "statuses": {
                "drift": self.drift.status,
                "calibration": self.calibration_status,
                "tier_stability": self.stability_status,
            },
            "model_version": self.model_version,
            "target": self.target,
            "reference_window": [_iso(t) for t in self.reference_window],
            "current_window": [_iso(t) for t in self.current_window],
            "data_end": _iso(self.data_end),
            "summary": self.summary_lines(),
            "drift": _clean(self.drift.to_dict()),
            "calibration": _records(self.calibration),
            "tier_stability": _records(self.stability),
            "business": None if self.business is None else _clean(self.business.to_dict()),
            "settings": settings,
            "notes": list(self.notes),
        }


def monitor(
    source: MonitorSource | MonitorData,
    *,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
    reference: tuple[str | pd.Timestamp, str | pd.Timestamp] | None = None,
    settings: MonitorSettings | None = None,
) -> MonitorReport:
    """Drift, calibration by tier, tier stability and business outcomes of the recent window.

    Parameters
    ----------
    source : MonitorSource or MonitorData
        Where the leads, outcomes and the model come from (for example :class:`FolderSource`).
    since : date, optional
        Start of the recent window (leads scored on or after it); default ``recent_window_days`` before
        the end of the data.
    until : date, optional
        End of the recent window (excluded); default the end of the data.
    reference : (start, end), optional
        Reference window (both ends included); default the training period of the model card.
    settings : MonitorSettings, optional
        Thresholds; default ``MonitorSettings()``.

    Returns
    -------
    MonitorReport
        ``status`` (ok, watch, act), ``summary_lines()``, ``to_dict()``; see :func:`write_monitor_report`.
    """
    cfg = settings or MonitorSettings()
    data = source if isinstance(source, MonitorData) else source.load()
    model = data.model
    frame, notes = scored_frame(data, cfg)
    ref_start, ref_end = _reference_window(model, reference)
    end = pd.Timestamp(until) if until is not None else data.data_end
    start = pd.Timestamp(since) if since is not None else end - pd.Timedelta(days=cfg.recent_window_days)
    if start >= end:
        raise InputError(f"the recent window is empty: since {_day(start)} is not before {_day(end)}.")
    as_of = frame["as_of"]
    ref = frame[(as_of >= ref_start) & (as_of <= ref_end)]
    cur = frame[(as_of >= start) & (as_of < end)]
    for name, part, (a, b) in (("reference", ref, (ref_start, ref_end)), ("recent", cur, (start, end))):
        if len(part) == 0:
            raise InputError(
                f"no lead in the {name} window {_day(a)} to {_day(b)} (the data covers "
                f"{_day(as_of.min())} to {_day(as_of.max())}); choose another --since or reference."
            )
    overlap = int(((cur["as_of"] >= ref_start) & (cur["as_of"] <= ref_end)).sum())
    if overlap:
        notes.append(
            f"{overlap} lead(s) of the recent window lie in the training window: drift there is understated."
        )
    columns = [c for c in model.features if c in frame.columns and c not in cfg.excluded_features]
    left_out = [c for c in cfg.excluded_features if c in model.features]
    if left_out:
        notes.append(f"Not compared for drift by design: {', '.join(left_out)}.")
    drift = drift_report(
        ref,
        cur,
        columns=columns,
        score_col="probability",
        label_col="label",
        thresholds=cfg.thresholds(),
        bins=cfg.psi_bins,
    )
    tiers = list(model.tiers.names)
    common: dict[str, Any] = {
        "tier_col": "tier",
        "label_col": "label",
        "time_col": "as_of",
        "freq": cfg.period_freq,
        "censored_col": "censored",
        "tier_order": tiers,
    }
    calibration = calibration_by_tier(
        cur,
        prob_col="probability",
        confidence=cfg.confidence,
        tolerance=cfg.calibration_tolerance,
        act_tolerance=cfg.calibration_act_tolerance,
        **common,
    )
    stability = tier_stability(cur, alpha=cfg.stability_alpha, **common)
    business = business_outcomes(
        cur,
        tier_col="tier",
        converted_col="label",
        prob_col="probability",
        hours_to_contact_col=_present(cur, "hours_to_first_contact"),
        appointments_col="n_appointments",
        manual_review_col=_present(cur, "manual_review"),
        override_col=_present(cur, "override"),
        feedback_col=_present(cur, "feedback"),
        sla_breach_col=_present(cur, "sla_breached"),
        censored_col="censored",
        period=f"{_day(start)} to {_day(end)}",
        tier_order=tiers,
        confidence=cfg.confidence,
        tolerance=cfg.calibration_tolerance,
        act_tolerance=cfg.calibration_act_tolerance,
    )
    n_before = int(cur["converted_before"].sum())
    if n_before:
        notes.append(f"{n_before} lead(s) converted before their scoring moment: left out of calibration.")
    matured = cur[cur["label"].notna() & ~cur["censored"]]
    return MonitorReport(
        model_version=model.version,
        target=model.target.name,
        reference_window=(ref_start, ref_end),
        current_window=(start, end),
        data_end=data.data_end,
        drift=drift,
        calibration=calibration,
        stability=stability,
        business=business,
        settings=cfg,
        reference_scores=ref["probability"].to_numpy(dtype=float),
        current_scores=cur["probability"].to_numpy(dtype=float),
        matured_labels=matured["label"].to_numpy(dtype=float),
        matured_scores=matured["probability"].to_numpy(dtype=float),
        notes=tuple(notes),
    )


def write_monitor_report(report: MonitorReport, path: PathLikeStr) -> Path:
    """Write the monitoring report as a self-contained HTML page with plots; returns the path."""
    from careleads.report import Figure, Section, Table, render_report
    from careleads.report._plots import calibration_svg, histogram_svg, psi_bars_svg, tier_bars_svg

    cfg = report.settings
    drift_rows = report.drift.to_frame()
    psi = {str(r["column"]): float(r["psi"]) for r in drift_rows.to_dict("records")}
    sections = [
        Section(
            "Drift",
            paragraphs=[
                "Population stability index of each model input and of the score, the training window "
                f"against the recent window (watch from {cfg.psi_watch}, act from {cfg.psi_act})."
            ],
            items=report.drift.summary_lines(),
            figures=[
                Figure(psi_bars_svg(psi, watch=cfg.psi_watch, act=cfg.psi_act), "PSI by feature and score"),
                Figure(
                    histogram_svg(
                        {"training window": report.reference_scores, "recent window": report.current_scores},
                        xlabel="predicted probability",
                    ),
                    "Score distribution in each window",
                ),
            ],
            tables=[
                Table(
                    columns=["column", "kind", "PSI", "status", "evidence"],
                    rows=[
                        [r["column"], r["kind"], r["psi"], r["status"], r["evidence"]]
                        for r in drift_rows.sort_values("psi", ascending=False).to_dict("records")
                    ],
                )
            ],
            warning=report.drift.status == "act",
        )
    ]
    cal = report.calibration
    figures: list[Figure] = []
    latest = report.latest_matured_period()
    if latest is not None:
        rows = cal[cal["period"] == latest]
        by_name = {
            "predicted": [
                {"tier": r["tier"], "conversion_rate": r["predicted_mean"], "leads": r["n"]}
                for r in rows.to_dict("records")
            ],
            "observed": [
                {"tier": r["tier"], "conversion_rate": r["observed_rate"], "leads": r["n"]}
                for r in rows.to_dict("records")
            ],
        }
        figures.append(
            Figure(
                tier_bars_svg(by_name),
                f"Predicted and observed conversion by tier, {period_label(latest, cfg.period_freq)}",
            )
        )
    if report.matured_labels.size:
        figures.append(
            Figure(
                calibration_svg(report.matured_labels, {"model": report.matured_scores}),
                "Calibration of matured leads in the recent window",
            )
        )
    sections.append(
        Section(
            "Calibration by tier over time",
            paragraphs=[
                "Only matured outcomes count: leads whose outcome window is still open are excluded and "
                "counted in 'open'."
            ],
            items=calibration_summary_lines(cal, stability=report.stability, freq=cfg.period_freq),
            figures=figures,
            tables=[
                Table(
                    columns=[
                        "period",
                        "tier",
                        "n",
                        "open",
                        "predicted",
                        "observed",
                        "CI low",
                        "CI high",
                        "status",
                    ],
                    rows=[
                        [
                            period_label(pd.Timestamp(r["period"]), cfg.period_freq),
                            r["tier"],
                            int(r["n"]),
                            int(r["n_excluded"]),
                            r["predicted_mean"],
                            r["observed_rate"],
                            r["ci_low"],
                            r["ci_high"],
                            r["status"],
                        ]
                        for r in cal.to_dict("records")
                    ],
                ),
                Table(
                    columns=["period", "higher", "lower", "rate higher", "rate lower", "p-value", "status"],
                    rows=[
                        [
                            period_label(pd.Timestamp(r["period"]), cfg.period_freq),
                            r["higher_tier"],
                            r["lower_tier"],
                            r["rate_higher"],
                            r["rate_lower"],
                            r["p_value"],
                            r["status"],
                        ]
                        for r in report.stability.to_dict("records")
                    ],
                    caption="Tier stability: does each tier convert better than the next one down?",
                ),
            ],
            warning=report.calibration_status == "act" or report.stability_status == "act",
        )
    )
    if report.business is not None:
        by_tier = report.business.by_tier
        sections.append(
            Section(
                "Business outcomes",
                items=report.business.summary_lines(),
                tables=[
                    Table(
                        columns=[str(c) for c in by_tier.columns],
                        rows=by_tier.astype(object).where(by_tier.notna(), None).values.tolist(),
                    )
                ],
            )
        )
    if report.notes:
        sections.append(Section("Notes", items=list(report.notes)))
    return render_report(
        path,
        title="careleads monitoring",
        subtitle=f"model {report.model_version}, data to {_day(report.data_end)}",
        summary_lines=report.summary_lines(),
        sections=sections,
    )


# --- internals ---------------------------------------------------------------------------------------------


def _reference_window(
    model: LeadModel, reference: tuple[str | pd.Timestamp, str | pd.Timestamp] | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if reference is not None:
        start, end = pd.Timestamp(reference[0]), pd.Timestamp(reference[1])
    else:
        period = model.card.get("training_period") or {}
        if not period.get("start") or not period.get("end"):
            raise InputError(
                f"the card of model {model.version} has no training_period; pass the reference window."
            )
        start, end = pd.Timestamp(period["start"]), pd.Timestamp(period["end"])
    if start > end:
        raise InputError(f"the reference window starts ({_day(start)}) after it ends ({_day(end)}).")
    return start, end


def _present(frame: pd.DataFrame, column: str) -> str | None:
    return column if column in frame.columns and bool(frame[column].notna().any()) else None


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return _plain(value)
