"""Checking a table against the dictionary: clean rows in, bad rows quarantined with their reasons.

Each column's distinct values are read by the field's rule (``_rule.FieldRule``), the one that also reads
a single record. Nothing is silently dropped: every row read is either stored (``clean``) or quarantined
with its reasons, and ``n_stored + n_quarantined == n_read`` holds for every result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.dictionary._flags import action_for, refuses_many, unreadable_values
from careleads.dictionary._normalise import empty_column, match_table, target_dtype
from careleads.dictionary._read import read_table
from careleads.dictionary._rule import (
    BLANK_ROW,
    BLANK_ROW_MESSAGE,
    MISSING_REQUIRED,
    BoolArray,
    FieldRule,
    Problem,
    strip_texts,
)
from careleads.dictionary._schema import Dictionary, FieldSpec, FieldType, Sensitivity, TableSpec
from careleads.types import JSONDict, PathLikeStr

IntArray = npt.NDArray[np.intp]

QUARANTINE_COLUMNS: tuple[str, ...] = ("_source", "_row", "_field", "_reason")
FLAGGED_COLUMNS: tuple[str, ...] = ("_source", "_row", "_field", "_kind", "_value", "_reason", "_action")
# spreadsheet row of the first data row: the header is row 1
_FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class IngestSummary:
    """Counts of one ingest: what was read, stored and quarantined, and why.

    Attributes
    ----------
    source, table : str
        The file (or frame) name and the dictionary table it was checked against.
    n_read, n_stored, n_quarantined : int
        Data rows read, stored in ``clean`` and sent to ``quarantine``; the last two add up to the first.
    reasons : dict of str to int
        Problem kind (``missing_required``, ``unparsable_datetime``, ``unparsable_number``,
        ``out_of_range``, ``unparsable_boolean``, ``unknown_category``, ``duplicate_key``, ``blank_row``)
        -> number of quarantined rows with that problem.
    field_reasons : dict of str to int
        ``"<field>: <kind>"`` -> number of quarantined rows with that problem in that field.
    unknown_columns : tuple of str
        Columns of the input that match no dictionary field; kept in ``clean`` as text.
    missing_columns : tuple of str
        Optional dictionary fields absent from the input; present in ``clean`` as all-missing columns.
    renamed_columns : dict of str to str
        Input column -> canonical field name, for the columns whose name changed.
    n_placeholders : dict of str to int
        Field -> values read as missing because they were placeholders such as "Select" (empty cells
        not counted).
    n_normalised : dict of str to int
        Field -> category values rewritten to their canonical spelling.
    n_flagged : int
        Stored rows with at least one flagged value (kept, the value read as missing; see ``flagged``).
    flagged_reasons : dict of str to int
        ``"<field>: <kind>"`` -> number of flagged values of that kind in that field.
    """

    source: str
    table: str
    n_read: int
    n_stored: int
    n_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    field_reasons: dict[str, int] = field(default_factory=dict)
    unknown_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    renamed_columns: dict[str, str] = field(default_factory=dict)
    n_placeholders: dict[str, int] = field(default_factory=dict)
    n_normalised: dict[str, int] = field(default_factory=dict)
    n_flagged: int = 0
    flagged_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> JSONDict:
        """Return the summary as plain JSON-ready data."""
        return {
            "source": self.source,
            "table": self.table,
            "n_read": self.n_read,
            "n_stored": self.n_stored,
            "n_quarantined": self.n_quarantined,
            "reasons": dict(self.reasons),
            "field_reasons": dict(self.field_reasons),
            "unknown_columns": list(self.unknown_columns),
            "missing_columns": list(self.missing_columns),
            "renamed_columns": dict(self.renamed_columns),
            "n_placeholders": dict(self.n_placeholders),
            "n_normalised": dict(self.n_normalised),
            "n_flagged": self.n_flagged,
            "flagged_reasons": dict(self.flagged_reasons),
        }


@dataclass(frozen=True)
class IngestResult:
    """The outcome of checking one table against the dictionary.

    Attributes
    ----------
    clean : pandas.DataFrame
        Stored rows: canonical column names in dictionary order (then unknown columns), canonical category
        values and parsed types (``datetime64[us]`` naive UTC, ``float64``, ``boolean``, ``category`` for
        closed value lists, ``string`` otherwise). Index 0..n_stored-1.
    quarantine : pandas.DataFrame
        Quarantined rows: ``_source``, ``_row`` (spreadsheet row number, header = 1), ``_field`` and
        ``_reason`` (several joined by ``"; "``), then the original values as text.
    summary : IngestSummary
        The counts.
    flagged : pandas.DataFrame
        One row per value of a stored row that the dictionary could not read (the row is kept and the value
        is missing in ``clean``): ``_source``, ``_row``, ``_field``, ``_kind``, ``_value`` (as written;
        missing for direct identifiers), ``_reason`` and ``_action`` (what to do).
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    summary: IngestSummary
    flagged: pd.DataFrame = field(default_factory=lambda: empty_flagged())


def empty_flagged() -> pd.DataFrame:
    """A flagged-values table with no rows."""
    return pd.DataFrame(
        {name: pd.Series([], dtype="int64" if name == "_row" else "string") for name in FLAGGED_COLUMNS}
    )


@dataclass
class _Column:
    """One input column after parsing: clean values plus row-level findings."""

    values: pd.Series
    raw_empty: BoolArray
    problems: list[tuple[str, IntArray, npt.NDArray[np.object_]]]
    n_placeholders: int
    n_normalised: int


def _text_uniques(uniques: pd.Index) -> pd.Series:
    """Distinct values of a column as stripped text (typed Parquet values are written out first)."""
    series = pd.Series(uniques, copy=False).reset_index(drop=True)
    if not (pd.api.types.is_string_dtype(series.dtype) and series.dtype != object):
        series = series.astype(str)
    stripped = strip_texts(pa.array(series, type=pa.large_string(), from_pandas=True))
    return pd.Series(pd.arrays.ArrowStringArray(stripped), copy=False)


def _typed_uniques(uniques: pd.Index, spec: FieldSpec) -> pd.Series | None:
    """Distinct values already stored with the field's type (Parquet), or None when they are text."""
    series = pd.Series(uniques, copy=False).reset_index(drop=True)
    dtype = series.dtype
    if (
        spec.type is FieldType.NUMBER
        and pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ):
        return series.astype("float64")
    if spec.type is FieldType.DATETIME and pd.api.types.is_datetime64_any_dtype(dtype):
        return series
    if spec.type is FieldType.BOOLEAN and pd.api.types.is_bool_dtype(dtype):
        return series.astype("boolean")
    return None


def _distinct(raw: pd.Series, spec: FieldSpec) -> tuple[IntArray, Any]:
    """Each row's code among the column's values, and the values (``pd.factorize``'s answer, missing -1).

    Free text, identifiers and date-times are nearly all distinct: hashing them only costs time, so each
    present row is its own value there (every later step gives the same per-row result either way; tested).
    A category, yes/no or number column read as a dictionary takes its values from the dictionary.
    """
    nearly_distinct = (FieldType.TEXT, FieldType.IDENTIFIER, FieldType.DATETIME)
    if (
        isinstance(raw.dtype, pd.CategoricalDtype)
        and isinstance(raw.dtype.categories.dtype, pd.StringDtype)
        and spec.type in _ORDER_FREE
    ):
        return _dictionary_codes(raw)
    if spec.type in nearly_distinct and isinstance(raw.dtype, pd.StringDtype):
        present = raw.notna().to_numpy(dtype=bool)
        codes = np.full(len(raw), -1, dtype=np.intp)
        codes[present] = np.arange(int(present.sum()), dtype=np.intp)
        return codes, raw[present].array
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), uniques


def _dictionary_codes(raw: pd.Series) -> tuple[IntArray, pd.Index]:
    """A text column read as a dictionary (pandas categorical): its codes, and the values rows hold.

    The values come in the dictionary's order rather than in order of first appearance, which only field
    types whose parsing looks at each value alone (`_ORDER_FREE`) may take. Values no row holds (a Parquet
    dictionary covers a whole row group) are left out, as factorizing the text would leave them out.
    """
    codes = np.asarray(raw.cat.codes, dtype=np.intp)
    values = raw.cat.categories
    counts = np.bincount(codes[codes >= 0], minlength=len(values))
    if counts.all():
        return codes, values
    held = np.flatnonzero(counts)
    renumber = np.full(len(values) + 1, -1, dtype=np.intp)  # the last slot keeps missing (-1) missing
    renumber[held] = np.arange(len(held), dtype=np.intp)
    return renumber[codes], values[held]


def repeats_values(spec: FieldSpec) -> bool:
    """Whether a field's values repeat across rows (a category, yes/no or a number).

    Such a text column may be read as an Arrow dictionary array (pandas categorical), which a Parquet
    file often stores already: ingest then takes its distinct values from the dictionary instead of
    hashing every row, and gives the same result.
    """
    return spec.type in _ORDER_FREE


@dataclass(frozen=True)
class _Distinct:
    """What a column's distinct values say, each value once: empty, placeholder, parsed, its problems."""

    empty: BoolArray  # per distinct value
    placeholder: BoolArray
    present_index: IntArray  # distinct values that are neither empty nor a placeholder
    good_index: IntArray  # those that parsed without a problem
    good: pd.Series  # their parsed values, in `good_index` order
    found: list[Problem]  # per present value
    changed: BoolArray | None  # per present value, for a category: normalisation changed it


# Field types whose parsing looks at each distinct value alone (dates are not among them: a format is guessed
# from the first value that ISO 8601 does not read), so their distinct values may come in any order.
_ORDER_FREE = (FieldType.CATEGORY, FieldType.BOOLEAN, FieldType.NUMBER)
# Columns with at most this many distinct text values remember what each set of values gave: a batch run
# sees the same few dozen values of a category in every chunk.
_REMEMBERED_VALUES = 256
_REMEMBERED_SETS = 512
_remembered: dict[tuple[int, frozenset[str], tuple[str, ...]], tuple[FieldSpec, _Distinct]] = {}


def _analyse_distinct(uniques: Any, rule: FieldRule) -> _Distinct:
    """The field's rule on a column's distinct values: which are empty or placeholders, what others say."""
    n_unique = len(uniques)
    typed = _typed_uniques(uniques, rule.spec)
    if typed is not None:
        text = typed.astype("string")
        empty_u = np.zeros(n_unique, dtype=bool)
        placeholder_u = np.zeros(n_unique, dtype=bool)
    else:
        text = _text_uniques(uniques)
        empty_u = (text == "").to_numpy(dtype=bool, na_value=True)
        placeholder_u = rule.placeholder_mask(text) & ~empty_u
    present_index = np.flatnonzero(~(empty_u | placeholder_u))
    present = text.array[present_index]
    if typed is not None:
        parsed, found = rule.parse(typed.array[present_index], shown=present)
    else:
        parsed, found = rule.parse(present)
    rejected = np.zeros(len(present_index), dtype=bool)
    for problem in found:
        rejected |= problem.bad
    changed = None
    if rule.spec.type is FieldType.CATEGORY and rule.spec.values and len(present_index):
        changed = np.asarray(parsed, dtype=object) != np.asarray(present, dtype=object)
    return _Distinct(
        empty=empty_u,
        placeholder=placeholder_u,
        present_index=present_index,
        good_index=present_index[~rejected],
        good=pd.Series(parsed[~rejected], copy=False),
        found=found,
        changed=changed,
    )


def _distinct_analysis(codes: IntArray, uniques: Any, rule: FieldRule) -> tuple[IntArray, _Distinct]:
    """`_analyse_distinct` of the column's distinct values, remembered for a few text values.

    Remembered values are sorted first (and the row codes renumbered), so that a chunk holding the same
    values in another order finds them; only for field types whose parsing is per value.
    """
    spec = rule.spec
    if (
        spec.type not in _ORDER_FREE
        or len(uniques) > _REMEMBERED_VALUES
        or not isinstance(getattr(uniques, "dtype", None), pd.StringDtype)  # factorized: no missing value
    ):
        return codes, _analyse_distinct(uniques, rule)
    values = [str(v) for v in uniques]
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values) + 1, dtype=np.intp)
    rank[order] = np.arange(len(values), dtype=np.intp)
    rank[-1] = -1  # missing stays missing
    key = (id(spec), rule.placeholders, tuple(values[k] for k in order))
    entry = _remembered.get(key)
    if entry is None or entry[0] is not spec:  # `spec` itself is kept, so its id is not reused meanwhile
        if len(_remembered) >= _REMEMBERED_SETS:
            _remembered.clear()
        ordered = uniques.take(np.asarray(order, dtype=np.intp))
        entry = (spec, _analyse_distinct(ordered, rule))
        _remembered[key] = entry
    return rank[codes], entry[1]


def _ingest_column(raw: pd.Series, rule: FieldRule) -> _Column:
    """One column through its field's rule: clean values (missing where rejected) and problems per row."""
    spec = rule.spec
    codes, uniques = _distinct(raw, spec)
    n_unique = len(uniques)
    codes, distinct = _distinct_analysis(codes, uniques, rule)
    counts = np.bincount(codes[codes >= 0], minlength=n_unique)
    empty_u, placeholder_u = distinct.empty, distinct.placeholder
    missing_u = empty_u | placeholder_u
    present_index, good_index, good = distinct.present_index, distinct.good_index, distinct.good

    dtype = target_dtype(spec)
    # rejected values are quarantined with their rows; in the clean column they are simply missing
    # row -> position of its distinct value among the good ones; -1 (missing or rejected) gives NA
    good_of = np.full(n_unique + 1, -1, dtype=np.int64)
    if isinstance(dtype, pd.CategoricalDtype):
        good_of[good_index] = dtype.categories.get_indexer(pd.Index(good.astype(str)))
        values = pd.Series(pd.Categorical.from_codes(good_of[codes], dtype=dtype))
    else:
        good_of[good_index] = np.arange(len(good_index))
        # one take per row from the parsed distinct values (code -1 looks up the last slot, -1)
        positions = good_of[codes]
        array = good.astype(dtype).array
        if len(positions) == len(array) and (positions == np.arange(len(positions))).all():
            values = pd.Series(array)  # every row its own good value, in order (a text column, typically)
        else:
            values = pd.Series(array.take(positions, allow_fill=True))

    problems: list[tuple[str, IntArray, npt.NDArray[np.object_]]] = []
    for problem in distinct.found:
        _add_problem(problems, problem, present_index, n_unique, codes)
    if rule.required:
        # code -1 (missing) looks up the appended True; a column with no value at all has no distinct values
        missing_rows = np.flatnonzero(np.append(missing_u, True)[codes])
        messages = np.full(len(missing_rows), rule.missing_message, dtype=object)
        problems.append((MISSING_REQUIRED, missing_rows, messages))

    n_normalised = 0
    if distinct.changed is not None:
        n_normalised = int(counts[present_index][distinct.changed].sum())
    raw_empty = np.append(empty_u, True)[codes]
    return _Column(
        values=values,
        raw_empty=raw_empty,
        problems=problems,
        n_placeholders=int(counts[placeholder_u].sum()),
        n_normalised=n_normalised,
    )


def _add_problem(
    problems: list[tuple[str, IntArray, npt.NDArray[np.object_]]],
    problem: Problem,
    present_index: IntArray,
    n_unique: int,
    codes: IntArray,
) -> None:
    if not problem.bad.any():
        return
    bad_u = np.zeros(n_unique + 1, dtype=bool)
    bad_u[present_index[problem.bad]] = True
    messages_u = np.full(n_unique + 1, "", dtype=object)
    messages_u[present_index[problem.bad]] = problem.messages[problem.bad]
    safe_codes = np.where(codes < 0, n_unique, codes)
    rows = np.flatnonzero(bad_u[safe_codes])
    problems.append((problem.kind, rows, messages_u[safe_codes[rows]]))


def _duplicate_problem(
    keys: pd.Series, key: str, valid: BoolArray
) -> tuple[str, IntArray, npt.NDArray[np.object_]] | None:
    """Later copies of a key among rows that are otherwise fine (the first good copy is stored)."""
    positions = np.flatnonzero(valid & keys.notna().to_numpy())
    candidates = keys.iloc[positions].astype(str).reset_index(drop=True)
    repeated = candidates.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return None
    first = pd.Index(candidates[~repeated])
    first_rows = positions[~repeated][first.get_indexer(pd.Index(candidates[repeated]))] + _FIRST_DATA_ROW
    messages = (
        f"{key}: duplicate key '"
        + candidates[repeated]
        + "' (first stored on row "
        + pd.Series(first_rows, index=candidates[repeated].index).astype(str)
        + ")"
    )
    return "duplicate_key", positions[repeated], messages.to_numpy(dtype=object)


def _join_per_row(rows: IntArray, texts: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Join the texts of each run of equal, sorted row numbers with "; " (one result per distinct row)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=object)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    pieces = texts.copy()
    later = np.ones(len(rows), dtype=bool)
    later[starts] = False
    pieces[later] = "; " + pieces[later]
    joined: npt.NDArray[np.object_] = np.add.reduceat(pieces, starts)
    return joined


def ingest_table(
    frame: pd.DataFrame,
    dictionary: Dictionary,
    table: str,
    *,
    source: str | None = None,
    strict: bool = False,
) -> IngestResult:
    """Check a table against the dictionary: normalise the rows, flag what cannot be read, quarantine the
    rows that cannot be identified.

    Columns are matched to fields by name or alias, ignoring case, spaces and punctuation. Values equal
    to a missing-value placeholder (global or field-level, case-insensitive, stripped) become missing.
    A row is quarantined, once, with all its reasons joined by ``"; "``, when it cannot be identified or
    placed in time (:func:`careleads.dictionary.refuses`): a missing required or key value, an unreadable
    key or time column, a key already stored (later copies), or a blank row. Any other value the field's
    rule cannot read (an unparsable date-time, number or yes/no value, a number outside the field's range,
    a value outside a closed category list) is missing in ``clean`` and listed in ``flagged``; its row is
    kept. Columns unknown to the dictionary are kept as text and listed in the summary.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read by :func:`read_table` (text columns; typed Parquet columns are accepted).
    dictionary : Dictionary
        The data dictionary.
    table : str
        The dictionary table the frame holds (``"leads"``, ``"events"``, ...).
    source : str, optional
        Name shown in ``_source`` and messages; default ``frame.attrs["source"]`` or ``"<data frame>"``.
    strict : bool
        Quarantine a row for any problem, flagged kinds included (for files whose every value must be
        read, such as training data checked before a release).

    Returns
    -------
    IngestResult
        ``clean``, ``quarantine``, ``summary`` and ``flagged``.

    Raises
    ------
    DictionaryError
        If the dictionary has no such table.
    InputError
        If a required field has no column, or two columns match one field.

    Examples
    --------
    >>> import pandas as pd
    >>> from careleads.dictionary import load_dictionary
    >>> frame = pd.DataFrame({"Lead ID": ["L1", "L1"], "Created Date": ["2025-03-04", "2025-03-05"],
    ...                       "Specialty": ["Ortho", "Derm"]})
    >>> result = ingest_table(frame, load_dictionary(), "leads", source="leads.csv")
    >>> result.clean["service_line"].tolist(), result.quarantine["_reason"].tolist()
    (['orthopedics'], ["lead_id: duplicate key 'L1' (first stored on row 2)"])
    """
    spec = dictionary.table(table)
    name = source if source is not None else str(frame.attrs.get("source", "<data frame>"))
    n_read = len(frame)
    columns = [str(column) for column in frame.columns]
    matched = match_table(columns, spec, name)
    data = frame.set_axis(columns, axis="columns").reset_index(drop=True)
    mapping = matched.mapping
    column_of = {canonical: raw for raw, canonical in mapping.items()}

    clean: dict[str, pd.Series] = {}
    blank = np.ones(n_read, dtype=bool)
    rows: list[IntArray] = []
    orders: list[IntArray] = []
    fields: list[npt.NDArray[np.object_]] = []
    kinds: list[npt.NDArray[np.object_]] = []
    messages: list[npt.NDArray[np.object_]] = []
    n_placeholders: dict[str, int] = {}
    n_normalised: dict[str, int] = {}

    def record(
        order: int, field_name: str, kind: str, where: IntArray, text: npt.NDArray[np.object_]
    ) -> None:
        rows.append(where)
        orders.append(np.full(len(where), order, dtype=np.intp))
        fields.append(np.full(len(where), field_name, dtype=object))
        kinds.append(np.full(len(where), kind, dtype=object))
        messages.append(text)

    for order, field_spec in enumerate(spec.fields):
        if field_spec.name not in column_of:
            clean[field_spec.name] = empty_column(field_spec, n_read)
            continue
        rule = FieldRule(
            field_spec, dictionary.missing_values, required=field_spec.required or field_spec.name == spec.key
        )
        parsed = _ingest_column(data[column_of[field_spec.name]], rule)
        clean[field_spec.name] = parsed.values
        blank &= parsed.raw_empty
        for kind, where, text in parsed.problems:
            record(order, field_spec.name, kind, where, text)
        if parsed.n_placeholders:
            n_placeholders[field_spec.name] = parsed.n_placeholders
        if parsed.n_normalised:
            n_normalised[field_spec.name] = parsed.n_normalised
    for column in matched.unknown:
        extra = _ingest_column(
            data[column], FieldRule(FieldSpec(column, FieldType.TEXT), dictionary.missing_values)
        )
        clean[column] = extra.values
        blank &= extra.raw_empty

    if blank.any():
        # a blank line is one problem, not one per required field
        if rows:
            keep = ~blank[np.concatenate(rows)]
            rows = [np.concatenate(rows)[keep]]
            orders = [np.concatenate(orders)[keep]]
            fields = [np.concatenate(fields)[keep]]
            kinds = [np.concatenate(kinds)[keep]]
            messages = [np.concatenate(messages)[keep]]
        record(
            -1,
            "",
            BLANK_ROW,
            np.flatnonzero(blank),
            np.full(int(blank.sum()), BLANK_ROW_MESSAGE, dtype=object),
        )
    problem_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    problem_refuses = (
        np.ones(len(problem_rows), dtype=bool)
        if strict or not rows
        else refuses_many(spec, np.concatenate(fields), np.concatenate(kinds))
    )
    refused = np.zeros(n_read, dtype=bool)
    refused[problem_rows[problem_refuses]] = True
    if spec.key is not None and spec.key in column_of:
        duplicate = _duplicate_problem(clean[spec.key], spec.key, ~refused)
        if duplicate is not None:
            record(spec.names.index(spec.key), spec.key, *duplicate)
            refused[duplicate[1]] = True

    found = pd.DataFrame(
        {
            "row": np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp),
            "order": np.concatenate(orders) if orders else np.zeros(0, dtype=np.intp),
            "field": np.concatenate(fields) if fields else np.zeros(0, dtype=object),
            "kind": np.concatenate(kinds) if kinds else np.zeros(0, dtype=object),
            "message": np.concatenate(messages) if messages else np.zeros(0, dtype=object),
        }
    ).sort_values(["row", "order"], kind="stable")
    kept_problem = ~refused[found["row"].to_numpy(dtype=np.intp)]
    flagged = _flagged_frame(found[kept_problem], data, column_of, spec, name)
    kept_found = found[kept_problem]
    for field_name, value in unreadable_values(spec, sorted(set(kept_found["field"].astype(str)))).items():
        rows_hit = kept_found.loc[kept_found["field"] == field_name, "row"].to_numpy(dtype=np.intp)
        cautious = pd.Series(clean[field_name]).copy()
        cautious.iloc[rows_hit] = value  # an unreadable consent or objection is taken the cautious way
        clean[field_name] = cautious.array
    found = found[~kept_problem]
    bad_rows = found["row"].drop_duplicates().to_numpy()
    reason = _join_per_row(found["row"].to_numpy(), found["message"].to_numpy(dtype=object))
    named = found[found["field"] != ""].drop_duplicates(["row", "field"])
    per_field = pd.Series(
        _join_per_row(named["row"].to_numpy(), named["field"].to_numpy(dtype=object)),
        index=named["row"].drop_duplicates().to_numpy(),
    ).reindex(bad_rows, fill_value="")
    per_row_kind = found.drop_duplicates(["row", "kind"])
    reasons = {str(k): int(v) for k, v in per_row_kind["kind"].value_counts().items()}
    labelled = found.assign(label=found["field"].where(found["field"] != "", "(row)") + ": " + found["kind"])
    field_reasons = {
        str(k): int(v) for k, v in labelled.drop_duplicates(["row", "label"])["label"].value_counts().items()
    }
    flag_labels = flagged["_field"].astype(str) + ": " + flagged["_kind"].astype(str)
    flagged_reasons = {str(k): int(v) for k, v in flag_labels.value_counts().items()}

    keep_mask = np.ones(n_read, dtype=bool)
    keep_mask[bad_rows] = False
    clean_frame = pd.DataFrame(clean)[keep_mask].reset_index(drop=True)
    original = data.iloc[bad_rows].astype("string").reset_index(drop=True)
    quarantine = pd.concat(
        [
            pd.DataFrame(
                {
                    "_source": pd.array([name] * len(bad_rows), dtype="string"),
                    "_row": (bad_rows + _FIRST_DATA_ROW).astype("int64"),
                    "_field": pd.array(per_field.to_numpy(), dtype="string"),
                    "_reason": pd.array(reason, dtype="string"),
                }
            ),
            original.drop(columns=[c for c in QUARANTINE_COLUMNS if c in original.columns]),
        ],
        axis="columns",
    )
    summary = IngestSummary(
        source=name,
        table=table,
        n_read=n_read,
        n_stored=len(clean_frame),
        n_quarantined=len(quarantine),
        reasons=reasons,
        field_reasons=field_reasons,
        unknown_columns=matched.unknown,
        missing_columns=matched.missing,
        renamed_columns={raw: canonical for raw, canonical in mapping.items() if raw != canonical},
        n_placeholders=n_placeholders,
        n_normalised=n_normalised,
        n_flagged=int(flagged["_row"].nunique()),
        flagged_reasons=flagged_reasons,
    )
    assert summary.n_stored + summary.n_quarantined == summary.n_read, "ingest lost or duplicated rows"
    return IngestResult(clean=clean_frame, quarantine=quarantine, summary=summary, flagged=flagged)


def _flagged_frame(
    found: pd.DataFrame, data: pd.DataFrame, column_of: dict[str, str], spec: TableSpec, source: str
) -> pd.DataFrame:
    """One row per flagged value of a kept row: file, row, field, kind, value as written, reason, action."""
    values = np.full(len(found), None, dtype=object)
    positions = found["row"].to_numpy(dtype=np.intp)
    field_names = found["field"].to_numpy(dtype=object)
    for name in pd.unique(field_names):
        where = np.flatnonzero(field_names == name)
        field_spec = spec.field(str(name))
        if field_spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            continue
        texts = data[column_of[str(name)]].iloc[positions[where]].astype("string").str.strip()
        values[where] = [None if pd.isna(text) else str(text) for text in texts]
    kinds = found["kind"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "_source": pd.array([source] * len(found), dtype="string"),
            "_row": (positions + _FIRST_DATA_ROW).astype("int64"),
            "_field": pd.array(field_names, dtype="string"),
            "_kind": pd.array(kinds, dtype="string"),
            "_value": pd.array(values, dtype="string"),
            "_reason": pd.array(found["message"].to_numpy(dtype=object), dtype="string"),
            "_action": pd.array([action_for(str(k)) for k in kinds], dtype="string"),
        }
    )


def write_quarantine(result: IngestResult, path: PathLikeStr) -> Path:
    """Write the quarantined rows of an ingest as CSV (header only when nothing was quarantined).

    Parameters
    ----------
    result : IngestResult
        The ingest whose quarantine to write.
    path : str or os.PathLike
        The CSV file to write; missing parent folders are created.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    result.quarantine.to_csv(file, index=False)
    return file


def ingest_file(
    path: PathLikeStr,
    dictionary: Dictionary,
    table: str,
    quarantine_dir: PathLikeStr | None = None,
    *,
    strict: bool = False,
) -> IngestResult:
    """Read a CSV or Parquet file and ingest it; optionally write its quarantine beside the results.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read (see :func:`read_table`).
    dictionary : Dictionary
        The data dictionary.
    table : str
        The dictionary table the file holds.
    quarantine_dir : str or os.PathLike, optional
        When given, the quarantined rows are written to ``<quarantine_dir>/<file stem>.quarantine.csv``
        and the flagged values to ``<quarantine_dir>/<file stem>.flagged.csv``.
    strict : bool
        As for :func:`ingest_table`.

    Returns
    -------
    IngestResult
        As :func:`ingest_table`, with the file name as source.
    """
    file = Path(path)
    result = ingest_table(read_table(file), dictionary, table, source=file.name, strict=strict)
    if quarantine_dir is not None:
        write_quarantine(result, Path(quarantine_dir) / f"{file.stem}.quarantine.csv")
        if len(result.flagged):
            result.flagged.to_csv(Path(quarantine_dir) / f"{file.stem}.flagged.csv", index=False)
    return result
