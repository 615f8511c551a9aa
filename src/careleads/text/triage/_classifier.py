"""The clinical-triage classifier: a learned second opinion beside the rules, read from JSON.

A logistic regression over hashed features of a text's normalised words (:mod:`._normalise`): each word,
each pair of neighbouring words, and the 3- to 5-letter pieces of each word (so an unseen inflection or
misspelling shares most of its features with a known word). Features are present or absent, scaled to unit
length. The model is trained offline by :mod:`._train` on the development set
``tests/data/triage_dev.csv`` and the tuning set ``tests/data/triage_tuning.csv`` and stored as
``data/classifier.json`` (the non-zero weights, the intercept,
the thresholds and how they were chosen); nothing is fitted at import or on a request, and no pickle is
read. At run time it needs numpy only.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

__all__ = ["N_FEATURES", "TriageClassifier", "default_classifier", "feature_indices"]

N_FEATURES = 1 << 18
_MASK = N_FEATURES - 1
_CHAR_GRAMS = (3, 4, 5)


def _hash(piece: str) -> int:
    return zlib.crc32(piece.encode("utf-8")) & _MASK


@lru_cache(maxsize=65_536)
def _word_pieces(word: str) -> tuple[int, ...]:
    """The hashed features of one word: itself and its 3- to 5-letter pieces (with ``<`` ``>`` ends)."""
    padded = f"<{word}>"
    pieces = ["w:" + word] + [
        "c:" + padded[i : i + n] for n in _CHAR_GRAMS for i in range(len(padded) - n + 1)
    ]
    return tuple(_hash(p) for p in pieces)


def _hashed(words: Sequence[str]) -> list[tuple[int, int]]:
    """Each hashed feature with the index of the word it comes from (a pair of words: its first word)."""
    kept = [(k, w) for k, w in enumerate(words) if w.isalnum()]
    out: list[tuple[int, int]] = []
    for j, (k, word) in enumerate(kept):
        out += [(k, h) for h in _word_pieces(word)]
        if j + 1 < len(kept):
            out.append((k, _hash("b:" + word + " " + kept[j + 1][1])))
    return out


def feature_indices(words: Sequence[str]) -> npt.NDArray[np.int64]:
    """The distinct hashed feature indices of normalised words (the features that are present)."""
    return np.unique(np.fromiter((h for _, h in _hashed(words)), dtype=np.int64))


@dataclass(frozen=True)
class TriageClassifier:
    """A fitted hashed logistic regression with its two thresholds.

    Attributes
    ----------
    weights
        One weight per hashed feature (:data:`N_FEATURES`).
    intercept
        The intercept.
    urgent_threshold
        A probability at or above it is "very confident": urgent.
    possible_threshold
        A probability at or above it is "moderately confident": possible.
    info
        How the model and the thresholds were made (data set, version, counts, figures).
    """

    weights: npt.NDArray[np.float64]
    intercept: float
    urgent_threshold: float
    possible_threshold: float
    info: dict[str, object]

    @classmethod
    def from_json(cls, text: str) -> TriageClassifier:
        """Read a classifier written by :meth:`to_json`."""
        data = json.loads(text)
        weights = np.zeros(int(data["n_features"]), dtype=np.float64)
        weights[np.asarray(data["indices"], dtype=np.int64)] = np.asarray(data["weights"], dtype=np.float64)
        return cls(
            weights=weights,
            intercept=float(data["intercept"]),
            urgent_threshold=float(data["thresholds"]["urgent"]),
            possible_threshold=float(data["thresholds"]["possible"]),
            info=dict(data["info"]),
        )

    def to_json(self) -> str:
        """The classifier as JSON: the non-zero weights (rounded to 6 significant digits) and the rest."""
        indices = np.flatnonzero(self.weights)
        return json.dumps(
            {
                "n_features": len(self.weights),
                "intercept": self.intercept,
                "thresholds": {"urgent": self.urgent_threshold, "possible": self.possible_threshold},
                "info": self.info,
                "indices": indices.tolist(),
                "weights": [float(f"{w:.6g}") for w in self.weights[indices]],
            },
            indent=None,
            sort_keys=True,
        )

    def probability(self, words: Sequence[str]) -> float:
        """The probability that normalised words describe an urgent clinical symptom."""
        index = feature_indices(words)
        if not len(index):
            return 0.0
        score = float(self.weights[index].sum()) / float(np.sqrt(len(index))) + self.intercept
        return float(1.0 / (1.0 + np.exp(-score)))

    def strongest_words(self, words: Sequence[str], n: int = 3) -> list[int]:
        """The indices of the (at most `n`) words whose features push the probability up most."""
        contribution: dict[int, float] = {}
        seen: set[int] = set()
        for k, h in _hashed(words):
            if h in seen:
                continue
            seen.add(h)
            contribution[k] = contribution.get(k, 0.0) + float(self.weights[h])
        ranked = sorted((c, k) for k, c in contribution.items() if c > 0)
        return sorted(k for _, k in ranked[::-1][:n])


@lru_cache(maxsize=1)
def default_classifier() -> TriageClassifier:
    """The shipped classifier (``data/classifier.json``), read once per process."""
    text = resources.files("careleads.text.triage").joinpath("data/classifier.json").read_text("utf-8")
    return TriageClassifier.from_json(text)
