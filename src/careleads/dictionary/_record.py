"""Checking one record (a dict from an API call or a web form) against the dictionary.

:func:`validate_record` reads a record as :func:`careleads.dictionary.ingest_table` reads a row of a file:
the same column matching (``match_table``) and, for each field, the same rule (``FieldRule``) on a batch
of one value, hence the same clean values, problem kinds and messages. What depends only on the dictionary
(the rules, the matching of a set of keys) is worked out once per dictionary and table; what a category or
yes/no field's rule said about a spelling is remembered, since a form sends the same few spellings again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from careleads.dictionary._flags import FlaggedValue, action_for, refuses
from careleads.dictionary._normalise import match_table
from careleads.dictionary._rule import (
    BLANK_ROW,
    BLANK_ROW_MESSAGE,
    MISSING_REQUIRED,
    FieldRule,
    lower_texts,
    strip_texts,
)
from careleads.dictionary._schema import Dictionary, FieldSpec, FieldType, Sensitivity, TableSpec
from careleads.errors import InputError

__all__ = [
    "FieldProblem",
    "RecordValidator",
    "flag_problems",
    "problems_as_dicts",
    "record_validator",
    "validate_record",
]

_CACHE_LIMIT = 4096  # spellings remembered per category or yes/no field, and key sets per table


@dataclass(frozen=True)
class FieldProblem:
    """One reason a record is rejected, as :func:`ingest_table` would give it for the same row.

    Attributes
    ----------
    field : str
        The canonical field name ("" for a blank record).
    kind : str
        ``missing_required``, ``unparsable_datetime``, ``unparsable_number``, ``out_of_range``,
        ``unparsable_boolean``, ``unknown_category`` or ``blank_row``.
    message : str
        The quarantine reason, ``"<field>: <what is wrong>"`` (values of direct identifiers hidden).
    value : str or None
        The value as written (stripped); None for a missing value.
    """

    field: str
    kind: str
    message: str
    value: str | None = None

    @property
    def detail(self) -> str:
        """The message without the leading ``"<field>:"``."""
        prefix = f"{self.field}:"
        return (
            self.message[len(prefix) :].strip()
            if self.field and self.message.startswith(prefix)
            else self.message
        )


@dataclass(frozen=True)
class _Columns:
    """How one set of record keys maps onto the table (worked out once per key set)."""

    positions: tuple[int, ...]  # per field of the table: the position of its key, or -1
    unknown: tuple[int, ...]  # positions of the keys that match no field


def _cell_text(value: Any) -> str:
    """A record value as the text of a CSV cell: missing as empty, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _repeats(spec: FieldSpec) -> bool:
    """Whether the field's spellings repeat from lead to lead, so what the rule said of each is kept:
    yes/no values, categories with a list of values, and numbers (ages, distances, counts)."""
    return spec.type in (FieldType.BOOLEAN, FieldType.NUMBER) or (
        spec.type is FieldType.CATEGORY and bool(spec.values)
    )


def _scalar(value: Any, kind: FieldType) -> Any:
    """One parsed value as a plain Python (or pandas) scalar."""
    if kind is FieldType.NUMBER:
        return float(value)
    if kind is FieldType.DATETIME:
        return pd.Timestamp(value)
    if kind is FieldType.BOOLEAN:
        return bool(value)
    return str(value)


class RecordValidator:
    """Checks single records against one table of a dictionary; build it once, use it for many records.

    Parameters
    ----------
    dictionary : Dictionary
        The data dictionary.
    table : str
        The table the records belong to.

    Raises
    ------
    DictionaryError
        If the dictionary has no such table.
    """

    def __init__(self, dictionary: Dictionary, table: str) -> None:
        self.dictionary = dictionary
        self.table: TableSpec = dictionary.table(table)
        self._rules = tuple(
            FieldRule(spec, dictionary.missing_values, required=spec.required or spec.name == self.table.key)
            for spec in self.table.fields
        )
        self._extra = FieldRule(FieldSpec("extra", FieldType.TEXT), dictionary.missing_values)
        # per field: spelling -> what the rule said, for the fields whose spellings repeat (yes/no values,
        # categories with a list of values, numbers)
        self._said: tuple[dict[str, tuple[Any, FieldProblem | None]] | None, ...] = tuple(
            {} if _repeats(rule.spec) else None for rule in self._rules
        )
        self._columns: dict[tuple[str, ...], _Columns] = {}
        self._lock = threading.Lock()

    def _match(self, keys: tuple[str, ...], source: str) -> _Columns:
        found = self._columns.get(keys)
        if found is not None:
            return found
        mapping = match_table(keys, self.table, source).mapping  # raises as ingest does for a file
        position = {canonical: keys.index(raw) for raw, canonical in mapping.items()}
        found = _Columns(
            positions=tuple(position.get(rule.spec.name, -1) for rule in self._rules),
            unknown=tuple(k for k, key in enumerate(keys) if key not in mapping),
        )
        with self._lock:
            if len(self._columns) >= _CACHE_LIMIT:
                self._columns.clear()
            self._columns[keys] = found
        return found

    def _read(self, field: int, text: str) -> tuple[Any, FieldProblem | None]:
        """The field's rule on one present value (neither empty nor a placeholder)."""
        said = self._said[field]
        if said is not None:
            known = said.get(text)
            if known is not None:
                return known
        rule = self._rules[field]
        if rule.keeps_text:
            return text, None
        parsed, found = rule.parse(np.array([text], dtype=object))
        bad = [problem for problem in found if problem.bad[0]]
        answer: tuple[Any, FieldProblem | None] = (
            (None, FieldProblem(rule.spec.name, bad[0].kind, str(bad[0].messages[0]), text))
            if bad
            else (_scalar(parsed[0], rule.spec.type), None)
        )
        if said is not None:
            with self._lock:
                if len(said) >= _CACHE_LIMIT:
                    said.clear()
                said[text] = answer
        return answer

    def validate(
        self, record: Mapping[str, Any], *, source: str = "<record>"
    ) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Check one record; see :func:`validate_record`."""
        keys = tuple(str(k) for k in record)
        columns = self._match(keys, source)
        try:
            cells = pa.array([_cell_text(v) for v in record.values()], type=pa.large_string())
        except UnicodeEncodeError as exc:  # a lone surrogate, which a JSON body may carry as an escape
            raise InputError(
                f"{source}: a value is not valid Unicode text ({exc.reason}); send it as UTF-8"
            ) from None
        arrow = strip_texts(cells)
        texts: list[str] = arrow.to_pylist()
        lowered: list[str] = lower_texts(arrow).to_pylist()
        clean: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for field, (rule, position) in enumerate(zip(self._rules, columns.positions, strict=True)):
            name = rule.spec.name
            if position < 0 or texts[position] == "" or rule.is_placeholder(lowered[position]):
                clean[name] = None
                if rule.required:
                    problems.append(FieldProblem(name, MISSING_REQUIRED, rule.missing_message))
                continue
            value, problem = self._read(field, texts[position])
            clean[name] = value
            if problem is not None:
                problems.append(problem)
        for position in columns.unknown:
            text = texts[position]
            clean[keys[position]] = (
                None if text == "" or self._extra.is_placeholder(lowered[position]) else text
            )
        if all(text == "" for text in texts):
            # a blank line is one problem, not one per required field
            problems = [FieldProblem("", BLANK_ROW, BLANK_ROW_MESSAGE)]
        return clean, problems


_VALIDATORS: dict[tuple[int, str], tuple[Dictionary, RecordValidator]] = {}
_VALIDATORS_LOCK = threading.Lock()


def record_validator(dictionary: Dictionary, table: str) -> RecordValidator:
    """The cached :class:`RecordValidator` of a dictionary's table (built on first use).

    The cache holds the dictionary object itself, so an entry is reused only for that very object.
    """
    key = (id(dictionary), table)
    entry = _VALIDATORS.get(key)
    if entry is not None and entry[0] is dictionary:
        return entry[1]
    validator = RecordValidator(dictionary, table)
    with _VALIDATORS_LOCK:
        if len(_VALIDATORS) >= 64:
            _VALIDATORS.clear()
        _VALIDATORS[key] = (dictionary, validator)
    return validator


def validate_record(
    record: Mapping[str, Any], dictionary: Dictionary, table: str, *, source: str = "<record>"
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Check one record against a dictionary table, as :func:`ingest_table` checks a row of a file.

    Each value is read as the text of a CSV cell (None as an empty cell, booleans as ``true``/``false``,
    anything else through ``str``). Keys are matched to fields by name or alias ignoring case, spaces and
    punctuation; placeholders (``"Select"``, ``"N/A"``, ...) become missing; category synonyms are mapped
    to canonical values; numbers, yes/no values and timestamps are parsed; ranges, required fields and
    closed category lists are checked.

    Parameters
    ----------
    record : mapping
        Field name (canonical or alias) -> value.
    dictionary : Dictionary
        The data dictionary.
    table : str
        The dictionary table the record belongs to (``"leads"``, ``"events"``, ...).
    source : str
        The name used in error messages.

    Returns
    -------
    (dict, list of FieldProblem)
        ``clean``: every field of the table in dictionary order (None where missing or rejected) with
        canonical values and parsed types (``float``, ``bool``, naive-UTC ``pandas.Timestamp``, ``str``),
        then the record's keys the dictionary does not know, as stripped text. ``problems``: empty when
        the record is accepted; otherwise what ingest would quarantine the row for, in field order.

    Raises
    ------
    DictionaryError
        If the dictionary has no such table.
    InputError
        If a required field has no key at all, two keys match one field (as for a file's columns), or a
        value is not valid Unicode text (an unpaired surrogate).

    Examples
    --------
    >>> from careleads.dictionary import load_dictionary
    >>> clean, problems = validate_record(
    ...     {"Lead ID": "L1", "Created Date": "2025-03-04", "Specialty": "Ortho", "Distance": "far"},
    ...     load_dictionary(), "leads")
    >>> clean["service_line"], [p.kind for p in problems]
    ('orthopedics', ['unparsable_number'])
    """
    return record_validator(dictionary, table).validate(record, source=source)


def problems_as_dicts(problems: Sequence[FieldProblem]) -> list[dict[str, str]]:
    """``{"field", "message"}`` per problem (the message without the field name), for API error bodies."""
    return [{"field": p.field, "message": p.detail} for p in problems]


def flag_problems(
    table: TableSpec, problems: Sequence[FieldProblem]
) -> tuple[list[FieldProblem], list[FlaggedValue]]:
    """Split a record's problems into those that refuse it and the flags of a record that is kept.

    See :func:`careleads.dictionary.refuses` for which is which. A flag keeps the value as written (None for
    a direct identifier, whose values are never repeated).

    Examples
    --------
    >>> from careleads.dictionary import load_dictionary
    >>> d = load_dictionary()
    >>> _, found = validate_record({"Lead ID": "L1", "Created Date": "2025-03-04", "Specialty": "Podiatry"},
    ...                            d, "leads")
    >>> refused, flags = flag_problems(d.table("leads"), found)
    >>> refused, [(f.field, f.kind, f.value) for f in flags]
    ([], [('service_line', 'unknown_category', 'Podiatry')])
    """
    refused: list[FieldProblem] = []
    flags: list[FlaggedValue] = []
    for problem in problems:
        if refuses(table, problem.field, problem.kind):
            refused.append(problem)
            continue
        spec = table.field(problem.field)
        flags.append(
            FlaggedValue(
                field=problem.field,
                kind=problem.kind,
                value=None if spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER else problem.value,
                message=problem.detail,
                action=action_for(problem.kind),
            )
        )
    return refused, flags
