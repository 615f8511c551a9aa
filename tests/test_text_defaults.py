"""The shipped default classifiers: read from package data, never fitted at import or while serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any, NoReturn

import numpy as np
import pytest

from careleads.errors import InputError
from careleads.synth import make_labelled_texts
from careleads.text import (
    DEFAULT_CLASSIFIERS_FILE,
    default_classifiers,
    intent_features,
    train_text_classifiers,
)
from careleads.text._classifier import _TextClassifier


@pytest.fixture
def no_fitting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any fit of a text classifier fails the test; the defaults are read afresh."""

    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError("a text classifier was fitted")

    monkeypatch.setattr(_TextClassifier, "fit", refuse)
    default_classifiers.cache_clear()
    yield
    default_classifiers.cache_clear()


def _shipped() -> dict[str, Any]:
    source = resources.files("careleads.text").joinpath(DEFAULT_CLASSIFIERS_FILE)
    data: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return data


@pytest.mark.usefixtures("no_fitting")
def test_the_defaults_are_read_not_trained() -> None:
    intent, urgency = default_classifiers()
    assert default_classifiers() == (intent, urgency)  # read once per process
    assert intent.model_.vectors is urgency.model_.vectors
    out = intent_features(["Do you accept Medicare for a knee MRI?", None, "I need help today please"])
    assert out["intent"].iloc[0] == "insurance_pricing" and out["intent"].isna().iloc[1]
    assert {"intent_p_scheduling", "urgency_p_urgent", "clinical_triage"} <= set(out.columns)
    with pytest.raises(InputError, match="seed 0, not 3.*train_text_classifiers"):
        default_classifiers(3)


def test_the_shipped_file_is_what_the_script_trains() -> None:
    """Fails when the classifiers or the simulator's texts change until scripts/build_default_classifiers.py
    is run again."""
    data = _shipped()
    recipe = data["trained_on"]
    assert recipe["texts"] == "careleads.synth.make_labelled_texts"
    trained = train_text_classifiers(recipe["seed"], n_texts=recipe["n_texts"])
    texts = list(make_labelled_texts(1_000, seed=11)["text"]) + ["", "¿Aceptan Medicaid?", "x"]
    default_classifiers.cache_clear()
    for shipped, fresh in zip(default_classifiers(), trained, strict=True):
        assert list(shipped.classes_) == list(fresh.classes_)
        assert shipped.get_params() == fresh.get_params()
        np.testing.assert_allclose(
            shipped.predict_proba(texts), fresh.pipeline_.predict_proba(texts), rtol=0, atol=1e-9
        )
