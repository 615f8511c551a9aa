"""Matching keys and the dictionary's vocabulary: column names, placeholders, yes/no words, synonyms, dtypes.

What a field's values are compared with, worked out from its spec; reading the values themselves is the
field's rule (``careleads.dictionary._rule``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from careleads.dictionary._schema import FieldSpec, FieldType, TableSpec
from careleads.errors import InputError

_NON_ALNUM = re.compile(r"[\W_]+")

TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "yes", "y", "1", "1.0", "on", "checked"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "no", "n", "0", "0.0", "off", "unchecked"})


def normalise_token(text: str) -> str:
    """Return the matching key of a name or value: accents, case, spaces and punctuation removed.

    Parameters
    ----------
    text : str
        A column name, category value or synonym as written.

    Returns
    -------
    str
        Lower-case letters and digits only; ``&`` counts as ``and``.

    Examples
    --------
    >>> normalise_token("Women's Health") == normalise_token("womens_health")
    True
    >>> normalise_token("Bone & Joint")
    'boneandjoint'
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and "))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", plain.casefold())


_NAME_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_tokens(text: str) -> list[str]:
    """Return the words of a column name or value: split on case changes, digits, spaces and punctuation.

    Examples
    --------
    >>> name_tokens("hasAsthma"), name_tokens("ICD10code"), name_tokens("Mental Health-History")
    (['has', 'asthma'], ['icd', '10', 'code'], ['mental', 'health', 'history'])
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [word.lower() for word in _NAME_WORD.findall(plain)]


def placeholder_key(text: str) -> str:
    """Return the key under which a missing-value placeholder is compared: stripped, case-folded.

    Punctuation is kept because placeholders such as ``"-"`` and ``"?"`` consist of nothing else.
    (``str.lower``, not ``casefold``, to agree with pandas' vectorised ``.str.lower()``.)
    """
    return text.strip().lower()


def placeholders_for(spec: FieldSpec, global_missing: Iterable[str]) -> frozenset[str]:
    """Return the placeholder keys of a field: global plus field-level, minus the field's own values.

    A field whose canonical values or synonyms include a global placeholder (a campaign called
    ``none``) keeps that value: the field's own vocabulary wins over the global list.
    """
    keys = {placeholder_key(value) for value in (*global_missing, *spec.missing_values)}
    own = {
        placeholder_key(value)
        for canonical, synonyms in spec.values.items()
        for value in (canonical, *synonyms)
    }
    return frozenset(keys - own)


def match_columns(columns: Sequence[str], table: TableSpec, source: str) -> dict[str, str]:
    """Map the columns of a file to canonical field names through names and aliases.

    Matching ignores case, spaces and punctuation (``"Service Line"`` finds ``service_line``).

    Parameters
    ----------
    columns : sequence of str
        The column names as read from the file.
    table : TableSpec
        The table of the dictionary the file should hold.
    source : str
        The file name, for error messages.

    Returns
    -------
    dict of str to str
        Raw column name -> canonical field name, for the columns that match a field.

    Raises
    ------
    InputError
        If two columns of the file match the same field.
    """
    lookup: dict[str, str] = {}
    for spec in table.fields:
        for name in (spec.name, *spec.aliases):
            lookup.setdefault(normalise_token(name), spec.name)
    mapping: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for column in columns:
        canonical = lookup.get(normalise_token(str(column)))
        if canonical is None:
            continue
        if canonical in claimed:
            raise InputError(
                f"{source}: columns {claimed[canonical]!r} and {column!r} both match the field {canonical!r} "
                f"of table {table.name!r}; remove or rename one of them"
            )
        claimed[canonical] = str(column)
        mapping[str(column)] = canonical
    return mapping


@dataclass(frozen=True)
class ColumnMatch:
    """How the columns of a file (or the keys of a record) map onto a table of the dictionary.

    Attributes
    ----------
    mapping : dict of str to str
        Column -> canonical field name, for the columns that match a field.
    unknown : tuple of str
        Columns that match no field, in input order.
    missing : tuple of str
        Fields of the table that no column matches (none of them required), in dictionary order.
    """

    mapping: dict[str, str]
    unknown: tuple[str, ...]
    missing: tuple[str, ...]


def match_table(columns: Sequence[str], table: TableSpec, source: str) -> ColumnMatch:
    """Match the columns of a file (or the keys of a record) to a table's fields; refuse what cannot be read.

    Parameters
    ----------
    columns : sequence of str
        The column names as read (or a record's keys).
    table : TableSpec
        The table of the dictionary they should hold.
    source : str
        The file name, for error messages.

    Returns
    -------
    ColumnMatch
        Matched, unknown and missing columns.

    Raises
    ------
    InputError
        If a column name appears twice, two columns match one field (see :func:`match_columns`), or a
        required field (or the key) has no column.
    """
    names = [str(column) for column in columns]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InputError(f"{source}: the column name(s) {repeated} appear more than once; rename them")
    mapping = match_columns(names, table, source)
    claimed = set(mapping.values())
    missing = tuple(spec.name for spec in table.fields if spec.name not in claimed)
    missing_required = [n for n in missing if table.field(n).required or n == table.key]
    if missing_required:
        raise InputError(
            f"{source}: no column for the required field(s) {', '.join(missing_required)} of table "
            f"{table.name!r} (columns found: {', '.join(names) or 'none'}); rename the column, add its "
            "name to the field's aliases in the dictionary, or describe this file with "
            "`careleads dictionary infer`"
        )
    return ColumnMatch(
        mapping=mapping, unknown=tuple(name for name in names if name not in mapping), missing=missing
    )


def boolean_words(spec: FieldSpec) -> tuple[frozenset[str], frozenset[str]]:
    """Return the placeholder keys read as true and as false for a boolean field.

    The defaults (yes/no, y/n, true/false, 1/0, on/off) are extended by the field's ``values``
    (``{"true": [...], "false": [...]}``).
    """
    extra_true = {placeholder_key(v) for v in spec.values.get("true", ())}
    extra_false = {placeholder_key(v) for v in spec.values.get("false", ())}
    return frozenset(TRUE_WORDS | extra_true), frozenset(FALSE_WORDS | extra_false)


def category_lookup(spec: FieldSpec) -> dict[str, str]:
    """Return the matching key -> canonical value table of a category field."""
    lookup: dict[str, str] = {}
    for canonical, synonyms in spec.values.items():
        for value in (canonical, *synonyms):
            lookup.setdefault(normalise_token(value), canonical)
    return lookup


def target_dtype(spec: FieldSpec) -> ExtensionDtype | np.dtype[np.generic]:
    """Return the pandas dtype of a field in the clean frame.

    ``float64`` for numbers, ``datetime64[us]`` (naive UTC) for datetimes, ``boolean`` for yes/no,
    ``category`` (the canonical values, in dictionary order) for closed category lists, ``string`` otherwise.
    """
    if spec.type is FieldType.NUMBER:
        return np.dtype("float64")
    if spec.type is FieldType.DATETIME:
        return np.dtype("datetime64[us]")
    if spec.type is FieldType.BOOLEAN:
        return pd.BooleanDtype()
    if spec.type is FieldType.CATEGORY and spec.is_closed:
        return pd.CategoricalDtype(categories=list(spec.values), ordered=False)
    return pd.StringDtype()


def empty_column(spec: FieldSpec, n_rows: int) -> pd.Series:
    """Return an all-missing column of the field's clean dtype."""
    return pd.Series([None] * n_rows, dtype=object).astype(target_dtype(spec))


__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "ColumnMatch",
    "boolean_words",
    "category_lookup",
    "empty_column",
    "match_columns",
    "match_table",
    "name_tokens",
    "normalise_token",
    "placeholder_key",
    "placeholders_for",
    "target_dtype",
]
