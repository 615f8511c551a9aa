"""Checking one record against the dictionary: the same answers as ingest_table on a one-row table.

Both call the one field rule (its boundaries are tested in test_rule.py) and the one column matching; what
is left to hold equal here is how each path puts them together (keys, missing fields, blank rows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careleads.dictionary import (
    Dictionary,
    FieldSpec,
    FieldType,
    Sensitivity,
    TableSpec,
    ingest_table,
    load_dictionary,
)
from careleads.dictionary._record import FieldProblem, record_validator, validate_record
from careleads.errors import InputError

DICTIONARY = load_dictionary()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def ingest_one(
    record: dict[str, Any], table: str, dictionary: Dictionary = DICTIONARY
) -> tuple[dict[str, Any] | None, str]:
    """ingest_table on the record as a one-row table: (clean row or None, quarantine reason or "")."""
    frame = pd.DataFrame([{k: _cell(v) for k, v in record.items()}])
    result = ingest_table(frame, dictionary, table, source="<record>", strict=True)
    if len(result.quarantine):
        return None, str(result.quarantine["_reason"].iloc[0])
    return {str(k): _plain(v) for k, v in result.clean.iloc[0].to_dict().items()}, ""


def assert_same_as_ingest(record: dict[str, Any], table: str, dictionary: Dictionary = DICTIONARY) -> None:
    expected_clean, expected_reason = ingest_one(record, table, dictionary)
    clean, problems = validate_record(record, dictionary, table, source="<record>")
    assert "; ".join(p.message for p in problems) == expected_reason, record
    if expected_clean is not None:
        assert list(clean) == list(expected_clean)
        for name, value in expected_clean.items():
            got = clean[name]
            if isinstance(value, pd.Timestamp):
                assert isinstance(got, pd.Timestamp) and got == value, (name, got, value)
            else:
                assert got == value and type(got) is type(value), (name, got, value, record)


LEAD = {
    "Lead ID": " L1 ",
    "Created Date": "2025-03-04T14:22:10",
    "Specialty": "Ortho",
    "Lead Source": "Google Ads",
    "distance_km": "12.5",
    "consent_sms": "yes",
    "Insurance Type": "PPO",
    "inquiry_type": "Please select",
    "Zip": "02134",
    "Browser": "firefox",
}


def test_a_good_record_is_cleaned_like_a_file_row() -> None:
    clean, problems = validate_record(LEAD, DICTIONARY, "leads")
    assert problems == []
    assert clean["lead_id"] == "L1"
    assert clean["service_line"] == "orthopedics"
    assert clean["distance_km"] == 12.5
    assert clean["consent_sms"] is True
    assert clean["inquiry_type"] is None  # a field-level placeholder
    assert clean["created_at"] == pd.Timestamp("2025-03-04 14:22:10")
    assert list(clean)[-1] == "Browser"  # unknown keys are kept as text, after the dictionary's fields
    assert_same_as_ingest(LEAD, "leads")


@pytest.mark.parametrize(
    ("changes", "kinds"),
    [
        ({"Lead ID": ""}, ["missing_required"]),
        ({"Created Date": "2025-13-45"}, ["unparsable_datetime"]),
        ({"Created Date": "yesterday", "distance_km": "999"}, ["unparsable_datetime", "out_of_range"]),
        ({"distance_km": "-5"}, ["out_of_range"]),
        ({"distance_km": "far"}, ["unparsable_number"]),
        ({"distance_km": "inf"}, ["unparsable_number"]),
        ({"distance_km": "1,234"}, ["out_of_range"]),
        ({"consent_sms": "maybe"}, ["unparsable_boolean"]),
        ({"Specialty": "Dentistry"}, ["unknown_category"]),
        ({"Created Date": "03/04/2025 10:00", "distance_km": " 1e2 "}, []),
        ({"Created Date": "2025-03-05 09:00:00+02:00"}, []),
    ],
)
def test_problems_in_field_order_as_ingest_gives_them(changes: dict[str, Any], kinds: list[str]) -> None:
    record = {**LEAD, **changes}
    _clean, problems = validate_record(record, DICTIONARY, "leads")
    assert [p.kind for p in problems] == kinds
    assert_same_as_ingest(record, "leads")


def test_direct_identifiers_are_not_echoed_and_detail_drops_the_field_name() -> None:
    spec = FieldSpec("phone", FieldType.NUMBER, maximum=10)
    hidden = FieldSpec("phone", FieldType.NUMBER, maximum=10, sensitivity=Sensitivity.DIRECT_IDENTIFIER)
    for field, shown in ((spec, True), (hidden, False)):
        dictionary = Dictionary(
            name="t", tables={"t": TableSpec("t", (FieldSpec("id", FieldType.IDENTIFIER), field), key="id")}
        )
        _clean, problems = validate_record({"id": "1", "phone": "5550100"}, dictionary, "t")
        assert problems == [problems[0]] and problems[0].kind == "out_of_range"
        assert ("5550100" in problems[0].message) is shown
        assert problems[0].detail.startswith("'5550100'" if shown else "(value hidden")
        assert_same_as_ingest({"id": "1", "phone": "5550100"}, "t", dictionary)


def test_a_blank_record_is_one_problem() -> None:
    record = {"lead_id": " ", "created_at": None, "Browser": ""}
    assert validate_record(record, DICTIONARY, "leads")[1] == [FieldProblem("", "blank_row", "blank row")]
    assert_same_as_ingest(record, "leads")


def test_missing_or_ambiguous_keys_raise_like_ingest() -> None:
    cases = (
        ({"lead_id": "L1"}, "<record>: no column for the required field(s) created_at of table 'leads'"),
        (
            {"lead_id": "L1", "Lead ID": "L2", "created_at": "2025-01-01"},
            "<record>: columns 'lead_id' and 'Lead ID' both match the field 'lead_id' of table 'leads'",
        ),
    )
    for record, message in cases:
        with pytest.raises(InputError) as ours:
            validate_record(record, DICTIONARY, "leads", source="<record>")
        with pytest.raises(InputError) as theirs:
            ingest_one(record, "leads")
        assert str(ours.value) == str(theirs.value) and str(ours.value).startswith(message)


def test_a_value_that_is_not_unicode_text_is_an_input_error() -> None:
    """A JSON body may carry a lone surrogate as an escape; it cannot be stored, so the record is refused."""
    record = {"lead_id": "L1", "created_at": "2025-03-04", "question": "help \ud800"}
    with pytest.raises(InputError, match="<record>: a value is not valid Unicode text"):
        validate_record(record, DICTIONARY, "leads")


def test_remembered_spellings_belong_to_their_dictionary() -> None:
    """What a category's rule said of a spelling is remembered per dictionary, never shared across them."""
    fields = (
        FieldSpec("id", FieldType.IDENTIFIER),
        FieldSpec("sex", FieldType.CATEGORY, values={"female": ("F",)}),
    )
    narrow = Dictionary(name="n", tables={"t": TableSpec("t", fields, key="id")})
    wide_sex = FieldSpec("sex", FieldType.CATEGORY, values={"female": ("F", "W")})
    wide = Dictionary(name="w", tables={"t": TableSpec("t", (fields[0], wide_sex), key="id")})
    for dictionary, kinds in ((narrow, ["unknown_category"]), (wide, []), (narrow, ["unknown_category"])):
        for _ in range(2):  # the second time from memory
            clean, problems = validate_record({"id": "1", "sex": "W"}, dictionary, "t")
            assert [p.kind for p in problems] == kinds
            assert clean["sex"] == (None if kinds else "female")


def test_the_validator_is_built_once_per_dictionary_and_table() -> None:
    assert record_validator(DICTIONARY, "leads") is record_validator(DICTIONARY, "leads")
    assert record_validator(DICTIONARY, "events") is not record_validator(DICTIONARY, "leads")
    other = load_dictionary()
    assert record_validator(other, "leads") is not record_validator(DICTIONARY, "leads")


# ------------------------------------------------------------------------------------------ property


def _spellings(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values a CRM or web form might send for the field: good, messy and wrong."""
    pad = st.sampled_from(["", " ", "  ", "\t"])
    placeholders = st.sampled_from(
        [*DICTIONARY.missing_values, *spec.missing_values, "N/A", "Select", "NULL"]
    )
    junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    common = st.one_of(st.none(), placeholders, junk)
    if spec.type is FieldType.NUMBER:
        numbers = st.one_of(
            st.integers(-1000, 100000).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.floats(-50, 500).map(lambda v: f"{v:.3f}"),
            st.integers(1000, 10**7).map(lambda v: f"{v:,}"),
            st.sampled_from(["1e2", ".5", "5.", "+3", "-0", "0x10", "1_000", "12 km"]),
            st.floats(0, 400),
            st.integers(0, 400),
        )
        value: st.SearchStrategy[Any] = st.one_of(numbers, common)
    elif spec.type is FieldType.DATETIME:
        stamps = st.datetimes(
            min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
            max_value=pd.Timestamp("2040-12-31").to_pydatetime(),
        )
        value = st.one_of(
            stamps.map(lambda d: d.isoformat()),
            stamps.map(lambda d: d.strftime("%Y-%m-%d")),
            stamps.map(lambda d: d.strftime("%Y-%m-%d %H:%M")),
            stamps.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z"),
            stamps.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "+05:30"),
            stamps.map(lambda d: d.strftime("%m/%d/%Y")),
            stamps.map(lambda d: d.strftime("%d %b %Y %H:%M")),
            st.sampled_from(["2025-02-30", "2025-13-01T00:00", "today", "now", "12", "2025-03-04T25:00:00"]),
            common,
        )
    elif spec.type is FieldType.BOOLEAN:
        value = st.one_of(
            st.booleans(),
            st.sampled_from(["Yes", "NO", "y", "n", "1", "0", "1.0", "on", "Off", "checked", "maybe", "2"]),
            st.sampled_from([v for vs in spec.values.values() for v in vs] or ["true"]),
            common,
        )
    elif spec.type is FieldType.CATEGORY and spec.values:
        known = [v for canonical, synonyms in spec.values.items() for v in (canonical, *synonyms)]
        variants = st.sampled_from(known).flatmap(
            lambda v: st.sampled_from(
                [v, v.upper(), v.lower(), v.title(), v.replace("_", " "), v + "!", f"{v}s"]
            )
        )
        value = st.one_of(variants, common)
    else:
        value = st.one_of(junk, common, st.integers().map(str))
    return st.tuples(pad, value, pad).map(
        lambda parts: f"{parts[0]}{parts[1]}{parts[2]}" if isinstance(parts[1], str) else parts[1]
    )


def _records(table: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = DICTIONARY.table(table)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for field in spec.fields:
            needed = field.required or field.name == spec.key
            if not needed and not draw(st.booleans()):
                continue
            key = draw(st.sampled_from([field.name, *field.aliases]))
            key = draw(st.sampled_from([key, key.upper(), key.lower()]))
            record[key] = draw(_spellings(field))
        if draw(st.booleans()):
            record["Browser"] = draw(st.one_of(st.none(), st.sampled_from(["firefox", " N/A ", ""])))
        return record

    return build()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records("leads"))
def test_any_lead_record_is_checked_as_ingest_checks_it(record: dict[str, Any]) -> None:
    assert_same_as_ingest(record, "leads")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records("events"))
def test_any_event_record_is_checked_as_ingest_checks_it(record: dict[str, Any]) -> None:
    assert_same_as_ingest(record, "events")
