"""Each text read once in a unit of work (careleads.text.reading_once): scoring a lead and deciding its path
both read its message, and the second reading is a lookup with the same answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

import careleads.privacy._redact as redact_module
from _text_support import text_export, text_model
from careleads.decisions import decide_columns, intent_model_for
from careleads.engines import ScoringOptions, decide_chunk
from careleads.features import class_probabilities
from careleads.privacy import redact_texts, remembered_redactions
from careleads.scoring import score_leads
from careleads.text import reading_once, remembered_probabilities
from careleads.text._linear import TextVectors

DECIDED_AT = "2025-06-01T09:00:00"


@pytest.fixture(scope="module")
def chunk() -> tuple[pd.DataFrame, pd.DataFrame]:
    """400 simulated leads whose questions and messages vary, and their events."""
    tables, _ = text_export()
    leads = tables.leads.iloc[:400].reset_index(drop=True)
    events = tables.events[tables.events["lead_id"].isin(leads["lead_id"])]
    return leads, events


def _spy_redactions(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = redact_module.redact_text

    def counting(text: str) -> Any:
        seen[text] += 1
        return real(text)

    monkeypatch.setattr(redact_module, "redact_text", counting)
    return seen


def _spy_vectors(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = TextVectors.transform

    def counting(self: TextVectors, docs: Sequence[str]) -> Any:
        seen.update(docs)
        return real(self, docs)

    monkeypatch.setattr(TextVectors, "transform", counting)
    return seen


def test_a_chunk_redacts_and_vectorises_each_message_once(
    chunk: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    leads, events = chunk
    model = text_model()  # trained (and its texts read) before the counting starts
    redacted, vectorised = _spy_redactions(monkeypatch), _spy_vectors(monkeypatch)
    decided = decide_chunk(model, leads, events, ScoringOptions(decided_at=DECIDED_AT))
    assert len(decided) == len(leads)
    assert redacted, "the chunk read no text: the test would prove nothing"
    assert vectorised
    assert [text for text, n in redacted.items() if n > 1] == []
    # the text features' classifiers share their vectors; the intent classifier is one of them
    assert [text for text, n in vectorised.items() if n > 1] == []


def test_reading_once_gives_the_answers_of_reading_twice(chunk: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    leads, events = chunk
    model = text_model()
    options = ScoringOptions(decided_at=DECIDED_AT)
    once = decide_chunk(model, leads, events, options)
    scored = score_leads(model, leads, events, n_reasons=0)
    twice = decide_columns(leads, scored, now=DECIDED_AT, intent_model=intent_model_for(model), events=events)
    pd.testing.assert_series_equal(once["probability"], scored["probability"], check_names=False)
    assert once["intent"].tolist() == twice["intent"].tolist()
    np.testing.assert_allclose(once["intent_probability"], twice["intent_probability"], rtol=0, atol=1e-12)
    assert once["route_name"].tolist() == twice["route_name"].tolist()


def test_nothing_is_remembered_outside_a_block() -> None:
    model = intent_model_for(text_model())
    assert remembered_probabilities(model) is None
    with reading_once():
        with reading_once():  # nested: the outer block's memo
            class_probabilities([model], ["can i book on monday"])  # type: ignore[list-item]
            inner = remembered_probabilities(model)
        outer = remembered_probabilities(model)
        assert inner is outer and inner is not None and "can i book on monday" in inner
    assert remembered_probabilities(model) is None


def test_remembered_redactions_end_with_their_block(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy_redactions(monkeypatch)
    text = "this is Maria Lopez, call 555 123 4567"
    with remembered_redactions():
        first = redact_texts([text])
        again = redact_texts([text, None])
    after = redact_texts([text])
    assert first == again[:1] == after
    assert again[1] is None
    assert seen[text] == 2  # once in the block, once after it
