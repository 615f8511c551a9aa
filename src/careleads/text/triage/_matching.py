"""The clinical-triage lexicon compiled for search: in one normalised text, and in a column of them.

A lexicon pattern matches after a word boundary, with no closing boundary (a typo that glues the next word
on, "my lifeneed", still matches). One normalised text is searched with Python's ``re``; a column with RE2
(Arrow), which agrees with it on whether a pattern occurs: normalised texts joined by
:func:`._normalise.normalised_texts` are ASCII, where RE2's ``\\b`` and ``\\w`` agree with Python's. A pattern
RE2 cannot compile (a look-around in extra patterns) makes the column search fall back to Python's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["LexiconMatcher", "lexicon_matches"]


def lexicon_matches(joined: Sequence[str], pattern: str) -> npt.NDArray[np.bool_] | None:
    """Whether `pattern` occurs in each joined text, searched by RE2; None when RE2 cannot compile it."""
    array = pa.array(joined, type=pa.large_string())
    try:
        found = pc.match_substring_regex(array, pattern)
    except pa.ArrowInvalid:
        return None
    return np.asarray(found, dtype=bool)


class LexiconMatcher:
    """Symptom patterns by category, compiled once for search in normalised text.

    Parameters
    ----------
    lexicon : mapping of str to sequence of str
        Category -> regular expressions over normalised text, in the order they are tried.

    Attributes
    ----------
    sources : tuple of str
        Every pattern of every category, in order (what the batch pre-filter reads).
    any_pattern : re.Pattern
        One alternation of every pattern: whether a text holds a lexicon phrase at all.
    """

    def __init__(self, lexicon: Mapping[str, Sequence[str]]) -> None:
        self._categories = [
            (category, re.compile(r"\b(?:" + "|".join(patterns) + r")"))
            for category, patterns in lexicon.items()
        ]
        self.sources = tuple(p for patterns in lexicon.values() for p in patterns)
        self.any_pattern = re.compile(r"\b(?:" + "|".join(self.sources) + r")")

    def occurs(self, joined: str) -> bool:
        """Whether some lexicon pattern occurs in one normalised text (tokens joined by spaces)."""
        return self.any_pattern.search(joined) is not None

    def occurs_in_each(self, joined: Sequence[str]) -> npt.NDArray[np.bool_]:
        """:meth:`occurs` for each of many normalised texts, column-wise."""
        found = lexicon_matches(joined, self.any_pattern.pattern)
        if found is None:  # RE2 cannot read a pattern: search with Python
            return np.array([self.occurs(line) for line in joined], dtype=bool)
        return found

    def categories_in_each(self, joined: Sequence[str]) -> npt.NDArray[np.bool_] | None:
        """For each text (a row), which categories (columns, in lexicon order) occur in it; column-wise.

        None when RE2 cannot read some category's patterns.
        """
        found = [lexicon_matches(joined, pattern.pattern) for _, pattern in self._categories]
        if any(f is None for f in found):
            return None
        return np.column_stack([f for f in found if f is not None]).reshape(len(joined), len(found))

    def matches(
        self, joined: str, present: Sequence[bool] | None = None
    ) -> Iterator[tuple[str, re.Match[str]]]:
        """Every match in one normalised text, category by category in lexicon order, with its category.

        `present`, when known, says which categories occur somewhere in `joined`; the others are skipped.
        """
        for k, (category, pattern) in enumerate(self._categories):
            if present is not None and not present[k]:
                continue
            for match in pattern.finditer(joined):
                yield category, match
