"""Small statistics shared by the monitoring modules: statuses, Wilson intervals, tiers, periods, wording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from scipy import stats

from careleads.errors import InputError

Status: TypeAlias = Literal["ok", "watch", "act"]
CalibrationStatus: TypeAlias = Literal["ok", "watch", "act", "pending"]

_STATUS_RANK: dict[str, int] = {"ok": 0, "pending": 0, "watch": 1, "act": 2}


def status_for(value: float, *, watch: float, act: float) -> Status:
    """Status of a non-negative drift measure: ok below ``watch``, watch below ``act``, else act."""
    if value >= act:
        return "act"
    if value >= watch:
        return "watch"
    return "ok"


def worst_status(statuses: Iterable[str]) -> Status:
    """The most severe of several statuses (``ok`` when there are none)."""
    worst: Status = "ok"
    for status in statuses:
        if _STATUS_RANK[status] > _STATUS_RANK[worst]:
            worst = "act" if status == "act" else "watch"
    return worst


def wilson_interval(n_positive: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (NaN bounds when ``n`` is 0)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(n_positive), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def calibration_status(
    predicted: float,
    observed: float,
    ci: tuple[float, float],
    *,
    tolerance: float,
    act_tolerance: float,
) -> CalibrationStatus:
    """``ok`` if the predicted mean is inside the observed CI or within ``tolerance`` of the observed rate.

    Outside both: ``act`` when the gap exceeds ``act_tolerance``, else ``watch``;
    ``pending`` when there are no outcomes yet.
    """
    if np.isnan(observed):
        return "pending"
    gap = abs(predicted - observed)
    if ci[0] <= predicted <= ci[1] or gap <= tolerance:
        return "ok"
    return "act" if gap > act_tolerance else "watch"


def require_columns(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    """Raise InputError naming every missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: column(s) {missing} not found; available columns: {list(frame.columns)}. "
            "Pass the right column names."
        )


def binary_labels(series: pd.Series, *, column: str) -> pd.Series:
    """Labels as a float Series of 0.0/1.0 with NaN kept for outcomes not yet known."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    values = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & ~values.isin([0, 1])
    if bool(bad.any()):
        examples = series[bad].astype(str).unique()[:3].tolist()
        first_row = series.index[bad.to_numpy()][0]
        raise InputError(
            f"column {column!r} must hold 0/1 or true/false outcomes (empty while not yet known); "
            f"found {examples} (first at row {first_row}). Recode it before monitoring."
        )
    return values.astype("float64")


def flags(series: pd.Series) -> pd.Series:
    """A yes/no column as booleans: true/1 flags, or any non-empty text (an override reason, a reviewer)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.fillna(0).astype(float) != 0
    text = series.astype("string").str.strip().str.lower()
    falsy = text.isna() | text.isin(["", "0", "false", "no", "n", "none"])
    return ~falsy.astype(bool)


def tier_order(series: pd.Series, given: Sequence[Any] | None, *, column: str) -> list[Any]:
    """Tiers from best to worst: the given order, an ordered categorical's order, or sorted (A before B)."""
    present = series.dropna().unique().tolist()
    if given is not None:
        unknown = [t for t in present if t not in list(given)]
        if unknown:
            raise InputError(
                f"column {column!r} holds tiers {unknown} that are not in tier_order {list(given)}; "
                "add them to tier_order."
            )
        return list(given)
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered:
        return [c for c in series.dtype.categories if c in present]
    return sorted(present, key=str)


def require_no_missing(series: pd.Series, *, column: str, what: str) -> None:
    """Raise InputError when a column that every row needs has empty values."""
    n_missing = int(series.isna().sum())
    if n_missing:
        first_row = series.index[series.isna().to_numpy()][0]
        raise InputError(
            f"{what}: column {column!r} is empty in {n_missing} row(s) (first at row {first_row}); "
            "fill or remove those rows first."
        )


def as_datetime(series: pd.Series, *, column: str) -> pd.Series:
    """A time column as datetimes; unparseable or empty values raise InputError."""
    require_no_missing(series, column=column, what="time column")
    try:
        times = pd.to_datetime(series)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"column {column!r} must hold dates or timestamps: {exc}. Fix the values or pass another column."
        ) from exc
    return times


def period_label(start: pd.Timestamp, freq: str) -> str:
    """Words for a period: 'October 2024' (monthly), 'Q4 2024', '2024', else 'the period from ...'."""
    code = freq.upper().lstrip("0123456789")
    if code.startswith("M"):
        return start.strftime("%B %Y")
    if code.startswith("Q"):
        return f"Q{start.quarter} {start.year}"
    if code.startswith(("Y", "A")):
        return str(start.year)
    return f"the period from {start.date().isoformat()}"


def pct(share: float, *, digits: int = 0) -> str:
    """A share as a percentage for people: 0.314 -> '31%'; tiny non-zero shares keep one decimal."""
    if np.isnan(share):
        return "n/a"
    value = share * 100
    if value != 0 and abs(value) < 1 and digits == 0:
        return f"{value:.1f}%"
    return f"{value:.{digits}f}%"


def count_leads(n: int) -> str:
    """'1 lead', '2 leads'."""
    return f"{n} lead" if n == 1 else f"{n} leads"
