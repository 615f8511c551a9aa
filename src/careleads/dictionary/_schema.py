"""The data dictionary's in-memory form: fields, types, sensitivity and when each field is known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# the one format a number field takes: a decimal comma, dots (or spaces) between thousands
DECIMAL_COMMA = "decimal_comma"


class FieldType(StrEnum):
    IDENTIFIER = "identifier"
    CATEGORY = "category"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"


class Sensitivity(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"  # name, email, phone, address, date of birth, MRN
    QUASI_IDENTIFIER = "quasi_identifier"  # postcode, exact timestamps: identifying in combination
    SENSITIVE = "sensitive"  # age, sex and the like: fairness reports only, never features
    SAFE = "safe"


class KnownAt(StrEnum):
    CREATION = "at_creation"  # an inbound signal, known when the lead is created
    EVENT_TIME = "at_event_time"  # known at its own timestamp
    AFTER_OUTCOME = "after_outcome"  # recorded after the outcome: never a feature


#: The dates a datetime field accepts unless its dictionary entry says otherwise (``earliest``, ``latest``):
#: a year 1 or 9999 is a typing or export error, and no lead, event or outcome lies outside these.
DATES_ACCEPTED: tuple[str, str] = ("1900-01-01", "2100-12-31")


@dataclass(frozen=True)
class FieldSpec:
    """One column: its canonical name, type, allowed values and synonyms, sensitivity and timing."""

    name: str
    type: FieldType
    description: str = ""
    aliases: tuple[str, ...] = ()
    # canonical value -> synonyms (matched case- and punctuation-insensitively)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    sensitivity: Sensitivity = Sensitivity.SAFE
    known: KnownAt = KnownAt.CREATION
    missing_values: tuple[str, ...] = ()
    # whether a category value outside ``values`` is a row error (True) or kept as written (False);
    # only consulted when ``values`` is not empty
    closed: bool = True
    # an explicit strptime format for datetime fields (e.g. "%d/%m/%Y"); None = ISO 8601, then guessed.
    # For number fields, DECIMAL_COMMA: numbers written 1.234,5 (comma before the decimals)
    format: str | None = None
    # for a boolean field (a consent or an objection): how a value the dictionary cannot read is taken, so
    # that an unreadable answer is never read as permission; None = as missing
    unreadable_as: bool | None = None
    # for a datetime field: the earliest and latest dates accepted (ISO dates); None = DATES_ACCEPTED's
    earliest: str | None = None
    latest: str | None = None
    # why the field has its sensitivity, shown where it is left out of a model ("health condition (name
    # 'dx_code' mentions 'diagnosis')"); written by inference, editable, empty when nobody said why
    sensitivity_reason: str = ""

    @property
    def dates_accepted(self) -> tuple[str, str]:
        """The earliest and latest dates a datetime field accepts (the day of the latest included)."""
        return (self.earliest or DATES_ACCEPTED[0], self.latest or DATES_ACCEPTED[1])

    @property
    def is_closed(self) -> bool:
        """Whether values outside the canonical list send the row to quarantine."""
        if self.type is FieldType.BOOLEAN:
            return True
        return self.type is FieldType.CATEGORY and self.closed and bool(self.values)

    @property
    def is_feature_candidate(self) -> bool:
        """Whether a model may ever use this field (before any leakage audit)."""
        return (
            self.known is not KnownAt.AFTER_OUTCOME
            and self.sensitivity in (Sensitivity.SAFE, Sensitivity.QUASI_IDENTIFIER)
            and self.type is not FieldType.IDENTIFIER
        )


@dataclass(frozen=True)
class TableSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    key: str | None = None
    time_column: str | None = None
    description: str = ""

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.fields]


@dataclass(frozen=True)
class LabelSpec:
    column: str
    positive: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dictionary:
    """A whole data dictionary: global missing-value placeholders plus one spec per table."""

    name: str
    tables: Mapping[str, TableSpec]
    missing_values: tuple[str, ...] = ("", "na", "n/a", "null", "none", "unknown", "select", "-", "?")
    label: LabelSpec | None = None
    version: int = 1
    description: str = ""

    def table(self, name: str) -> TableSpec:
        try:
            return self.tables[name]
        except KeyError:
            known = ", ".join(sorted(self.tables)) or "none"
            from careleads.errors import DictionaryError

            raise DictionaryError(
                f"the dictionary {self.name!r} has no table {name!r} (tables: {known})"
            ) from None

    def feature_candidates(self, table: str) -> Sequence[FieldSpec]:
        return [spec for spec in self.table(table).fields if spec.is_feature_candidate]
