"""The data dictionary as a YAML file: loading with precise validation errors, and dumping.

The format, meant to be edited by hand::

    version: 1
    name: healthcare_crm
    description: ...                      # optional
    missing_values: ["", n/a, select]     # placeholders meaning "no value", for every field
    label: {column: converted, positive: ["1"]}   # optional
    tables:
      leads:
        description: ...                  # optional
        key: lead_id                      # optional: unique per row
        time_column: created_at           # optional: a datetime field
        fields:
          - name: service_line
            type: category                # identifier, category, number, boolean, datetime, text
            description: ...
            aliases: [Service Line, Specialty]
            values:                       # canonical value: [synonyms]
              orthopedics: [Ortho, Bone & Joint]
              cardiology: [Cardio]
            closed: true                  # default: a value outside the list quarantines the row
            minimum: 0                    # numbers only
            maximum: 400
            required: false
            sensitivity: safe             # direct_identifier, quasi_identifier, sensitive, safe
            sensitivity_reason: ...       # optional: why (shown where the field is left out of a model)
            known: at_creation            # at_creation, at_event_time, after_outcome
            missing_values: [Select]      # field-level placeholders
            format: "%d/%m/%Y"            # datetimes (default ISO 8601); numbers: decimal_comma (1.234,5)
            earliest: "2000-01-01"        # datetimes only; the dates accepted, default 1900-01-01 to
            latest: "2100-12-31"          # 2100-12-31 (a date outside is flagged, read as missing)

Every scalar is read as text (``yes``, ``no``, ``on``, ``01`` stay strings), then converted where the key
needs a number or a true/false, so synonym lists never change meaning behind the editor's back.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from careleads.dictionary._normalise import normalise_token
from careleads.dictionary._schema import (
    DECIMAL_COMMA,
    Dictionary,
    FieldSpec,
    FieldType,
    KnownAt,
    LabelSpec,
    Sensitivity,
    TableSpec,
)
from careleads.errors import DictionaryError
from careleads.types import PathLikeStr

SHIPPED_DICTIONARY = "healthcare_dictionary.yaml"

_TOP_KEYS = ("version", "name", "description", "missing_values", "label", "tables")
_TABLE_KEYS = ("description", "key", "time_column", "fields")
_FIELD_KEYS = (
    "name",
    "type",
    "description",
    "aliases",
    "values",
    "closed",
    "minimum",
    "maximum",
    "required",
    "sensitivity",
    "sensitivity_reason",
    "known",
    "missing_values",
    "format",
    "unreadable_as",
    "earliest",
    "latest",
)
_LABEL_KEYS = ("column", "positive")
_NULL_TAG = "tag:yaml.org,2002:null"


class _TextLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that resolves plain scalars to text (or null) only, and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag == _NULL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if any(tag == _NULL_TAG for tag, _ in resolvers)
}


class _Where:
    """Builds the location prefix of an error message: file, table, field, key."""

    def __init__(self, source: str, table: str | None = None, field: str | None = None) -> None:
        self.source, self.table, self.field = source, table, field

    def at(self, *, table: str | None = None, field: str | None = None) -> _Where:
        return _Where(self.source, table if table is not None else self.table, field)

    def error(self, message: str, key: str | None = None) -> DictionaryError:
        parts = [self.source]
        if self.table is not None:
            parts.append(f"table {self.table!r}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        if key is not None:
            parts.append(f"key {key!r}")
        return DictionaryError(", ".join(parts) + ": " + message)


def _text(value: Any, where: _Where, key: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, str):
        return value
    if value is None:
        raise where.error("a value is needed here", key)
    raise where.error(f"expected a single text value, got {type(value).__name__}", key)


def _required_text(value: Any, where: _Where, key: str) -> str:
    text = _text(value, where, key)
    assert text is not None
    if not text.strip():
        raise where.error("must not be empty", key)
    return text


def _text_list(value: Any, where: _Where, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise where.error(f"expected a list of text values, got {type(value).__name__}", key)
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            shown = "an empty item or null" if item is None else f"a {type(item).__name__}"
            raise where.error(f"{shown} in the list; write each item as text (quote '' or 'null')", key)
        items.append(item)
    return tuple(items)


def _flag(value: Any, where: _Where, key: str) -> bool:
    text = _text(value, where, key)
    assert text is not None
    lowered = text.strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    raise where.error(f"expected true or false, got {text!r}", key)


def _number(value: Any, where: _Where, key: str) -> float | None:
    text = _text(value, where, key, optional=True)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise where.error(f"expected a number, got {text!r}", key) from None
    if not math.isfinite(number):
        raise where.error(f"expected a finite number, got {text!r}", key)
    return number


def _date(value: Any, where: _Where, key: str) -> str | None:
    """An ISO date (``2000-01-01``), kept as written; None when absent."""
    text = _text(value, where, key, optional=True)
    if text is None:
        return None
    try:
        readable = not pd.isna(pd.Timestamp(text))
    except (ValueError, OverflowError):
        readable = False
    if not readable:
        raise where.error(f"{text!r} is not a date; write it as 2000-01-01", key)
    return str(text)


def _choice(
    value: Any, where: _Where, key: str, enum: type[FieldType] | type[Sensitivity] | type[KnownAt]
) -> Any:
    text = _text(value, where, key)
    assert text is not None
    try:
        return enum(text.strip())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise where.error(f"{text!r} is not one of: {allowed}", key) from None


def _mapping(value: Any, where: _Where, key: str | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(f"expected a mapping of keys to values, got {type(value).__name__}", key)
    unknown = [str(k) for k in value if k not in allowed]
    if unknown:
        raise where.error(
            f"unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}", key
        )
    return value


def _values(value: Any, where: _Where) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if isinstance(value, list):
        return dict.fromkeys(_text_list(value, where, "values"), ())
    if not isinstance(value, dict):
        raise where.error("expected a mapping of canonical value to a list of synonyms", "values")
    result: dict[str, tuple[str, ...]] = {}
    for canonical, synonyms in value.items():
        if not isinstance(canonical, str) or not canonical.strip():
            raise where.error(f"the canonical value {canonical!r} must be non-empty text", "values")
        result[canonical] = _text_list(
            synonyms, where.at(field=f"{where.field}, value {canonical!r}"), "values"
        )
    return result


def _field(raw: Any, where: _Where, position: int) -> FieldSpec:
    here = where.at(field=f"#{position}")
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"].strip():
        here = where.at(field=repr(raw["name"]))
    data = _mapping(raw, here, None, _FIELD_KEYS)
    name = _required_text(data.get("name"), here, "name")
    if "type" not in data:
        raise here.error("every field needs a type (" + ", ".join(t.value for t in FieldType) + ")", "type")
    kind: FieldType = _choice(data["type"], here, "type", FieldType)
    values = _values(data.get("values"), here)
    spec = FieldSpec(
        name=name,
        type=kind,
        description=_text(data.get("description"), here, "description", optional=True) or "",
        aliases=_text_list(data.get("aliases"), here, "aliases"),
        values=values,
        minimum=_number(data.get("minimum"), here, "minimum"),
        maximum=_number(data.get("maximum"), here, "maximum"),
        required=_flag(data["required"], here, "required") if "required" in data else False,
        sensitivity=_choice(data.get("sensitivity", "safe"), here, "sensitivity", Sensitivity),
        sensitivity_reason=_text(data.get("sensitivity_reason"), here, "sensitivity_reason", optional=True)
        or "",
        known=_choice(data.get("known", "at_creation"), here, "known", KnownAt),
        missing_values=_text_list(data.get("missing_values"), here, "missing_values"),
        closed=_flag(data["closed"], here, "closed") if "closed" in data else True,
        format=_text(data.get("format"), here, "format", optional=True),
        unreadable_as=(
            _flag(data["unreadable_as"], here, "unreadable_as") if "unreadable_as" in data else None
        ),
        earliest=_date(data.get("earliest"), here, "earliest"),
        latest=_date(data.get("latest"), here, "latest"),
    )
    _check_field(spec, data, here)
    return spec


def _check_field(spec: FieldSpec, data: Mapping[str, Any], where: _Where) -> None:
    if ("minimum" in data or "maximum" in data) and spec.type is not FieldType.NUMBER:
        raise where.error(
            f"only number fields take a minimum or maximum, this one is {spec.type.value}", "minimum"
        )
    if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        raise where.error(f"minimum {spec.minimum:g} is above maximum {spec.maximum:g}", "minimum")
    if "unreadable_as" in data and spec.type is not FieldType.BOOLEAN:
        raise where.error(
            f"only boolean fields take unreadable_as, this one is {spec.type.value}", "unreadable_as"
        )
    for key in ("earliest", "latest"):
        if key in data and spec.type is not FieldType.DATETIME:
            raise where.error(f"only datetime fields take {key}, this one is {spec.type.value}", key)
    earliest, latest = spec.dates_accepted
    if pd.Timestamp(earliest) > pd.Timestamp(latest):
        raise where.error(f"earliest {earliest} is after latest {latest}", "earliest")
    if "format" in data and spec.type is FieldType.NUMBER and spec.format != DECIMAL_COMMA:
        raise where.error(f"a number field's only format is {DECIMAL_COMMA!r}", "format")
    if "format" in data and spec.type not in (FieldType.DATETIME, FieldType.NUMBER):
        raise where.error(
            f"only datetime and number fields take a format, this one is {spec.type.value}", "format"
        )
    if spec.values and spec.type not in (FieldType.CATEGORY, FieldType.BOOLEAN):
        raise where.error(
            f"only category and boolean fields take values, this one is {spec.type.value}", "values"
        )
    if "closed" in data and spec.type is not FieldType.CATEGORY:
        raise where.error(
            f"only category fields can be open or closed, this one is {spec.type.value}", "closed"
        )
    if spec.type is FieldType.BOOLEAN:
        extra = sorted(set(spec.values) - {"true", "false"})
        if extra:
            raise where.error(
                f"boolean values must be 'true' and 'false' with their synonyms, not {extra}", "values"
            )
    for alias in spec.aliases:
        if not normalise_token(alias):
            raise where.error(f"the alias {alias!r} has no letters or digits to match on", "aliases")
    owner: dict[str, str] = {}
    for canonical, synonyms in spec.values.items():
        for value in (canonical, *synonyms):
            token = normalise_token(value)
            if not token:
                raise where.error(f"the value {value!r} has no letters or digits to match on", "values")
            previous = owner.setdefault(token, canonical)
            if previous != canonical:
                raise where.error(
                    f"{value!r} (under {canonical!r}) matches {previous!r} too: values and synonyms are "
                    "compared ignoring case, spaces and punctuation, one canonical value each",
                    "values",
                )


def _table(name: str, raw: Any, where: _Where) -> TableSpec:
    here = where.at(table=name)
    data = _mapping(raw, here, None, _TABLE_KEYS)
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise here.error("expected a non-empty list of fields", "fields")
    fields = tuple(_field(item, here, position) for position, item in enumerate(raw_fields, start=1))
    table = TableSpec(
        name=name,
        fields=fields,
        key=_text(data.get("key"), here, "key", optional=True),
        time_column=_text(data.get("time_column"), here, "time_column", optional=True),
        description=_text(data.get("description"), here, "description", optional=True) or "",
    )
    names = table.names
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise here.error(f"field name(s) {repeated} appear more than once", "fields")
    if table.key is not None and table.key not in names:
        raise here.error(f"the key {table.key!r} is not one of the table's fields", "key")
    if table.time_column is not None:
        if table.time_column not in names:
            raise here.error(
                f"the time column {table.time_column!r} is not one of the table's fields", "time_column"
            )
        if table.field(table.time_column).type is not FieldType.DATETIME:
            raise here.error(f"the time column {table.time_column!r} must be a datetime field", "time_column")
    owner: dict[str, str] = {}
    for spec in fields:
        for column in (spec.name, *spec.aliases):
            previous = owner.setdefault(normalise_token(column), spec.name)
            if previous != spec.name:
                raise here.at(field=repr(spec.name)).error(
                    f"{column!r} also matches the field {previous!r}: names and aliases are compared "
                    "ignoring case, spaces and punctuation, so each may belong to one field only",
                    "aliases",
                )
    return table


def _label(raw: Any, where: _Where, tables: Mapping[str, TableSpec]) -> LabelSpec | None:
    if raw is None:
        return None
    data = _mapping(raw, where, "label", _LABEL_KEYS)
    column = _required_text(data.get("column"), where, "label.column")
    label = LabelSpec(column=column, positive=_text_list(data.get("positive"), where, "label.positive"))
    holders = [table for table in tables.values() if column in table.names]
    if not holders:
        raise where.error(f"the label column {column!r} is not a field of any table", "label.column")
    spec = holders[0].field(column)
    if spec.values:
        known = {
            normalise_token(value)
            for canonical, synonyms in spec.values.items()
            for value in (canonical, *synonyms)
        }
        strangers = [value for value in label.positive if normalise_token(value) not in known]
        if strangers and spec.type is FieldType.CATEGORY:
            raise where.error(
                f"positive value(s) {strangers} are not values of the field {column!r}", "label.positive"
            )
    return label


def parse_dictionary(text: str, *, source: str = "<text>") -> Dictionary:
    """Parse and validate a data dictionary written in YAML.

    Parameters
    ----------
    text : str
        The YAML document.
    source : str, optional
        Name used in error messages (the file name).

    Returns
    -------
    Dictionary
        The validated dictionary.

    Raises
    ------
    DictionaryError
        Naming the file, table, field and key that is wrong, and what is expected there.
    """
    where = _Where(source)
    try:
        document = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise where.error(f"not valid YAML: {exc}") from None
    if document is None:
        raise where.error("the file is empty; it needs at least 'name' and 'tables'")
    data = _mapping(document, where, None, _TOP_KEYS)
    name = _required_text(data.get("name"), where, "name")
    version_text = _text(data.get("version", "1"), where, "version")
    assert version_text is not None
    if not version_text.strip().isdigit() or int(version_text) < 1:
        raise where.error(f"expected a whole number from 1, got {version_text!r}", "version")
    raw_tables = data.get("tables")
    if not isinstance(raw_tables, dict) or not raw_tables:
        raise where.error("expected a mapping of table names to tables", "tables")
    tables: dict[str, TableSpec] = {}
    for table_name, raw_table in raw_tables.items():
        if not isinstance(table_name, str) or not table_name.strip():
            raise where.error(f"table names must be non-empty text, got {table_name!r}", "tables")
        tables[table_name] = _table(table_name, raw_table, where)
    missing_values = (
        _text_list(data["missing_values"], where, "missing_values")
        if "missing_values" in data
        else Dictionary(name=name, tables={}).missing_values
    )
    return Dictionary(
        name=name,
        tables=tables,
        missing_values=missing_values,
        label=_label(data.get("label"), where, tables),
        version=int(version_text),
        description=_text(data.get("description"), where, "description", optional=True) or "",
    )


def load_dictionary(path: PathLikeStr | None = None) -> Dictionary:
    """Load and validate a data dictionary YAML file.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The YAML file. None loads the shipped dictionary of the synthetic healthcare CRM export
        (tables ``leads``, ``events``, ``outcomes``).

    Returns
    -------
    Dictionary
        The validated dictionary.

    Raises
    ------
    DictionaryError
        If the file is missing, is not YAML, or breaks a rule; the message names the file, table, field
        and key.

    Examples
    --------
    >>> dictionary = load_dictionary()
    >>> dictionary.table("leads").key
    'lead_id'
    """
    if path is None:
        resource = resources.files("careleads").joinpath("data", SHIPPED_DICTIONARY)
        return parse_dictionary(resource.read_text(encoding="utf-8"), source=SHIPPED_DICTIONARY)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DictionaryError(f"{file}: no such dictionary file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryError(f"{file}: cannot read the dictionary ({exc})") from None
    return parse_dictionary(text, source=str(file))


def _number_out(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _field_out(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name, "type": spec.type.value}
    if spec.description:
        out["description"] = spec.description
    if spec.aliases:
        out["aliases"] = list(spec.aliases)
    if spec.values:
        if any(spec.values.values()):
            out["values"] = {canonical: list(synonyms) for canonical, synonyms in spec.values.items()}
        else:
            out["values"] = list(spec.values)
    if not spec.closed:
        out["closed"] = False
    if spec.minimum is not None:
        out["minimum"] = _number_out(spec.minimum)
    if spec.maximum is not None:
        out["maximum"] = _number_out(spec.maximum)
    if spec.required:
        out["required"] = True
    if spec.sensitivity is not Sensitivity.SAFE:
        out["sensitivity"] = spec.sensitivity.value
    if spec.sensitivity_reason:
        out["sensitivity_reason"] = spec.sensitivity_reason
    if spec.known is not KnownAt.CREATION:
        out["known"] = spec.known.value
    if spec.missing_values:
        out["missing_values"] = list(spec.missing_values)
    if spec.format is not None:
        out["format"] = spec.format
    if spec.unreadable_as is not None:
        out["unreadable_as"] = spec.unreadable_as
    if spec.earliest is not None:
        out["earliest"] = spec.earliest
    if spec.latest is not None:
        out["latest"] = spec.latest
    return _Block(out) if spec.sensitivity_reason else out


def _table_out(table: TableSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if table.description:
        out["description"] = table.description
    if table.key is not None:
        out["key"] = table.key
    if table.time_column is not None:
        out["time_column"] = table.time_column
    out["fields"] = [_field_out(spec) for spec in table.fields]
    return out


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, the way people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)


class _Block(dict[str, Any]):
    """A mapping always written one key per line (a field whose sensitivity says why reads better so)."""


def _block_out(dumper: yaml.SafeDumper, data: _Block) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(data), flow_style=False)


_Dumper.add_representer(_Block, _block_out)


def dump_dictionary(dictionary: Dictionary) -> str:
    """Write a dictionary as YAML text that :func:`parse_dictionary` reads back to an equal dictionary.

    Defaults are left out (``sensitivity: safe``, ``known: at_creation``, ``required: false``) so the
    file shows what is particular to each field.

    Parameters
    ----------
    dictionary : Dictionary
        The dictionary to write.

    Returns
    -------
    str
        The YAML document.

    Examples
    --------
    >>> dictionary = load_dictionary()
    >>> parse_dictionary(dump_dictionary(dictionary)) == dictionary
    True
    """
    document: dict[str, Any] = {"version": dictionary.version, "name": dictionary.name}
    if dictionary.description:
        document["description"] = dictionary.description
    document["missing_values"] = list(dictionary.missing_values)
    if dictionary.label is not None:
        document["label"] = {"column": dictionary.label.column, "positive": list(dictionary.label.positive)}
    document["tables"] = {name: _table_out(table) for name, table in dictionary.tables.items()}
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=10_000,  # one item never splits over two lines
    )
