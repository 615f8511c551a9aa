from __future__ import annotations

import math

import pytest

from careleads.errors import InputError
from careleads.privacy import (
    STRUCTURED_KINDS,
    make_pii_corpus,
    measure_redaction,
    redact_text,
    redact_texts,
)
from careleads.privacy._corpus import HELD_OUT_FIRST_NAMES, HELD_OUT_SURNAMES
from careleads.privacy._redact import _word_lists

# The redactor was tuned on seed 7 (the documented figures); this seed was never looked at while tuning.
TEST_SEED = 2024


@pytest.fixture(scope="module")
def measured() -> dict[str, object]:
    return measure_redaction(make_pii_corpus(1000, seed=TEST_SEED))


def test_structured_identifiers_recall_at_least_0_99(measured: dict[str, object]) -> None:
    kinds = measured["kinds"]
    assert isinstance(kinds, dict)
    for kind in STRUCTURED_KINDS:
        assert kinds[kind]["n_gold"] >= 50, kind
        assert kinds[kind]["recall"] >= 0.99, (kind, kinds[kind])
        assert kinds[kind]["precision"] >= 0.95, (kind, kinds[kind])


def test_names_and_addresses_recall_at_least_0_85(measured: dict[str, object]) -> None:
    kinds = measured["kinds"]
    assert isinstance(kinds, dict)
    for kind in ("NAME", "ADDRESS"):
        assert kinds[kind]["n_gold"] >= 50, kind
        assert kinds[kind]["recall"] >= 0.85, (kind, kinds[kind])
        assert kinds[kind]["precision"] >= 0.9, (kind, kinds[kind])


@pytest.mark.parametrize(
    "phone",
    [
        "(555) 123-4567",
        "555.123.4567",
        "+1 555 123 4567",
        "555-123-4567",
        "5551234567",
        "1-555-123-4567",
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
    ],
)
def test_phone_formats(phone: str) -> None:
    assert redact_text(f"call me on {phone} after 5").text == "call me on [PHONE] after 5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail maria.lopez+care@example.org today", "mail [EMAIL] today"),
        ("or maria dot lopez at gmail dot com", "or [EMAIL]"),
        ("SSN 123-45-6789.", "SSN [SSN]."),
        ("ssn: 123 45 6789", "ssn: [SSN]"),
        ("my social security number is 123456789", "my social security number is [SSN]"),
        ("DOB 03/04/1985", "DOB [DOB]"),
        ("born 1985-03-04", "born [DOB]"),
        ("date of birth March 4, 1985 ok", "date of birth [DOB] ok"),
        ("MRN: 00123456", "MRN: [MRN]"),
        ("medical record number 1234567", "medical record number [MRN]"),
        ("I live at 123 Oak Street.", "I live at [ADDRESS]."),
        ("send it to 45 W. Elm Ave Apt 3 please", "send it to [ADDRESS] please"),
        ("my name is Maria Lopez and I", "my name is [NAME] and I"),
        ("this is Maria Lopez, thanks", "this is [NAME], thanks"),
        ("my name is maria lopez", "my name is [NAME]"),
        ("Dr. Patel referred me", "Dr. [NAME] referred me"),
        ("see you\nThanks,\nKenji Okonkwo", "see you\nThanks,\n[NAME]"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact_text(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "This is urgent, the pain is getting worse.",
        "I'm Hispanic and would prefer a Spanish speaking provider.",
        "My blood pressure was 150/95, I take Percocet 5/325 twice a day.",
        "I had 2 different ct scans last year.",
        "We were at St. Mary's Hospital on 5th Avenue.",
        "Call between 9 and 5, zip 60614, copay $40, INR 2.5.",
        "Can I come in next Tuesday after 3:30 pm?",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text).text == text


def test_recent_dates_are_dates_and_birth_dates_are_dob() -> None:
    result = redact_text("My appointment on 04/12/2025 was moved. DOB: 06/03/1992.")
    assert result.text == "My appointment on [DATE] was moved. DOB: [DOB]."
    assert [s.kind for s in result.spans] == ["DATE", "DOB"]


def test_spans_are_in_original_coordinates() -> None:
    text = "Hi, I'm Maria Lopez, call 555-123-4567"
    result = redact_text(text)
    assert [(text[s.start : s.end], s.kind) for s in result.spans] == [
        ("Maria Lopez", "NAME"),
        ("555-123-4567", "PHONE"),
    ]
    assert result.counts() == {"NAME": 1, "PHONE": 1}


def test_redact_texts_keeps_order_and_missing_values() -> None:
    out = redact_texts(["call 555-123-4567", None, math.nan, "", "call 555-123-4567"])  # type: ignore[list-item]
    assert out == ["call [PHONE]", None, None, "", "call [PHONE]"]


def test_redact_texts_names_the_bad_item() -> None:
    with pytest.raises(InputError, match="item 1 is a int"):
        redact_texts(["ok", 5])  # type: ignore[list-item]


def test_redact_text_rejects_non_strings() -> None:
    with pytest.raises(InputError):
        redact_text(None)  # type: ignore[arg-type]


def test_corpus_is_reproducible_and_spans_are_valid() -> None:
    a = make_pii_corpus(200, seed=5)
    assert a == make_pii_corpus(200, seed=5)
    assert a != make_pii_corpus(200, seed=6)
    kinds = set()
    for item in a:
        previous_end = 0
        for span in item.spans:
            assert previous_end <= span.start < span.end <= len(item.text)
            assert item.text[span.start : span.end].strip()
            previous_end = span.end
            kinds.add(span.kind)
    assert kinds == {"EMAIL", "PHONE", "SSN", "DOB", "MRN", "ADDRESS", "NAME", "DATE"}
    assert any(not item.spans for item in a)  # texts without identifiers measure precision too


def test_held_out_names_are_unknown_to_the_redactor() -> None:
    lists = _word_lists()
    assert not set(HELD_OUT_FIRST_NAMES) & (lists.first_names | lists.surnames)
    assert not set(HELD_OUT_SURNAMES) & (lists.first_names | lists.surnames)


def test_corpus_rejects_empty_request() -> None:
    with pytest.raises(InputError):
        make_pii_corpus(0, seed=1)


def test_measure_counts_a_missed_identifier() -> None:
    corpus = make_pii_corpus(50, seed=9)
    perfect = measure_redaction(corpus)
    blind = measure_redaction(corpus, redact=lambda _text: redact_text(""))
    kinds = blind["kinds"]
    assert all(row["n_caught"] == 0 for row in kinds.values())
    assert perfect["kinds"]["EMAIL"]["n_caught"] > 0
