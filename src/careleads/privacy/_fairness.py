"""Fairness report: tiers, scores and conversion by sensitive group, with plain-language warnings.

Sensitive attributes (age, sex, ...) are never model features; this report only reads them, next to the
scores and tiers a model gave, to show whether some groups are put in the top tiers less often
(demographic parity) or, among leads that did convert, less often recognised (equal opportunity).
Numeric attributes such as age are banded first (18-34, 35-49, 50-64, 65+ by default).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from careleads.errors import InputError
from careleads.types import JSONDict

__all__ = [
    "DEFAULT_AGE_EDGES",
    "AttributeReport",
    "FairnessReport",
    "FairnessThresholds",
    "GroupStats",
    "band_numeric",
    "fairness_report",
]

#: Band edges for numeric attributes: [0, 18), [18, 35), [35, 50), [50, 65), [65, 121).
DEFAULT_AGE_EDGES: tuple[float, ...] = (0, 18, 35, 50, 65, 121)
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MISSING_GROUP = "missing"
OUT_OF_RANGE_GROUP = "out_of_range"


@dataclass(frozen=True, slots=True)
class FairnessThresholds:
    """Limits above which the report warns.

    Attributes
    ----------
    parity_difference : float
        Largest tolerated gap in selection rate (share in the top tiers) between groups, 0..1.
    equal_opportunity_difference : float
        Largest tolerated gap in true-positive rate (share in the top tiers among converters), 0..1.
    score_mean_difference : float
        Largest tolerated gap in mean score, in score points.
    min_group_size : int
        Groups smaller than this are reported but left out of the gaps (their rates are too noisy).
    min_converters : int
        A group's true-positive rate is measured only with at least this many converters in it.
    """

    parity_difference: float = 0.10
    equal_opportunity_difference: float = 0.10
    score_mean_difference: float = 10.0
    min_group_size: int = 30
    min_converters: int = 20

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> FairnessThresholds:
        """Build from a mapping such as a settings-file section; unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"unknown fairness threshold(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
            )
        kwargs: dict[str, Any] = dict(values)
        for name in ("min_group_size", "min_converters"):
            if name in kwargs:
                kwargs[name] = int(kwargs[name])
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Figures for one group of one sensitive attribute."""

    group: str
    n: int
    share: float
    tier_distribution: dict[str, float]
    score_mean: float | None
    score_quantiles: dict[str, float | None]
    n_labelled: int
    conversion_rate: float | None
    selection_rate: float
    true_positive_rate: float | None
    parity_difference: float | None
    equal_opportunity_difference: float | None
    compared: bool


@dataclass(frozen=True, slots=True)
class AttributeReport:
    """All groups of one sensitive attribute, the gaps between them and the warnings."""

    column: str
    banded: bool
    reference_group: str | None
    groups: list[GroupStats]
    parity_difference: float | None
    equal_opportunity_difference: float | None
    score_mean_difference: float | None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """The report over every sensitive attribute; :meth:`to_dict` gives its JSON form."""

    n_rows: int
    positive_tiers: list[str]
    thresholds: FairnessThresholds
    attributes: list[AttributeReport]

    @property
    def warnings(self) -> list[str]:
        """Every attribute's warnings, in attribute order."""
        return [w for a in self.attributes for w in a.warnings]

    def attribute(self, column: str) -> AttributeReport:
        """The report of one attribute."""
        for a in self.attributes:
            if a.column == column:
                return a
        raise InputError(
            f"no fairness figures for {column!r}; the report covers {[a.column for a in self.attributes]}"
        )

    def to_dict(self) -> JSONDict:
        """JSON-able form (NaN becomes None)."""
        out = _clean(asdict(self))
        out["warnings"] = self.warnings
        assert isinstance(out, dict)
        return out


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, np.integer):
        return int(value)
    return value


def _band_labels(edges: Sequence[float]) -> list[str]:
    labels = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        last = k == len(edges) - 2
        labels.append(f"{lo:g}+" if last and lo > 0 else f"{lo:g}-{hi - 1:g}")
    return labels


def band_numeric(values: pd.Series, edges: Sequence[float] = DEFAULT_AGE_EDGES) -> pd.Series:
    """Band a numeric attribute into labelled ranges.

    Parameters
    ----------
    values : pandas.Series
        Numbers (unparsable text counts as missing).
    edges : sequence of float
        Increasing band edges; each band is [edge_k, edge_k+1). The last band is labelled ``"65+"``.

    Returns
    -------
    pandas.Series of str
        Band labels, ``"missing"`` for missing values and ``"out_of_range"`` outside the edges
        (for example the bad ages -3 and 250), so no row is dropped.

    Examples
    --------
    >>> band_numeric(pd.Series([17, 18, 40, 70, None, -3])).tolist()
    ['0-17', '18-34', '35-49', '65+', 'missing', 'out_of_range']
    """
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise InputError(f"band edges must be increasing and at least two, got {list(edges)}")
    numbers = pd.to_numeric(values, errors="coerce")
    labels = _band_labels(edges)
    codes = np.searchsorted(np.asarray(edges, dtype=float), numbers.to_numpy(dtype=float), side="right") - 1
    out = np.where(
        (codes >= 0) & (codes < len(labels)),
        np.asarray(labels, dtype=object)[np.clip(codes, 0, len(labels) - 1)],
        OUT_OF_RANGE_GROUP,
    )
    out = np.where(numbers.isna().to_numpy(), MISSING_GROUP, out)
    return pd.Series(out, index=values.index, dtype=object)


def _groups_of(frame: pd.DataFrame, column: str, edges: Sequence[float] | None) -> tuple[pd.Series, bool]:
    col = frame[column]
    if edges is not None or (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        return band_numeric(col, edges if edges is not None else DEFAULT_AGE_EDGES), True
    text = col.astype("string").str.strip()
    text = text.mask(text.isna() | (text == ""), MISSING_GROUP)
    return text.astype(object), False


def _labels(frame: pd.DataFrame, label_col: str) -> pd.Series:
    raw = frame[label_col]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & ~numbers.isin([0, 1])
    if bad.any():
        first = raw[bad].iloc[0]
        raise InputError(
            f"label column {label_col!r} must hold 0/1, true/false or missing (censored); "
            f"{int(bad.sum())} row(s) do not, for example {first!r} at row {bad.idxmax()!r}"
        )
    return numbers.astype(float)


def _pp(x: float) -> str:
    return f"{x * 100:.0f}%"


def _attribute_report(
    column: str,
    groups: pd.Series,
    banded: bool,
    scores: pd.Series,
    tiers: pd.Series,
    selected: pd.Series,
    labels: pd.Series | None,
    thresholds: FairnessThresholds,
    top_names: str,
) -> AttributeReport:
    n_total = len(groups)
    stats: list[dict[str, Any]] = []
    for group in sorted(groups.unique(), key=str):
        mask = (groups == group).to_numpy()
        g_scores = scores[mask].dropna()
        g_tiers = tiers[mask]
        g_selected = selected[mask]
        tier_share = g_tiers.value_counts(normalize=True).sort_index()
        n_labelled = 0
        conversion = tpr = None
        if labels is not None:
            g_labels = labels[mask]
            known = g_labels.notna()
            n_labelled = int(known.sum())
            if n_labelled:
                conversion = float(g_labels[known].mean())
            converters = (g_labels == 1).to_numpy()
            # equal opportunity is measured over a group's converters: with fewer of them than the minimum
            # group size the rate is noise, and comparing it would raise false alarms
            if converters.sum() >= thresholds.min_converters:
                tpr = float(g_selected[converters].mean())
        stats.append(
            {
                "group": str(group),
                "n": int(mask.sum()),
                "share": float(mask.sum() / n_total) if n_total else 0.0,
                "tier_distribution": {str(k): float(v) for k, v in tier_share.items()},
                "score_mean": float(g_scores.mean()) if len(g_scores) else None,
                "score_quantiles": {
                    f"p{int(q * 100)}": (float(g_scores.quantile(q)) if len(g_scores) else None)
                    for q in _QUANTILES
                },
                "n_labelled": n_labelled,
                "conversion_rate": conversion,
                "selection_rate": float(g_selected.mean()) if mask.any() else 0.0,
                "true_positive_rate": tpr,
                "compared": int(mask.sum()) >= thresholds.min_group_size and group != MISSING_GROUP,
            }
        )
    compared = [s for s in stats if s["compared"]]
    reference = max(compared, key=lambda s: (s["n"], s["group"])) if compared else None
    for s in stats:
        s["parity_difference"] = (
            s["selection_rate"] - reference["selection_rate"]
            if reference is not None and s["compared"]
            else None
        )
        ref_tpr = reference["true_positive_rate"] if reference is not None else None
        s["equal_opportunity_difference"] = (
            s["true_positive_rate"] - ref_tpr
            if s["compared"] and s["true_positive_rate"] is not None and ref_tpr is not None
            else None
        )

    warnings: list[str] = []
    small = [s for s in stats if not s["compared"] and s["group"] != MISSING_GROUP]
    for s in small:
        warnings.append(
            f"Only {s['n']} lead{' has' if s['n'] == 1 else 's have'} {column} = {s['group']} (fewer than "
            f"{thresholds.min_group_size}): their rates are too uncertain to compare and are left out of "
            "the gaps."
        )

    def gap(key: str) -> tuple[float | None, dict[str, Any] | None, dict[str, Any] | None]:
        rows = [s for s in compared if s[key] is not None]
        if len(rows) < 2:
            return None, None, None
        lo = min(rows, key=lambda s: s[key])
        hi = max(rows, key=lambda s: s[key])
        return float(hi[key] - lo[key]), lo, hi

    parity, lo, hi = gap("selection_rate")
    if parity is not None and lo is not None and hi is not None and parity > thresholds.parity_difference:
        warnings.append(
            f"Leads with {column} = {lo['group']} are put in the top tiers ({top_names}) "
            f"{parity * 100:.0f} percentage points less often than leads with {column} = {hi['group']} "
            f"({_pp(lo['selection_rate'])} vs {_pp(hi['selection_rate'])}); the limit is "
            f"{thresholds.parity_difference * 100:.0f} points. Check whether a feature stands in for "
            f"{column} "
            "(postal code, distance, insurance) and whether the difference is justified by who converts."
        )
    eo, lo, hi = gap("true_positive_rate")
    if eo is not None and lo is not None and hi is not None and eo > thresholds.equal_opportunity_difference:
        warnings.append(
            f"Among leads that did convert, those with {column} = {lo['group']} had been put in the top "
            "tiers "
            f"{eo * 100:.0f} percentage points less often than those with {column} = {hi['group']} "
            f"({_pp(lo['true_positive_rate'])} vs {_pp(hi['true_positive_rate'])}); the limit is "
            f"{thresholds.equal_opportunity_difference * 100:.0f} points. The scores miss good leads in this "
            "group more often: review the model before relying on its tiers for them."
        )
    score_gap, lo, hi = gap("score_mean")
    if (
        score_gap is not None
        and lo is not None
        and hi is not None
        and score_gap > thresholds.score_mean_difference
    ):
        warnings.append(
            f"The mean score of leads with {column} = {lo['group']} is {score_gap:.1f} points below that of "
            f"{column} = {hi['group']} ({lo['score_mean']:.1f} vs {hi['score_mean']:.1f}); the limit is "
            f"{thresholds.score_mean_difference:g} points."
        )
    return AttributeReport(
        column=column,
        banded=banded,
        reference_group=reference["group"] if reference is not None else None,
        groups=[GroupStats(**s) for s in stats],
        parity_difference=parity,
        equal_opportunity_difference=eo,
        score_mean_difference=score_gap,
        warnings=warnings,
    )


def fairness_report(
    frame: pd.DataFrame,
    *,
    group_columns: Sequence[str],
    score_col: str,
    tier_col: str,
    label_col: str | None,
    positive_tier_set: Collection[str],
    thresholds: FairnessThresholds | Mapping[str, float] | None = None,
    bands: Mapping[str, Sequence[float]] | None = None,
) -> FairnessReport:
    """Tier, score and conversion figures per sensitive group, with warnings above the thresholds.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per scored lead.
    group_columns : sequence of str
        Sensitive attributes to report on, each on its own (for example ``["sex", "age"]``). Numeric
        columns are banded (see :func:`band_numeric`); missing values form the group ``"missing"``.
    score_col : str
        Score, 0-100.
    tier_col : str
        Tier name.
    label_col : str or None
        Observed outcome (0/1, missing while censored); None when outcomes are not known yet, which
        leaves out conversion and equal opportunity.
    positive_tier_set : collection of str
        The top tiers (for example ``{"A", "B"}``); selection rate is the share of leads in them.
    thresholds : FairnessThresholds or mapping, optional
        Warning limits; defaults to :class:`FairnessThresholds()`.
    bands : mapping of column to edges, optional
        Band edges per numeric column; default :data:`DEFAULT_AGE_EDGES`.

    Returns
    -------
    FairnessReport
        Per attribute: groups with n, share, tier distribution, score mean and quantiles, conversion rate,
        selection rate, true-positive rate, and their differences from the largest group (the reference);
        the largest gap between compared groups; plain-language warnings.

    Raises
    ------
    InputError
        If a column is missing, scores are not numeric or labels are not 0/1.
    """
    if isinstance(thresholds, Mapping):
        limits = FairnessThresholds.from_mapping(thresholds)
    else:
        limits = thresholds if thresholds is not None else FairnessThresholds()
    if isinstance(group_columns, str):
        group_columns = [group_columns]
    needed = [*group_columns, score_col, tier_col, *([label_col] if label_col is not None else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"fairness report: column(s) {', '.join(missing)} not in the data; "
            f"it has {', '.join(map(str, frame.columns))}"
        )
    if not group_columns:
        raise InputError("fairness report: give at least one sensitive column in group_columns")
    scores = pd.to_numeric(frame[score_col], errors="coerce")
    bad = frame[score_col].notna() & scores.isna()
    if bad.any():
        raise InputError(
            f"score column {score_col!r} has {int(bad.sum())} non-numeric value(s), "
            f"for example {frame[score_col][bad].iloc[0]!r} at row {bad.idxmax()!r}"
        )
    top = {str(t) for t in positive_tier_set}
    if not top:
        raise InputError(
            "fairness report: positive_tier_set is empty; name the top tiers, for example {'A', 'B'}"
        )
    tiers = frame[tier_col].astype("string").fillna(MISSING_GROUP).astype(object)
    selected = tiers.isin(top).astype(float)
    labels = _labels(frame, label_col) if label_col is not None else None
    attributes = []
    for column in group_columns:
        groups, banded = _groups_of(frame, column, (bands or {}).get(column))
        attributes.append(
            _attribute_report(
                column, groups, banded, scores, tiers, selected, labels, limits, ", ".join(sorted(top))
            )
        )
    return FairnessReport(
        n_rows=len(frame), positive_tiers=sorted(top), thresholds=limits, attributes=attributes
    )
