"""A consent or an objection whose answer cannot be read is taken the cautious way (``unreadable_as``), in the
batch path and the one-record path alike, and never read as permission."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.dictionary import dump_dictionary, ingest_table, load_dictionary, parse_dictionary
from careleads.errors import CareleadsError

DICTIONARY = load_dictionary()
CAUTIOUS = {
    (table.name, spec.name): spec.unreadable_as
    for table in DICTIONARY.tables.values()
    for spec in table.fields
    if spec.unreadable_as is not None
}


def _unreadable(seed: int, n: int = 5) -> list[str]:
    """Answers no dictionary reads: random words, a sentence, unicode, digits."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 12))) for _ in range(n - 3)]
    return [*words, "only on weekdays please", "s\u00ed, pero no por tel\u00e9fono", "42"]


def test_the_shipped_dictionary_takes_consents_and_objections_the_cautious_way() -> None:
    leads = {name: value for (table, name), value in CAUTIOUS.items() if table == "leads"}
    assert leads == {
        "consent_marketing": False,
        "consent_sms": False,
        "do_not_profile": True,
        "do_not_contact": True,
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_reads_an_unreadable_answer_as_its_cautious_value(seed: int) -> None:
    values = _unreadable(seed)
    rows = [{**LEAD, "lead_id": f"L{k}"} for k in range(len(values))]
    for (table, name), cautious in CAUTIOUS.items():
        if table != "leads":
            continue
        frame = pd.DataFrame([{**row, name: value} for row, value in zip(rows, values, strict=True)])
        result = ingest_table(frame, DICTIONARY, "leads")
        assert len(result.clean) == len(values), (name, result.quarantine)
        assert result.clean[name].tolist() == [cautious] * len(values), name
        assert set(result.flagged["_field"]) == {name}


def test_a_readable_answer_is_read_as_written() -> None:
    frame = pd.DataFrame([{**LEAD, "consent_marketing": "Opted in", "do_not_contact": "no"}])
    clean = ingest_table(frame, DICTIONARY, "leads").clean
    assert clean["consent_marketing"].tolist() == [True] and clean["do_not_contact"].tolist() == [False]


def test_only_boolean_fields_take_unreadable_as() -> None:
    text = """
version: 1
name: x
tables:
  leads:
    key: id
    time_column: at
    fields:
      - {name: id, type: identifier}
      - {name: at, type: datetime}
      - {name: source, type: category, unreadable_as: true}
"""
    with pytest.raises(CareleadsError, match="only boolean fields take unreadable_as"):
        parse_dictionary(text, source="clinic.yaml")
    # the key round-trips through the dictionary's own writer
    assert "unreadable_as: true" in dump_dictionary(DICTIONARY)


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def test_an_unreadable_do_not_contact_answer_blocks_outreach_through_the_api(service: Service) -> None:
    for k, value in enumerate(_unreadable(3)):
        record = {**LEAD, "lead_id": f"DNC-{k}", "do_not_contact": value, "consent_marketing": value}
        response = service.client.post("/v1/leads", json=record, headers=service.headers("integration"))
        assert response.status_code == 201, response.text
        body = response.json()
        assert {f["field"] for f in body["flagged_fields"]} == {"do_not_contact", "consent_marketing"}
        route = body["decision"]["route"]
        assert route["channels"] == [] and route["nurture_track"] is None, (value, route)
        assert any(o["rule"] == "do_not_contact" for o in body["decision"]["overrides"])
