"""Text-derived model features: intent probabilities, urgency and the clinical-triage flag."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careleads.errors import ConfigError, InputError
from careleads.text._classifier import (
    DEFAULT_N_TEXTS,
    IntentClassifier,
    UrgencyClassifier,
    as_texts,
    classifiers_from_dict,
    classifiers_to_dict,
    train_text_classifiers,
)
from careleads.text.triage import ClinicalTriageDetector, detect_urgent_symptoms

__all__ = ["DEFAULT_CLASSIFIERS_FILE", "default_classifiers", "intent_features", "write_default_classifiers"]

#: The shipped default classifiers (package data of ``careleads.text``), written by
#: ``scripts/build_default_classifiers.py`` (:func:`write_default_classifiers`).
DEFAULT_CLASSIFIERS_FILE = "data/default_classifiers.json"
DEFAULT_SEED = 0


@lru_cache(maxsize=4)
def default_classifiers(seed: int = DEFAULT_SEED) -> tuple[IntentClassifier, UrgencyClassifier]:
    """The default intent and urgency classifiers, read once per process from the package's data.

    They are trained by ``scripts/build_default_classifiers.py`` on the simulator's labelled texts (seed 0,
    20,000 texts), never at import or while serving. A model with text features carries its own
    classifiers in its artifact; these score leads without such a model (e.g. an intent for a decision).

    Parameters
    ----------
    seed
        The seed they were trained with; only the shipped one (0) is available. Train others with
        :func:`careleads.text.train_text_classifiers`.

    Raises
    ------
    InputError
        For another seed.
    ConfigError
        When the package data is missing or damaged (reinstall careleads).
    """
    if seed != DEFAULT_SEED:
        raise InputError(
            f"default_classifiers: the shipped classifiers were trained with seed {DEFAULT_SEED}, "
            f"not {seed}; "
            f"train others with careleads.text.train_text_classifiers(seed={seed})."
        )
    source = resources.files("careleads.text").joinpath(DEFAULT_CLASSIFIERS_FILE)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"careleads.text/{DEFAULT_CLASSIFIERS_FILE}: the shipped text classifiers cannot be read "
            f"({error}); reinstall careleads, or rebuild them with scripts/build_default_classifiers.py"
        ) from error
    return classifiers_from_dict(data, f"careleads.text/{DEFAULT_CLASSIFIERS_FILE}")


def write_default_classifiers(
    path: Path, *, seed: int = DEFAULT_SEED, n_texts: int = DEFAULT_N_TEXTS
) -> Path:
    """Train the default classifiers on `n_texts` simulator texts and write them as JSON to `path`.

    The file records how they were made (seed, number of texts, scikit-learn version), so that
    ``tests/test_text_defaults.py`` can train them again and compare.
    """
    import sklearn

    data = classifiers_to_dict(
        train_text_classifiers(seed, n_texts=n_texts),
        trained_on={"texts": "careleads.synth.make_labelled_texts", "n_texts": n_texts, "seed": seed},
        scikit_learn=sklearn.__version__,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


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
