"""The classifiers' numpy form: equal to the fitted scikit-learn pipeline, read back from JSON to the bit."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest

from careleads.errors import ConfigError
from careleads.synth import make_labelled_texts
from careleads.text import (
    IntentClassifier,
    LinearTextModel,
    UrgencyClassifier,
    classifiers_from_dict,
    classifiers_to_dict,
)

ALPHABET = string.ascii_letters + string.digits + string.punctuation + "  \t\n" + "éüñçÅøßﬁ’—¿¡ÉÇ日本"


def _generated_texts(seed: int, n: int = 600) -> list[str]:
    """Simulator texts, the same texts garbled, and random strings of letters, accents, spaces, symbols."""
    rng = np.random.default_rng(seed)
    texts = list(make_labelled_texts(n, seed=seed + 100)["text"])
    garbled = []
    for text in texts[: n // 3]:
        chars = list(text)
        for i in rng.choice(len(chars), size=max(1, len(chars) // 8)):
            chars[i] = str(rng.choice(list(ALPHABET)))
        garbled.append("".join(chars).upper() if rng.random() < 0.3 else "".join(chars))
    noise = ["".join(rng.choice(list(ALPHABET), size=int(rng.integers(0, 40)))) for _ in range(n // 3)]
    return [*texts, *garbled, *noise, "", " ", "a", "ab", "ab ab ab", "Café  CAFÉ cafe\u0301"]


@pytest.mark.parametrize(
    ("word", "char", "min_df", "labels"),
    [
        ((1, 2), (3, 5), 2, "intent"),
        ((1, 2), (3, 5), 2, "urgency"),
        ((1, 1), (2, 4), 1, "intent"),
        ((1, 3), (4, 6), 3, "urgency"),
        ((2, 2), (1, 3), 2, "binary"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_the_numpy_form_equals_the_fitted_pipeline(
    word: tuple[int, int], char: tuple[int, int], min_df: int, labels: str, seed: int
) -> None:
    train = make_labelled_texts(1_500, seed=seed)
    y = (
        (train["intent"] == "scheduling").map({True: "yes", False: "no"})
        if labels == "binary"
        else train[labels]
    )
    kind = UrgencyClassifier if labels == "urgency" else IntentClassifier
    fitted = kind(word_ngram_range=word, char_ngram_range=char, min_df=min_df, random_state=seed).fit(
        train["text"], y
    )
    texts = _generated_texts(seed)
    expected = fitted.pipeline_.predict_proba(texts)
    got = fitted.predict_proba(texts)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # a text at a time (as a request reads one), after other texts' words were n-grammed and kept
    one_by_one = np.vstack([fitted.predict_proba([text]) for text in reversed(texts[-250:])])[::-1]
    np.testing.assert_allclose(one_by_one, expected[-250:], rtol=0, atol=1e-9)
    # read back from JSON, the classifier predicts exactly as the fitted one
    again = type(fitted).from_dict(json.loads(json.dumps(fitted.to_dict())), "test")
    assert not hasattr(again, "pipeline_")
    assert np.array_equal(again.predict_proba(texts), got)
    assert list(again.classes_) == list(fitted.classes_)


def test_two_classifiers_of_the_same_texts_share_their_vectors_in_json() -> None:
    train = make_labelled_texts(1_000, seed=4)
    pair = (
        IntentClassifier().fit(train["text"], train["intent"]),
        UrgencyClassifier().fit(train["text"], train["urgency"]),
    )
    data = json.loads(json.dumps(classifiers_to_dict(pair, note="test")))
    assert len(data["vectors"]) == 1 and data["note"] == "test"
    intent, urgency = classifiers_from_dict(data, "test")
    assert intent.model_.vectors is urgency.model_.vectors
    texts = _generated_texts(4, 90)
    for before, after in zip(pair, (intent, urgency), strict=True):
        assert np.array_equal(after.predict_proba(texts), before.predict_proba(texts))


def test_a_pipeline_the_numpy_form_does_not_reproduce_is_refused() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    train = make_labelled_texts(300, seed=1)
    for features, model, what in [
        (TfidfVectorizer(binary=True), SGDClassifier(loss="log_loss"), "binary"),
        (TfidfVectorizer(analyzer="char"), SGDClassifier(loss="log_loss"), "analyzer"),
        (TfidfVectorizer(), SGDClassifier(loss="hinge"), "logistic loss"),
        (TfidfVectorizer(), LogisticRegression(), "logistic loss"),
    ]:
        pipeline = Pipeline([("features", FeatureUnion([("f", features)])), ("model", model)])
        pipeline.fit(train["text"], train["intent"])
        with pytest.raises(ConfigError, match=what):
            LinearTextModel.from_pipeline(pipeline)


def test_damaged_or_foreign_documents_are_refused_with_where() -> None:
    train = make_labelled_texts(300, seed=2)
    pair = (
        IntentClassifier().fit(train["text"], train["intent"]),
        UrgencyClassifier().fit(train["text"], train["urgency"]),
    )
    good = classifiers_to_dict(pair)
    with pytest.raises(
        ConfigError, match="here.json: text classifiers in format 'x'.*careleads train --text"
    ):
        classifiers_from_dict({**good, "format": "x"}, "here.json")
    short = json.loads(json.dumps(good))
    short["intent"]["model"]["coef"]["shape"][1] += 1
    with pytest.raises(ConfigError, match="here.json: coef.*damaged"):
        classifiers_from_dict(short, "here.json")
    swapped = {**good, "intent": good["urgency"]}
    with pytest.raises(ConfigError, match="not an IntentClassifier"):
        classifiers_from_dict(swapped, "here.json")
