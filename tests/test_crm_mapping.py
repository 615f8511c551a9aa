"""CRM field mappings: the shipped examples load, and every problem of an edited file is reported at once,
naming the file and the key (the line and column for YAML syntax)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careleads.errors import ConfigError
from careleads.service.crm_mapping import PAYLOAD_FIELDS, SHIPPED_MAPPINGS, FieldMapping, load_field_mapping


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


def test_every_problem_is_reported_with_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: ''\nfields: {scoore: a, tier: b}\ncolour: blue\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_field_mapping(path)
    lines = str(caught.value).split("\n")
    assert len(lines) == 3, lines
    assert all(line.startswith(f"{path}, key ") for line in lines)
    assert any("'name'" in line and "at least 1 character" in line for line in lines)
    assert any("'fields'" in line and "unknown careleads field(s) ['scoore']" in line for line in lines)
    assert any("'colour'" in line and "not permitted" in line for line in lines)


def test_two_fields_on_one_property_and_empty_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: x\nfields: {score: a, tier: a}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"same CRM property \['a'\]"):
        load_field_mapping(path)
    path.write_text("name: x\nfields: {score: ' '}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\['score'\] map to an empty CRM property name"):
        load_field_mapping(path)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: x\nfields:\n  score: [a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?s)is not valid YAML: .*line 3, column \d+"):
        load_field_mapping(path)


def test_numbers_are_property_names_and_the_name_defaults_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "portal.yaml"
    path.write_text("fields:\n  owner: 7\n", encoding="utf-8")
    mapping = load_field_mapping(path)
    assert mapping == FieldMapping(name="portal", fields={"owner": "7"})
    with pytest.raises(ConfigError, match="cannot read the field mapping"):
        load_field_mapping(tmp_path / "absent.yaml")
