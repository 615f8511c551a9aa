"""Drift: population stability index per feature and for the score, positive rate and score range changes.

The training (reference) window is compared with a recent (current) window. PSI is computed here in numpy
rather than through a drift library, so the numbers are plain to audit:

    PSI = sum over buckets of (actual share - expected share) * ln(actual share / expected share)

Numeric columns are bucketed on quantiles of the reference sample with open outer edges; categorical
columns bucket on reference categories, with unseen categories and missing values as buckets of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.errors import ConfigError, InputError
from careleads.stats._status import (
    Status,
    as_datetime,
    binary_labels,
    pct,
    require_columns,
    status_for,
    worst_status,
)
from careleads.types import FloatArray, JSONDict

#: Share given to a bucket that is empty on one side, so the log ratio stays finite.
EPSILON = 1e-4
MISSING_BUCKET = "(missing)"
UNSEEN_BUCKET = "(unseen)"

ColumnKind: TypeAlias = Literal["numeric", "categorical"]
Values: TypeAlias = "npt.ArrayLike | pd.Series | Sequence[Any]"


@dataclass(frozen=True)
class DriftThresholds:
    """Where drift statuses change; the defaults are the usual PSI rule of thumb.

    Parameters
    ----------
    psi_watch, psi_act : float
        PSI from which a column is ``watch`` (default 0.1) and ``act`` (default 0.25).
    positive_rate_watch_points, positive_rate_act_points : float
        Absolute change of the positive rate, in percentage points, for ``watch`` and ``act``.
    score_shift_watch, score_shift_act : float
        Largest move of the score's 5th, 50th or 95th percentile, as a share of the reference
        5th-95th percentile width, for ``watch`` and ``act``.
    """

    psi_watch: float = 0.1
    psi_act: float = 0.25
    positive_rate_watch_points: float = 2.0
    positive_rate_act_points: float = 5.0
    score_shift_watch: float = 0.1
    score_shift_act: float = 0.25

    def __post_init__(self) -> None:
        pairs = {
            "psi": (self.psi_watch, self.psi_act),
            "positive_rate_points": (self.positive_rate_watch_points, self.positive_rate_act_points),
            "score_shift": (self.score_shift_watch, self.score_shift_act),
        }
        for name, (watch, act) in pairs.items():
            if not 0 <= watch <= act:
                raise ConfigError(
                    f"drift thresholds {name}: need 0 <= watch <= act, got watch={watch}, act={act}; "
                    "fix the monitoring settings."
                )


@dataclass(frozen=True)
class ColumnDrift:
    """PSI of one column with its status and the evidence behind it."""

    column: str
    kind: ColumnKind
    psi: float
    status: Status
    n_reference: int
    n_current: int
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class PositiveRateChange:
    """Positive (converted) rate among matured outcomes in each window."""

    reference_rate: float
    current_rate: float
    change_points: float
    status: Status
    n_reference: int
    n_current: int


@dataclass(frozen=True)
class ScoreRangeChange:
    """Score percentiles in each window and the largest relative move of the 5th/50th/95th."""

    reference_quantiles: dict[str, float]
    current_quantiles: dict[str, float]
    shift: float
    status: Status


@dataclass(frozen=True)
class DriftReport:
    """Everything :func:`drift_report` found; ``status`` is the worst of its parts."""

    columns: tuple[ColumnDrift, ...]
    score: ColumnDrift | None
    score_range: ScoreRangeChange | None
    positive_rate: PositiveRateChange | None
    n_reference: int
    n_current: int
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> Status:
        """Worst status over columns, score PSI, score range and positive rate."""
        parts: list[str] = [c.status for c in self.columns]
        for part in (self.score, self.score_range, self.positive_rate):
            if part is not None:
                parts.append(part.status)
        return worst_status(parts)

    def to_frame(self) -> pd.DataFrame:
        """One row per column, score included: column, kind, psi, status, n_reference, n_current, evidence."""
        rows = [*self.columns, *([self.score] if self.score is not None else [])]
        return pd.DataFrame(
            [
                {
                    "column": r.column,
                    "kind": r.kind,
                    "psi": r.psi,
                    "status": r.status,
                    "n_reference": r.n_reference,
                    "n_current": r.n_current,
                    "evidence": "; ".join(r.evidence),
                }
                for r in rows
            ],
            columns=["column", "kind", "psi", "status", "n_reference", "n_current", "evidence"],
        )

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict (plain floats, ints, strings, lists)."""
        return {
            "status": self.status,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "columns": [_column_dict(c) for c in self.columns],
            "score": None if self.score is None else _column_dict(self.score),
            "score_range": None if self.score_range is None else asdict(self.score_range),
            "positive_rate": None if self.positive_rate is None else asdict(self.positive_rate),
            "notes": list(self.notes),
            "summary": self.summary_lines(),
        }

    def summary_lines(self) -> list[str]:
        """Plain-language lines, the overall verdict first, then what needs attention with evidence."""
        flagged = sorted((c for c in self.columns if c.status != "ok"), key=lambda c: -c.psi)
        n_act = sum(c.status == "act" for c in self.columns)
        n_watch = sum(c.status == "watch" for c in self.columns)
        head = (
            f"Drift {self.status}: {self.n_current} recent leads against {self.n_reference} in the reference"
        )
        if self.columns:
            head += f"; {n_act} of {len(self.columns)} features need action, {n_watch} to watch"
        lines = [head + "."]
        if self.score is not None:
            lines.append(f"Score: PSI {self.score.psi:.3f}, {self.score.status}.")
        if self.score_range is not None:
            ref, cur = self.score_range.reference_quantiles, self.score_range.current_quantiles
            lines.append(
                "Score range (5th/50th/95th percentile): "
                f"{_fmt(ref['p05'])}/{_fmt(ref['p50'])}/{_fmt(ref['p95'])} -> "
                f"{_fmt(cur['p05'])}/{_fmt(cur['p50'])}/{_fmt(cur['p95'])}, {self.score_range.status}."
            )
        if self.positive_rate is not None:
            pr = self.positive_rate
            lines.append(
                f"Positive rate: {pct(pr.reference_rate, digits=1)} -> {pct(pr.current_rate, digits=1)} "
                f"({pr.change_points:+.1f} points), {pr.status}."
            )
        for c in flagged:
            evidence = f" ({'; '.join(c.evidence)})" if c.evidence else ""
            lines.append(f"{c.column}: PSI {c.psi:.3f}, {c.status}{evidence}.")
        n_ok = len(self.columns) - len(flagged)
        if flagged and n_ok:
            lines.append(f"The other {n_ok} feature(s) are stable (PSI below the watch threshold).")
        lines.extend(self.notes)
        return lines


def population_stability_index(expected: Values, actual: Values, *, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Numeric data (not boolean) is bucketed on the quantiles of ``expected`` with open outer edges, so values
    outside the reference range still land in the end buckets; categorical data uses the reference's
    category shares, with categories unseen in ``expected`` pooled in one bucket. Missing values form a
    bucket of their own in both cases. Empty buckets get a share of :data:`EPSILON`.

    Parameters
    ----------
    expected : array-like
        The reference sample (for example, the training window).
    actual : array-like
        The sample to compare (for example, the last month).
    bins : int, default 10
        Number of quantile buckets for numeric data (fewer when the reference has ties).

    Returns
    -------
    float
        0 for identical distributions; below 0.1 is usually stable, 0.25 and above a real shift.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=5000)
    >>> round(population_stability_index(ref, ref), 6)
    0.0
    >>> population_stability_index(ref, ref + 1.0) > 0.25
    True
    >>> population_stability_index(["web", "web", "phone"], ["web", "app", "phone"]) > 0.25
    True
    """
    exp, act = _as_series(expected, "expected"), _as_series(actual, "actual")
    kind = _kind(exp, act, column="values")
    e_share, a_share = _bucket_shares(exp, act, kind=kind, bins=bins)
    return _psi(e_share, a_share)


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    score_col: str | None = None,
    label_col: str | None = None,
    thresholds: DriftThresholds | None = None,
    bins: int = 10,
    top_shifts: int = 3,
) -> DriftReport:
    """Compare a recent window with the reference (training) window, column by column.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows, with the same column names.
    columns : sequence of str, optional
        Feature columns to check. By default every column the two frames share, except ``score_col``,
        ``label_col`` and date/time columns (noted in the report).
    score_col : str, optional
        Score or probability column: gets a PSI and a score range (5th/50th/95th percentile) check.
    label_col : str, optional
        Outcome column (0/1, empty while not matured): the positive rate change among matured outcomes.
    thresholds : DriftThresholds, optional
        Status thresholds; defaults to ``DriftThresholds()`` (PSI 0.1 watch, 0.25 act).
    bins : int, default 10
        Quantile buckets for numeric columns.
    top_shifts : int, default 3
        How many category share moves to show as evidence per categorical column.

    Returns
    -------
    DriftReport
        Per-column PSI and status, score and positive rate checks, ``summary_lines()`` and ``to_dict()``.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"source": ["web"] * 90 + ["phone"] * 10, "age_days": range(100)})
    >>> cur = pd.DataFrame({"source": ["web"] * 70 + ["telehealth_app"] * 30, "age_days": range(100)})
    >>> report = drift_report(ref, cur)
    >>> report.status
    'act'
    >>> report.columns[0].evidence[0]
    'source=telehealth_app: 0% -> 30%'
    """
    limits = thresholds if thresholds is not None else DriftThresholds()
    notes: list[str] = []
    special = {c for c in (score_col, label_col) if c is not None}
    if columns is None:
        shared = [c for c in reference.columns if c in current.columns and c not in special]
        only = sorted(set(reference.columns).symmetric_difference(current.columns) - special, key=str)
        if only:
            notes.append(f"Not compared, present in only one window: {', '.join(map(str, only))}.")
        dated = [c for c in shared if _is_datetime(reference[c]) or _is_datetime(current[c])]
        if dated:
            notes.append(f"Not compared, dates or times: {', '.join(map(str, dated))}.")
        feature_cols = [str(c) for c in shared if c not in dated]
    else:
        require_columns(reference, list(columns), what="drift_report reference")
        require_columns(current, list(columns), what="drift_report current")
        feature_cols = list(columns)
    if len(reference) == 0 or len(current) == 0:
        raise InputError(
            f"drift_report needs rows in both windows; got {len(reference)} reference and "
            f"{len(current)} current rows. Widen the windows."
        )

    results = tuple(
        _column_drift(c, reference[c], current[c], limits=limits, bins=bins, top_shifts=top_shifts)
        for c in feature_cols
    )
    score = score_range = None
    if score_col is not None:
        require_columns(reference, [score_col], what="drift_report reference")
        require_columns(current, [score_col], what="drift_report current")
        if not (_is_numeric(reference[score_col]) and _is_numeric(current[score_col])):
            raise InputError(
                f"drift_report: score column {score_col!r} must be numeric in both windows; "
                "pass the score or probability column."
            )
        score = _column_drift(
            score_col,
            reference[score_col],
            current[score_col],
            limits=limits,
            bins=bins,
            top_shifts=top_shifts,
        )
        score_range = _score_range(reference[score_col], current[score_col], limits=limits, notes=notes)
    positive_rate = None
    if label_col is not None:
        require_columns(reference, [label_col], what="drift_report reference")
        require_columns(current, [label_col], what="drift_report current")
        positive_rate = _positive_rate(reference[label_col], current[label_col], limits=limits, notes=notes)
    return DriftReport(
        columns=results,
        score=score,
        score_range=score_range,
        positive_rate=positive_rate,
        n_reference=len(reference),
        n_current=len(current),
        notes=tuple(notes),
    )


def drift_over_time(
    frame: pd.DataFrame,
    time_col: str,
    reference: pd.Series | npt.ArrayLike | tuple[Any, Any],
    *,
    freq: str = "MS",
    columns: Sequence[str] | None = None,
    thresholds: DriftThresholds | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """PSI of each column for each period against a fixed reference window.

    Parameters
    ----------
    frame : DataFrame
        All leads, reference and later ones.
    time_col : str
        Date or timestamp column that places each lead in a period.
    reference : boolean mask or (start, end)
        The reference rows: a boolean mask aligned with ``frame``, or a ``(start, end)`` pair of dates
        (start included, end excluded).
    freq : str, default "MS"
        Period length as a pandas frequency (``"MS"`` months, ``"W-MON"`` weeks, ``"QS"`` quarters).
    columns : sequence of str, optional
        Columns to follow; by default every column except ``time_col`` and other date/time columns.
    thresholds : DriftThresholds, optional
        Status thresholds.
    bins : int, default 10
        Quantile buckets for numeric columns.

    Returns
    -------
    DataFrame
        Long format, one row per period and column: ``period`` (period start), ``column``, ``psi``,
        ``status``, ``n_reference``, ``n_current``. Periods without leads are left out. For a wide table use
        ``result.pivot(index="period", columns="column", values="psi")``.
    """
    limits = thresholds if thresholds is not None else DriftThresholds()
    require_columns(frame, [time_col], what="drift_over_time")
    times = as_datetime(frame[time_col], column=time_col)
    mask = _reference_mask(frame, times, reference)
    ref = frame.loc[mask.to_numpy()]
    if len(ref) == 0:
        raise InputError("drift_over_time: the reference selects no rows; check the mask or the dates.")
    if columns is None:
        cols = [str(c) for c in frame.columns if c != time_col and not _is_datetime(frame[c])]
    else:
        require_columns(frame, list(columns), what="drift_over_time")
        cols = list(columns)
    rows: list[dict[str, Any]] = []
    work = frame.assign(__period_time=times.to_numpy())
    for period, group in work.groupby(pd.Grouper(key="__period_time", freq=freq)):
        if len(group) == 0:
            continue
        for col in cols:
            kind = _kind(ref[col], group[col], column=col)
            psi = _psi(*_bucket_shares(ref[col], group[col], kind=kind, bins=bins))
            rows.append(
                {
                    "period": period,
                    "column": col,
                    "psi": psi,
                    "status": status_for(psi, watch=limits.psi_watch, act=limits.psi_act),
                    "n_reference": len(ref),
                    "n_current": len(group),
                }
            )
    return pd.DataFrame(rows, columns=["period", "column", "psi", "status", "n_reference", "n_current"])


# --- internals ---------------------------------------------------------------------------------------------


def _as_series(values: Values, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        series = values
    else:
        array = np.asarray(values)
        series = pd.Series(array.tolist() if array.dtype == object else array, name=name)
    if len(series) == 0:
        raise InputError(
            f"population_stability_index: the {name} sample is empty; PSI needs values on both sides."
        )
    return series


def _is_datetime(series: pd.Series) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(series.dtype))


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _kind(expected: pd.Series, actual: pd.Series, *, column: str) -> ColumnKind:
    if _is_datetime(expected) or _is_datetime(actual):
        raise InputError(
            f"column {column!r} holds dates; PSI of dates always shows drift. Leave it out of the columns."
        )
    e_num, a_num = _is_numeric(expected), _is_numeric(actual)
    one_side_empty = bool(expected.isna().all()) or bool(actual.isna().all())
    if e_num != a_num and not one_side_empty:
        raise InputError(
            f"column {column!r} is numeric in one window and text in the other; fix its type in the "
            "window that holds text."
        )
    return "numeric" if (e_num or a_num) else "categorical"


def _bucket_shares(
    expected: pd.Series, actual: pd.Series, *, kind: ColumnKind, bins: int
) -> tuple[FloatArray, FloatArray]:
    if kind == "numeric":
        return _numeric_shares(expected, actual, bins=bins)
    e_keys, a_keys = _category_keys(expected), _category_keys(actual)
    known = set(e_keys.unique())
    a_keys = a_keys.where(a_keys.isin(known), UNSEEN_BUCKET)
    e_counts = e_keys.value_counts()
    a_counts = a_keys.value_counts()
    buckets = sorted(set(e_counts.index) | set(a_counts.index))
    e = e_counts.reindex(buckets, fill_value=0).to_numpy(dtype=float)
    a = a_counts.reindex(buckets, fill_value=0).to_numpy(dtype=float)
    return e / e.sum(), a / a.sum()


def _numeric_shares(expected: pd.Series, actual: pd.Series, *, bins: int) -> tuple[FloatArray, FloatArray]:
    if bins < 2:
        raise InputError(f"population_stability_index: bins must be at least 2, got {bins}.")
    e = pd.to_numeric(expected).to_numpy(dtype=float, na_value=np.nan)
    a = pd.to_numeric(actual).to_numpy(dtype=float, na_value=np.nan)
    e_ok, a_ok = e[~np.isnan(e)], a[~np.isnan(a)]
    if e_ok.size:
        edges = np.unique(np.quantile(e_ok, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    else:
        edges = np.array([], dtype=float)
    n_buckets = edges.size + 1
    # side="left" puts a value equal to an edge in the bucket that edge closes: buckets are (low, high].
    e_counts = np.bincount(np.searchsorted(edges, e_ok, side="left"), minlength=n_buckets).astype(float)
    a_counts = np.bincount(np.searchsorted(edges, a_ok, side="left"), minlength=n_buckets).astype(float)
    e_counts = np.append(e_counts, float(np.isnan(e).sum()))
    a_counts = np.append(a_counts, float(np.isnan(a).sum()))
    return e_counts / e.size, a_counts / a.size


def _category_keys(series: pd.Series) -> pd.Series:
    keys = series.astype(object).map(lambda v: MISSING_BUCKET if pd.isna(v) else str(v))
    return keys.astype(object)


def _psi(expected: FloatArray, actual: FloatArray) -> float:
    e = np.clip(expected, EPSILON, None)
    a = np.clip(actual, EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _column_drift(
    column: str,
    expected: pd.Series,
    actual: pd.Series,
    *,
    limits: DriftThresholds,
    bins: int,
    top_shifts: int,
) -> ColumnDrift:
    kind = _kind(expected, actual, column=column)
    psi = _psi(*_bucket_shares(expected, actual, kind=kind, bins=bins))
    evidence: list[str] = []
    if kind == "categorical":
        e_share = _category_keys(expected).value_counts(normalize=True)
        a_share = _category_keys(actual).value_counts(normalize=True)
        cats = sorted(set(e_share.index) | set(a_share.index))
        e_all = e_share.reindex(cats, fill_value=0.0)
        a_all = a_share.reindex(cats, fill_value=0.0)
        moves = (a_all - e_all).abs().sort_values(ascending=False, kind="stable")
        for cat in moves.index[:top_shifts]:
            if moves[cat] >= 0.005:
                evidence.append(f"{column}={cat}: {pct(float(e_all[cat]))} -> {pct(float(a_all[cat]))}")
    else:
        e_num = pd.to_numeric(expected)
        a_num = pd.to_numeric(actual)
        e_med, a_med = e_num.median(), a_num.median()
        if not (pd.isna(e_med) or pd.isna(a_med)) and e_med != a_med:
            evidence.append(f"median {_fmt(float(e_med))} -> {_fmt(float(a_med))}")
        e_miss, a_miss = float(e_num.isna().mean()), float(a_num.isna().mean())
        if abs(e_miss - a_miss) >= 0.005:
            evidence.append(f"missing {pct(e_miss)} -> {pct(a_miss)}")
    return ColumnDrift(
        column=column,
        kind=kind,
        psi=psi,
        status=status_for(psi, watch=limits.psi_watch, act=limits.psi_act),
        n_reference=len(expected),
        n_current=len(actual),
        evidence=tuple(evidence),
    )


def _score_range(
    expected: pd.Series, actual: pd.Series, *, limits: DriftThresholds, notes: list[str]
) -> ScoreRangeChange | None:
    e = pd.to_numeric(expected).dropna().to_numpy(dtype=float)
    a = pd.to_numeric(actual).dropna().to_numpy(dtype=float)
    if e.size == 0 or a.size == 0:
        notes.append("Score range not compared: one window has no scores.")
        return None
    probs = {"min": 0.0, "p05": 0.05, "p50": 0.5, "p95": 0.95, "max": 1.0}
    ref = {k: float(np.quantile(e, q)) for k, q in probs.items()}
    cur = {k: float(np.quantile(a, q)) for k, q in probs.items()}
    width = ref["p95"] - ref["p05"]
    moves = [abs(cur[k] - ref[k]) for k in ("p05", "p50", "p95")]
    if width > 0:
        shift = max(moves) / width
    else:
        shift = 0.0 if max(moves) == 0 else float("inf")
    return ScoreRangeChange(
        reference_quantiles=ref,
        current_quantiles=cur,
        shift=shift,
        status=status_for(shift, watch=limits.score_shift_watch, act=limits.score_shift_act),
    )


def _positive_rate(
    expected: pd.Series, actual: pd.Series, *, limits: DriftThresholds, notes: list[str]
) -> PositiveRateChange | None:
    e = binary_labels(expected, column=str(expected.name)).dropna()
    a = binary_labels(actual, column=str(actual.name)).dropna()
    if len(e) == 0 or len(a) == 0:
        notes.append("Positive rate not compared: one window has no matured outcomes yet.")
        return None
    ref_rate, cur_rate = float(e.mean()), float(a.mean())
    change = (cur_rate - ref_rate) * 100
    return PositiveRateChange(
        reference_rate=ref_rate,
        current_rate=cur_rate,
        change_points=change,
        status=status_for(
            abs(change), watch=limits.positive_rate_watch_points, act=limits.positive_rate_act_points
        ),
        n_reference=len(e),
        n_current=len(a),
    )


def _reference_mask(frame: pd.DataFrame, times: pd.Series, reference: Any) -> pd.Series:
    if isinstance(reference, tuple):
        if len(reference) != 2:
            raise InputError("drift_over_time: reference period must be a (start, end) pair of dates.")
        start, end = pd.Timestamp(reference[0]), pd.Timestamp(reference[1])
        return (times >= start) & (times < end)
    if isinstance(reference, pd.Series):
        if not reference.index.equals(frame.index):
            raise InputError(
                "drift_over_time: the reference mask must share the frame's index; build it from the frame "
                "(for example frame[time_col] < '2024-03-01')."
            )
        values = reference.to_numpy()
    else:
        values = np.asarray(reference)
    if values.ndim != 1 or len(values) != len(frame) or values.dtype != np.bool_:
        raise InputError(
            f"drift_over_time: reference must be a boolean mask with one value per row ({len(frame)}) "
            "or a (start, end) pair of dates."
        )
    return pd.Series(values, index=frame.index)


def _column_dict(c: ColumnDrift) -> JSONDict:
    out = asdict(c)
    out["evidence"] = list(c.evidence)
    return out


def _fmt(value: float) -> str:
    return f"{value:.3g}"
