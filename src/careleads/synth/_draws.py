"""Random draws and the small probability helpers the simulators share."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

__all__ = ["choice", "lognormal_cdf", "onehot_effect"]


def choice(rng: np.random.Generator, options: tuple[str, ...], probs: npt.ArrayLike, n: int) -> np.ndarray:
    """Vectorised categorical draw; `probs` is (k,) or (n, k) with rows summing to 1."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]
    cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(n)[:, None]
    index = np.minimum((u > cumulative).sum(axis=1), len(options) - 1)
    labels: np.ndarray = np.asarray(options, dtype=object)
    return np.asarray(labels[index], dtype=object)


def onehot_effect(values: np.ndarray, effects: dict[str, float]) -> np.ndarray:
    """The effect of each value on a logit (0 for values not in `effects`)."""
    out = np.zeros(len(values))
    for key, eff in effects.items():
        out[values == key] += eff
    return out


def lognormal_cdf(days: float, median: np.ndarray, sigma: float) -> np.ndarray:
    """P(delay <= `days`) for log-normal delays with `median` and log-scale `sigma`."""
    return np.asarray(ndtr((np.log(days) - np.log(median)) / sigma), dtype=np.float64)
