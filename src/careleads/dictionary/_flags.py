"""Which problems refuse a record and which only flag a field: the one rule, for files and single records.

A record is refused only when it cannot be identified or placed in time: its key or time column is missing
or unreadable, a required field is missing, the row is blank, or its key repeats an earlier row. Any other
value the dictionary cannot read (a category value it does not know, a number out of range or unreadable,
a yes/no word it does not know, a date that is not the record's own time) is kept as written, flagged, and
read as missing: the models read a missing value as they read a value never seen in training, so the lead
is scored as a lead whose value for that field is unknown, never as a wrong known value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from careleads.dictionary._rule import (
    BLANK_ROW,
    MISSING_REQUIRED,
    OUT_OF_RANGE,
    UNKNOWN_CATEGORY,
    UNPARSABLE_BOOLEAN,
    UNPARSABLE_DATETIME,
    UNPARSABLE_NUMBER,
)
from careleads.dictionary._schema import FieldSpec, Sensitivity, TableSpec
from careleads.types import JSONDict

__all__ = [
    "DUPLICATE_KEY",
    "FLAGS_KEY",
    "FlaggedValue",
    "MAPPABLE_KINDS",
    "action_for",
    "refuses",
    "refuses_many",
    "shows_value",
    "unreadable_values",
]

DUPLICATE_KEY = "duplicate_key"
#: the reserved key under which a stored lead's fields keep its flagged values as written
FLAGS_KEY = "_flagged"
#: problems an admin can resolve by mapping the value to a known one (or adding it as a new value)
MAPPABLE_KINDS: frozenset[str] = frozenset({UNKNOWN_CATEGORY, UNPARSABLE_BOOLEAN})
_REFUSING_KINDS = frozenset({MISSING_REQUIRED, BLANK_ROW, DUPLICATE_KEY})
_ACTIONS = {
    UNKNOWN_CATEGORY: "scored as an unseen value; an admin can map it to a known value or add it as a new "
    "one (Admin > Unknown values, or `careleads dictionary map`)",
    UNPARSABLE_BOOLEAN: "read as unknown (no consent assumed); an admin can map the word to yes or no "
    "(Admin > Unknown values, or `careleads dictionary map`)",
    UNPARSABLE_NUMBER: "scored as missing; correct the value at the source",
    OUT_OF_RANGE: "scored as missing; correct the value at the source, or widen the field's range in the "
    "dictionary if such values are real",
    UNPARSABLE_DATETIME: "read as missing; correct the date at the source (ISO 8601: 2025-03-04T14:22:10)",
}


def refuses(table: TableSpec, field: str, kind: str) -> bool:
    """Whether a problem refuses the whole record (True) or only flags the field (False).

    Parameters
    ----------
    table : TableSpec
        The table the record belongs to.
    field : str
        The field with the problem ("" for the whole row).
    kind : str
        The problem kind (``unknown_category``, ``missing_required``, ...).

    Examples
    --------
    >>> from careleads.dictionary import load_dictionary
    >>> leads = load_dictionary().table("leads")
    >>> refuses(leads, leads.key, "missing_required"), refuses(leads, "distance_km", "out_of_range")
    (True, False)
    """
    return bool(refuses_many(table, np.array([field], dtype=object), np.array([kind], dtype=object))[0])


def refuses_many(
    table: TableSpec, fields: npt.NDArray[np.object_], kinds: npt.NDArray[np.object_]
) -> npt.NDArray[np.bool_]:
    """:func:`refuses` of many problems at once (a field and a kind per problem)."""
    identity = [name for name in (table.key, table.time_column) if name]
    return np.asarray(
        np.isin(kinds, sorted(_REFUSING_KINDS)) | (fields == "") | np.isin(fields, identity), dtype=bool
    )


def action_for(kind: str) -> str:
    """What happened to a flagged value and what to do about it, in words."""
    return _ACTIONS.get(kind, "read as missing; correct the value at the source")


def shows_value(spec: FieldSpec) -> bool:
    """Whether a flagged value of this field may be shown in lists and reports (not for identifying or
    sensitive fields: those show counts only)."""
    return spec.sensitivity is Sensitivity.SAFE


@dataclass(frozen=True)
class FlaggedValue:
    """A field of a kept record whose value the dictionary could not read: kept as written, read as missing.

    Attributes
    ----------
    field : str
        The canonical field name.
    kind : str
        The problem kind (``unknown_category``, ``out_of_range``, ...).
    value : str or None
        The value as written (stripped); None for a direct identifier.
    message : str
        What is wrong, without the field name.
    action : str
        What was done and what to do.
    """

    field: str
    kind: str
    value: str | None
    message: str
    action: str

    def to_dict(self) -> JSONDict:
        """The flag as plain JSON-ready data."""
        return {
            "field": self.field,
            "kind": self.kind,
            "value": self.value,
            "message": self.message,
            "action": self.action,
        }


def unreadable_values(table: TableSpec, fields: Sequence[str]) -> dict[str, bool]:
    """How the flagged `fields` of a kept record are read: field -> its ``unreadable_as`` value, for the
    fields the dictionary gives one (a consent or an objection whose answer could not be read is taken the
    cautious way, never as permission); the others stay missing."""
    specs = {spec.name: spec for spec in table.fields}
    return {
        name: bool(specs[name].unreadable_as)
        for name in fields
        if name in specs and specs[name].unreadable_as is not None
    }
