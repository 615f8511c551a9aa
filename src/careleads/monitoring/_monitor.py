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
ok"), then tables; :meth:`MonitorReport.to_dict` is the JSON twin and
``careleads.report.write_monitor_report`` the HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from careleads.errors import InputError
from careleads.models import LeadModel
from careleads.monitoring._sources import MonitorData, MonitorSource, scored_frame
from careleads.settings import MonitorSettings
from careleads.stats import (
    BusinessOutcomes,
    DriftReport,
    DriftThresholds,
    Status,
    business_outcomes,
    calibration_by_tier,
    calibration_summary_lines,
    drift_report,
    tier_stability,
    worst_status,
)
from careleads.types import JSONDict

__all__ = ["MONITOR_STEPS", "MonitorReport", "drift_thresholds", "monitor"]

#: what :func:`monitor` says to its `progress` callback, in order (a bar's length is ``len(MONITOR_STEPS)``)
MONITOR_STEPS = (
    "reading leads, events and outcomes",
    "scoring the leads at their scoring moment",
    "comparing with the reference window (drift)",
    "calibration and tier stability",
    "business outcomes",
)


def drift_thresholds(settings: MonitorSettings) -> DriftThresholds:
    """The drift statuses' thresholds of ``settings``."""
    return DriftThresholds(
        psi_watch=settings.psi_watch,
        psi_act=settings.psi_act,
        positive_rate_watch_points=settings.positive_rate_watch_points,
        positive_rate_act_points=settings.positive_rate_act_points,
        score_shift_watch=settings.score_shift_watch_share,
        score_shift_act=settings.score_shift_act_share,
    )


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
        settings = self.settings.model_dump(mode="json")
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
    progress: Callable[[str], None] | None = None,
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
    progress : callable, optional
        Called with each of :data:`MONITOR_STEPS` as it starts.

    Returns
    -------
    MonitorReport
        ``status`` (ok, watch, act), ``summary_lines()``, ``to_dict()``; see :func:`write_monitor_report`.
    """
    cfg = settings or MonitorSettings()
    steps = iter(MONITOR_STEPS)
    say = progress or (lambda _message: None)
    say(next(steps))
    data = source if isinstance(source, MonitorData) else source.load()
    model = data.model
    say(next(steps))
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
    say(next(steps))
    drift = drift_report(
        ref,
        cur,
        columns=columns,
        score_col="probability",
        label_col="label",
        thresholds=drift_thresholds(cfg),
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
    say(next(steps))
    calibration = calibration_by_tier(
        cur,
        prob_col="probability",
        confidence=cfg.confidence,
        tolerance=cfg.calibration_tolerance,
        act_tolerance=cfg.calibration_act_tolerance,
        **common,
    )
    stability = tier_stability(cur, alpha=cfg.stability_alpha, **common)
    say(next(steps))
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
