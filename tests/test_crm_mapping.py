"""CRM field mappings: the shipped examples load, and every problem of an edited file is reported at once,
as FILE:LINE: key: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from careleads.errors import ConfigError
from careleads.service.crm_mapping import (
    CRM_OWNER_ID_FIELDS,
    PAYLOAD_FIELDS,
    SHIPPED_MAPPINGS,
    FieldMapping,
    load_field_mapping,
    parse_field_mapping,
)


@pytest.mark.parametrize("name", SHIPPED_MAPPINGS)
def test_shipped_mappings_rename_every_payload_field_to_a_distinct_property(name: str) -> None:
    mapping = load_field_mapping(name)
    assert mapping.name == name
    renamed = mapping.apply(dict.fromkeys(PAYLOAD_FIELDS, 1))
    assert len(renamed) == len(PAYLOAD_FIELDS)
    assert not set(renamed) & set(PAYLOAD_FIELDS)


def test_no_mapping_keeps_the_careleads_names() -> None:
    payload = {"score": 41, "tier": "A"}
    assert load_field_mapping(None).apply(payload) == payload


def test_every_problem_is_reported_with_the_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: ''\nfields:\n  scoore: a\n  tier: b\ncolour: blue\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_field_mapping(path)
    assert str(caught.value).split("\n") == [
        f"{path}:1: name: String should have at least 1 character",
        f"{path}:3: fields.scoore: unknown careleads field 'scoore'; known: {', '.join(PAYLOAD_FIELDS)}, "
        "and score_<TARGET> of each served target",
        f"{path}:5: colour: Extra inputs are not permitted",
    ]


def test_two_fields_on_one_property_and_empty_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: x\nfields:\n  score: a\n  tier: a\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"crm.yaml:2: fields: several fields map to the same CRM property \['a'\]"
    ):
        load_field_mapping(path)
    path.write_text("name: x\nfields: {score: ' '}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\['score'\] map to an empty CRM property name"):
        load_field_mapping(path)


def test_yaml_syntax_errors_and_other_documents_are_named(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: x\nfields:\n  score: [a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crm.yaml:4:1: not valid YAML"):
        load_field_mapping(path)
    path.write_text("- score\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected 'name' and a 'fields' mapping"):
        load_field_mapping(path)


def test_numbers_are_property_names_and_the_name_defaults_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "portal.yaml"
    path.write_text("fields:\n  owner: 7\n", encoding="utf-8")
    mapping = load_field_mapping(path)
    assert mapping == FieldMapping(name="portal", fields={"owner": "7"})
    with pytest.raises(ConfigError, match="cannot read"):
        load_field_mapping(tmp_path / "absent.yaml")


def test_a_served_target_score_field_can_be_mapped() -> None:
    mapping = parse_field_mapping(
        {"fields": {"score_appointment_scheduled_60d": "crm_score_60"}}, source="crm.yaml"
    )
    assert mapping.apply({"score_appointment_scheduled_60d": 41}) == {"crm_score_60": 41}
    with pytest.raises(ConfigError, match="score_appointment_scheduled"):
        parse_field_mapping({"fields": {"score_appointment_scheduled": "x"}}, source="crm.yaml")


@pytest.mark.parametrize("field", ["hubspot_owner_id", "OwnerId", "ownerid", " OwnerId "])
def test_an_owner_name_is_never_mapped_to_the_crms_owner_id_field(field: str) -> None:
    """careleads' owner is a name; a CRM's owner field takes a user id (the connectors write it)."""
    with pytest.raises(ConfigError, match="owner id field"):
        parse_field_mapping({"name": "crm", "fields": {"owner": field}}, source="m.yaml")
    for name in SHIPPED_MAPPINGS:
        shipped = load_field_mapping(name)
        assert shipped.fields.get("owner", "owner").strip().lower() not in CRM_OWNER_ID_FIELDS, name
