"""CRM field mappings: careleads write-back field -> the CRM's property name, read from YAML.

A mapping file holds ``name`` and ``fields: {careleads_field: crm_property}``; fields left out keep their
careleads name. Shipped examples: ``careleads/data/crm_mapping_hubspot.yaml`` and
``crm_mapping_salesforce.yaml`` (pass ``hubspot`` or ``salesforce`` as the path). Every problem of a file is
reported in one :class:`~careleads.errors.ConfigError`, one line per problem, naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from careleads.errors import ConfigError
from careleads.types import PathLikeStr

__all__ = [
    "IDENTITY_MAPPING",
    "PAYLOAD_FIELDS",
    "SHIPPED_MAPPINGS",
    "FieldMapping",
    "PayloadField",
    "load_field_mapping",
    "parse_field_mapping",
]

PayloadField = Literal[
    "lead_id",
    "external_id",
    "score",
    "tier",
    "queue",
    "owner",
    "sla_due",
    "nurture_track",
    "route",
    "review_required",
    "notes",
    "scored_by",
    "model_version",
    "scored_at",
    "change_reason",
]
#: the fields of a write-back record, in the order of an exported CSV
PAYLOAD_FIELDS: tuple[str, ...] = get_args(PayloadField)
SHIPPED_MAPPINGS: tuple[str, ...] = ("hubspot", "salesforce")


class FieldMapping(BaseModel):
    """careleads payload field -> CRM property name; fields left out keep their careleads name.

    Examples
    --------
    >>> mapping = FieldMapping(name="crm", fields={"score": "crm_score"})
    >>> mapping.apply({"score": 41, "tier": "A"})
    {'crm_score': 41, 'tier': 'A'}
    """

    # numbers in YAML (``owner: 7``) are property names too; unknown top-level keys are typos
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: str = Field(min_length=1, max_length=120)
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_and_unique(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(PAYLOAD_FIELDS))
        if unknown:
            raise ValueError(f"unknown careleads field(s) {unknown}; known: {', '.join(PAYLOAD_FIELDS)}")
        empty = sorted(k for k, v in fields.items() if not v.strip())
        if empty:
            raise ValueError(f"field(s) {empty} map to an empty CRM property name; name the property")
        targets = list(fields.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"several fields map to the same CRM property {repeated}; make them unique")
        return fields

    def apply(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with its keys renamed."""
        return {self.fields.get(k, k): v for k, v in payload.items()}


IDENTITY_MAPPING = FieldMapping(name="careleads", fields={})


def _problems(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}, key {key!r}: {message}" if key else f"{where}: {message}")
    return "\n".join(lines)


def parse_field_mapping(data: Any, where: str) -> FieldMapping:
    """A field mapping from parsed YAML; `where` names the file in messages (and gives the default name).

    Raises
    ------
    ConfigError
        Every problem of the data, one per line: unknown fields, properties used twice, wrong types.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected 'name' and a 'fields' mapping of careleads field -> CRM property"
        )
    values = {str(k): v for k, v in data.items()}
    values.setdefault("name", Path(where).stem)
    if isinstance(values.get("fields"), Mapping):
        values["fields"] = {str(k): v for k, v in values["fields"].items()}
    try:
        return FieldMapping.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, where)) from None


def load_field_mapping(path: PathLikeStr | None = None) -> FieldMapping:
    """Load a field mapping YAML: ``name`` and ``fields: {careleads_field: crm_property}``.

    ``path`` may also be the name of a shipped example (``hubspot`` or ``salesforce``); None gives the
    identity mapping.

    Raises
    ------
    ConfigError
        If the file is unreadable or not YAML (with the line and column), maps an unknown field, or maps two
        fields to one property.
    """
    if path is None:
        return IDENTITY_MAPPING
    if str(path) in SHIPPED_MAPPINGS:
        where = f"careleads/data/crm_mapping_{path}.yaml"
        text = (
            resources.files("careleads").joinpath(f"data/crm_mapping_{path}.yaml").read_text(encoding="utf-8")
        )
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the field mapping {where}: {exc.strerror}; check the path"
            ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None
    return parse_field_mapping(data, where)
