from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
import yaml

from careleads.errors import ConfigError, InputError
from careleads.synth._texts import (
    INTENTS,
    URGENCIES,
    _read_templates,
    _templates,
    generate_labelled,
    generate_texts,
    make_labelled_texts,
)
from careleads.text import detect_urgent_symptoms


def _labels(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    intents = [INTENTS[i] for i in rng.integers(0, len(INTENTS), n)]
    urgencies = [URGENCIES[i] for i in rng.integers(0, len(URGENCIES), n)]
    return intents, urgencies


def test_same_seed_gives_same_texts() -> None:
    intents, urgencies = _labels(2000, 1)
    first = generate_texts(intents, urgencies, np.random.default_rng(7))
    second = generate_texts(intents, urgencies, np.random.default_rng(7))
    other = generate_texts(intents, urgencies, np.random.default_rng(8))
    assert first == second
    assert first != other
    assert len(first) == 2000


def test_make_labelled_texts_is_deterministic_and_labelled() -> None:
    first = make_labelled_texts(3000, seed=3)
    second = make_labelled_texts(3000, seed=3)
    assert first.equals(second)
    assert list(first.columns) == ["text", "intent", "urgency", "clinical_urgent"]
    assert set(first["intent"]) == set(INTENTS)
    assert set(first["urgency"]) == set(URGENCIES)
    assert first["text"].str.len().min() > 0
    # Clinical symptoms are only ever written into urgent texts.
    assert set(first.loc[first["clinical_urgent"], "urgency"]) == {"urgent"}
    assert 0 < first["clinical_urgent"].sum() < 0.05 * len(first)


def test_texts_are_varied_and_noisy() -> None:
    frame = make_labelled_texts(5000, seed=11)
    texts = frame["text"]
    assert texts.nunique() > 0.8 * len(texts)
    spanish = texts.str.contains(r"¿|cita|gracias|seguro|urgente", case=False, regex=True)
    assert 0.02 < spanish.mean() < 0.15
    lower = texts.map(lambda t: t == t.lower() and any(c.isalpha() for c in t))
    assert lower.mean() > 0.05
    negated = texts.str.contains(r"no chest pain|not suicidal|is gone", case=False, regex=True)
    assert negated.sum() > 10


def test_chat_messages_are_shorter_than_questions() -> None:
    intents, urgencies = _labels(3000, 2)
    questions = generate_texts(intents, urgencies, np.random.default_rng(0), kind="question")
    chats = generate_texts(intents, urgencies, np.random.default_rng(0), kind="chat")
    assert np.mean([len(t) for t in chats]) < 0.7 * np.mean([len(t) for t in questions])


def test_texts_carry_no_identifiers() -> None:
    texts = make_labelled_texts(5000, seed=5)["text"]
    email = re.compile(r"\S+@\S+\.\w+")
    phone = re.compile(r"\d{3}[-. )]*\d{3}[-. ]*\d{4}")
    assert not any(email.search(t) or phone.search(t) for t in texts)


def test_triage_detector_agrees_with_simulator_flag() -> None:
    frame = make_labelled_texts(20_000, seed=4)
    flags = np.array([detect_urgent_symptoms(t).triggered for t in frame["text"]])
    truth = frame["clinical_urgent"].to_numpy()
    assert truth.sum() > 20
    assert flags[truth].all()
    # Negated and past symptoms are in the texts; typos may break a "years ago", so allow a sliver.
    assert flags[~truth].mean() < 0.002


def test_generate_labelled_flags_only_urgent() -> None:
    intents, _ = _labels(4000, 9)
    _, flags = generate_labelled(intents, ["routine"] * 4000, np.random.default_rng(1))
    assert not flags.any()


@pytest.mark.parametrize(
    ("intents", "urgencies", "kind", "message"),
    [
        (["scheduling"], ["asap"], "question", "unknown urgency 'asap'"),
        (["booking"], ["routine"], "question", "unknown intent 'booking'"),
        (["scheduling"], ["routine", "soon"], "question", "differ in length"),
        (["scheduling"], ["routine"], "email", "kind must be one of"),
    ],
)
def test_bad_arguments_raise_input_error(
    intents: list[str], urgencies: list[str], kind: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        generate_texts(intents, urgencies, np.random.default_rng(0), kind=kind)


def test_empty_input_gives_empty_output() -> None:
    assert generate_texts([], [], np.random.default_rng(0)) == []
    assert len(make_labelled_texts(0, seed=0)) == 0


def _sha256(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


# Texts of a fixed seed, taken before the templates moved from code to data files: the generator must keep
# writing exactly these (the simulator's data and every figure measured on it depend on them).
PINNED = {
    "question": (
        "7c39956bff960ee56a1653d8b17e207a22b497d7b088a082508ddddca7fd435f",
        [
            "Can someone call me right away? Where exactly is the women's health office, the map is "
            "confusing. Please call me back.",
            "got it, appreciate it Please email me.",
            "Can my teenager go into an ortho consult without a parent? Please email me.",
        ],
    ),
    "chat": (
        "fb97379c907c17c63db7a1afc577d1cd3643104fd08cef748c22dd54a633d400",
        ["today pls which door for cardio? ?", "ok bye ?", "can my daughter come with me pls"],
    ),
}


@pytest.mark.parametrize("kind", ["question", "chat"])
def test_a_fixed_seed_writes_the_pinned_texts(kind: str) -> None:
    labels = np.random.default_rng(21)
    intents = [INTENTS[i] for i in labels.integers(0, len(INTENTS), 3000)]
    urgencies = [URGENCIES[i] for i in labels.integers(0, len(URGENCIES), 3000)]
    texts, clinical = generate_labelled(intents, urgencies, np.random.default_rng(5), kind=kind)
    digest, first = PINNED[kind]
    assert texts[:3] == first
    assert int(clinical.sum()) == 52
    assert _sha256(texts) == digest


def test_a_fixed_seed_gives_the_pinned_labelled_set() -> None:
    frame = make_labelled_texts(2000, seed=9)
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    assert digest == "8d8d7ace3349b668d11a0f1c0d707e53e841dbfc1de8f5bad83fd2c825cd558b"


def test_a_template_file_without_an_intent_or_a_section_is_refused() -> None:
    shipped = _templates()
    bodies = {group: dict(by_intent) for group, by_intent in shipped.bodies.items()}
    del bodies["chat"]["spam"]
    sections = {name: getattr(shipped, name) for name in shipped.__dataclass_fields__}
    with pytest.raises(ConfigError, match="bodies.chat must have exactly the keys"):
        _read_templates(yaml.safe_dump({**sections, "bodies": bodies}))
    with pytest.raises(ConfigError, match="no section symptoms"):
        _read_templates(yaml.safe_dump({k: v for k, v in sections.items() if k != "symptoms"}))
    with pytest.raises(ConfigError, match=r"fills\.svc must be a list of strings"):
        _read_templates(yaml.safe_dump({**sections, "fills": {**shipped.fills, "svc": [1, 2]}}))
