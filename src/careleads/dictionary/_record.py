"""Checking one record (a dict from an API call or a web form) against the dictionary, without pandas.

:func:`validate_record` gives the same clean values and the same problem kinds and messages as
:func:`careleads.dictionary.ingest_table` on a one-row table holding the record's values as text cells (the
way the API has always checked a record), in about a hundredth of the time. The work that depends only on
the dictionary (alias lookup, placeholders, boolean words, category synonyms, messages) is compiled once per
dictionary and table and cached. Common value shapes (plain decimal numbers, ISO 8601 timestamps) are parsed
in plain Python; anything else goes through the very parsers :func:`ingest_table` uses, on a one-value
series, so that unusual spellings are read exactly as in a file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from careleads.dictionary._normalise import (
    boolean_words,
    category_lookup,
    match_columns,
    normalise_token,
    parse_values,
    placeholders_for,
)
from careleads.dictionary._schema import Dictionary, FieldSpec, FieldType, Sensitivity, TableSpec
from careleads.errors import InputError

__all__ = ["FieldProblem", "RecordValidator", "problems_as_dicts", "record_validator", "validate_record"]

# Plain decimals that float() reads exactly as pandas' parser does (few digits, no exponent); others take
# the pandas path.
_SIMPLE_NUMBER = re.compile(r"[+-]?\d{1,15}(?:\.\d{1,6})?")
# ISO 8601 as most systems write it; datetime.fromisoformat reads these as pandas' ISO8601 parser does
_ISO_STAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
# years that every pandas unit can hold; others take the pandas path
_SAFE_YEARS = range(1700, 2200)
_CACHE_LIMIT = 4096  # distinct spellings remembered per category field, and column sets per table
_HIDDEN = "(value hidden: identifying field)"


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
    """

    field: str
    kind: str
    message: str

    @property
    def detail(self) -> str:
        """The message without the leading ``"<field>:"``."""
        prefix = f"{self.field}:"
        return (
            self.message[len(prefix) :].strip()
            if self.field and self.message.startswith(prefix)
            else self.message
        )


@dataclass
class _Field:
    """What checking one field needs, worked out once from its spec."""

    spec: FieldSpec
    required: bool
    placeholders: frozenset[str]
    show_value: bool
    true_words: frozenset[str]
    false_words: frozenset[str]
    lookup: dict[str, str]
    categories_listed: str
    normalised: dict[str, str | None]  # cache: stripped text -> canonical value (None: no match)


def _compile_field(spec: FieldSpec, global_missing: tuple[str, ...], *, required: bool) -> _Field:
    true_words, false_words = (
        boolean_words(spec) if spec.type is FieldType.BOOLEAN else (frozenset(), frozenset())
    )
    allowed = list(spec.values)
    return _Field(
        spec=spec,
        required=required,
        placeholders=placeholders_for(spec, global_missing),
        show_value=spec.sensitivity != Sensitivity.DIRECT_IDENTIFIER,
        true_words=true_words,
        false_words=false_words,
        lookup=category_lookup(spec) if spec.type is FieldType.CATEGORY else {},
        categories_listed=", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else ""),
        normalised={},
    )


@dataclass(frozen=True)
class _Columns:
    """How one set of record keys maps onto the table (cached per key set)."""

    mapping: dict[str, str]  # raw key -> canonical field
    unknown: tuple[str, ...]


def _cell_text(value: Any) -> str:
    """A record value as the text of a CSV cell: missing as empty, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _message(field: _Field, text: str, template: str) -> str:
    head, _, tail = template.partition("{value}")
    shown = f"'{text}'" if field.show_value else _HIDDEN
    return f"{field.spec.name}: {head}{shown}{tail}"


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
        self._fields = {
            spec.name: _compile_field(
                spec, dictionary.missing_values, required=spec.required or spec.name == self.table.key
            )
            for spec in self.table.fields
        }
        self._extra_placeholders = placeholders_for(
            FieldSpec("extra", FieldType.TEXT), dictionary.missing_values
        )
        self._columns: dict[tuple[str, ...], _Columns] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------ columns

    def _match(self, keys: tuple[str, ...], source: str) -> _Columns:
        found = self._columns.get(keys)
        if found is not None:
            return found
        if len(set(keys)) != len(keys):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            raise InputError(f"{source}: the column name(s) {repeated} appear more than once; rename them")
        # raises InputError when two keys match one field, with ingest's message
        mapping = match_columns(keys, self.table, source)
        claimed = set(mapping.values())
        missing_required = [
            spec.name
            for spec in self.table.fields
            if spec.name not in claimed and (spec.required or spec.name == self.table.key)
        ]
        if missing_required:
            raise InputError(
                f"{source}: no column for the required field(s) {', '.join(missing_required)} of table "
                f"{self.table.name!r} (columns found: {', '.join(keys) or 'none'}); rename the column, "
                "add its name to the field's aliases in the dictionary, or describe this file with "
                "`careleads dictionary infer`"
            )
        found = _Columns(mapping=mapping, unknown=tuple(k for k in keys if k not in mapping))
        with self._lock:
            if len(self._columns) >= _CACHE_LIMIT:
                self._columns.clear()
            self._columns[keys] = found
        return found

    # ------------------------------------------------------------------------------------ values

    def _parse(self, field: _Field, text: str) -> tuple[Any, FieldProblem | None]:
        """A present (non-missing), stripped value: its clean value, or None and the problem."""
        spec = field.spec
        kind = spec.type
        if kind is FieldType.NUMBER and _SIMPLE_NUMBER.fullmatch(text):
            number = float(text)
            if spec.minimum is not None and number < spec.minimum:
                return None, FieldProblem(
                    spec.name,
                    "out_of_range",
                    _message(field, text, f"{{value}} is below the minimum {spec.minimum:g}"),
                )
            if spec.maximum is not None and number > spec.maximum:
                return None, FieldProblem(
                    spec.name,
                    "out_of_range",
                    _message(field, text, f"{{value}} is above the maximum {spec.maximum:g}"),
                )
            return number, None
        if kind is FieldType.DATETIME and spec.format is None and _ISO_STAMP.fullmatch(text):
            stamp = self._iso(text)
            if stamp is not None:
                return stamp, None
        if kind is FieldType.BOOLEAN:
            key = text.lower()
            if key in field.true_words:
                return True, None
            if key in field.false_words:
                return False, None
            return None, FieldProblem(
                spec.name,
                "unparsable_boolean",
                _message(field, text, "{value} is not a yes/no value (yes, no, true, false, 1, 0)"),
            )
        if kind is FieldType.CATEGORY:
            if not spec.values:
                return text, None
            if text in field.normalised:
                canonical = field.normalised[text]
            else:
                canonical = field.lookup.get(normalise_token(text))
                with self._lock:
                    if len(field.normalised) >= _CACHE_LIMIT:
                        field.normalised.clear()
                    field.normalised[text] = canonical
            if canonical is not None:
                return canonical, None
            if not spec.is_closed:
                return text, None
            return None, FieldProblem(
                spec.name,
                "unknown_category",
                _message(
                    field,
                    text,
                    "{value} is not a known value ("
                    + field.categories_listed
                    + "); add it as a synonym in the dictionary",
                ),
            )
        if kind in (FieldType.NUMBER, FieldType.DATETIME):
            return self._parse_like_ingest(field, text)
        return text, None

    @staticmethod
    def _iso(text: str) -> pd.Timestamp | None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None  # e.g. 2025-02-30: the pandas path words the problem
        if parsed.year not in _SAFE_YEARS:
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return pd.Timestamp(parsed)

    @staticmethod
    def _parse_like_ingest(field: _Field, text: str) -> tuple[Any, FieldProblem | None]:
        """The unusual spellings: ingest's own vectorised parser on a one-value series."""
        parsed, problems = parse_values(
            pd.Series([text], dtype="string"), field.spec, show_value=field.show_value
        )
        for problem in problems:
            if bool(problem.bad[0]):
                return None, FieldProblem(field.spec.name, problem.kind, str(problem.messages[0]))
        value = parsed.iloc[0]
        if field.spec.type is FieldType.NUMBER:
            return float(value), None
        if value is None or value is pd.NaT:
            return None, None
        return pd.Timestamp(value).as_unit("us"), None

    # ------------------------------------------------------------------------------------ record

    def validate(
        self, record: Mapping[str, Any], *, source: str = "<record>"
    ) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Check one record; see :func:`validate_record`."""
        keys = tuple(str(k) for k in record)
        columns = self._match(keys, source)
        texts = {str(k): _cell_text(v).strip() for k, v in record.items()}
        by_field = {canonical: raw for raw, canonical in columns.mapping.items()}
        clean: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for name, field in self._fields.items():
            raw = by_field.get(name)
            text = texts[raw] if raw is not None else ""
            if text == "" or text.lower() in field.placeholders:
                clean[name] = None
                if field.required:
                    problems.append(
                        FieldProblem(name, "missing_required", f"{name}: required value is missing")
                    )
                continue
            value, problem = self._parse(field, text)
            clean[name] = value
            if problem is not None:
                problems.append(problem)
        for raw in columns.unknown:
            text = texts[raw]
            clean[raw] = None if text == "" or text.lower() in self._extra_placeholders else text
        if all(text == "" for text in texts.values()):
            # a blank line is one problem, not one per required field
            problems = [FieldProblem("", "blank_row", "blank row")]
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
        If a required field has no key at all, or two keys match one field (as for a file's columns).

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
