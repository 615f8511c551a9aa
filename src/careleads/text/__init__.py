"""Free-text signals: intent and urgency classifiers and the clinical-triage override.

The classifiers sort messages for routing and scoring; they never make a clinical decision. Text that
describes urgent clinical symptoms triggers the clinical-triage override (:func:`detect_urgent_symptoms`),
which routes the lead to a human triage line and never to marketing, whatever the classifiers say; its
parts (lexicon, normalisation, detector, batch pre-filter) are the :mod:`careleads.text.triage` subpackage.
"""

from __future__ import annotations

from careleads.text._classifier import (
    DEFAULT_N_TEXTS,
    IntentClassifier,
    TextClassifiers,
    UrgencyClassifier,
    classifiers_from_dict,
    classifiers_to_dict,
    load_classifier,
    load_labelled_texts,
    train_default_classifier,
    train_default_urgency_classifier,
    train_text_classifiers,
)
from careleads.text._linear import LinearTextModel
from careleads.text._reading import reading_once, remembered_probabilities
from careleads.text._signals import (
    DEFAULT_CLASSIFIERS_FILE,
    default_classifiers,
    intent_features,
    write_default_classifiers,
)
from careleads.text.triage import (
    ClinicalTriageDetector,
    TriageResult,
    default_detector,
    detect_urgent_symptoms,
)

__all__ = [
    "DEFAULT_CLASSIFIERS_FILE",
    "DEFAULT_N_TEXTS",
    "ClinicalTriageDetector",
    "IntentClassifier",
    "LinearTextModel",
    "TextClassifiers",
    "TriageResult",
    "UrgencyClassifier",
    "classifiers_from_dict",
    "classifiers_to_dict",
    "default_classifiers",
    "default_detector",
    "detect_urgent_symptoms",
    "intent_features",
    "load_classifier",
    "load_labelled_texts",
    "reading_once",
    "remembered_probabilities",
    "train_default_classifier",
    "train_default_urgency_classifier",
    "train_text_classifiers",
    "write_default_classifiers",
]
