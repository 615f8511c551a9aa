"""Text-derived model features: intent probabilities, urgency and the clinical-triage flag."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from careleads.text._classifier import (
    IntentClassifier,
    UrgencyClassifier,
    as_texts,
    train_default_classifier,
    train_default_urgency_classifier,
)
from careleads.text.triage import ClinicalTriageDetector, detect_urgent_symptoms

__all__ = ["default_classifiers", "intent_features"]


@lru_cache(maxsize=4)
def default_classifiers(seed: int = 0) -> tuple[IntentClassifier, UrgencyClassifier]:
    """The default intent and urgency classifiers, trained once per process and seed (a few seconds)."""
    return train_default_classifier(seed), train_default_urgency_classifier(seed)


def intent_features(
    texts: Sequence[str | None] | pd.Series[Any],
    *,
    intent_model: IntentClassifier | None = None,
    urgency_model: UrgencyClassifier | None = None,
    detector: ClinicalTriageDetector | None = None,
) -> pd.DataFrame:
    """Intent probabilities, urgency and the clinical-triage flag for each text.

    Parameters
    ----------
    texts
        Free texts; None or empty texts get missing probabilities (NaN) and no triage flag. A Series keeps
        its index.
    intent_model, urgency_model
        Fitted classifiers; the defaults (see :func:`default_classifiers`) when None.
    detector
        The clinical-triage detector; the default lexicon when None.

    Returns
    -------
    pandas.DataFrame
        Columns ``intent_p_<intent>`` (one per class), ``intent`` (most probable), ``urgency_p_<level>``,
        ``urgency`` and ``clinical_triage`` (bool: route to the human triage line, never to marketing).

    Examples
    --------
    >>> from careleads.synth._texts import make_labelled_texts
    >>> frame = make_labelled_texts(2000, seed=0)
    >>> intents = IntentClassifier().fit(frame["text"], frame["intent"])
    >>> urgencies = UrgencyClassifier().fit(frame["text"], frame["urgency"])
    >>> out = intent_features(["can I book a physical asap?", "no chest pain, just a checkup"],
    ...                       intent_model=intents, urgency_model=urgencies)
    >>> out["clinical_triage"].tolist()
    [False, False]
    """
    index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
    docs = as_texts(texts, "intent_features")
    if intent_model is None or urgency_model is None:
        default_intent, default_urgency = default_classifiers()
        intent_model = intent_model or default_intent
        urgency_model = urgency_model or default_urgency
    present = np.array([bool(doc.strip()) for doc in docs], dtype=bool)
    columns: dict[str, Any] = {}
    for prefix, model in (("intent", intent_model), ("urgency", urgency_model)):
        proba = np.full((len(docs), len(model.classes_)), np.nan)
        if present.any():
            proba[present] = model.predict_proba([d for d, p in zip(docs, present, strict=True) if p])
        for j, label in enumerate(model.classes_):
            columns[f"{prefix}_p_{label}"] = proba[:, j]
        best = np.asarray(model.classes_, dtype=object)[np.nan_to_num(proba, nan=-1.0).argmax(axis=1)]
        columns[prefix] = pd.Series(np.where(present, best, None), dtype="string").array
    check = detector.detect if detector is not None else detect_urgent_symptoms
    columns["clinical_triage"] = np.array([check(doc).triggered for doc in docs], dtype=bool)
    return pd.DataFrame(columns, index=index)
