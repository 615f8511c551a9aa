"""Clinical triage: spot free text that describes urgent clinical symptoms, and route it to a human.

This is a safety rule, not a clinical tool: a triggered text goes to a human triage line, never to a
marketing or nurture path, and nothing else is decided. Its parts, one module each:

- the lexicon, as data (``_lexicon``): symptom patterns by category, negation and time words, the typo
  vocabulary and the contraction phrases;
- the normalisation (``_normalise``): :func:`normalise` for one text, :func:`normalised_texts` for many,
  built from the same steps; typo correction (:func:`correct`, :func:`corrections`);
- the lexicon compiled for search (``_matching``) and the NegEx-style clause checks (``_negation``);
- the detector (``_detector``): :class:`ClinicalTriageDetector`, :func:`detect_urgent_symptoms`;
- the batch pre-filter (``_filter``, reading patterns with ``_required_words``): :class:`TriageFilter`,
  a sound superset of the texts that may trigger, computed column-wise.

Examples
--------
>>> detect_urgent_symptoms("I can't breathe").category
'breathing'
>>> detect_urgent_symptoms("no chest pain, just a checkup").triggered
False
"""

from __future__ import annotations

from careleads.text.triage._detector import (
    LEVELS,
    ClinicalTriageDetector,
    TriageResult,
    default_detector,
    detect_urgent_symptoms,
)
from careleads.text.triage._filter import TriageFilter
from careleads.text.triage._lexicon import (
    CONTRACTION_PHRASES,
    FUZZY_VOCABULARY,
    REAL_WORDS,
    SYMPTOM_LEXICON,
)
from careleads.text.triage._matching import LexiconMatcher, lexicon_matches
from careleads.text.triage._normalise import correct, corrections, normalise, normalised_texts
from careleads.text.triage._required_words import UnsupportedPattern, required_atoms

__all__ = [
    "CONTRACTION_PHRASES",
    "LEVELS",
    "ClinicalTriageDetector",
    "FUZZY_VOCABULARY",
    "LexiconMatcher",
    "REAL_WORDS",
    "SYMPTOM_LEXICON",
    "TriageFilter",
    "TriageResult",
    "UnsupportedPattern",
    "correct",
    "corrections",
    "default_detector",
    "detect_urgent_symptoms",
    "lexicon_matches",
    "normalise",
    "normalised_texts",
    "required_atoms",
]
