"""Calibration by tier over time and tier stability.

Only matured outcomes count: rows flagged as censored (the outcome window is still open) and rows whose
label is still empty are excluded and counted in ``n_excluded``, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from scipy import stats

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

CALIBRATION_COLUMNS = [
    "period",
    "tier",
    "n",
    "n_positive",
    "n_excluded",
    "predicted_mean",
    "observed_rate",
    "ci_low",
    "ci_high",
    "difference",
    "status",
]
STABILITY_COLUMNS = [
    "period",
    "higher_tier",
    "lower_tier",
    "n_higher",
    "n_lower",
    "rate_higher",
    "rate_lower",
    "difference",
    "p_value",
    "status",
]


def calibration_by_tier(
    frame: pd.DataFrame,
    *,
    tier_col: str,
    prob_col: str,
    label_col: str,
    time_col: str | None = None,
    freq: str = "MS",
    censored_col: str | None = None,
    tier_order: Sequence[Any] | None = None,
    confidence: float = 0.95,
    tolerance: float = 0.02,
    act_tolerance: float = 0.05,
) -> pd.DataFrame:
    """Predicted against observed conversion for each tier (and period), with a Wilson interval.

    Parameters
    ----------
    frame : DataFrame
        One row per scored lead.
    tier_col : str
        Tier of each lead (A, B, C ...). Order is ``tier_order``, an ordered categorical's order, or sorted.
    prob_col : str
        Calibrated probability in [0, 1] given at scoring time.
    label_col : str
        Outcome: 1/0 or true/false, empty while not yet known (such rows are excluded and counted).
    time_col : str, optional
        Scoring date; with it the table has one row per period and tier, else ``period`` is empty.
    freq : str, default "MS"
        Period length as a pandas frequency.
    censored_col : str, optional
        True where the outcome window is still open; those rows are excluded and counted.
    tier_order : sequence, optional
        Tiers from best to worst.
    confidence : float, default 0.95
        Level of the Wilson interval.
    tolerance : float, default 0.02
        A predicted mean within this absolute distance of the observed rate is ``ok`` even outside the CI.
    act_tolerance : float, default 0.05
        Outside the CI and further than this from the observed rate is ``act``; between the two, ``watch``.

    Returns
    -------
    DataFrame
        Columns ``period, tier, n, n_positive, n_excluded, predicted_mean, observed_rate, ci_low, ci_high,
        difference`` (predicted minus observed) and ``status`` (ok, watch, act, or pending when no outcome
        has matured).

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"tier": ["A"] * 10 + ["B"] * 10, "p": [0.6] * 10 + [0.2] * 10,
    ...                       "converted": [1] * 6 + [0] * 4 + [1] * 2 + [0] * 8})
    >>> table = calibration_by_tier(leads, tier_col="tier", prob_col="p", label_col="converted")
    >>> table[["tier", "n", "observed_rate", "status"]].values.tolist()
    [['A', 10, 0.6, 'ok'], ['B', 10, 0.2, 'ok']]
    """
    work, order = _prepare(
        frame,
        tier_col=tier_col,
        label_col=label_col,
        prob_col=prob_col,
        time_col=time_col,
        censored_col=censored_col,
        tier_order=tier_order,
    )
    rows: list[dict[str, Any]] = []
    for period, group in _periods(work, time_col is not None, freq):
        for tier in order:
            in_tier = group[group["__tier"] == tier]
            if len(in_tier) == 0:
                continue
            matured = in_tier[in_tier["__matured"]]
            n, n_pos = len(matured), int(matured["__label"].sum())
            predicted = float(matured["__prob"].mean()) if n else float("nan")
            observed = n_pos / n if n else float("nan")
            ci = wilson_interval(n_pos, n, confidence=confidence)
            rows.append(
                {
                    "period": period,
                    "tier": tier,
                    "n": n,
                    "n_positive": n_pos,
                    "n_excluded": len(in_tier) - n,
                    "predicted_mean": predicted,
                    "observed_rate": observed,
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "difference": predicted - observed,
                    "status": calibration_status(
                        predicted, observed, ci, tolerance=tolerance, act_tolerance=act_tolerance
                    ),
                }
            )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def tier_stability(
    frame: pd.DataFrame,
    *,
    tier_col: str,
    label_col: str,
    time_col: str | None = None,
    freq: str = "MS",
    censored_col: str | None = None,
    tier_order: Sequence[Any] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Does each tier still convert better than the next one down, period by period?

    For each pair of adjacent tiers the observed conversion rates are compared; a one-sided Fisher exact
    test asks whether the lower tier converts significantly better than the higher one.

    Parameters
    ----------
    frame : DataFrame
        One row per scored lead.
    tier_col, label_col, time_col, freq, censored_col, tier_order
        As in :func:`calibration_by_tier`.
    alpha : float, default 0.05
        Significance level of the inversion test.

    Returns
    -------
    DataFrame
        Columns ``period, higher_tier, lower_tier, n_higher, n_lower, rate_higher, rate_lower, difference``
        (higher minus lower), ``p_value`` and ``status``: ``ok`` when the higher tier converts better,
        ``watch`` when it does not but the inversion is not significant, ``act`` when the lower tier converts
        significantly better, ``pending`` when a tier has no matured outcomes in the period.
    """
    work, order = _prepare(
        frame,
        tier_col=tier_col,
        label_col=label_col,
        prob_col=None,
        time_col=time_col,
        censored_col=censored_col,
        tier_order=tier_order,
    )
    rows: list[dict[str, Any]] = []
    for period, group in _periods(work, time_col is not None, freq):
        matured = group[group["__matured"]]
        counts = {
            t: (
                int((matured["__tier"] == t).sum()),
                int(matured.loc[matured["__tier"] == t, "__label"].sum()),
            )
            for t in order
        }
        for higher, lower in zip(order[:-1], order[1:], strict=True):
            (n_h, k_h), (n_l, k_l) = counts[higher], counts[lower]
            if n_h == 0 or n_l == 0:
                rate_h = k_h / n_h if n_h else float("nan")
                rate_l = k_l / n_l if n_l else float("nan")
                p_value, status = float("nan"), "pending"
            else:
                rate_h, rate_l = k_h / n_h, k_l / n_l
                # alternative="less": the higher tier's odds of converting are below the lower tier's.
                p_value = float(
                    stats.fisher_exact([[k_h, n_h - k_h], [k_l, n_l - k_l]], alternative="less").pvalue
                )
                if rate_h > rate_l:
                    status = "ok"
                else:
                    status = "act" if p_value < alpha else "watch"
            rows.append(
                {
                    "period": period,
                    "higher_tier": higher,
                    "lower_tier": lower,
                    "n_higher": n_h,
                    "n_lower": n_l,
                    "rate_higher": rate_h,
                    "rate_lower": rate_l,
                    "difference": rate_h - rate_l,
                    "p_value": p_value,
                    "status": status,
                }
            )
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)


def calibration_summary_lines(
    table: pd.DataFrame, *, stability: pd.DataFrame | None = None, freq: str = "MS"
) -> list[str]:
    """Plain-language lines from :func:`calibration_by_tier` (and :func:`tier_stability`) tables.

    Example line: ``Tier A converted at 31% in October 2024 against 34% predicted: ok (412 leads).``
    """
    lines: list[str] = []
    for row in table.to_dict("records"):
        when = "" if pd.isna(row["period"]) else f" in {period_label(pd.Timestamp(row['period']), freq)}"
        if row["n"] == 0:
            lines.append(
                f"Tier {row['tier']}{when}: no matured outcomes yet "
                f"({count_leads(row['n_excluded'])} still open): pending."
            )
            continue
        excluded = f", {row['n_excluded']} still open" if row["n_excluded"] else ""
        lines.append(
            f"Tier {row['tier']} converted at {pct(row['observed_rate'])}{when} against "
            f"{pct(row['predicted_mean'])} predicted: {row['status']} ({count_leads(row['n'])}{excluded})."
        )
    if stability is not None:
        for row in stability.to_dict("records"):
            when = "" if pd.isna(row["period"]) else f" in {period_label(pd.Timestamp(row['period']), freq)}"
            if row["status"] == "ok":
                continue
            if row["status"] == "pending":
                lines.append(
                    f"Tier {row['higher_tier']} against {row['lower_tier']}{when}: not enough outcomes yet."
                )
                continue
            verdict = "significant" if row["status"] == "act" else "not significant yet"
            lines.append(
                f"Tier {row['higher_tier']} did not convert better than tier {row['lower_tier']}{when} "
                f"({pct(row['rate_higher'])} against {pct(row['rate_lower'])}; the inversion is {verdict}, "
                f"p={row['p_value']:.3f}): {row['status']}."
            )
        if len(stability) and bool((stability["status"] == "ok").all()):
            lines.append("Every tier converted better than the tier below it in every period: ok.")
    return lines


# --- internals ---------------------------------------------------------------------------------------------


def _prepare(
    frame: pd.DataFrame,
    *,
    tier_col: str,
    label_col: str,
    prob_col: str | None,
    time_col: str | None,
    censored_col: str | None,
    tier_order: Sequence[Any] | None,
) -> tuple[pd.DataFrame, list[Any]]:
    needed = [c for c in (tier_col, label_col, prob_col, time_col, censored_col) if c is not None]
    require_columns(frame, needed, what="calibration")
    require_no_missing(frame[tier_col], column=tier_col, what="calibration")
    order = resolve_tier_order(frame[tier_col], tier_order, column=tier_col)
    label = binary_labels(frame[label_col], column=label_col)
    matured = label.notna()
    if censored_col is not None:
        matured &= ~flags(frame[censored_col])
    work = pd.DataFrame(
        {
            "__tier": frame[tier_col].to_numpy(),
            "__label": label.fillna(0.0).to_numpy(),
            "__matured": matured.to_numpy(),
        },
        index=frame.index,
    )
    if prob_col is not None:
        prob = pd.to_numeric(frame[prob_col], errors="coerce")
        require_no_missing(prob, column=prob_col, what="calibration (probabilities, numbers only)")
        if float(prob.min()) < 0 or float(prob.max()) > 1:
            raise InputError(
                f"column {prob_col!r} must hold probabilities in [0, 1], found {float(prob.min())} to "
                f"{float(prob.max())}; divide a 0-100 score by 100 first."
            )
        work["__prob"] = prob.to_numpy(dtype=float)
    if time_col is not None:
        work["__time"] = as_datetime(frame[time_col], column=time_col).to_numpy()
    return work, order


def _periods(work: pd.DataFrame, by_time: bool, freq: str) -> Iterator[tuple[Any, pd.DataFrame]]:
    if not by_time:
        yield pd.NaT, work
        return
    for period, group in work.groupby(pd.Grouper(key="__time", freq=freq)):
        if len(group):
            yield period, group
