from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from careleads.errors import InputError, NotEnoughDataError, NotFittedError
from careleads.synth._texts import INTENTS, URGENCIES, make_labelled_texts
from careleads.text import (
    IntentClassifier,
    UrgencyClassifier,
    intent_features,
    load_classifier,
    load_labelled_texts,
    train_default_classifier,
)

DATA = Path(__file__).parent / "data"
# Written by hand for this purpose, not by the simulator's templates. The first set was written before the
# templates were broadened (templates too close to it were then rewritten); the fresh set was written after.
HANDWRITTEN = DATA / "intent_messages.csv"
FRESH = DATA / "intent_messages_fresh.csv"
N_TRAIN = 12_000
# Measured with N_TRAIN simulator texts and seeds 0-2: intent 0.86-0.88 (first set), 0.74-0.75 (fresh);
# urgency 0.57-0.58 and 0.48-0.55. Floors are those minus a margin.
FLOORS = {HANDWRITTEN: (0.80, 0.48), FRESH: (0.65, 0.40)}


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = make_labelled_texts(N_TRAIN + 4000, seed=0)
    train, test = train_test_split(frame, test_size=4000, random_state=0, stratify=frame["intent"])
    return train, test


@pytest.fixture(scope="module")
def models(split: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[IntentClassifier, UrgencyClassifier]:
    train, _ = split
    return (
        IntentClassifier().fit(train["text"], train["intent"]),
        UrgencyClassifier().fit(train["text"], train["urgency"]),
    )


def test_heldout_simulator_macro_f1(
    split: tuple[pd.DataFrame, pd.DataFrame], models: tuple[IntentClassifier, UrgencyClassifier]
) -> None:
    _, test = split
    intents, urgencies = models
    assert f1_score(test["intent"], intents.predict(test["text"]), average="macro") >= 0.9
    assert f1_score(test["urgency"], urgencies.predict(test["text"]), average="macro") >= 0.8


@pytest.mark.parametrize("path", [HANDWRITTEN, FRESH], ids=["first", "fresh"])
def test_handwritten_macro_f1(path: Path, models: tuple[IntentClassifier, UrgencyClassifier]) -> None:
    hand = load_labelled_texts(path, require_urgency=True)
    intents, urgencies = models
    intent_floor, urgency_floor = FLOORS[path]
    assert f1_score(hand["intent"], intents.predict(hand["text"]), average="macro") >= intent_floor
    assert f1_score(hand["urgency"], urgencies.predict(hand["text"]), average="macro") >= urgency_floor


def test_handwritten_sets_are_complete_and_distinct() -> None:
    first = load_labelled_texts(HANDWRITTEN, require_urgency=True)
    fresh = load_labelled_texts(FRESH, require_urgency=True)
    assert len(first) >= 220
    assert set(first["intent"]) == set(INTENTS) == set(fresh["intent"])
    assert set(first["urgency"]) == set(URGENCIES)
    assert not first["text"].duplicated().any()
    assert not set(first["text"]) & set(fresh["text"])
    simulated = set(make_labelled_texts(20_000, seed=0)["text"].str.lower())
    assert not (set(first["text"].str.lower()) | set(fresh["text"].str.lower())) & simulated


def test_estimator_conventions(models: tuple[IntentClassifier, UrgencyClassifier]) -> None:
    fitted, _ = models
    params = fitted.get_params()
    assert params["alpha"] == 1e-5 and params["char_ngram_range"] == (3, 5)
    fresh = clone(fitted)
    assert not hasattr(fresh, "pipeline_")
    with pytest.raises(NotFittedError):
        fresh.predict(["hello"])
    assert sorted(fitted.classes_) == sorted(INTENTS)
    proba = fitted.predict_proba(["Do you accept Medicare?", None, ""])
    assert proba.shape == (3, len(INTENTS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert fitted.predict([]).shape == (0,)


def test_fit_validates_its_input() -> None:
    with pytest.raises(InputError, match="2 texts but 1 labels"):
        IntentClassifier().fit(["a", "b"], ["scheduling"])
    with pytest.raises(NotEnoughDataError):
        IntentClassifier().fit(["book me"] * 30, ["scheduling"] * 30)
    with pytest.raises(InputError, match="row 1 is a int"):
        IntentClassifier().fit(["a", 3], ["scheduling", "spam"])  # type: ignore[list-item]


def test_save_and_load_round_trip(models: tuple[IntentClassifier, UrgencyClassifier], tmp_path: Path) -> None:
    fitted, _ = models
    path = fitted.save(tmp_path / "models" / "intent.json")
    loaded = load_classifier(path)
    texts = ["can I book a physical next week", "how much is an MRI", "buy followers now"]
    assert isinstance(loaded, IntentClassifier)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    import joblib  # type: ignore[import-untyped]

    # a pickle is never read (it could run code); a JSON file of something else is named
    joblib.dump({"not": "a model"}, tmp_path / "other.joblib")
    with pytest.raises(InputError, match="pickle"):
        load_classifier(tmp_path / "other.joblib")
    (tmp_path / "other.json").write_text('{"kind": "Thing"}', encoding="utf-8")
    with pytest.raises(InputError, match="not an IntentClassifier"):
        load_classifier(tmp_path / "other.json")
    with pytest.raises(InputError, match="no such file"):
        load_classifier(tmp_path / "missing.json")


def test_user_labelled_texts_change_the_model() -> None:
    phrase = "the zephyr wellness voucher"
    extra = pd.DataFrame({"text": [f"question about {phrase} {i}" for i in range(150)], "intent": "other"})
    base = train_default_classifier(0, n_texts=3000)
    retrained = train_default_classifier(0, n_texts=3000, extra=extra)
    other = list(base.classes_).index("other")
    before = base.predict_proba([f"question about {phrase}"])[0, other]
    after = retrained.predict_proba([f"question about {phrase}"])[0, other]
    assert after > 0.8 > before


def test_load_labelled_texts_reports_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,intent,urgency\nbook me in,scheduling,soon\n,spam,\nhow much,pricing,routine\n")
    with pytest.raises(InputError, match=r"line 3, field text: empty.*line 4, field intent: 'pricing'"):
        load_labelled_texts(path)
    path.write_text("text,intent\nbook me in,scheduling\n")
    loaded = load_labelled_texts(path)
    assert loaded["urgency"].isna().all()
    with pytest.raises(InputError, match="missing column"):
        load_labelled_texts(path, require_urgency=True)


def test_intent_features(models: tuple[IntentClassifier, UrgencyClassifier]) -> None:
    intents, urgencies = models
    texts = pd.Series(
        [
            "Do you take Cigna?",
            None,
            "I can't breathe, need an appointment today",
            "no chest pain, just a physical",
        ],
        index=[10, 11, 12, 13],
    )
    out = intent_features(texts, intent_model=intents, urgency_model=urgencies)
    assert list(out.index) == [10, 11, 12, 13]
    assert {f"intent_p_{i}" for i in INTENTS} | {f"urgency_p_{u}" for u in URGENCIES} <= set(out.columns)
    assert out.loc[10, "intent"] == "insurance_pricing"
    assert out.loc[11, ["intent_p_spam", "urgency_p_urgent"]].isna().all()
    assert out["intent"].isna()[11]
    assert out["clinical_triage"].tolist() == [False, False, True, False]
    assert out.loc[12, "urgency"] == "urgent"
