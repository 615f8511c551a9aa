"""A clinic's extension of the data dictionary: spellings an admin mapped to a known value, and new values.

The shipped (or configured) dictionary stays as it is; the extension is a small JSON file beside the
service's data, ``{table: {field: {canonical value: [spellings]}}}``, applied on top of it when the
dictionary is loaded. A spelling mapped to a value the field lists becomes one of its synonyms; a spelling
mapped to a value it does not list adds that value (a new service line, say), which the models read as a
value never seen in training until they are trained again.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from careleads.dictionary._normalise import boolean_words, category_lookup, normalise_token, placeholder_key
from careleads.dictionary._schema import Dictionary, FieldSpec, FieldType
from careleads.errors import DictionaryError, InputError
from careleads.types import PathLikeStr

__all__ = [
    "Extension",
    "add_mapping",
    "extend_dictionary",
    "load_extension",
    "mappable",
    "save_extension",
]

#: table -> field -> canonical value -> spellings
Extension = dict[str, dict[str, dict[str, list[str]]]]

_MAX_VALUE_CHARS = 100


def load_extension(path: PathLikeStr) -> Extension:
    """Read an extension file; a missing file is an empty extension.

    Raises
    ------
    DictionaryError
        If the file is not an extension (what is wrong, and where).
    """
    file = Path(path)
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DictionaryError(
            f"{file}: cannot read the dictionary extension ({exc}); fix or remove it"
        ) from None
    ok = isinstance(data, dict) and all(
        isinstance(fields, dict)
        and all(
            isinstance(values, dict)
            and all(isinstance(s, list) and all(isinstance(x, str) for x in s) for s in values.values())
            for values in fields.values()
        )
        for fields in data.values()
    )
    if not ok:
        raise DictionaryError(
            f"{file}: a dictionary extension is "
            "{table: {field: {value: [spellings]}}}; fix or remove it"
        )
    extension: Extension = data
    return extension


def save_extension(extension: Extension, path: PathLikeStr) -> Path:
    """Write an extension file atomically (a reader never sees half a file)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(extension, indent=1, sort_keys=True, ensure_ascii=False)
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(temporary, file)
    return file


def mappable(spec: FieldSpec) -> bool:
    """Whether a field's unknown values can be mapped: yes/no fields and categories with a list of values."""
    return spec.type is FieldType.BOOLEAN or (spec.type is FieldType.CATEGORY and bool(spec.values))


def add_mapping(
    extension: Extension, dictionary: Dictionary, *, table: str, field: str, value: str, to: str
) -> Extension:
    """The extension with one more spelling: `value` now means `to` in `field` (a new value if unlisted).

    Parameters
    ----------
    extension : Extension
        The current extension (not changed).
    dictionary : Dictionary
        The dictionary the extension applies to (with the extension applied or not).
    table, field : str
        Where the value was met.
    value : str
        The spelling as written.
    to : str
        A value the field lists, or a new value (categories only; ``true``/``false`` for yes/no fields).

    Raises
    ------
    InputError
        For a field that cannot be mapped, an empty or overlong value, or a yes/no field mapped to
        anything but true or false.

    Examples
    --------
    >>> from careleads.dictionary import load_dictionary
    >>> d = load_dictionary()
    >>> ext = add_mapping({}, d, table="leads", field="service_line", value="Cardiac care", to="cardiology")
    >>> extend_dictionary(d, ext).table("leads").field("service_line").values["cardiology"][-1]
    'Cardiac care'
    """
    spec = dictionary.table(table).field(field) if field in dictionary.table(table).names else None
    if spec is None or not mappable(spec):
        raise InputError(
            f"{table}.{field}: only yes/no fields and categories with a list of values can be mapped"
        )
    value, to = value.strip(), to.strip()
    if not value or not to or max(len(value), len(to)) > _MAX_VALUE_CHARS:
        raise InputError(f"{field}: a value and its mapping need 1 to {_MAX_VALUE_CHARS} characters")
    if spec.type is FieldType.BOOLEAN:
        to = to.lower()
        if to not in ("true", "false"):
            raise InputError(f"{field} is a yes/no field: map {value!r} to true or false")
    else:
        # the canonical spelling of a listed value when `to` names one, else a new value written as the
        # dictionary writes its values (lower case, words joined by "_")
        listed = category_lookup(spec).get(normalise_token(to))
        to = listed if listed is not None else re.sub(r"\W+", "_", to.casefold()).strip("_")
        if not to:
            raise InputError(f"{field}: a new value needs letters or digits")
    updated: Extension = json.loads(json.dumps(extension))
    spellings = updated.setdefault(table, {}).setdefault(field, {}).setdefault(to, [])
    if value not in spellings:
        spellings.append(value)
    return updated


def extend_dictionary(
    dictionary: Dictionary, extension: Mapping[str, Mapping[str, Mapping[str, list[str]]]]
) -> Dictionary:
    """The dictionary with the extension's spellings and values added (the dictionary itself is unchanged).

    A spelling already meaning another value keeps its first meaning (the dictionary's own synonyms win);
    entries for tables or fields the dictionary does not have are ignored.
    """
    if not extension:
        return dictionary
    tables = dict(dictionary.tables)
    for table_name, fields in extension.items():
        table = tables.get(table_name)
        if table is None:
            continue
        specs = list(table.fields)
        for position, spec in enumerate(specs):
            added = fields.get(spec.name)
            if not added or not mappable(spec):
                continue
            values = {canonical: tuple(synonyms) for canonical, synonyms in spec.values.items()}
            known = (
                {placeholder_key(w) for words in boolean_words(spec) for w in words}
                if spec.type is FieldType.BOOLEAN
                else set(category_lookup(spec))
            )
            for canonical, spellings in added.items():
                new = [
                    s
                    for s in spellings
                    if (placeholder_key(s) if spec.type is FieldType.BOOLEAN else normalise_token(s))
                    not in known
                ]
                values[canonical] = (*values.get(canonical, ()), *new)
            specs[position] = replace(spec, values=values)
        tables[table_name] = replace(table, fields=tuple(specs))
    return replace(dictionary, tables=tables)
