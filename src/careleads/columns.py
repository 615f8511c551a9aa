"""Columns: what the feature and scoring code reads a column as, whatever holds it.

A column is a pandas Series (a table: a batch chunk, a training set), a NumPy array or an Arrow array (one
record: length 1). The conversions here are the only ones the features and the model input use, so a lead
scored alone and the same lead scored in a file are read the same way: text as Arrow text (missing is null),
numbers as float64 (NaN missing), yes/no as 1.0/0.0/NaN and moments as UTC datetime64.

Text columns of few distinct values (tiers, actions, routes, notes) are built per value with Arrow, not per
row through Python objects: a batch chunk holds hundreds of thousands of leads but only a few distinct
values, so these helpers take the distinct values once and spread them over the rows with one Arrow
``take``. The result has the column type pandas itself gives a list of text, so frames compare equal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.errors import InputError
from careleads.types import FloatArray, IntArray

__all__ = [
    "BLANK",
    "FEW",
    "TEXT",
    "Text",
    "Column",
    "Columns",
    "arrow_text",
    "categories_by_code",
    "flags",
    "floats",
    "is_missing",
    "moments",
    "n_rows",
    "nonblank",
    "positions",
    "texts",
    "text_by_code",
    "text_column",
]

#: A column of a table (Series), or of one record (a NumPy or Arrow array of length 1)
Column: TypeAlias = pd.Series | npt.NDArray[Any] | pa.Array | pa.ChunkedArray
#: Feature or field columns by name: a table, or one record's one-value columns
Columns: TypeAlias = "pd.DataFrame | Mapping[str, Column]"
TEXT = pa.large_string()  # pandas' own text storage: Arrow text columns pass between the two without a copy
FEW = 16  # up to this many rows (one record, a few events), values are converted one by one


def is_missing(value: Any) -> bool:
    """Whether one value is missing: None, pandas' NA and NaT, or a float NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def arrow_text(column: Column) -> pa.Array:
    """Each value as text, missing values as null: ``column.astype("string")``, as one Arrow array.

    A categorical column converts its categories once and takes them by code; a column pandas already holds
    as Arrow text is passed on without a copy. Other values become text as pandas writes them (``str`` of
    the value: ``True``, ``3.5``).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.Array):
        return column if column.type == TEXT else column.cast(TEXT)
    if isinstance(column, pd.Series):
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = pa.array(pd.Series(column.cat.categories).astype("string"), type=TEXT)
            codes = column.cat.codes.to_numpy()
            return categories.take(pa.array(codes, mask=codes < 0))
        if not isinstance(column.dtype, pd.StringDtype):
            column = column.astype("string")
        return pa.array(column, type=TEXT)
    return pa.array([None if is_missing(v) else str(v) for v in column], type=TEXT)


#: Text values: an Arrow array (a table), or up to FEW values (one record) as a NumPy array of str and None
Text: TypeAlias = "pa.Array | npt.NDArray[np.object_]"


def texts(column: Column) -> Text:
    """Each value as text, missing as None: :func:`arrow_text`, or for a record's few values the same texts
    as a NumPy array (no Arrow call for one value)."""
    if isinstance(column, np.ndarray) and len(column) <= FEW:
        return np.array([None if is_missing(v) else str(v) for v in column], dtype=object)
    return arrow_text(column)


def _values(text: Text) -> list[Any]:
    values: list[Any] = text.tolist() if isinstance(text, np.ndarray) else text.to_pylist()
    return values


#: What counts as blank around a value: the characters Python's ``str.strip()`` removes (``str.isspace``)
BLANK = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def nonblank(column: Column) -> FloatArray:
    """1.0 where a value is given (not missing, not only blank characters), else 0.0."""
    text = texts(column)
    if len(text) <= FEW:
        return np.array([v is not None and v.strip(BLANK) != "" for v in _values(text)], dtype=np.float64)
    given = pc.fill_null(pc.not_equal(pc.utf8_trim(text, characters=BLANK), ""), False)
    return np.asarray(given.to_numpy(zero_copy_only=False), dtype=np.float64)


def floats(column: Column) -> FloatArray:
    """Numbers as float64, anything that is not a number as NaN (``pd.to_numeric(errors="coerce")``)."""
    if isinstance(column, np.ndarray | pd.Series) and column.dtype == np.float64:
        return np.asarray(column, dtype=np.float64)  # already numbers (feature columns are)
    if isinstance(column, np.ndarray) and len(column) <= FEW and all(_is_number(v) for v in column):
        # a record's clean numbers (or missing values): what to_numeric makes of them, without pandas
        return np.array([math.nan if is_missing(v) else float(v) for v in column], dtype=np.float64)
    if isinstance(column, pa.Array | pa.ChunkedArray):
        column = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    values = pd.to_numeric(column, errors="coerce")
    return np.asarray(values.astype("float64"), dtype=np.float64)


def flags(column: Column, *, name: str) -> FloatArray:
    """Yes/no values as 1.0 and 0.0, missing as NaN.

    Raises
    ------
    InputError
        When a value is not a yes/no value (clean records carry booleans).
    """
    if len(column) == 0:  # no values to read, whatever type the column was given
        return np.zeros(0, dtype=np.float64)
    if isinstance(column, np.ndarray) and len(column) <= FEW:  # one record: its values one by one
        return np.array([_flag(v, name) for v in column], dtype=np.float64)
    try:
        values = pa.array(column, from_pandas=True) if not isinstance(column, pa.Array) else column
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if values.null_count == len(values):  # all missing, whatever type the column was given (a text
            return np.full(len(values), np.nan)  # column of nulls from Spark, say)
        if not (
            pa.types.is_boolean(values.type)
            or pa.types.is_integer(values.type)
            or pa.types.is_floating(values.type)
            or pa.types.is_null(values.type)
        ):
            raise TypeError(values.type)
        number = pc.cast(values, pa.float64())
    except (TypeError, pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise InputError(
            f"{name}: values are not yes/no values; pass the lead's clean (ingested) fields"
        ) from None
    return np.asarray(number.to_numpy(zero_copy_only=False), dtype=np.float64)


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, int | float | np.integer | np.floating) or is_missing(value)


def _flag(value: Any, name: str) -> float:
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | int | float | np.bool_ | np.number):
        return float(value)
    raise InputError(f"{name}: values are not yes/no values; pass the lead's clean (ingested) fields")


def positions(text: Text, values: Sequence[str]) -> IntArray:
    """Each text's position in `values` (distinct texts); -1 for any other text or a missing one.

    The one lookup of a value in a list of known values (event types, model levels, points keys). Up to
    :data:`FEW` texts (one record) are looked up one by one; more through an Arrow hash table.
    """
    if len(text) <= FEW:
        where = _where(values)
        return np.array([where.get(v, -1) if v is not None else -1 for v in _values(text)], dtype=np.int64)
    if isinstance(text, np.ndarray):
        text = arrow_text(text)
    found = pc.index_in(text, value_set=pa.array(list(values), type=TEXT))
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


_WHERE: dict[int, tuple[Sequence[str], dict[str, int]]] = {}


def _where(values: Sequence[str]) -> dict[str, int]:
    """The positions of `values`, kept per list object (a model's levels are looked up on every request)."""
    found = _WHERE.get(id(values))
    if found is None or found[0] is not values:
        if len(_WHERE) > 4096:
            _WHERE.clear()
        found = _WHERE[id(values)] = (values, {v: i for i, v in enumerate(values)})
    return found[1]


def moments(column: Column) -> npt.NDArray[np.datetime64]:
    """Moments as UTC datetime64 without a time zone (the form ingest stores), NaT where missing."""
    if isinstance(column, pa.Array | pa.ChunkedArray):
        column = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    if isinstance(column, np.ndarray) and column.dtype.kind == "M":
        return column
    if isinstance(column, np.ndarray) and all(isinstance(v, datetime) or is_missing(v) for v in column):
        # moments already parsed (a record's fields, a store's rows): each as UTC, without pandas' parser
        return np.array([_utc(v) for v in column], dtype="datetime64[us]")
    stamps = pd.to_datetime(column)
    if getattr(stamps, "tz", None) is not None:
        stamps = stamps.tz_convert(None)
    elif isinstance(stamps, pd.Series) and stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert(None)
    return np.asarray(stamps, dtype="datetime64[us]")


_NAT = np.datetime64("NaT", "us")


def _utc(value: Any) -> np.datetime64:
    if value is None or value is pd.NaT:
        return _NAT
    if type(value) is datetime and value.tzinfo is None:  # as a store returns them: UTC already
        return np.datetime64(value, "us")
    stamp = value if isinstance(value, pd.Timestamp) else pd.Timestamp(value)
    if stamp.tz is not None:
        stamp = stamp.tz_convert(None)
    moment: np.datetime64 = stamp.as_unit("us").to_datetime64()
    return moment


def n_rows(columns: Columns) -> int:
    """How many rows `columns` holds (a table's length, or the length of a record's columns)."""
    if isinstance(columns, pd.DataFrame):
        return len(columns)
    for column in columns.values():
        return len(column)
    return 0


def text_by_code(values: Sequence[str | None], codes: npt.NDArray[Any]) -> pd.Series:
    """``pd.Series([values[c] for c in codes])`` (text, None missing), built by an Arrow take, not per row."""
    taken = pa.array(values, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))
    if _TEXT_DTYPE == np.dtype(object):  # pandas before 3 keeps text as Python objects
        return pd.Series(taken.to_pandas(), dtype=object)
    return pd.Series(taken.to_pandas(types_mapper={pa.large_string(): _TEXT_DTYPE}.get))


def categories_by_code(values: Sequence[str | None], codes: npt.NDArray[Any]) -> pd.Series:
    """``text_by_code(values, codes)`` as a categorical column: the codes kept, no text spread over the rows.

    For a batch file: Arrow and Parquet then write the column as a dictionary of its distinct values and
    the rows' indices into it, without hashing every row's text again. `values` may repeat (several routes
    share a queue) and hold None (missing).
    """
    position: dict[str, int] = {}
    remap = np.array(
        [-1 if v is None else position.setdefault(v, len(position)) for v in values], dtype=np.int32
    )
    dtype = pd.CategoricalDtype(pd.Index(list(position), dtype=_TEXT_DTYPE))
    return pd.Series(pd.Categorical.from_codes(remap[np.asarray(codes, dtype=np.intp)], dtype=dtype))


def text_column(values: npt.NDArray[Any]) -> pd.Series:
    """``pd.Series(values.tolist())`` for a text column of few distinct values (None missing), per value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct: list[str | None] = [*uniques.tolist(), None]  # code -1 (missing) picks the last, None
    return text_by_code(distinct, np.where(codes < 0, len(distinct) - 1, codes))


_TEXT_DTYPE = pd.Series(["text"]).dtype  # what pandas makes of a list of text (the column type to match)


# ------------------------------------------------------------------------------------------ text at the door

#: what stands in for a character that is not text (Unicode's replacement character)
REPLACEMENT = "\ufffd"
# characters no store, page or JSON answer can hold: NUL (PostgreSQL refuses it in text) and an unpaired
# surrogate (a JSON body may carry one as an escape; it cannot be encoded as UTF-8); a Python string holds
# surrogates only unpaired
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def repaired_text(value: str) -> str | None:
    """`value` with every NUL and unpaired surrogate replaced by U+FFFD; None when it holds none.

    Examples
    --------
    >>> repaired_text("chest pain \\ud800 now"), repaired_text("fine")
    ('chest pain \\ufffd now', None)
    """
    return _NOT_TEXT.sub(REPLACEMENT, value) if _NOT_TEXT.search(value) else None


def repaired_record(record: Any) -> tuple[Any, list[str]]:
    """A JSON value with every text repaired (:func:`repaired_text`), keys included, and the keys of the
    top-level object whose name or value changed (as repaired), so a caller can say which field it was.

    Examples
    --------
    >>> repaired_record({"id": "a\\x00b", "note": "ok", "n": 3})
    ({'id': 'a\\ufffdb', 'note': 'ok', 'n': 3}, ['id'])
    """
    if isinstance(record, Mapping):
        return _repaired_items(record)
    return _repaired(record)[0], []


def _repaired_items(record: Mapping[Any, Any]) -> tuple[dict[Any, Any], list[str]]:
    """An object's keys and values repaired, and the keys whose name or value changed."""
    out: dict[Any, Any] = {}
    changed: list[str] = []
    for key, item in record.items():
        name, bad_name = _repaired(key)
        out[name], bad_value = _repaired(item)
        if bad_name or bad_value:
            changed.append(str(name))
    return out, changed


def _repaired(value: Any) -> tuple[Any, bool]:
    """A value (any JSON shape) repaired, and whether anything in it changed."""
    if isinstance(value, str):
        fixed = repaired_text(value)
        return (value, False) if fixed is None else (fixed, True)
    if isinstance(value, Mapping):
        out, changed = _repaired_items(value)
        return out, bool(changed)
    if isinstance(value, list | tuple):
        items = [_repaired(item) for item in value]
        return [item for item, _ in items], any(bad for _, bad in items)
    return value, False
