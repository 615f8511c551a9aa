"""Pilots: scoring against the prior routing method (rule baseline or first-come order).

Two designs are supported:

- random assignment: :func:`assign_arms` puts each lead in the scoring or the prior arm, deterministically
  from its id and a seed, and :func:`pilot_report` compares conversion and time to first contact between
  the arms, with confidence intervals, a significance test, and a decision in plain words;
- shadow mode: both methods rank the same leads, only the prior one is acted on, and
  :func:`shadow_comparison` asks which ranking would have put more of the eventual converters in the
  slots the team has capacity for.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from careleads.errors import InputError
from careleads.stats._status import binary_labels, pct, require_columns, wilson_interval
from careleads.types import JSONDict

TREATMENT_ARM = "scoring"
CONTROL_ARM = "prior"
_MIN_EXPECTED_FOR_Z = 5.0


def assign_arms(
    lead_ids: Iterable[Any],
    *,
    seed: int,
    treatment_share: float = 0.5,
    treatment: str = TREATMENT_ARM,
    control: str = CONTROL_ARM,
) -> npt.NDArray[np.str_]:
    """Randomly but reproducibly assign leads to the scoring or the prior arm.

    Each lead's arm comes from a hash of ``seed`` and its id alone, so a lead keeps its arm whenever and
    in whatever batch it is seen again, and adding leads never moves earlier ones.

    Parameters
    ----------
    lead_ids : iterable
        Lead identifiers (any values with a stable ``str``).
    seed : int
        Pilot seed; a different seed gives an independent assignment.
    treatment_share : float, default 0.5
        Expected share of leads in the scoring arm, strictly between 0 and 1.
    treatment, control : str
        Arm labels.

    Returns
    -------
    ndarray of str
        One arm label per lead, in input order.

    Examples
    --------
    >>> arms = assign_arms(["L1", "L2", "L3"], seed=7)
    >>> list(arms) == list(assign_arms(["L3", "L1", "L2"], seed=7)[[1, 2, 0]])
    True
    """
    if not 0.0 < treatment_share < 1.0:
        raise InputError(
            f"assign_arms: treatment_share must be between 0 and 1 (exclusive), got {treatment_share}."
        )
    ids = list(lead_ids)
    unit = np.fromiter((_hash_unit(seed, lead_id) for lead_id in ids), dtype=float, count=len(ids))
    return np.where(unit < treatment_share, treatment, control).astype(np.str_)


@dataclass(frozen=True)
class ArmSummary:
    """Conversion and time to first contact in one arm."""

    arm: str
    n: int
    n_converted: int
    conversion_rate: float
    conversion_ci: tuple[float, float]
    n_excluded: int = 0
    n_contacted: int | None = None
    median_hours_to_contact: float | None = None
    hours_ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class PilotReport:
    """Result of :func:`pilot_report`; ``decision`` says what a manager should do next."""

    treatment: ArmSummary
    control: ArmSummary
    alpha: float
    difference_points: float
    difference_ci_points: tuple[float, float]
    test: str
    p_value: float
    significant: bool
    min_detectable_points: float
    n_needed_per_arm: int
    decision: str
    hours_test: str | None = None
    hours_p_value: float | None = None
    hours_significant: bool | None = None
    notes: tuple[str, ...] = ()

    def summary_lines(self) -> list[str]:
        """Decision first, then each arm's figures and the time to contact comparison."""
        level = f"{(1 - self.alpha) * 100:.0f}%"
        lines = [self.decision]
        for arm in (self.treatment, self.control):
            lines.append(
                f"{arm.arm.capitalize()} arm: {arm.n_converted} of {arm.n} leads converted, "
                f"{pct(arm.conversion_rate, digits=1)} ({level} CI {pct(arm.conversion_ci[0], digits=1)} to "
                f"{pct(arm.conversion_ci[1], digits=1)})."
            )
        lines.append(f"Conversion test: {self.test}, p={self.p_value:.3g}.")
        t, c = self.treatment, self.control
        if self.hours_p_value is not None and t.hours_ci is not None and c.hours_ci is not None:
            verdict = "significant" if self.hours_significant else "not significant"
            lines.append(
                f"Median time to first contact: {t.arm} {_h(t.median_hours_to_contact)} "
                f"({level} CI {_h(t.hours_ci[0])} to {_h(t.hours_ci[1])}) against {c.arm} "
                f"{_h(c.median_hours_to_contact)} ({level} CI {_h(c.hours_ci[0])} to {_h(c.hours_ci[1])}); "
                f"{self.hours_test} p={self.hours_p_value:.3g}, {verdict}."
            )
        lines.extend(self.notes)
        return lines

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict, with the summary lines."""
        out = asdict(self)
        out["summary"] = self.summary_lines()
        out["notes"] = list(self.notes)
        return out


def pilot_report(
    frame: pd.DataFrame,
    *,
    arm_col: str,
    converted_col: str,
    hours_to_contact_col: str | None = None,
    alpha: float = 0.05,
    treatment: str = TREATMENT_ARM,
    control: str = CONTROL_ARM,
    min_detectable_points: float = 3.0,
    power: float = 0.8,
    extend_to: str = "the next service line, region or queue",
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> PilotReport:
    """Compare conversion (and time to first contact) between the scoring arm and the prior arm.

    Conversion: Wilson interval per arm, Newcombe (hybrid score) interval of the difference, and a
    two-sided two-proportion z-test, or Fisher's exact test when an expected cell count is below 5.
    Time to first contact: median per arm with a percentile bootstrap interval, Mann-Whitney U test.

    Parameters
    ----------
    frame : DataFrame
        One row per pilot lead.
    arm_col : str
        Arm of each lead; values must be ``treatment`` or ``control``.
    converted_col : str
        Outcome 1/0 or true/false; empty while not matured (those leads are excluded and counted).
    hours_to_contact_col : str, optional
        Hours to first contact; empty for leads not yet contacted (left out of the time comparison).
    alpha : float, default 0.05
        Significance level; intervals are at ``1 - alpha``.
    treatment, control : str
        Arm labels, by default ``"scoring"`` and ``"prior"``.
    min_detectable_points : float, default 3.0
        Difference in percentage points the pilot should be able to detect; used for the sample size.
    power : float, default 0.8
        Power for that sample size.
    extend_to : str
        Where scoring would go next, used in the decision.
    n_bootstrap : int, default 2000
        Bootstrap resamples for the median's interval.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    PilotReport
        Figures per arm, the difference with its interval, test, p-value, ``significant``, sample size
        needed, and ``decision``.
    """
    required = [arm_col, converted_col] + ([hours_to_contact_col] if hours_to_contact_col else [])
    require_columns(frame, required, what="pilot_report")
    if not 0 < alpha < 1:
        raise InputError(f"pilot_report: alpha must be between 0 and 1, got {alpha}.")
    arms = frame[arm_col]
    unknown = sorted(set(arms.dropna().astype(str)) - {treatment, control})
    if unknown or arms.isna().any():
        raise InputError(
            f"pilot_report: column {arm_col!r} must hold only {treatment!r} or {control!r}; found "
            f"{unknown + (['<empty>'] if arms.isna().any() else [])}. "
            "Fix the arm labels or pass treatment/control."
        )
    label = binary_labels(frame[converted_col], column=converted_col)
    notes: list[str] = []
    confidence = 1 - alpha
    rng = np.random.default_rng(seed)
    summaries: dict[str, ArmSummary] = {}
    hours_by_arm: dict[str, npt.NDArray[np.float64]] = {}
    for arm in (treatment, control):
        in_arm = (arms.astype(str) == arm).to_numpy()
        y = label[in_arm]
        matured = y.dropna()
        n, k = len(matured), int(matured.sum())
        if n == 0:
            raise InputError(
                f"pilot_report: the {arm!r} arm has no leads with a known outcome yet; wait for outcomes "
                "to mature or check the arm labels."
            )
        if len(y) > n:
            notes.append(f"{len(y) - n} lead(s) in the {arm} arm excluded: outcome not known yet.")
        hours_fields: dict[str, Any] = {}
        if hours_to_contact_col is not None:
            raw = frame.loc[in_arm, hours_to_contact_col]
            hours = pd.to_numeric(raw, errors="coerce")
            if bool((raw.notna() & hours.isna()).any()) or bool((hours < 0).any()):
                raise InputError(
                    f"pilot_report: column {hours_to_contact_col!r} must hold non-negative hours "
                    "(empty when not yet contacted); fix the text or negative values."
                )
            hours = hours.dropna()
            values = hours.to_numpy(dtype=float)
            hours_by_arm[arm] = values
            hours_fields = {
                "n_contacted": int(values.size),
                "median_hours_to_contact": float(np.median(values)) if values.size else None,
                "hours_ci": _median_ci(values, confidence=confidence, n_resamples=n_bootstrap, rng=rng),
            }
        summaries[arm] = ArmSummary(
            arm=arm,
            n=n,
            n_converted=k,
            conversion_rate=k / n,
            conversion_ci=wilson_interval(k, n, confidence=confidence),
            n_excluded=len(y) - n,
            **hours_fields,
        )
    t, c = summaries[treatment], summaries[control]
    diff = t.conversion_rate - c.conversion_rate
    low, high = _newcombe_interval(t, c)
    test, p_value = _two_proportion_test(t.n_converted, t.n, c.n_converted, c.n)
    significant = p_value < alpha
    baseline = (
        c.conversion_rate if 0 < c.conversion_rate < 1 else (t.n_converted + c.n_converted) / (t.n + c.n)
    )
    n_needed = required_leads_per_arm(baseline, min_detectable_points / 100, alpha=alpha, power=power)

    hours_test = hours_p = hours_sig = None
    if hours_to_contact_col is not None:
        a, b = hours_by_arm[treatment], hours_by_arm[control]
        if a.size and b.size:
            hours_test = "Mann-Whitney U test"
            hours_p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
            hours_sig = hours_p < alpha
        else:
            notes.append("Time to first contact not compared: an arm has no contacted leads.")

    decision = _decision(
        t,
        c,
        diff=diff,
        ci=(low, high),
        significant=significant,
        confidence=confidence,
        n_needed=n_needed,
        min_points=min_detectable_points,
        extend_to=extend_to,
    )
    return PilotReport(
        treatment=t,
        control=c,
        alpha=alpha,
        difference_points=diff * 100,
        difference_ci_points=(low * 100, high * 100),
        test=test,
        p_value=p_value,
        significant=significant,
        min_detectable_points=min_detectable_points,
        n_needed_per_arm=n_needed,
        decision=decision,
        hours_test=hours_test,
        hours_p_value=hours_p,
        hours_significant=hours_sig,
        notes=tuple(notes),
    )


def required_leads_per_arm(
    baseline_rate: float, difference: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Leads per arm for a two-sided two-proportion test to detect ``difference`` (0.03 = 3 points).

    Uses the usual normal approximation with the pooled variance under the null hypothesis.

    Examples
    --------
    >>> required_leads_per_arm(0.20, 0.05)
    1094
    """
    if difference <= 0:
        raise InputError(f"required_leads_per_arm: difference must be positive, got {difference}.")
    p1 = min(max(baseline_rate, 1e-6), 1 - 1e-6)
    p2 = min(p1 + difference, 1 - 1e-6)
    if p2 <= p1:
        p2 = max(p1 - difference, 1e-6)
    p_bar = (p1 + p2) / 2
    z_a = float(stats.norm.ppf(1 - alpha / 2))
    z_b = float(stats.norm.ppf(power))
    numerator = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(numerator**2 / (p2 - p1) ** 2)


@dataclass(frozen=True)
class ShadowComparison:
    """Result of :func:`shadow_comparison`."""

    capacity: int
    n_leads: int
    n_converters: int
    model_captured: int
    prior_captured: int
    model_share: float
    prior_share: float
    difference_points: float
    only_model: int
    only_prior: int
    p_value: float
    significant: bool
    decision: str

    def summary_lines(self) -> list[str]:
        """Decision first, then what each method would have captured."""
        return [
            self.decision,
            f"Model ranking: {self.model_captured} of {self.n_converters} converters in the first "
            f"{self.capacity} slots ({pct(self.model_share)}).",
            f"Prior ranking: {self.prior_captured} of {self.n_converters} converters "
            f"({pct(self.prior_share)}).",
            f"Converters only the model would have reached: {self.only_model}; only the prior method: "
            f"{self.only_prior} (exact McNemar test p={self.p_value:.3g}).",
        ]

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict, with the summary lines."""
        out = asdict(self)
        out["summary"] = self.summary_lines()
        return out


def shadow_comparison(
    frame: pd.DataFrame,
    *,
    model_rank_col: str,
    prior_rank_col: str,
    converted_col: str,
    capacity: int,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> ShadowComparison:
    """In shadow mode: what share of converters each method would have put in the first ``capacity`` slots.

    Parameters
    ----------
    frame : DataFrame
        One row per lead with both rankings and the (matured) outcome.
    model_rank_col, prior_rank_col : str
        Position in each method's work order, 1 = first (any increasing numbers; ties keep row order).
    converted_col : str
        Outcome 1/0 or true/false; leads with an unknown outcome are excluded.
    capacity : int
        Slots the team can work, overall or per group.
    group_col : str, optional
        Apply the capacity within each group (a day, a queue): slots are per group.
    alpha : float, default 0.05
        Level of the exact McNemar test on converters reached by one method only.

    Returns
    -------
    ShadowComparison
        Converters captured by each method, the difference, the test and a decision in words.
    """
    cols = [model_rank_col, prior_rank_col, converted_col] + ([group_col] if group_col else [])
    require_columns(frame, cols, what="shadow_comparison")
    if capacity < 1:
        raise InputError(f"shadow_comparison: capacity must be at least 1, got {capacity}.")
    label = binary_labels(frame[converted_col], column=converted_col)
    work = frame.loc[label.notna().to_numpy(), cols].copy()
    work["__y"] = label.dropna().astype(bool).to_numpy()
    for col in (model_rank_col, prior_rank_col):
        if work[col].isna().any():
            raise InputError(f"shadow_comparison: column {col!r} has empty ranks; rank every lead.")
    keys: Any = work[group_col] if group_col else np.zeros(len(work), dtype=int)
    in_model = work.groupby(keys)[model_rank_col].rank(method="first") <= capacity
    in_prior = work.groupby(keys)[prior_rank_col].rank(method="first") <= capacity
    y = work["__y"].to_numpy()
    n_conv = int(y.sum())
    if n_conv == 0:
        raise InputError(
            "shadow_comparison: no converters among leads with known outcomes; wait for outcomes."
        )
    m, p = in_model.to_numpy(dtype=bool), in_prior.to_numpy(dtype=bool)
    model_cap, prior_cap = int((m & y).sum()), int((p & y).sum())
    only_m, only_p = int((m & ~p & y).sum()), int((~m & p & y).sum())
    p_value = float(stats.binomtest(only_m, only_m + only_p, 0.5).pvalue) if only_m + only_p else 1.0
    significant = p_value < alpha
    diff = (model_cap - prior_cap) / n_conv * 100
    slots = f"the first {capacity} slots" + (" of each group" if group_col else "")
    if significant and diff > 0:
        decision = (
            f"The model would have reached {diff:.1f} points more of the converters in {slots}, "
            "significant: move from shadow mode to a live pilot."
        )
    elif significant:
        decision = (
            f"The model would have reached {-diff:.1f} points fewer of the converters in {slots}, "
            "significant: keep the prior routing and review the model."
        )
    else:
        decision = (
            f"No significant difference in converters reached in {slots} ({diff:+.1f} points): "
            "keep the shadow run going before deciding."
        )
    return ShadowComparison(
        capacity=capacity,
        n_leads=len(work),
        n_converters=n_conv,
        model_captured=model_cap,
        prior_captured=prior_cap,
        model_share=model_cap / n_conv,
        prior_share=prior_cap / n_conv,
        difference_points=diff,
        only_model=only_m,
        only_prior=only_p,
        p_value=p_value,
        significant=significant,
        decision=decision,
    )


# --- internals ---------------------------------------------------------------------------------------------


def _hash_unit(seed: int, lead_id: Any) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{lead_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _newcombe_interval(t: ArmSummary, c: ArmSummary) -> tuple[float, float]:
    """Newcombe's hybrid score interval for the difference of two proportions (method 10)."""
    p1, (l1, u1) = t.conversion_rate, t.conversion_ci
    p2, (l2, u2) = c.conversion_rate, c.conversion_ci
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def _two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[str, float]:
    pooled = (k1 + k2) / (n1 + n2)
    expected = [n * pooled for n in (n1, n2)] + [n * (1 - pooled) for n in (n1, n2)]
    if min(expected) < _MIN_EXPECTED_FOR_Z:
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        return "Fisher exact test", float(stats.fisher_exact(table, alternative="two-sided").pvalue)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return "two-proportion z-test", float(2 * stats.norm.sf(abs(z)))


def _median_ci(
    values: npt.NDArray[np.float64], *, confidence: float, n_resamples: int, rng: np.random.Generator
) -> tuple[float, float] | None:
    if values.size == 0:
        return None
    if np.unique(values).size < 2:
        return (float(values[0]), float(values[0]))
    result = stats.bootstrap(
        (values,),
        np.median,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        batch=500,
        rng=rng,
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def _decision(
    t: ArmSummary,
    c: ArmSummary,
    *,
    diff: float,
    ci: tuple[float, float],
    significant: bool,
    confidence: float,
    n_needed: int,
    min_points: float,
    extend_to: str,
) -> str:
    level = f"{confidence * 100:.0f}%"
    interval = f"{level} CI {ci[0] * 100:.1f} to {ci[1] * 100:.1f}"
    name = t.arm.capitalize()
    direction = "higher" if diff >= 0 else "lower"
    moved = f"{name} arm converted {abs(diff) * 100:.1f} points {direction} than the {c.arm} arm ({interval})"
    if significant and diff > 0:
        return f"{moved}, significant: extend {t.arm} to {extend_to}."
    if significant:
        return f"{moved}, significant: stop the pilot, go back to the {c.arm} routing and review the model."
    observed = f"{t.arm} {diff * 100:+.1f} points, {interval}"
    more = n_needed - min(t.n, c.n)
    if more > 0:
        return (
            f"No significant difference yet ({observed}): keep the pilot running; "
            f"about {more} more leads per arm are needed to detect a {min_points:g}-point difference."
        )
    return (
        f"No significant difference ({observed}): the pilot is large enough to detect a "
        f"{min_points:g}-point difference, so {t.arm} does not change conversion by that much; "
        "decide on time to contact and workload."
    )


def _h(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"
