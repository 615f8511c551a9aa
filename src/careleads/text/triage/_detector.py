"""The clinical-triage detector: does a free text describe urgent clinical symptoms?

This is a safety rule, not a clinical tool. It never makes a clinical decision: it does not diagnose,
assess severity or advise care. Its only consequence is routing: an ``urgent`` text goes to a human triage
line (a nurse or clinician on call) at once, a ``possible`` one before a human at the top of the review
queue, and neither ever to a marketing or nurture path. People decide everything else.

Two opinions, combined with safety first:

- the rules (:mod:`._concepts`): symptom concepts made of word classes with severity, onset and quality
  cues, on normalised text (:mod:`._normalise`), each mention checked for negation, resolution, history and
  hypotheticals (:mod:`._negation`);
- a learned classifier (:mod:`._classifier`), trained offline on the development and tuning sets of
  paraphrases and non-urgent look-alikes (:mod:`._train`).

The verdict is ``urgent`` when the rules find an urgent concept or the classifier is very confident
(probability at or above its urgent threshold); ``possible`` when the rules find a possible concept or the
classifier is moderately confident (at or above its possible threshold); ``none`` otherwise. The thresholds
were chosen on those training texts only (:mod:`._train` says how). The classifier is asked only about a
text that mentions a body system or a symptom (a word of a class that is no mere cue), and not about one
whose symptom the rules saw denied, resolved, past or non-clinical ("no chest pain, just a checkup", "I cut
myself shaving"): an explicit statement is stronger evidence than word statistics. A supposed symptom
("what should I do if my chest hurts after the procedure") is at most ``possible``.

It errs on the side of a human: symptoms of someone else trigger, questions about a current symptom
trigger, and a missed emergency costs far more than a read message.

Many texts at once (:meth:`ClinicalTriageDetector.detect_many`, :meth:`~ClinicalTriageDetector.levels_many`,
:meth:`~ClinicalTriageDetector.triggered_many`) run :meth:`~ClinicalTriageDetector.detect` once per distinct
text that a column-wise pre-filter keeps (:mod:`._filter`: a sound superset of the texts above ``none``,
read from the same vocabularies and rules): the batch path is the one-text path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from careleads.memo import BlockMemo
from careleads.text.triage._classifier import TriageClassifier, default_classifier
from careleads.text.triage._concepts import find_concept
from careleads.text.triage._filter import candidates
from careleads.text.triage._normalise import tokenise

__all__ = [
    "LEVELS",
    "ClinicalTriageDetector",
    "TriageResult",
    "default_detector",
    "detect_urgent_symptoms",
    "remembered_triage",
]

LEVELS: dict[str, int] = {"none": 0, "possible": 1, "urgent": 2}
"""The triage levels as numbers, in order of concern (:meth:`ClinicalTriageDetector.levels_many`)."""

_WINDOW = 5
_BATCH_MIN = 64  # below this many texts the column-wise pre-filter costs more than it saves
LEARNED = "learned"
"""The category of a verdict that only the classifier gave."""


@dataclass(frozen=True)
class TriageResult:
    """The outcome of the clinical-triage check of one text.

    Attributes
    ----------
    triggered
        True when the text describes urgent clinical symptoms: route it to the human triage line.
    matched
        The normalised words behind the verdict, or None.
    category
        What the verdict is about: ``chest_pain``, ``breathing``, ``stroke``, ``bleeding``, ``pregnancy``,
        ``infant``, ``consciousness``, ``allergy``, ``self_harm``, ``overdose``, ``headache``,
        ``head_injury``, ``abdomen``, ``testicle``, ``other``, or ``learned`` (the classifier alone); None
        when nothing was found.
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
    """Detector of urgent clinical symptoms in free text: concept rules plus a learned second opinion.

    It only routes: an urgent text goes to a human triage line, a possible one before a human, never to
    marketing. It makes no clinical decision.

    Parameters
    ----------
    window
        How many tokens before a mention a negation may stand (in the same clause).
    classifier
        The learned second opinion; the shipped one (``data/classifier.json``) when None. Pass
        ``False`` to use the rules alone.

    Examples
    --------
    >>> detector = ClinicalTriageDetector()
    >>> detector.detect("Crushing chest pain since this morning").level
    'urgent'
    >>> detector.detect("No chest pain, just a checkup").level
    'none'
    >>> text = "the pain is spreading from my chest into my left arm"
    >>> result = detector.detect(text)
    >>> result.category, [text[a:b] for a, b in result.spans]
    ('chest_pain', ['pain', 'chest'])
    """

    def __init__(self, window: int = _WINDOW, classifier: TriageClassifier | bool | None = None) -> None:
        self.window = window
        self.classifier = classifier

    @property
    def classifier_(self) -> TriageClassifier | None:
        """The classifier in use (None: rules alone)."""
        if self.classifier is False:
            return None
        if self.classifier is None or self.classifier is True:
            return default_classifier()
        return self.classifier

    def detect(self, text: str | None) -> TriageResult:
        """Check one text.

        Parameters
        ----------
        text
            Free text (a form question, chat, SMS or email message); None or empty gives ``none``.

        Returns
        -------
        TriageResult
            The level, the category, the words behind the verdict and their offsets in `text`.
        """
        if not text or not text.strip():
            return _NOT_TRIGGERED
        tokens = tokenise(text)
        words = tokens.words
        reading = find_concept(words, self.window)
        concept = reading.concept
        level = concept.level if concept is not None else "none"
        model = self.classifier_ if reading.anchored and not reading.rejected else None
        if model is not None:
            probability = model.probability(words)
            if probability >= model.urgent_threshold and not reading.supposed:
                level = "urgent"
            elif probability >= model.possible_threshold and level == "none":
                level = "possible"
        if level == "none":
            return _NOT_TRIGGERED
        if concept is not None and LEVELS[concept.level] >= LEVELS[level]:
            indices = sorted({k for m in concept.mentions for k in range(m.first, m.last + 1)})
            category = concept.category
            groups = [(m.first, m.last) for m in concept.mentions]
        else:  # the classifier raised the level: its strongest words are the reason
            indices = model.strongest_words(words) if model is not None else []
            category = concept.category if concept is not None else LEARNED
            groups = [(k, k) for k in indices]
        spans = _merged(tokens.spans, groups)
        matched = " ".join(words[k] for k in indices) or None
        return TriageResult(level == "urgent", matched, category, level == "possible", spans)

    def detect_many(self, texts: Iterable[str | None]) -> list[TriageResult]:
        """:meth:`detect` on each text: each distinct text checked once, and in a large batch only the
        texts the pre-filter (:func:`._filter.candidates`, a sound superset) keeps."""
        values = list(texts)
        keep = self._kept(values)
        found = _remembered(self)
        out = []
        for text, kept in zip(values, keep, strict=True):
            if not kept or not text:
                out.append(_NOT_TRIGGERED)
                continue
            result = found.get(text)
            if result is None:
                result = found[text] = self.detect(text)
            out.append(result)
        return out

    def levels_many(self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int8]:
        """The triage level of each text as a number (:data:`LEVELS`: 2 urgent, 1 possible, 0 none).

        `texts` may be an Arrow string array (a lead column): the pre-filter runs column-wise and each
        distinct text it keeps is checked once.
        """
        if not isinstance(texts, pa.Array | pa.ChunkedArray):
            return np.array([LEVELS[r.level] for r in self.detect_many(texts)], dtype=np.int8)
        array = texts.cast(pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        out = np.zeros(len(array), dtype=np.int8)
        rows = np.flatnonzero(candidates(array))
        if len(rows):
            encoded = array.take(pa.array(rows)).dictionary_encode()
            levels = [LEVELS[self.detect(t).level] for t in encoded.dictionary.to_pylist()]
            out[rows] = np.asarray(levels, dtype=np.int8)[np.asarray(encoded.indices, dtype=np.intp)]
        return out

    def triggered_many(
        self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray
    ) -> npt.NDArray[np.bool_]:
        """``detect(text).triggered`` for each text, as a boolean array (see :meth:`levels_many`)."""
        return np.asarray(self.levels_many(texts) == LEVELS["urgent"], dtype=np.bool_)

    def _kept(self, values: list[str | None]) -> list[bool]:
        """The texts the detector must check: the pre-filter's candidates in a large batch, else all."""
        if len(values) < _BATCH_MIN:
            return [True] * len(values)
        return [bool(k) for k in candidates(pa.array(values, type=pa.large_string()))]


#: per detector: text -> finding, in the current :func:`remembered_triage` block
_REMEMBERED = BlockMemo("careleads_triage")


def remembered_triage() -> AbstractContextManager[None]:
    """Within the block, :meth:`ClinicalTriageDetector.detect_many` checks each distinct text once: a text
    met again (the record's check, then the decision, read the same message) is looked up. Nothing is kept
    after the block; blocks nest (the outermost one remembers)."""
    return _REMEMBERED.block()


def _remembered(detector: ClinicalTriageDetector) -> dict[str, TriageResult]:
    """The findings `detector` gave in the current block (a dict to add to), or a fresh dict outside one."""
    found: dict[str, TriageResult] | None = _REMEMBERED.of(detector)
    return found if found is not None else {}


def _merged(
    spans: Sequence[tuple[int, int]], groups: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """The character spans of token groups (``first .. last``), sorted, overlapping ones merged."""
    ranges = sorted((spans[a][0], spans[b][1]) for a, b in groups)
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return tuple(out)


_DEFAULT = ClinicalTriageDetector()


def default_detector() -> ClinicalTriageDetector:
    """The detector with the shipped rules and classifier, one per process."""
    return _DEFAULT


def detect_urgent_symptoms(text: str | None) -> TriageResult:
    """Check one text with the default detector; see :class:`ClinicalTriageDetector`.

    Parameters
    ----------
    text
        Free text; None or empty gives no trigger.

    Returns
    -------
    TriageResult
        Whether the text describes urgent clinical symptoms (route to the human triage line), may describe
        one (``possible``: before a human), what was found and where.

    Examples
    --------
    >>> detect_urgent_symptoms("my dad's face is drooping and his speech is slurred").category
    'stroke'
    >>> detect_urgent_symptoms("not suicidal, just want therapy").triggered
    False
    """
    return _DEFAULT.detect(text)
