"""The clinical-triage detector: does a free text describe urgent clinical symptoms?

This is a safety rule, not a clinical tool. It never makes a clinical decision: it does not diagnose,
assess severity or advise care. When it triggers, the only consequence is routing: the lead goes to a
human triage line (a nurse or clinician on call) at once, and never to a marketing or nurture path. People
decide everything else.

How it works: a symptom lexicon (:data:`._lexicon.SYMPTOM_LEXICON`: chest pain, cannot breathe, stroke
signs, suicidal thoughts or self-harm, severe bleeding, overdose, loss of consciousness or seizure, severe
allergic reaction, sudden severe headache; a few Spanish phrasings) is matched (:mod:`._matching`) on
normalised text (:mod:`._normalise`: lower case, repeated letters collapsed, apostrophes dropped, small
typos corrected towards the lexicon's words). Each match then goes through the clause checks
(:mod:`._negation`): a negation before it, a resolution after it or a past marker in its clause cancels it,
unless the sentence says the symptom is back or current.

It errs on the side of triggering: questions about a symptom ("what should I do about chest pain?") and
symptoms of someone else trigger, because a person reading the message costs little and a missed
emergency costs much. Clause boundaries are punctuation and "but", "however", "though", so in "no chest
pain, but I can't breathe" the second symptom still triggers.

Many texts at once (:meth:`ClinicalTriageDetector.detect_many`) give the same results: a column-wise
pre-filter (:class:`._filter.TriageFilter`) drops the texts that cannot trigger, the others are normalised
and searched column-wise, and only those holding a lexicon phrase get the clause checks, which are the
one-text path's own (:meth:`ClinicalTriageDetector._check`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from careleads.text.triage._filter import TriageFilter
from careleads.text.triage._lexicon import SYMPTOM_LEXICON
from careleads.text.triage._matching import LexiconMatcher
from careleads.text.triage._negation import is_affirmed
from careleads.text.triage._normalise import normalise, normalised_texts

__all__ = ["LEVELS", "ClinicalTriageDetector", "TriageResult", "default_detector", "detect_urgent_symptoms"]

LEVELS: dict[str, int] = {"none": 0, "possible": 1, "urgent": 2}
"""The triage levels as numbers, in order of concern (:meth:`ClinicalTriageDetector.levels_many`)."""

_WINDOW = 5
_BATCH_MIN = 64  # below this many texts the column-wise pre-filter costs more than it saves


@dataclass(frozen=True)
class TriageResult:
    """The outcome of the clinical-triage check of one text.

    Attributes
    ----------
    triggered
        True when the text describes urgent clinical symptoms: route it to the human triage line.
    matched
        The matched symptom phrase (normalised), or None.
    category
        The lexicon category of the match (``chest_pain``, ``breathing``, ``stroke``, ``self_harm``,
        ``bleeding``, ``overdose``, ``consciousness``, ``allergy``, ``headache``, ``spanish``), or None.
    possible
        True when the text does not trigger but may describe an emergency (a body-system mention with
        distress): the lead goes before a human at the top of the queue, never to marketing.
    spans
        ``(start, end)`` character offsets in the original text of the words that made the verdict, for
        highlighting; empty when nothing matched.
    """

    triggered: bool
    matched: str | None = None
    category: str | None = None
    possible: bool = False
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def level(self) -> str:
        """``"urgent"`` (triggered), ``"possible"`` or ``"none"``."""
        return "urgent" if self.triggered else "possible" if self.possible else "none"


_NOT_TRIGGERED = TriageResult(False)


class ClinicalTriageDetector:
    """Rule-based detector of urgent clinical symptoms in free text, with negation handling.

    It only routes: a triggered text goes to a human triage line, never to marketing. It makes no
    clinical decision.

    Parameters
    ----------
    extra_patterns
        Additional regular expressions per category, matched on normalised text (lower case, no
        apostrophes, "can't" / "cannot" / "unable to" written as "cant").
    window
        How many tokens before a symptom a negation may stand (in the same clause).

    Attributes
    ----------
    matcher : LexiconMatcher
        The lexicon (the default one and `extra_patterns`) compiled for search.

    Examples
    --------
    >>> detector = ClinicalTriageDetector()
    >>> detector.detect("Crushing chest pain since this morning").triggered
    True
    >>> detector.detect("No chest pain, just a checkup").triggered
    False
    """

    def __init__(
        self, extra_patterns: Mapping[str, Sequence[str]] | None = None, window: int = _WINDOW
    ) -> None:
        self.extra_patterns = extra_patterns
        self.window = window
        lexicon: dict[str, list[str]] = {k: list(v) for k, v in SYMPTOM_LEXICON.items()}
        for category, patterns in (extra_patterns or {}).items():
            lexicon.setdefault(category, []).extend(patterns)
        self.matcher = LexiconMatcher(lexicon)
        self._filter: TriageFilter | None = None

    def detect(self, text: str | None) -> TriageResult:
        """Check one text.

        Parameters
        ----------
        text
            Free text (a form question, chat or SMS message); None or empty gives no trigger.

        Returns
        -------
        TriageResult
            ``triggered`` with the first affirmed symptom phrase and its category.
        """
        if not text or not text.strip():
            return _NOT_TRIGGERED
        tokens = normalise(text)
        joined = " ".join(tokens)
        if not self.matcher.occurs(joined):  # no pattern matches anywhere: nothing to check in clauses
            return _NOT_TRIGGERED
        return self._check(tokens, joined)

    def _check(self, tokens: list[str], joined: str, present: Sequence[bool] | None = None) -> TriageResult:
        """The clause checks of every lexicon match in normalised tokens (`joined`: them joined by spaces).

        `present`, when known, says which categories (in lexicon order) match somewhere in `joined`; the
        others are not searched.
        """
        for category, match in self.matcher.matches(joined, present):
            # tokens are joined by single spaces: the spaces before a character offset number the token
            # that holds it (or, on a space, the token before it)
            first = joined.count(" ", 0, match.start())
            last = first + joined.count(" ", match.start(), match.end() - 1)
            if is_affirmed(tokens, first, last, self.window):
                return TriageResult(True, match.group(0), category)
        return _NOT_TRIGGERED

    def detect_many(self, texts: Iterable[str | None]) -> list[TriageResult]:
        """Check many texts; the same results as :meth:`detect` on each, much faster on large batches.

        The texts the pre-filter (:meth:`candidates`) keeps, once per distinct text, are normalised and
        searched column-wise, and only those holding a lexicon phrase get the clause checks.
        """
        values = list(texts)
        if len(values) < _BATCH_MIN:
            return [self.detect(text) for text in values]
        results = [_NOT_TRIGGERED] * len(values)
        rows = np.flatnonzero(self.candidates(values)).tolist()
        distinct = list(dict.fromkeys(text for i in rows if (text := values[i]) is not None))
        found = dict(zip(distinct, self._detect_distinct(distinct), strict=True))
        for i in rows:
            text = values[i]
            if text is not None:  # candidates are texts
                results[i] = found[text]
        return results

    def triggered_many(self, texts: Sequence[str | None] | pa.Array) -> npt.NDArray[np.bool_]:
        """``detect(text).triggered`` for each text, as a boolean array (see :meth:`detect_many`).

        `texts` may be an Arrow string array (a lead column): it is then checked without turning every
        text into a Python object.
        """
        if not isinstance(texts, pa.Array | pa.ChunkedArray):
            return np.array([r.triggered for r in self.detect_many(texts)], dtype=bool)
        array = texts.cast(pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if len(array) < _BATCH_MIN:
            return np.array([self.detect(t).triggered for t in array.to_pylist()], dtype=bool)
        out = np.zeros(len(array), dtype=bool)
        rows = np.flatnonzero(self.candidates(array))
        if len(rows):
            encoded = array.take(pa.array(rows)).dictionary_encode()
            verdicts = [r.triggered for r in self._detect_distinct(encoded.dictionary.to_pylist())]
            out[rows] = np.asarray(verdicts, dtype=bool)[np.asarray(encoded.indices, dtype=np.intp)]
        return out

    def levels_many(self, texts: Sequence[str | None] | pa.Array) -> npt.NDArray[np.int8]:
        """The triage level of each text as a number: 2 urgent (triggered), 1 possible, 0 none."""
        values = texts.to_pylist() if isinstance(texts, pa.Array | pa.ChunkedArray) else list(texts)
        return np.array([LEVELS[r.level] for r in self.detect_many(values)], dtype=np.int8)

    def candidates(self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
        """True for each text that may trigger (a superset of the triggering texts, computed column-wise)."""
        if self._filter is None:
            self._filter = TriageFilter(self.matcher.sources)
        return self._filter.candidates(texts)

    def _detect_distinct(self, texts: list[str]) -> list[TriageResult]:
        """:meth:`detect` on each of many texts (not None): normalised and searched column-wise."""
        joined = normalised_texts(texts)
        matches = self.matcher.occurs_in_each(joined)
        matches &= np.array([bool(text.strip()) for text in texts], dtype=bool)
        rows = np.flatnonzero(matches).tolist()
        # which categories occur in each matching text, so that the clause checks search only those
        present = self.matcher.categories_in_each([joined[i] for i in rows])
        results = [_NOT_TRIGGERED] * len(texts)
        for j, i in enumerate(rows):
            line = joined[i]
            results[i] = self._check(line.split(" "), line, None if present is None else present[j].tolist())
        return results


_DEFAULT = ClinicalTriageDetector()


def default_detector() -> ClinicalTriageDetector:
    """The detector with the default lexicon, one per process (its batch pre-filter is built once)."""
    return _DEFAULT


def detect_urgent_symptoms(text: str | None) -> TriageResult:
    """Check one text with the default lexicon; see :class:`ClinicalTriageDetector`.

    Parameters
    ----------
    text
        Free text; None or empty gives no trigger.

    Returns
    -------
    TriageResult
        Whether the text describes urgent clinical symptoms (route to the human triage line) and what
        matched.

    Examples
    --------
    >>> detect_urgent_symptoms("my dad's face is drooping and his speech is slurred").category
    'stroke'
    >>> detect_urgent_symptoms("not suicidal, just want therapy").triggered
    False
    """
    return _DEFAULT.detect(text)
