"""The dictionary YAML format: the shipped healthcare dictionary, round trips, precise validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from careleads.dictionary import (
    Dictionary,
    FieldSpec,
    FieldType,
    KnownAt,
    LabelSpec,
    Sensitivity,
    TableSpec,
    dump_dictionary,
    load_dictionary,
    normalise_token,
    parse_dictionary,
)
from careleads.errors import DictionaryError


def canonical_of(spec: FieldSpec, spelling: str) -> str | None:
    token = normalise_token(spelling)
    for canonical, synonyms in spec.values.items():
        if token in {normalise_token(value) for value in (canonical, *synonyms)}:
            return canonical
    return None


def field_for_column(dictionary: Dictionary, table: str, column: str) -> str | None:
    token = normalise_token(column)
    for spec in dictionary.table(table).fields:
        if token in {normalise_token(name) for name in (spec.name, *spec.aliases)}:
            return spec.name
    return None


def test_shipped_dictionary_has_the_three_tables_with_keys_and_time_columns() -> None:
    dictionary = load_dictionary()
    expected = {"leads", "events", "outcomes", "partnership_leads", "partnership_events"}
    assert set(dictionary.tables) == expected
    leads = dictionary.table("leads")
    assert (leads.key, leads.time_column) == ("lead_id", "created_at")
    assert (dictionary.table("events").key, dictionary.table("events").time_column) == (
        "event_id",
        "occurred_at",
    )
    assert dictionary.table("outcomes").key is None
    assert leads.names[:4] == ["lead_id", "created_at", "lead_type", "service_line"]
    assert len(leads.fields) == 28
    assert leads.field("lead_id").required and leads.field("created_at").required
    assert (leads.field("distance_km").minimum, leads.field("distance_km").maximum) == (0.0, 400.0)
    assert (leads.field("age").minimum, leads.field("age").maximum) == (0.0, 120.0)
    assert "select" in dictionary.missing_values


def test_shipped_dictionary_lists_synonyms_for_every_category_value() -> None:
    dictionary = load_dictionary()
    bare = [
        f"{table.name}.{spec.name}={canonical}"
        for table in dictionary.tables.values()
        for spec in table.fields
        if spec.type is FieldType.CATEGORY
        for canonical, synonyms in spec.values.items()
        if not synonyms
    ]
    assert bare == []
    assert all(spec.description for table in dictionary.tables.values() for spec in table.fields)


@pytest.mark.parametrize(
    ("field", "spelling", "canonical"),
    [
        ("service_line", "Ortho", "orthopedics"),
        ("service_line", "Orthopaedics", "orthopedics"),
        ("service_line", "Bone & Joint", "orthopedics"),
        ("service_line", "bone and joint", "orthopedics"),
        ("service_line", "Heart Care", "cardiology"),
        ("service_line", "Skin", "dermatology"),
        ("service_line", "OB/GYN", "womens_health"),
        ("service_line", "Women's Health", "womens_health"),
        ("service_line", "Mental Health", "behavioral_health"),
        ("service_line", "Physio", "physical_therapy"),
        ("service_line", "Sleep Center", "sleep_medicine"),
        ("service_line", "Family Medicine", "primary_care"),
        ("service_line", "PCP", "primary_care"),
        ("source", "Google Ads", "paid_search"),
        ("source", "SEM", "paid_search"),
        ("source", "Instagram", "paid_social"),
        ("source", "Doctor referral", "physician_referral"),
        ("source", "Newsletter", "email_campaign"),
        ("source", "Banner", "display_ads"),
        ("source", "Typed URL", "direct"),
        ("source", "Healthgrades", "partner_directory"),
        ("source", "Telehealth App", "telehealth_app"),
        ("source", "Google organic", "organic_search"),
        ("insurance", "PPO", "commercial"),
        ("insurance", "HMO", "commercial"),
        ("insurance", "Private", "commercial"),
        ("insurance", "Cash", "self_pay"),
        ("intake_urgency", "ASAP", "urgent"),
        ("intake_urgency", "Within a week", "soon"),
        ("sex", "F", "female"),
        ("sex", "X", "other"),
        ("region", "Out of area", "outside_area"),
    ],
)
def test_shipped_synonyms_reach_the_canonical_value(field: str, spelling: str, canonical: str) -> None:
    assert canonical_of(load_dictionary().table("leads").field(field), spelling) == canonical


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Service Line", "service_line"),
        ("Specialty", "service_line"),
        ("Lead Source", "source"),
        ("Channel", "source"),
        ("Created Date", "created_at"),
        ("Zip", "postal_code"),
        ("ZIP CODE", "postal_code"),
        ("Insurance Type", "insurance"),
        ("lead-id", "lead_id"),
    ],
)
def test_shipped_aliases_find_the_field(column: str, field: str) -> None:
    assert field_for_column(load_dictionary(), "leads", column) == field


def test_shipped_sensitivity_and_timing_follow_the_schema() -> None:
    leads = load_dictionary().table("leads")
    assert {n for n in leads.names if leads.field(n).sensitivity is Sensitivity.DIRECT_IDENTIFIER} == {
        "full_name",
        "email",
        "phone",
    }
    assert {n for n in leads.names if leads.field(n).sensitivity is Sensitivity.SENSITIVE} == {
        "question",
        "age",
        "sex",
        "call_notes",
    }
    assert leads.field("postal_code").sensitivity is Sensitivity.QUASI_IDENTIFIER
    assert {n for n in leads.names if leads.field(n).known is KnownAt.AFTER_OUTCOME} == {
        "lead_status",
        "stage",
        "call_notes",
        "owner",
    }
    candidates = {spec.name for spec in load_dictionary().feature_candidates("leads")}
    assert "service_line" in candidates and "created_at" in candidates
    assert candidates.isdisjoint({"lead_id", "age", "sex", "full_name", "stage", "question"})
    assert load_dictionary().table("events").field("event_type").known is KnownAt.EVENT_TIME


def test_shipped_dictionary_round_trips_through_yaml() -> None:
    dictionary = load_dictionary()
    text = dump_dictionary(dictionary)
    assert parse_dictionary(text) == dictionary
    assert "sensitivity: safe" not in text  # defaults stay out of the file


def full_dictionary() -> Dictionary:
    fields = (
        FieldSpec("lead_id", FieldType.IDENTIFIER, "the id", ("Lead ID",), required=True),
        FieldSpec(
            "seen_at", FieldType.DATETIME, format="%d/%m/%Y %H:%M", sensitivity=Sensitivity.QUASI_IDENTIFIER
        ),
        FieldSpec(
            "answer",
            FieldType.CATEGORY,
            values={"yes": ("Y", "on", "01"), "no": ("N", "off", "null"), "maybe": ()},
            closed=False,
            missing_values=("", "~", "Select"),
        ),
        FieldSpec("score", FieldType.NUMBER, minimum=-0.5, maximum=1e6, known=KnownAt.EVENT_TIME),
        FieldSpec("flag", FieldType.BOOLEAN, values={"true": ("agreed",), "false": ("declined",)}),
        FieldSpec("notes", FieldType.TEXT, "free: text # with marks", sensitivity=Sensitivity.SENSITIVE),
        FieldSpec(
            "smoker",
            FieldType.BOOLEAN,
            sensitivity=Sensitivity.SENSITIVE,
            sensitivity_reason="substance use (name 'smoker' reads as 'smoking'): never a feature",
        ),
        FieldSpec("won", FieldType.CATEGORY, values={"1": (), "0": ()}, known=KnownAt.AFTER_OUTCOME),
    )
    return Dictionary(
        name="crm",
        tables={"people": TableSpec("people", fields, key="lead_id", time_column="seen_at", description="d")},
        missing_values=("", "n/a", "?", "-", "none", "null"),
        label=LabelSpec("won", ("1",)),
        version=3,
        description="a test dictionary",
    )


def test_every_feature_round_trips_exactly(tmp_path: Path) -> None:
    dictionary = full_dictionary()
    file = tmp_path / "crm.yaml"
    file.write_text(dump_dictionary(dictionary), encoding="utf-8")
    loaded = load_dictionary(file)
    assert loaded == dictionary
    assert loaded.table("people").field("answer").values["yes"] == ("Y", "on", "01")
    # a field that says why it is sensitive is written one key per line, its reason on a line of its own
    assert "\n        sensitivity_reason: 'substance use (name ''smoker'' reads as" in file.read_text("utf-8")
    assert loaded.table("people").field("answer").is_closed is False
    assert loaded.table("people").field("won").is_closed is True


def test_hand_written_yes_no_on_and_leading_zeros_stay_text() -> None:
    text = """
name: forms
tables:
  t:
    fields:
      - name: answer
        type: category
        values:
          affirmative: [Yes, Y, on, TRUE]
          negative: [No, off, 0]
          code: [007]
      - {name: n, type: number, minimum: 0, maximum: 10.5, required: yes}
"""
    spec = parse_dictionary(text).table("t")
    assert spec.field("answer").values == {
        "affirmative": ("Yes", "Y", "on", "TRUE"),
        "negative": ("No", "off", "0"),
        "code": ("007",),
    }
    assert (spec.field("n").minimum, spec.field("n").maximum, spec.field("n").required) == (0.0, 10.5, True)
    assert parse_dictionary(text).missing_values == Dictionary("x", {}).missing_values


BASE_FIELD = "      - {name: lead_id, type: identifier}\n"


def yaml_with(field_lines: str, table_lines: str = "", top_lines: str = "") -> str:
    return f"name: crm\n{top_lines}tables:\n  leads:\n{table_lines}    fields:\n{BASE_FIELD}{field_lines}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            yaml_with("      - {name: d, type: number, maxium: 3}\n"),
            ["table 'leads'", "field 'd'", "'maxium'"],
        ),
        (
            yaml_with("      - {name: d, type: numeric}\n"),
            ["field 'd'", "key 'type'", "'numeric' is not one of"],
        ),
        (yaml_with("      - {name: d}\n"), ["field 'd'", "key 'type'", "needs a type"]),
        (yaml_with("      - {type: number}\n"), ["field #2", "key 'name'"]),
        (
            yaml_with("      - {name: d, type: number, sensitivity: secret}\n"),
            ["key 'sensitivity'", "secret"],
        ),
        (yaml_with("      - {name: d, type: number, known: later}\n"), ["key 'known'", "at_creation"]),
        (
            yaml_with("      - {name: d, type: number, minimum: low}\n"),
            ["key 'minimum'", "expected a number"],
        ),
        (
            yaml_with("      - {name: d, type: number, minimum: 5, maximum: 1}\n"),
            ["key 'minimum'", "above maximum"],
        ),
        (yaml_with("      - {name: d, type: category, minimum: 5}\n"), ["field 'd'", "only number fields"]),
        (
            yaml_with("      - {name: d, type: number, required: maybe}\n"),
            ["key 'required'", "true or false"],
        ),
        (
            yaml_with("      - {name: d, type: text, values: [a]}\n"),
            ["key 'values'", "only category and boolean"],
        ),
        (yaml_with("      - {name: d, type: text, format: '%Y'}\n"), ["key 'format'", "only datetime"]),
        (yaml_with("      - {name: d, type: number, closed: false}\n"), ["key 'closed'", "only category"]),
        (
            yaml_with("      - {name: d, type: boolean, values: {si: [s]}}\n"),
            ["key 'values'", "'true' and 'false'"],
        ),
        (
            yaml_with("      - {name: d, type: category, values: {a: [Alpha], b: [ALPHA]}}\n"),
            ["field 'd'", "key 'values'", "'ALPHA' (under 'b') matches 'a'"],
        ),
        (
            yaml_with("      - {name: d, type: category, aliases: [Lead ID]}\n"),
            ["field 'd'", "key 'aliases'", "also matches the field 'lead_id'"],
        ),
        (yaml_with("      - {name: d, type: category, aliases: ['--']}\n"), ["key 'aliases'", "no letters"]),
        (yaml_with("      - {name: d, type: category, aliases: [a, null]}\n"), ["key 'aliases'", "quote"]),
        (
            yaml_with("      - {name: lead_id, type: text}\n"),
            ["table 'leads'", "key 'fields'", "more than once"],
        ),
        (yaml_with("", table_lines="    key: nope\n"), ["table 'leads'", "key 'key'", "'nope'"]),
        (
            yaml_with("", table_lines="    time_column: lead_id\n"),
            ["key 'time_column'", "must be a datetime"],
        ),
        (yaml_with("", table_lines="    primary: lead_id\n"), ["table 'leads'", "'primary'"]),
        (yaml_with("", top_lines="label: {column: converted}\n"), ["key 'label.column'", "'converted'"]),
        (yaml_with("", top_lines="version: two\n"), ["key 'version'"]),
        (yaml_with("", top_lines="owner: me\n"), ["unknown key(s) 'owner'", "allowed keys"]),
        ("name: crm\n", ["key 'tables'"]),
        ("name: crm\ntables: {leads: {fields: []}}\n", ["table 'leads'", "key 'fields'"]),
        ("name: crm\nname: again\ntables: {}\n", ["not valid YAML", "appears twice"]),
        ("name: [unclosed\n", ["not valid YAML"]),
        ("", ["empty"]),
    ],
)
def test_validation_errors_name_file_table_field_and_key(text: str, expected: list[str]) -> None:
    with pytest.raises(DictionaryError) as caught:
        parse_dictionary(text, source="my_dictionary.yaml")
    message = str(caught.value)
    assert message.startswith("my_dictionary.yaml")
    for part in expected:
        assert part in message


def test_label_positive_must_be_a_value_of_a_listed_label_field() -> None:
    text = yaml_with(
        "      - {name: won, type: category, values: ['0', '1']}\n",
        top_lines="label: {column: won, positive: ['yes']}\n",
    )
    with pytest.raises(DictionaryError, match="label.positive"):
        parse_dictionary(text)
    good = parse_dictionary(text.replace("['yes']", "['1']"))
    assert good.label == LabelSpec("won", ("1",))


def test_load_dictionary_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="no such dictionary file"):
        load_dictionary(tmp_path / "absent.yaml")
    file = tmp_path / "bad.yaml"
    file.write_text(yaml_with("      - {name: d, type: number, maxium: 3}\n"), encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"bad\.yaml, table 'leads', field 'd'"):
        load_dictionary(file)
