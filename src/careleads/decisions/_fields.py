"""Lead fields as the decisions read them, column-wise: a table's columns, or one lead as a batch of one.

Hard rules, routing and the decision policy read leads through :class:`LeadFields` only, so one lead and a
batch go through the same code: a lead given as a mapping is a batch of one, each field a column of one
value. Every test of a value is written once, as a function of one value (:func:`is_missing_value`,
:func:`to_number`, :func:`is_recorded_true`), and applied once per distinct value of a column, then spread
over the rows. Where a column's type allows it, a table computes the same answer on the whole column at once
(blank text of a text column, the numbers of a numeric column, the triage verdicts of an Arrow text column);
tests hold those answers equal to the per-value ones on every kind of blank and number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.decisions._triage import (
    NONE,
    URGENT,
    Finding,
    LaterTexts,
    Levels,
    TextFields,
    UrgentDetector,
    findings_of,
    shipped_text_fields,
    text_levels,
)
from careleads.errors import InputError

#: the columns of :func:`careleads.scoring.score_leads` the decisions read
SCORED_KEYS: tuple[str, ...] = (
    "lead_id",
    "probability",
    "score",
    "tier",
    "action",
    "reasons",
    "scored_by",
    "model_version",
)
T = TypeVar("T")
BoolArray = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.intp]

# Text that reads as a plain decimal number (ASCII digits, optional sign, point and exponent), or inf / nan
_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)\s*", re.I
)
#: below this many leads, distinct situations are found with a dict rather than with array kernels
_FEW = 32
_ONE_ROW: Codes = np.zeros(1, dtype=np.intp)
_ONE_ROW.flags.writeable = False


def is_missing_value(value: Any) -> bool:
    """No value: None, NA, NaN, NaT or blank text (whitespace only).

    The one definition of a missing field in the decisions: hard-rule tests, routing patterns, contact
    details and nurture tracks all use it.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def _is_na(value: Any) -> bool:
    """A value pandas counts as NA (None, NaN, NA, NaT); blank text is a value."""
    return not isinstance(value, str) and is_missing_value(value)


def is_recorded_true(value: Any) -> bool:
    """A consent or flag field holds only when it is recorded as true (missing, or any other value, is no)."""
    return value is True or (isinstance(value, np.bool_) and bool(value))


def to_number(value: Any) -> float:
    """A value as a number for ``above`` and ``below``: NaN when it is missing or not a number.

    Numbers (and booleans) are taken as they are; text only when it reads as a plain decimal number.
    """
    if is_missing_value(value):
        return float("nan")
    if isinstance(value, str):
        return float(value) if _NUMBER.fullmatch(value) else float("nan")
    if isinstance(value, int | float | np.number | np.bool_):
        return float(value)
    return float("nan")


def situations(columns: Sequence[npt.NDArray[Any]], decide: Callable[..., T]) -> tuple[list[T], Codes]:
    """`decide` once per distinct situation, and each lead's situation.

    Parameters
    ----------
    columns : sequence of arrays
        Non-negative integer codes (or booleans), one array per part of the situation, one entry per lead.
    decide : callable
        ``decide(*situation)`` with the situation's codes as Python ints.

    Returns
    -------
    (answers, index)
        The answers in order of each situation's first lead, and each lead's index into them.
    """
    n = len(columns[0])
    if n == 1:
        return [decide(*(int(c[0]) for c in columns))], _ONE_ROW
    if n <= _FEW:
        seen: dict[tuple[int, ...], int] = {}
        index = [seen.setdefault(key, len(seen)) for key in zip(*(c.tolist() for c in columns), strict=True)]
        return [decide(*key) for key in seen], np.asarray(index, dtype=np.intp)
    code = np.zeros(n, dtype=np.int64)
    span = 1
    for column in columns:
        values = np.asarray(column, dtype=np.int64)
        size = int(values.max()) + 1
        if span * size >= 2**62:  # keep the combined code in range: renumber what is combined so far
            code, span = _renumber(code)
        code, span = code * size + values, span * size
    code, _ = _renumber(code)
    running = np.maximum.accumulate(code)  # codes are numbered in order of first appearance
    first = np.flatnonzero(np.concatenate(([True], running[1:] > running[:-1])))
    answers = [decide(*(int(c[i]) for c in columns)) for i in first.tolist()]
    return answers, code.astype(np.intp)


def _renumber(code: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], int]:
    """Codes renumbered 0, 1, ... in order of first appearance, and how many there are."""
    renumbered, uniques = pd.factorize(code)
    return renumbered.astype(np.int64), len(uniques)


class LeadFields:
    """One or more leads' fields (clean lead fields and scoring output), read column by column.

    Build it with :meth:`of_frame` (a table, one row per lead) or :meth:`of_record` (one lead). A field the
    data lacks reads as missing for every lead. Answers are kept per field, so rules and routing that read
    the same field share the work.

    Parameters
    ----------
    n : int
        The number of leads.
    detector : callable, optional
        ``text -> bool or TriageResult`` for triage tests; default the clinical-triage detector
        (:func:`careleads.text.default_detector`).
    text_fields : TextFields, optional
        Which fields hold the leads' free text (default: the shipped dictionary's).
    later : LaterTexts, optional
        Texts that arrived after the leads (messages, notes); they count in each lead's triage.
    """

    def __init__(
        self,
        n: int,
        detector: UrgentDetector | None = None,
        text_fields: TextFields | None = None,
        later: LaterTexts | None = None,
    ) -> None:
        self.n = n
        self.detector = detector
        self.text_fields = text_fields or shipped_text_fields()
        self.later = later
        self._distinct: dict[str, tuple[Codes, list[Any]]] = {}
        self._cache: dict[tuple[str, str], Any] = {}
        self._levels: dict[str | None, Levels] = {}

    @staticmethod
    def of_frame(
        frame: pd.DataFrame,
        detector: UrgentDetector | None = None,
        text_fields: TextFields | None = None,
        later: LaterTexts | None = None,
    ) -> LeadFields:
        """The leads of a table, one per row."""
        return _FrameFields(frame, detector, text_fields, later)

    @staticmethod
    def of_record(
        record: Mapping[str, Any],
        detector: UrgentDetector | None = None,
        text_fields: TextFields | None = None,
        later: LaterTexts | None = None,
    ) -> LeadFields:
        """One lead given as a mapping: a batch of one."""
        return _RecordFields(record, detector, text_fields, later)

    def __len__(self) -> int:
        return self.n

    def has(self, name: str) -> bool:
        """Whether the data has the field at all."""
        raise NotImplementedError

    def values(self, name: str) -> list[Any]:
        """The field's values as Python objects, None where NA (blank text is kept as text)."""
        raise NotImplementedError

    def _read_distinct(self, name: str) -> tuple[Codes, list[Any]]:
        raise NotImplementedError

    def distinct(self, name: str) -> tuple[Codes, list[Any]]:
        """Each lead's code among the field's distinct values, and those values (None for NA or absent)."""
        if name not in self._distinct:
            self._distinct[name] = self._read_distinct(name)
        return self._distinct[name]

    def per_value(self, name: str, test: Callable[[Any], bool]) -> BoolArray:
        """`test` on each distinct value of the field (None for NA), spread over the leads."""
        codes, values = self.distinct(name)
        if len(values) == 1:  # one lead, or one value for all
            return np.full(len(codes), bool(test(values[0])))
        verdicts = np.array([bool(test(v)) for v in values], dtype=bool)
        return np.asarray(verdicts[codes], dtype=bool)

    def _answer(self, kind: str, name: str) -> Any:
        """``self._KIND(name)``, computed once per field."""
        key = (kind, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = getattr(self, f"_{kind}")(name)
        return found

    def missing(self, name: str) -> BoolArray:
        """True where the field has no value (:func:`is_missing_value`)."""
        result: BoolArray = self._answer("missing", name)
        return result

    def flag(self, name: str) -> BoolArray:
        """True only where the field is recorded as true (:func:`is_recorded_true`)."""
        result: BoolArray = self._answer("flag", name)
        return result

    def numbers(self, name: str) -> npt.NDArray[np.float64]:
        """The field as numbers (:func:`to_number`), NaN where missing or not a number."""
        result: npt.NDArray[np.float64] = self._answer("numbers", name)
        return result

    def urgent(self, name: str) -> BoolArray:
        """True where the field's text describes urgent clinical symptoms (blank text never does)."""
        return np.asarray(self.triage_levels(name) == URGENT, dtype=bool)

    def triage_levels(self, name: str | None = None) -> Levels:
        """Each lead's triage level (0 none, 1 possible, 2 urgent) in the field's text; with no field, the
        highest over every text of the lead: its free-text fields and its later texts."""
        levels = self._levels.get(name)
        if levels is None:
            levels = self._levels[name] = self._field_levels(name) if name else self._all_levels()
        return levels

    def _all_levels(self) -> Levels:
        levels = np.zeros(self.n, dtype=np.int8)
        for name in self.text_fields.leads:
            if self.has(name):
                np.maximum(levels, self.triage_levels(name), out=levels)
        later = self.later
        if later is not None and len(later):
            np.maximum.at(levels, later.rows, text_levels(later.texts, self.detector))
        return levels

    def _field_levels(self, name: str) -> Levels:
        codes, values = self.distinct(name)
        return text_levels(values, self.detector)[codes]

    def findings(self) -> dict[int, tuple[Finding, ...]]:
        """The texts at a level above none of each lead that has one (its row -> findings)."""
        rows = np.flatnonzero(self.triage_levels() > NONE).tolist()
        if not rows:
            return {}
        columns = {name: self.values(name) for name in self.text_fields.leads if self.has(name)}
        texts: dict[int, dict[str, Any]] = {i: {n: c[i] for n, c in columns.items()} for i in rows}
        later = self.later
        if later is not None and len(later):
            wanted = set(rows)
            values = later.texts.to_pylist() if isinstance(later.texts, pa.Array) else later.texts
            for k, row in enumerate(later.rows.tolist()):
                if row in wanted:
                    texts[row][later.source(k)] = values[k]
        return {i: findings_of(texts[i], self.detector) for i in rows}

    def _missing(self, name: str) -> BoolArray:
        return self.per_value(name, is_missing_value)

    def _flag(self, name: str) -> BoolArray:
        return self.per_value(name, is_recorded_true)

    def _numbers(self, name: str) -> npt.NDArray[np.float64]:
        codes, values = self.distinct(name)
        return np.array([to_number(v) for v in values], dtype=np.float64)[codes]


class _RecordFields(LeadFields):
    """One lead: each field a column of one value."""

    def __init__(
        self,
        record: Mapping[str, Any],
        detector: UrgentDetector | None,
        text_fields: TextFields | None,
        later: LaterTexts | None,
    ) -> None:
        super().__init__(1, detector, text_fields, later)
        self.record = record

    def has(self, name: str) -> bool:
        return name in self.record

    def values(self, name: str) -> list[Any]:
        value = self.record.get(name)
        return [None if _is_na(value) else value]

    def _read_distinct(self, name: str) -> tuple[Codes, list[Any]]:
        return _ONE_ROW, self.values(name)

    def per_value(self, name: str, test: Callable[[Any], bool]) -> BoolArray:
        # the lead's one value is the field's one distinct value
        value = self.record.get(name)
        return np.array([bool(test(None if _is_na(value) else value))], dtype=bool)


class _FrameFields(LeadFields):
    """Leads of a table: per-value tests run once per distinct value of a column (categories, few texts)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        detector: UrgentDetector | None,
        text_fields: TextFields | None,
        later: LaterTexts | None,
    ) -> None:
        super().__init__(len(frame), detector, text_fields, later)
        self.frame = frame

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def values(self, name: str) -> list[Any]:
        if not self.has(name):
            return [None] * self.n
        values = self.frame[name].astype(object)
        result: list[Any] = values.where(values.notna(), None).tolist()
        return result

    def _read_distinct(self, name: str) -> tuple[Codes, list[Any]]:
        if not self.has(name):
            return np.zeros(self.n, dtype=np.intp), [None]
        column = self.frame[name]
        if column.dtype == np.dtype(object):
            return _distinct_objects(column.to_numpy())
        codes, uniques = pd.factorize(column, use_na_sentinel=True)  # one type of value per column
        values: list[Any] = [*list(uniques), None]  # code -1 (NA) picks the last, None
        return np.where(codes < 0, len(values) - 1, codes).astype(np.intp), values

    def _missing(self, name: str) -> BoolArray:
        if self.has(name):
            column = self.frame[name]
            if isinstance(column.dtype, pd.StringDtype):  # text: whole-column string operations
                return _blank_text(column)
            if _is_numeric(column):  # numbers and times: missing is NA
                return np.asarray(column.isna().to_numpy(dtype=bool), dtype=bool)
        return super()._missing(name)

    def _numbers(self, name: str) -> npt.NDArray[np.float64]:
        if self.has(name):
            column = self.frame[name]
            if pd.api.types.is_numeric_dtype(column.dtype) and column.dtype != np.dtype(object):
                # numbers (and booleans) as they are: to_number of each value, without a call per value
                return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        return super()._numbers(name)

    def _field_levels(self, name: str) -> Levels:
        if self.detector is None and self.has(name):
            column = self.frame[name]
            if isinstance(column.dtype, pd.StringDtype | pd.ArrowDtype):
                array = pa.array(column.array)
                if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                    # text read from a file, checked as an Arrow column (blank text never triggers)
                    return text_levels(array, None)
        return super()._field_levels(name)


def _distinct_objects(values: npt.NDArray[Any]) -> tuple[Codes, list[Any]]:
    """Distinct values of a column of Python objects, told apart by type as well (``pd.factorize`` takes
    ``1`` and ``True``, or ``1`` and ``1.0``, for one value, which a test of one value may not: only ``True``
    is a recorded consent, and ``"1.0"`` is not ``"1"``)."""
    index: dict[Any, int] = {}
    distinct: list[Any] = []
    codes = np.empty(len(values), dtype=np.intp)
    for i, value in enumerate(values.tolist()):
        value = None if _is_na(value) else value
        try:
            key: Any = (type(value), value)
            hash(key)
        except TypeError:  # an unhashable value (a list, say) stands for itself
            key = (type(value), id(value))
        code = index.get(key)
        if code is None:
            code = index[key] = len(distinct)
            distinct.append(value)
        codes[i] = code
    return codes, distinct


def _is_numeric(column: pd.Series) -> bool:
    kind = column.dtype
    if isinstance(kind, pd.CategoricalDtype) or kind == np.dtype(object):
        return False
    return bool(
        pd.api.types.is_numeric_dtype(kind)
        or pd.api.types.is_datetime64_any_dtype(kind)
        or pd.api.types.is_timedelta64_dtype(kind)
    )


def _blank_text(column: pd.Series) -> BoolArray:
    """:func:`is_missing_value` on a text column at once: NA, or nothing but whitespace."""
    blank = column.str.strip().eq("").to_numpy(dtype=bool, na_value=True)
    return np.asarray(blank | column.isna().to_numpy(dtype=bool), dtype=bool)


def join_score(lead: Mapping[str, Any], scored: Mapping[str, Any]) -> dict[str, Any]:
    """One lead's fields with its scoring output (which takes precedence over a lead field of the same name).

    Raises
    ------
    InputError
        When the score is not a score_leads row or belongs to another lead.
    """
    missing = [k for k in SCORED_KEYS if k not in scored]
    if missing:
        raise InputError(f"the scored lead lacks {missing}; pass a row of careleads.scoring.score_leads")
    lead_id = lead.get("lead_id", scored["lead_id"])
    if str(lead_id) != str(scored["lead_id"]):
        raise InputError(f"lead {lead_id!r} came with the score of lead {scored['lead_id']!r}; pair them up")
    return {**lead, **{k: scored[k] for k in SCORED_KEYS}}


def join_scores(leads: pd.DataFrame, scored: pd.DataFrame, key: str) -> pd.DataFrame:
    """Lead fields in the order of `scored`, with the scoring output columns added (they take precedence).

    Raises
    ------
    InputError
        When either table lacks the key or a scoring column, ids repeat, or a scored lead is not a lead.
    """
    for name, frame in (("leads", leads), ("scored", scored)):
        if key not in frame.columns:
            raise InputError(f"the {name} table has no {key!r} column; both tables need the lead id")
    missing = [k for k in SCORED_KEYS if k not in scored.columns]
    if missing:
        raise InputError(f"the scored table lacks columns {missing}; pass the output of score_leads")
    repeated = leads[key].duplicated()
    if repeated.any():
        examples = list(leads.loc[repeated.to_numpy(dtype=bool), key].unique()[:5])
        raise InputError(f"lead ids appear more than once in the leads table, e.g. {examples}; deduplicate")
    if len(leads) == len(scored) and _same_ids(leads[key], scored[key]):  # the usual case
        frame = leads.reset_index(drop=True)
        for column in SCORED_KEYS:
            frame[column] = scored[column].array  # row for row: an array, not a Series, is not aligned
        return frame
    ids = pd.Index(leads[key].astype("string"))
    scored_ids = pd.Index(scored[key].astype("string"))
    position = ids.get_indexer(scored_ids)
    if (position < 0).any():
        absent = list(scored_ids[position < 0][:5])
        n_absent = int((position < 0).sum())
        raise InputError(f"{n_absent} scored leads are not in the leads table, e.g. {absent}; pass all leads")
    frame = leads.take(position).reset_index(drop=True)
    for column in SCORED_KEYS:
        frame[column] = scored[column].to_numpy()
    return frame


def _same_ids(left: pd.Series, right: pd.Series) -> bool:
    """Whether two id columns hold the same values in the same order (compared as arrays when they can be)."""
    if left.reset_index(drop=True).equals(right.reset_index(drop=True)):
        return True
    return bool((left.to_numpy(dtype=object) == right.to_numpy(dtype=object)).all())
