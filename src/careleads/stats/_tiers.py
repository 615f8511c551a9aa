"""Tiers: score bands with thresholds chosen on validation data and stored with the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.errors import ConfigError, NotFittedError

DEFAULT_TIERS: tuple[str, ...] = ("A", "B", "C", "D")
# Share of validation leads in each tier, best first: a small A tier the team can call the same day.
DEFAULT_SHARES: tuple[float, ...] = (0.10, 0.20, 0.30, 0.40)
DEFAULT_ACTIONS: Mapping[str, str] = {
    "A": "call the same business day",
    "B": "call within two business days",
    "C": "email follow-up and nurture by service interest",
    "D": "nurture track only",
}


@dataclass
class TierScheme:
    """Tier names (best first), the share of validation leads meant for each, and each tier's action path.

    ``fit`` turns the shares into probability thresholds on validation scores; the thresholds, not the shares,
    are what scoring uses, so a later shift in scores shows up as a shift in tier volumes.

    Examples
    --------
    >>> import numpy as np
    >>> scheme = TierScheme().fit(np.linspace(0, 1, 101))
    >>> scheme.assign(np.array([0.99, 0.5, 0.01])).tolist()
    ['A', 'C', 'D']
    """

    names: tuple[str, ...] = DEFAULT_TIERS
    shares: tuple[float, ...] = DEFAULT_SHARES
    actions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    thresholds_: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.shares):
            raise ConfigError(f"tiers {list(self.names)} need one share each, got {list(self.shares)}")
        if abs(sum(self.shares) - 1.0) > 1e-6:
            raise ConfigError(f"tier shares must add up to 1, got {sum(self.shares):.3f}")
        missing = [n for n in self.names if n not in self.actions]
        if missing:
            raise ConfigError(f"tiers {missing} have no action path; add them under 'actions'")

    def fit(self, prob: npt.ArrayLike, *, sample_weight: npt.ArrayLike | None = None) -> TierScheme:
        """Thresholds from validation probabilities; with `sample_weight`, shares of the total weight (so
        that a lead scored at several moments counts once).

        The thresholds are the quantiles of the shares, unless tied probabilities make two of them equal or
        leave a tier without a validation lead: then each moves to the nearest validation probability that
        gives every tier at least one lead, so the thresholds strictly descend and no tier is empty whenever
        the probabilities hold at least as many distinct values as there are tiers.
        """
        p = np.asarray(prob, dtype=np.float64)
        cumulative = np.cumsum(self.shares)[:-1]
        # threshold i: the lowest score of tier i, so the top shares[0] of validation leads land in tier 0
        if sample_weight is None:
            thresholds = [float(np.quantile(p, 1 - c)) for c in cumulative]
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            thresholds = [float(np.quantile(p, 1 - c, weights=w, method="inverted_cdf")) for c in cumulative]
        self.thresholds_ = _every_tier_held(p, thresholds)
        return self

    def index(self, prob: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Each probability's tier, as a position in `names`: the one place tiers are assigned.

        Threshold ``i`` is the lowest probability of tier ``i``: a probability equal to it is in tier ``i``,
        one just below it in tier ``i + 1``.
        """
        if self.thresholds_ is None:
            raise NotFittedError("tier thresholds are not set; fit the tier scheme on validation scores")
        p = np.atleast_1d(np.asarray(prob, dtype=np.float64))
        # thresholds descend; count how many thresholds each score falls below
        edges = np.asarray(self.thresholds_, dtype=np.float64)
        return np.asarray((p[:, None] < edges[None, :]).sum(axis=1), dtype=np.int64)

    def assign(self, prob: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Each probability's tier name (see :meth:`index`)."""
        names: npt.NDArray[np.object_] = np.asarray(self.names, dtype=object)
        return np.asarray(names[self.index(prob)], dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "shares": list(self.shares),
            "actions": dict(self.actions),
            "thresholds": list(self.thresholds_) if self.thresholds_ is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierScheme:
        thresholds = data.get("thresholds")
        return cls(
            names=tuple(data["names"]),
            shares=tuple(float(s) for s in data["shares"]),
            actions=dict(data["actions"]),
            thresholds_=tuple(float(t) for t in thresholds) if thresholds is not None else None,
        )


def _every_tier_held(p: npt.NDArray[np.float64], thresholds: Sequence[float]) -> tuple[float, ...]:
    """`thresholds` (descending) as they are when every tier holds some of `p` and they strictly descend;
    otherwise each moved to the nearest distinct value of `p` that makes it so (left as they are when `p`
    has fewer distinct values than there are tiers)."""
    values = np.unique(p)
    k = len(thresholds) + 1
    edges = np.asarray(thresholds, dtype=np.float64)
    counts = np.bincount((p[:, None] < edges[None, :]).sum(axis=1), minlength=k) if p.size else np.zeros(k)
    if (np.diff(edges) < 0).all() and (counts > 0).all():
        return tuple(float(t) for t in thresholds)
    m = values.size
    if m < k:
        return tuple(float(t) for t in thresholds)
    # threshold i as a position in the distinct values: the same tiers as the value itself
    place = [int(np.searchsorted(values, t, side="left")) for t in thresholds]
    # from the lowest threshold up: above the lowest value and above the next threshold
    for i in range(k - 2, -1, -1):
        place[i] = max(place[i], place[i + 1] + 1 if i < k - 2 else 1)
    # from the highest down: at most the highest value and below the previous threshold
    for i in range(k - 1):
        place[i] = min(place[i], place[i - 1] - 1 if i > 0 else m - 1)
    return tuple(float(values[j]) for j in place)


def conversion_by_tier(
    tiers: Sequence[str] | npt.ArrayLike, y_true: npt.ArrayLike, names: Sequence[str]
) -> list[dict[str, Any]]:
    """Leads, conversions and conversion rate per tier, in tier order (empty tiers included)."""
    frame = pd.DataFrame({"tier": np.asarray(tiers, dtype=object), "y": np.asarray(y_true, dtype=np.int64)})
    rows = []
    for name in names:
        part = frame.loc[frame["tier"] == name, "y"]
        n = int(len(part))
        rows.append(
            {
                "tier": name,
                "leads": n,
                "conversions": int(part.sum()),
                "conversion_rate": float(part.mean()) if n else float("nan"),
            }
        )
    return rows
