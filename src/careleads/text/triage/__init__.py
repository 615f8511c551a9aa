"""Clinical triage: spot free text that describes urgent clinical symptoms, and route it to a human.

This is a safety rule, not a clinical tool: an urgent text goes to a human triage line, a possible one
before a human at the top of the queue, never to a marketing or nurture path, and nothing else is decided.
Its parts, one module each:

- the vocabularies, as data (``_lexicon``): word classes (body systems, symptoms, severity, onset and
  quality cues), non-clinical senses, negation, time and hypothetical words;
- the normalisation (``_normalise``): tokens with their offsets in the original text, folding, typo
  correction (:func:`tokenise`, :func:`normalise`, :func:`correct`);
- the rules (``_concepts``): symptom concepts as combinations of word classes, and the context checks
  (``_negation``: negation, resolution, history, hypotheticals);
- the learned second opinion (``_classifier``), trained offline by ``python -m
  careleads.text.triage._train`` on ``tests/data/triage_dev.csv`` and ``triage_tuning.csv`` and read from
  ``data/classifier.json``;
- the detector (``_detector``): :class:`ClinicalTriageDetector`, :func:`detect_urgent_symptoms`.

Examples
--------
>>> detect_urgent_symptoms("I can't breathe").category
'breathing'
>>> detect_urgent_symptoms("no chest pain, just a checkup").level
'none'
"""

from __future__ import annotations

from careleads.text.triage._classifier import TriageClassifier, default_classifier
from careleads.text.triage._concepts import RULES, Rule, find_concept, find_mentions
from careleads.text.triage._detector import (
    LEVELS,
    ClinicalTriageDetector,
    TriageResult,
    default_detector,
    detect_urgent_symptoms,
    remembered_triage,
)
from careleads.text.triage._lexicon import SENSES, WORD_CLASSES
from careleads.text.triage._normalise import Tokens, correct, normalise, tokenise

__all__ = [
    "LEVELS",
    "RULES",
    "SENSES",
    "WORD_CLASSES",
    "ClinicalTriageDetector",
    "Rule",
    "Tokens",
    "TriageClassifier",
    "TriageResult",
    "correct",
    "default_classifier",
    "default_detector",
    "detect_urgent_symptoms",
    "find_concept",
    "find_mentions",
    "normalise",
    "remembered_triage",
    "tokenise",
]
