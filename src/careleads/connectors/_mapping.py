"""The HubSpot connector's mapping: contact properties -> dictionary fields, owners, outcomes, write-back.

Read from YAML (the shipped default is ``careleads/data/hubspot_connector.yaml``); every problem of a file is
reported in one :class:`~careleads.errors.ConfigError`, one line per problem, as ``FILE:LINE: key: message``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careleads.config import parse_yaml_lines, read_config_text, validate_config
from careleads.types import PathLikeStr

__all__ = [
    "HUBSPOT_OWNER_PROPERTY",
    "WRITE_BACK_FIELDS",
    "HubSpotMapping",
    "OutcomeMapping",
    "PropertyGroup",
    "load_hubspot_mapping",
]

#: HubSpot's own owner property: written with an owner id, never created by careleads
HUBSPOT_OWNER_PROPERTY = "hubspot_owner_id"
WriteBackField = Literal["score", "tier", "reasons", "intent", "route", "owner"]
WRITE_BACK_FIELDS: tuple[str, ...] = ("score", "tier", "reasons", "intent", "route", "owner")


class OutcomeMapping(BaseModel):
    """A contact property whose values mean a careleads outcome (``customer: appointment_attended``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    property: str = Field(default="lifecyclestage", min_length=1)
    values: dict[str, str] = Field(default_factory=dict)


class PropertyGroup(BaseModel):
    """The contact property group careleads' properties are created in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="careleads", min_length=1, max_length=100)
    label: str = Field(default="careleads lead scoring", min_length=1)


class HubSpotMapping(BaseModel):
    """What the HubSpot connector reads and writes.

    Examples
    --------
    >>> mapping = HubSpotMapping(contact_fields={"email": "email"}, owners={"amara": "Amara@Clinic.example"})
    >>> mapping.properties_to_read()
    ['email', 'lifecyclestage']
    >>> mapping.owner_emails()
    {'amara': 'amara@clinic.example'}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="hubspot", min_length=1, max_length=120)
    contact_fields: dict[str, str] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)
    outcomes: OutcomeMapping = Field(default_factory=OutcomeMapping)
    group: PropertyGroup = Field(default_factory=PropertyGroup)
    write_back: dict[WriteBackField, str] = Field(
        default_factory=lambda: {  # type: ignore[arg-type,dict-item]
            "score": "careleads_score",
            "tier": "careleads_tier",
            "reasons": "careleads_top_reasons",
            "intent": "careleads_intent",
            "route": "careleads_route",
            "owner": HUBSPOT_OWNER_PROPERTY,
        }
    )

    @field_validator("contact_fields", "write_back")
    @classmethod
    def _unique_properties(cls, fields: dict[str, str]) -> dict[str, str]:
        targets = [v.strip() for v in fields.values()]
        if any(not t for t in targets):
            raise ValueError("a field maps to an empty property name; name the HubSpot property")
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"several fields use the same HubSpot property {repeated}; make them unique")
        return fields

    @field_validator("owners")
    @classmethod
    def _emails(cls, owners: dict[str, str]) -> dict[str, str]:
        wrong = sorted(name for name, email in owners.items() if "@" not in email)
        if wrong:
            raise ValueError(f"owner(s) {wrong} need an e-mail address (the HubSpot user's login)")
        return owners

    def properties_to_read(self) -> list[str]:
        """The contact properties a pull asks for, sorted."""
        return sorted({*self.contact_fields.values(), self.outcomes.property})

    def owner_emails(self) -> dict[str, str]:
        """careleads owner -> lower-case e-mail."""
        return {name: email.strip().lower() for name, email in self.owners.items()}


def load_hubspot_mapping(path: PathLikeStr | None = None) -> HubSpotMapping:
    """Load the connector's mapping YAML; None reads the shipped default.

    Raises
    ------
    ConfigError
        If the file is unreadable, not YAML, or has unknown keys, empty or repeated property names, or
        owners without an e-mail; each problem with its line.
    """
    text, source = read_config_text(None if path is None else str(path), shipped="hubspot_connector.yaml")
    data, lines = parse_yaml_lines(text, source=source)
    return validate_config(data, HubSpotMapping, source=source, lines=lines)
