from __future__ import annotations

import pytest

from careleads.text import ClinicalTriageDetector, TriageResult, detect_urgent_symptoms

# What a triage nurse would want to see at once: current urgent symptoms, in the many ways people write.
TRIGGERING = [
    ("I've had crushing chest pain since this morning", "chest_pain"),
    ("my chest feels tight and heavy right now", "chest_pain"),
    ("CHEST PAIN AND SWEATING, CAN SOMEONE CALL ME", "chest_pain"),
    ("chset pian rn", "chest_pain"),
    ("pressure in my chest going down my left arm", "chest_pain"),
    ("I think I'm having a heart attack", "chest_pain"),
    ("I've never had chest pain like this before", "chest_pain"),
    ("I can't climb the stairs without chest pain", "chest_pain"),
    ("I had chest pain last year and now it's back", "chest_pain"),
    ("the chest pain went away but came back this morning", "chest_pain"),
    ("I'm not sure but I think my dad is having a heart attack", "chest_pain"),
    ("I can't breathe", "breathing"),
    ("cant breath, please help", "breathing"),
    ("my son is struggling to breathe and his lips are turning blue", "breathing"),
    ("no chest pain but I cannot catch my breath", "breathing"),
    ("my wife's face is drooping and her speech is slurred", "stroke"),
    ("I think my mom is having a stroke", "stroke"),
    ("he suddenly can't move his right arm", "stroke"),
    ("I've been having thoughts of hurting myself", "self_harm"),
    ("I feel suicidal", "self_harm"),
    ("sucidal thoughts again tonight", "self_harm"),
    ("I don't want to live anymore", "self_harm"),
    ("honestly I want to end my life", "self_harm"),
    ("thinking about killing myself", "self_harm"),
    ("the bleeding won't stop after my procedure", "bleeding"),
    ("I'm pregnant and bleeding heavily", "bleeding"),
    ("coughing up blood since yesterday", "bleeding"),
    ("I took too many of my pills on purpose", "overdose"),
    ("my roommate overdosed", "overdose"),
    ("my dad passed out and won't wake up", "consciousness"),
    ("my daughter is having a seizure", "consciousness"),
    ("my throat is closing after eating peanuts", "allergy"),
    ("worst headache of my life, came on suddenly", "headache"),
    ("tengo dolor de pecho muy fuerte", "spanish"),
    ("no puedo respirar", "spanish"),
    ("quiero morirme", "self_harm"),
]

# What a nurse would not want paged for: denied, resolved or past symptoms, and look-alike words.
NOT_TRIGGERING = [
    "No chest pain, just a checkup",
    "no chest pain or shortness of breath, only a cough",
    "not suicidal, just want to talk to someone about stress",
    "I'm not suicidal",
    "my chest pain from last year is gone",
    "The chest pain I had in March went away, want a follow-up with cardiology",
    "I had a heart attack in 2019 and need a routine cardiology follow-up",
    "my mom had a stroke years ago and needs physical therapy",
    "history of chest pain, fully worked up, now just need a refill",
    "I don't have any chest pain, I just want my heart checked",
    "denies chest pain",
    "without chest pain or dizziness, just palpitations once in a while",
    "Not having any trouble breathing, just a stuffy nose",
    "no thoughts of hurting myself, I'd just like therapy",
    "no tengo dolor de pecho, solo quiero un chequeo",
    "Hurt my shoulder at the gym, can't lift my arm above my head",
    "Do you accept Aetna?",
    "I need to pay my bill",
    "my back pain is killing me, can I get in this week",
    "is there a stroke prevention class?",
    "I want to stop taking my blood pressure pills",
    "Can I book a stress test for next month?",
    "it won't break the bank will it?",
    "I can't talk right now, please text me",
    "take my wife's name off the account",
    "",
]


@pytest.mark.parametrize(("text", "category"), TRIGGERING)
def test_urgent_symptoms_trigger(text: str, category: str) -> None:
    result = detect_urgent_symptoms(text)
    assert result.triggered, text
    assert result.category == category
    assert result.matched


@pytest.mark.parametrize("text", NOT_TRIGGERING)
def test_negated_past_or_unrelated_text_does_not_trigger(text: str) -> None:
    assert detect_urgent_symptoms(text) == TriageResult(False)


def test_lists_are_long_enough() -> None:
    assert len(TRIGGERING) >= 30
    assert len(NOT_TRIGGERING) >= 20


def test_none_gives_no_trigger() -> None:
    assert not detect_urgent_symptoms(None).triggered


def test_negation_does_not_cross_clause_boundaries() -> None:
    assert detect_urgent_symptoms("no fever, but crushing chest pain").triggered
    assert detect_urgent_symptoms("no, I can't breathe").triggered


def test_window_bounds_the_negation_scope() -> None:
    text = "no insurance card with me today and also chest pain"
    assert detect_urgent_symptoms(text).triggered
    assert not ClinicalTriageDetector(window=20).detect(text).triggered


def test_extra_patterns_extend_the_lexicon() -> None:
    text = "my baby has a fever of 105"
    assert not detect_urgent_symptoms(text).triggered
    detector = ClinicalTriageDetector(extra_patterns={"fever": [r"fever of 10[4-9]"]})
    result = detector.detect(text)
    assert result == TriageResult(True, "fever of 105", "fever")
    assert not detector.detect("no fever of 105, just a cold").triggered


def test_detect_many_keeps_order() -> None:
    results = ClinicalTriageDetector().detect_many(["I can't breathe", "book a physical", None])
    assert [r.triggered for r in results] == [True, False, False]
