"""The CRM connectors' mappings: CRM fields -> dictionary fields, owners, outcomes, write-back fields.

:class:`HubSpotMapping` (shipped: ``careleads/data/hubspot_connector.yaml``) and :class:`SalesforceMapping`
(shipped: ``careleads/data/salesforce_connector.yaml``), read from YAML; every problem of a file is reported
in one :class:`~careleads.errors.ConfigError`, one line per problem, as ``FILE:LINE: key: message``.
"""

from __future__ import annotations

import re
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
    "SalesforceMapping",
    "SalesforceOutcomes",
    "load_hubspot_mapping",
    "load_salesforce_mapping",
]

#: HubSpot's own owner property: written with an owner id, never created by careleads
HUBSPOT_OWNER_PROPERTY = "hubspot_owner_id"
WriteBackField = Literal["score", "tier", "reasons", "intent", "route", "owner"]
WRITE_BACK_FIELDS: tuple[str, ...] = ("score", "tier", "reasons", "intent", "route", "owner")
#: a Salesforce field's API name (standard or custom); nothing else reaches a SOQL query
_SALESFORCE_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


def _unique_names(fields: dict[str, str], crm: str) -> dict[str, str]:
    targets = [v.strip() for v in fields.values()]
    if any(not t for t in targets):
        raise ValueError(f"a field maps to an empty {crm} name; name the {crm} field")
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise ValueError(f"several fields use the same {crm} field {repeated}; make them unique")
    return fields


def _owner_emails(owners: dict[str, str], crm: str) -> dict[str, str]:
    wrong = sorted(name for name, email in owners.items() if "@" not in email)
    if wrong:
        raise ValueError(f"owner(s) {wrong} need an e-mail address (the {crm} user's login)")
    return owners


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
        return _unique_names(fields, "HubSpot")

    @field_validator("owners")
    @classmethod
    def _emails(cls, owners: dict[str, str]) -> dict[str, str]:
        return _owner_emails(owners, "HubSpot")

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


class SalesforceOutcomes(BaseModel):
    """Lead values that mean a careleads outcome: a ``Status`` value, and a converted lead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(default="Status", pattern=_SALESFORCE_FIELD.pattern)
    values: dict[str, str] = Field(default_factory=dict)
    converted: str | None = None


class SalesforceMapping(BaseModel):
    """What the Salesforce connector reads from Lead records and writes back onto them.

    Examples
    --------
    >>> mapping = SalesforceMapping(lead_fields={"email": "Email"}, owners={"amara": "Amara@Clinic.example"})
    >>> mapping.fields_to_read()
    ['CreatedDate', 'Email', 'Id', 'IsConverted', 'Status', 'SystemModstamp']
    >>> mapping.owner_emails()
    {'amara': 'amara@clinic.example'}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="salesforce", min_length=1, max_length=120)
    lead_fields: dict[str, str] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)
    outcomes: SalesforceOutcomes = Field(default_factory=SalesforceOutcomes)
    #: the Bulk API upsert key: ``Id`` updates the lead itself; another field must hold the careleads
    #: external id (``salesforce-<Id>``)
    external_id_field: str = Field(default="Id", pattern=_SALESFORCE_FIELD.pattern)
    write_back: dict[WriteBackField, str] = Field(
        default_factory=lambda: {  # type: ignore[arg-type,dict-item]
            "score": "careleads_score__c",
            "tier": "careleads_tier__c",
            "reasons": "careleads_top_reasons__c",
            "intent": "careleads_intent__c",
            "route": "careleads_route__c",
            "owner": "OwnerId",
        }
    )

    @field_validator("lead_fields", "write_back")
    @classmethod
    def _field_names(cls, fields: dict[str, str]) -> dict[str, str]:
        wrong = sorted(v for v in fields.values() if v.strip() and not _SALESFORCE_FIELD.match(v.strip()))
        if wrong:
            raise ValueError(f"{wrong} are not Salesforce field API names (letters, digits, _; e.g. Email)")
        return _unique_names(fields, "Salesforce")

    @field_validator("owners")
    @classmethod
    def _emails(cls, owners: dict[str, str]) -> dict[str, str]:
        return _owner_emails(owners, "Salesforce")

    def fields_to_read(self) -> list[str]:
        """The Lead fields a pull asks for, sorted."""
        fixed = {"Id", "CreatedDate", "SystemModstamp", "IsConverted", self.outcomes.field}
        return sorted({*self.lead_fields.values(), *fixed})

    def owner_emails(self) -> dict[str, str]:
        """careleads owner -> lower-case e-mail."""
        return {name: email.strip().lower() for name, email in self.owners.items()}


def load_salesforce_mapping(path: PathLikeStr | None = None) -> SalesforceMapping:
    """Load the Salesforce connector's mapping YAML; None reads the shipped default.

    Raises
    ------
    ConfigError
        If the file is unreadable, not YAML, or has unknown keys, names that are not Salesforce field names,
        repeated fields, or owners without an e-mail; each problem with its line.
    """
    text, source = read_config_text(None if path is None else str(path), shipped="salesforce_connector.yaml")
    data, lines = parse_yaml_lines(text, source=source)
    return validate_config(data, SalesforceMapping, source=source, lines=lines)
