"""Business outcomes: what the scoring did for the team, in numbers a manager reads.

Conversion by tier (against the predicted rate when a probability column is given), time to first contact
by tier, appointments per 100 leads, manual review, override and SLA breach rates, and feedback labels.
Columns are passed by name; an optional column that is named but absent is skipped with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from careleads.errors import InputError
from careleads.stats._status import (
    as_datetime,
    binary_labels,
    calibration_status,
    count_leads,
    flags,
    pct,
    period_label,
    require_columns,
    require_no_missing,
    wilson_interval,
)
from careleads.stats._status import tier_order as resolve_tier_order
from careleads.types import JSONDict


@dataclass(frozen=True)
class BusinessOutcomes:
    """Result of :func:`business_outcomes`.

    ``by_tier`` has one row per tier: ``tier, n_leads, n_matured, n_converted, conversion_rate, ci_low,
    ci_high`` and, when the columns were given, ``predicted_mean, calibration_status``,
    ``median_hours_to_first_contact, n_contacted``, ``appointments_per_100_leads``, ``sla_breach_rate``.
    Rates over all leads are ``None`` when their column was not given or not found (see ``notes``).
    """

    by_tier: pd.DataFrame
    n_leads: int
    period: str | None
    appointments_per_100_leads: float | None = None
    manual_review_rate: float | None = None
    override_rate: float | None = None
    sla_breach_rate: float | None = None
    median_hours_to_first_contact: float | None = None
    feedback_counts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    confidence: float = 0.95
    min_matured: int = 0

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict; ``by_tier`` as a list of records with NaN as ``None``."""
        records = self.by_tier.astype(object).where(self.by_tier.notna(), None).to_dict("records")
        return {
            "n_leads": self.n_leads,
            "period": self.period,
            "by_tier": [{str(k): _plain(v) for k, v in r.items()} for r in records],
            "appointments_per_100_leads": self.appointments_per_100_leads,
            "manual_review_rate": self.manual_review_rate,
            "override_rate": self.override_rate,
            "sla_breach_rate": self.sla_breach_rate,
            "median_hours_to_first_contact": self.median_hours_to_first_contact,
            "feedback_counts": dict(self.feedback_counts),
            "notes": list(self.notes),
            "summary": self.summary_lines(),
        }

    def summary_lines(self) -> list[str]:
        """Plain-language lines, conversion by tier first.

        Example: ``Tier A converted at 31% in October 2024 against 34% predicted: ok (412 leads).``
        """
        when = f" in {self.period}" if self.period else ""
        level = f"{self.confidence * 100:.0f}%"
        lines: list[str] = []
        has_pred = "predicted_mean" in self.by_tier.columns
        for row in self.by_tier.to_dict("records"):
            tier, n_matured = row["tier"], int(row["n_matured"])
            open_ = int(row["n_leads"]) - n_matured
            still_open = f", {open_} still open" if open_ else ""
            if n_matured == 0:
                lines.append(f"Tier {tier}{when}: no matured outcomes yet ({count_leads(open_)} still open).")
                continue
            if n_matured < self.min_matured:
                lines.append(
                    f"Tier {tier}{when}: too early for a conversion rate ({count_leads(n_matured)} "
                    f"matured of the {self.min_matured} needed{still_open})."
                )
                continue
            line = f"Tier {tier} converted at {pct(row['conversion_rate'])}{when}"
            if has_pred:
                line += f" against {pct(row['predicted_mean'])} predicted: {row['calibration_status']}"
            ci = f"{level} CI {pct(row['ci_low'])} to {pct(row['ci_high'])}"
            line += f" ({count_leads(n_matured)}{still_open}; {ci})."
            lines.append(line)
        if "median_hours_to_first_contact" in self.by_tier.columns:
            parts = [
                f"tier {r['tier']} {_hours(r['median_hours_to_first_contact'])}"
                for r in self.by_tier.to_dict("records")
            ]
            lines.append(f"Median time to first contact: {', '.join(parts)}.")
        if self.appointments_per_100_leads is not None:
            lines.append(f"Appointments per 100 leads: {self.appointments_per_100_leads:.1f}.")
        rates = [
            ("Manual review rate", self.manual_review_rate),
            ("override rate", self.override_rate),
            ("SLA breaches", self.sla_breach_rate),
        ]
        shown = [f"{name} {pct(value, digits=1)}" for name, value in rates if value is not None]
        if shown:
            text = "; ".join(shown)
            lines.append(text[0].upper() + text[1:] + " of leads.")
        if self.feedback_counts:
            labels = ", ".join(f"{k} {v}" for k, v in self.feedback_counts.items())
            lines.append(f"Feedback labels: {labels}.")
        lines.extend(self.notes)
        return lines


def business_outcomes(
    frame: pd.DataFrame,
    *,
    tier_col: str,
    converted_col: str,
    prob_col: str | None = None,
    hours_to_contact_col: str | None = None,
    appointments_col: str | None = None,
    manual_review_col: str | None = None,
    override_col: str | None = None,
    feedback_col: str | None = None,
    sla_breach_col: str | None = None,
    censored_col: str | None = None,
    time_col: str | None = None,
    period: str | None = None,
    tier_order: Sequence[Any] | None = None,
    confidence: float = 0.95,
    min_matured: int = 0,
    tolerance: float = 0.02,
    act_tolerance: float = 0.05,
) -> BusinessOutcomes:
    """Conversion and follow-up figures by tier and over all leads of one window.

    Parameters
    ----------
    frame : DataFrame
        One row per lead in the window being reported.
    tier_col : str
        Tier of each lead (required, no empty values).
    converted_col : str
        Target outcome reached: 1/0 or true/false, empty while not yet known (counted as still open).
    prob_col : str, optional
        Predicted probability in [0, 1]; adds predicted mean and a calibration status per tier.
    hours_to_contact_col : str, optional
        Hours from lead creation to first contact; empty for leads not yet contacted.
    appointments_col : str, optional
        Appointments per lead (a count, or a yes/no flag).
    manual_review_col, override_col, sla_breach_col : str, optional
        Yes/no flags (true/1, or any non-empty text such as an override reason).
    feedback_col : str, optional
        Reviewer feedback label; empty where none was given.
    censored_col : str, optional
        True where the outcome window is still open; those leads do not count in conversion.
    time_col : str, optional
        Lead date, used only to name the period in the summary when ``period`` is not given.
    period : str, optional
        Words for the window ("October 2024"), used in the summary.
    tier_order : sequence, optional
        Tiers from best to worst.
    confidence, tolerance, act_tolerance : float
        Wilson interval level and calibration status tolerances, as in ``calibration_by_tier``.
    min_matured : int, default 0
        A tier with fewer matured leads gets no conversion rate, interval or calibration status (NaN and
        ``pending``) and its summary line says it is too early: a handful of outcomes prints a misleading
        rate.

    Returns
    -------
    BusinessOutcomes
        ``by_tier`` table, overall rates, feedback counts, notes, ``summary_lines()`` and ``to_dict()``.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"tier": ["A", "A", "B", "B"], "converted": [1, 0, 0, 0],
    ...                       "p": [0.5, 0.5, 0.1, 0.1], "override": [None, "vip", None, None]})
    >>> out = business_outcomes(leads, tier_col="tier", converted_col="converted", prob_col="p",
    ...                         override_col="override", sla_breach_col="sla_breached", period="October 2024")
    >>> out.summary_lines()[0]
    'Tier A converted at 50% in October 2024 against 50% predicted: ok (2 leads; 95% CI 9% to 91%).'
    >>> out.override_rate, out.notes
    (0.25, ("Skipped SLA breach rate: column 'sla_breached' not found.",))
    """
    require_columns(frame, [tier_col, converted_col], what="business_outcomes")
    require_no_missing(frame[tier_col], column=tier_col, what="business_outcomes")
    notes: list[str] = []

    def present(column: str | None, what: str) -> str | None:
        if column is None:
            return None
        if column not in frame.columns:
            notes.append(f"Skipped {what}: column {column!r} not found.")
            return None
        return column

    prob_c = present(prob_col, "predicted conversion")
    hours_c = present(hours_to_contact_col, "time to first contact")
    appt_c = present(appointments_col, "appointments per 100 leads")
    review_c = present(manual_review_col, "manual review rate")
    override_c = present(override_col, "override rate")
    feedback_c = present(feedback_col, "feedback labels")
    sla_c = present(sla_breach_col, "SLA breach rate")
    censored_c = present(censored_col, "censoring (all known outcomes counted)")

    order = resolve_tier_order(frame[tier_col], tier_order, column=tier_col)
    label = binary_labels(frame[converted_col], column=converted_col)
    matured = label.notna()
    if censored_c is not None:
        matured &= ~flags(frame[censored_c])
    prob = _probabilities(frame, prob_c)
    hours = _numbers(frame, hours_c)
    appointments = _appointments(frame, appt_c)
    sla = flags(frame[sla_c]) if sla_c is not None else None

    rows: list[dict[str, Any]] = []
    tiers = frame[tier_col]
    for tier in order:
        in_tier = (tiers == tier).to_numpy()
        ok = in_tier & matured.to_numpy()
        n_matured, n_conv = int(ok.sum()), int(label[ok].sum())
        enough = n_matured >= max(min_matured, 1)
        rate = n_conv / n_matured if enough else float("nan")
        ci = wilson_interval(n_conv, n_matured, confidence=confidence) if enough else (math.nan, math.nan)
        row: dict[str, Any] = {
            "tier": tier,
            "n_leads": int(in_tier.sum()),
            "n_matured": n_matured,
            "n_converted": n_conv,
            "conversion_rate": rate,
            "ci_low": ci[0],
            "ci_high": ci[1],
        }
        if prob is not None:
            predicted = float(prob[ok].mean()) if enough else float("nan")
            row["predicted_mean"] = predicted
            row["calibration_status"] = calibration_status(
                predicted, rate, ci, tolerance=tolerance, act_tolerance=act_tolerance
            )
        if hours is not None:
            tier_hours = hours[in_tier].dropna()
            row["median_hours_to_first_contact"] = (
                float(tier_hours.median()) if len(tier_hours) else float("nan")
            )
            row["n_contacted"] = len(tier_hours)
        if appointments is not None:
            row["appointments_per_100_leads"] = float(appointments[in_tier].mean() * 100)
        if sla is not None:
            row["sla_breach_rate"] = float(sla[in_tier].mean())
        rows.append(row)

    feedback: dict[str, int] = {}
    if feedback_c is not None:
        labels = frame[feedback_c].dropna().astype(str).str.strip()
        feedback = {str(k): int(v) for k, v in labels[labels != ""].value_counts().items()}
    hours_all = hours.dropna() if hours is not None else None
    return BusinessOutcomes(
        by_tier=pd.DataFrame(rows),
        n_leads=len(frame),
        period=period if period is not None else _period_from(frame, time_col, notes),
        appointments_per_100_leads=None if appointments is None else float(appointments.mean() * 100),
        manual_review_rate=None if review_c is None else float(flags(frame[review_c]).mean()),
        override_rate=None if override_c is None else float(flags(frame[override_c]).mean()),
        sla_breach_rate=None if sla is None else float(sla.mean()),
        median_hours_to_first_contact=(
            None if hours_all is None or len(hours_all) == 0 else float(hours_all.median())
        ),
        feedback_counts=feedback,
        notes=tuple(notes),
        confidence=confidence,
        min_matured=min_matured,
    )


# --- internals ---------------------------------------------------------------------------------------------


def _probabilities(frame: pd.DataFrame, column: str | None) -> pd.Series | None:
    if column is None:
        return None
    prob = pd.to_numeric(frame[column], errors="coerce")
    require_no_missing(prob, column=column, what="business_outcomes (probabilities, numbers only)")
    if float(prob.min()) < 0 or float(prob.max()) > 1:
        raise InputError(
            f"column {column!r} must hold probabilities in [0, 1], found {float(prob.min())} to "
            f"{float(prob.max())}; divide a 0-100 score by 100 first."
        )
    return prob.astype(float)


def _numbers(frame: pd.DataFrame, column: str | None) -> pd.Series | None:
    if column is None:
        return None
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & values.isna()
    if bool(bad.any()) or bool((values < 0).any()):
        raise InputError(
            f"column {column!r} must hold non-negative numbers of hours (empty when not yet contacted); "
            "fix the values that are text or negative."
        )
    return values.astype(float)


def _appointments(frame: pd.DataFrame, column: str | None) -> pd.Series | None:
    if column is None:
        return None
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.fillna(0).astype(float)
    return flags(series).astype(float)


def _period_from(frame: pd.DataFrame, time_col: str | None, notes: list[str]) -> str | None:
    if time_col is None:
        return None
    if time_col not in frame.columns:
        notes.append(f"Period not named: column {time_col!r} not found.")
        return None
    times = as_datetime(frame[time_col], column=time_col)
    if len(times) == 0:
        return None
    first, last = pd.Timestamp(times.min()), pd.Timestamp(times.max())
    if (first.year, first.month) == (last.year, last.month):
        return period_label(first, "MS")
    return f"the period {first.date().isoformat()} to {last.date().isoformat()}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hours(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.1f} h"
