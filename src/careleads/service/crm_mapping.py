"""CRM field mappings: careleads write-back field -> the CRM's property name, read from YAML.

A mapping file holds ``name`` and ``fields: {careleads_field: crm_property}``; fields left out keep their
careleads name. Shipped examples: ``careleads/data/crm_mapping_hubspot.yaml`` and
``crm_mapping_salesforce.yaml`` (pass ``hubspot`` or ``salesforce`` as the path). Every problem of a file is
reported in one :class:`~careleads.errors.ConfigError`, one line per problem, as ``FILE:LINE: key: message``
(:mod:`careleads.config`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from careleads.config import (
    ConfigLines,
    mapping_or_error,
    parse_yaml_lines,
    read_config_text,
    validate_config,
)
from careleads.types import PathLikeStr

__all__ = [
    "CRM_OWNER_ID_FIELDS",
    "IDENTITY_MAPPING",
    "PAYLOAD_FIELDS",
    "SHIPPED_MAPPINGS",
    "FieldMapping",
    "PayloadField",
    "load_field_mapping",
    "parse_field_mapping",
    "target_score_field",
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
    "intent",
    "intent_probability",
]
#: the fields of a write-back record, in the order of an exported CSV
PAYLOAD_FIELDS: tuple[str, ...] = get_args(PayloadField)
SHIPPED_MAPPINGS: tuple[str, ...] = ("hubspot", "salesforce")


#: the payload field of a served target's score besides the routing one: ``score_<OUTCOME>_<DAYS>d``
TARGET_SCORE_PREFIX = "score_"
_TARGET_SCORE_FIELD = re.compile(r"score_[a-z][a-z0-9_]*_[0-9]+d")


def target_score_field(target: str) -> str:
    """The write-back field of a served target's score (``score_appointment_scheduled_60d``), one per target
    other than the one that routes leads (see :mod:`careleads.service.targets`)."""
    return f"{TARGET_SCORE_PREFIX}{target}"


def _known(name: str) -> str:
    if name not in PAYLOAD_FIELDS and not _TARGET_SCORE_FIELD.fullmatch(name):
        raise ValueError(
            f"unknown careleads field {name!r}; known: {', '.join(PAYLOAD_FIELDS)}, and score_<TARGET> of "
            "each served target"
        )
    return name


#: the CRMs' own owner fields, which take a CRM user id: careleads' owner is a name, so it is never written
#: there by a mapping (the connectors look the id up by e-mail and write it themselves)
CRM_OWNER_ID_FIELDS = frozenset({"hubspot_owner_id", "ownerid"})

#: a careleads write-back field, by name
KnownField = Annotated[str, AfterValidator(_known)]


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
    fields: dict[KnownField, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _unique(cls, fields: dict[str, str]) -> dict[str, str]:
        empty = sorted(k for k, v in fields.items() if not v.strip())
        if empty:
            raise ValueError(f"field(s) {empty} map to an empty CRM property name; name the property")
        owner = fields.get("owner", "")
        if owner.strip().lower() in CRM_OWNER_ID_FIELDS:
            raise ValueError(
                f"owner maps to {owner!r}, the CRM's owner id field, but careleads' owner is a name: map it "
                "to a text property (e.g. careleads_owner); `careleads sync` writes the owner's CRM id there"
            )
        targets = list(fields.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"several fields map to the same CRM property {repeated}; make them unique")
        return fields

    def apply(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with its keys renamed."""
        return {self.fields.get(k, k): v for k, v in payload.items()}


IDENTITY_MAPPING = FieldMapping(name="careleads", fields={})


def parse_field_mapping(data: Any, *, source: str, lines: ConfigLines | None = None) -> FieldMapping:
    """A field mapping from parsed YAML; `source` names the file in messages and gives the default name.

    Raises
    ------
    ConfigError
        Every problem of the data, one per line: unknown fields, properties used twice, wrong types.
    """
    values = dict(
        mapping_or_error(
            data, source=source, expected="'name' and a 'fields' mapping of careleads field -> CRM property"
        )
    )
    values.setdefault("name", Path(source).stem)
    return validate_config(values, FieldMapping, source=source, lines=lines)


def load_field_mapping(path: PathLikeStr | None = None) -> FieldMapping:
    """Load a field mapping YAML: ``name`` and ``fields: {careleads_field: crm_property}``.

    ``path`` may also be the name of a shipped example (``hubspot`` or ``salesforce``); None gives the
    identity mapping.

    Raises
    ------
    ConfigError
        If the file is unreadable or not YAML, maps an unknown field, or maps two fields to one property;
        each problem with its line.
    """
    if path is None:
        return IDENTITY_MAPPING
    if str(path) in SHIPPED_MAPPINGS:
        text, source = read_config_text(None, shipped=f"crm_mapping_{path}.yaml")
    else:
        text, source = read_config_text(Path(path), shipped="")
    data, lines = parse_yaml_lines(text, source=source)
    return parse_field_mapping(data, source=source, lines=lines)
