"""The one rule that reads a field's values: each text becomes a clean value or a problem with its message.

A :class:`FieldRule` is compiled from a field's spec (placeholders, yes/no words, category synonyms, range,
date format, sensitivity) and reads a batch of values at a time. :func:`careleads.dictionary.ingest_table`
hands it the distinct values of a column, so a million rows with a few hundred spellings cost a few hundred
conversions; :func:`careleads.dictionary.validate_record` hands it one value per field, a batch of one. A
file's row and an API record holding the same text therefore get the same clean value, problem kind and
message: there is no other parser.

Texts are stripped and lower-cased by Arrow (:func:`strip_texts`, :func:`lower_texts`) on both paths, so
the two agree on every Unicode spelling as well.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import cached_property
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas._libs.tslibs.strptime import array_strptime  # type: ignore[import-not-found]
from pandas.tseries.api import guess_datetime_format

from careleads.dictionary._normalise import (
    boolean_words,
    category_lookup,
    normalise_token,
    placeholders_for,
)
from careleads.dictionary._schema import DECIMAL_COMMA, FieldSpec, FieldType, Sensitivity

__all__ = [
    "BLANK_ROW",
    "BLANK_ROW_MESSAGE",
    "MISSING_REQUIRED",
    "FieldRule",
    "Problem",
    "lower_texts",
    "strip_texts",
]

BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

# problem kinds found by the rule, and the two found on a whole row
MISSING_REQUIRED = "missing_required"
UNPARSABLE_NUMBER = "unparsable_number"
OUT_OF_RANGE = "out_of_range"
UNPARSABLE_DATETIME = "unparsable_datetime"
UNPARSABLE_BOOLEAN = "unparsable_boolean"
UNKNOWN_CATEGORY = "unknown_category"
BLANK_ROW = "blank_row"
BLANK_ROW_MESSAGE = "blank row"

_HIDDEN = "(value hidden: identifying field)"
_LISTED_CATEGORIES = 12  # canonical values named in an unknown-category message
# Character classes spelt out in ASCII: these patterns were matched by Arrow's RE2, where \d and \s are
# ASCII only, and are now matched by Python's re on the few values that need them
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
# a number with a decimal comma: 1.234,5 or 1 234,5 or 1234,5 (or a whole number)
_COMMA_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,3}(?:[. \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,[0-9]+)?")
# a value must look like a date before the slow, lenient parser may try it ("12" is not a date)
_DATE_LIKE = re.compile(r"[0-9]{1,4}[-/. \t\n\f\r][0-9]{1,2}|[0-9]{8}|[A-Za-z]{3}")
# pandas reads the first two as "the current moment" (exactly so spelt); none is a recorded timestamp
_READ_AS_NOW = ("now", "today")
_RELATIVE_DATES = frozenset({*_READ_AS_NOW, "tomorrow", "yesterday"})


def strip_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Remove leading and trailing (Unicode) white space from each text, as a file's cells and a record's."""
    return pc.utf8_trim_whitespace(texts)


def lower_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Lower-case each text: the key placeholders, yes/no words and relative dates are compared under."""
    return pc.utf8_lower(texts)


def _is_in(keys: pa.Array | pa.ChunkedArray, words: frozenset[str]) -> BoolArray:
    found = pc.is_in(keys, value_set=pa.array(sorted(words), type=pa.large_string()))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _arrow_texts(values: Any) -> pa.Array:
    return pa.array(values, type=pa.large_string(), from_pandas=True)


class Problem(NamedTuple):
    """One kind of problem among a batch of values.

    ``bad`` flags the values with the problem; ``messages`` holds one message per value (only the flagged
    entries are read).
    """

    kind: str
    bad: BoolArray
    messages: ObjectArray


class FieldRule:
    """How one field's values are read: missing, clean value, or a problem with its message.

    Parameters
    ----------
    spec : FieldSpec
        The field.
    global_missing : iterable of str
        The dictionary's missing-value placeholders (the field's own are added, its own values removed).
    required : bool
        Whether a missing value is a problem (required fields and the table's key).
    """

    def __init__(
        self, spec: FieldSpec, global_missing: Iterable[str] = (), *, required: bool = False
    ) -> None:
        self.spec = spec
        self.required = required
        self.placeholders = placeholders_for(spec, global_missing)
        self.show_value = spec.sensitivity != Sensitivity.DIRECT_IDENTIFIER
        self.missing_message = f"{spec.name}: required value is missing"
        self._longest_placeholder = max((len(key) for key in self.placeholders), default=-1)

    # ------------------------------------------------------------------------------------ missing

    def is_placeholder(self, lowered: str) -> bool:
        """Whether one stripped value, lower-cased by :func:`lower_texts`, is a missing-value placeholder."""
        return lowered in self.placeholders

    def placeholder_mask(self, texts: pd.Series) -> BoolArray:
        """:meth:`is_placeholder` of each stripped value of a column.

        Only values no longer than the longest placeholder are lower-cased: lower-casing never shortens a
        text, so a longer value cannot be one (free text is then not lower-cased whole).
        """
        found = np.zeros(len(texts), dtype=bool)
        short = (texts.str.len() <= self._longest_placeholder).to_numpy(dtype=bool, na_value=False)
        if short.any():
            found[short] = _is_in(lower_texts(_arrow_texts(texts[short])), self.placeholders)
        return found

    # ------------------------------------------------------------------------------------ messages

    def message(self, template: str, text: str) -> str:
        """``"<field>: <template>"``, ``{value}`` replaced by the quoted value (a note if identifying)."""
        head, _, tail = template.partition("{value}")
        shown = f"'{text}'" if self.show_value else _HIDDEN
        return f"{self.spec.name}: {head}{shown}{tail}"

    def _problem(self, kind: str, template: str, bad: BoolArray, shown: Any) -> Problem:
        messages = np.full(len(bad), "", dtype=object)
        for position in np.flatnonzero(bad):
            messages[position] = self.message(template, str(shown[position]))
        return Problem(kind, bad, messages)

    # ------------------------------------------------------------------------------------ values

    def parse(self, values: Any, *, shown: Any = None) -> tuple[Any, list[Problem]]:
        """Read stripped values that are neither empty nor a placeholder, according to the field's type.

        Parameters
        ----------
        values : array-like
            Texts (a NumPy object array, or a pandas string array for a text field), or values a Parquet
            file stored with the field's type.
        shown : sequence, optional
            The values as written, for messages, when `values` are typed; default `values`.

        Returns
        -------
        (array, list of Problem)
            Parsed values, one per value (``float64``, ``datetime64[us]`` naive UTC, ``boolean``, canonical
            category values as objects, or the texts unchanged; missing where unreadable) and the
            problems found (none when every value is good). A value with a problem is rejected, whatever
            the array holds for it.
        """
        if self.keeps_text:
            return values, []
        kind = self.spec.type
        if kind is FieldType.NUMBER:
            return self._numbers(values, values if shown is None else shown)
        if kind is FieldType.DATETIME:
            return self._datetimes(values)
        if kind is FieldType.BOOLEAN:
            return self._booleans(values)
        return self._categories(values)

    @cached_property
    def keeps_text(self) -> bool:
        """Whether :meth:`parse` gives the values back unchanged (text, identifiers, unlisted categories)."""
        kind = self.spec.type
        return kind in (FieldType.TEXT, FieldType.IDENTIFIER) or (
            kind is FieldType.CATEGORY and not self.spec.values
        )

    def _numbers(self, values: Any, shown: Any) -> tuple[npt.NDArray[np.float64], list[Problem]]:
        """Numbers, with thousands separators written as ``1,234``; ``inf`` and ``nan`` are not numbers.

        A field whose format is ``decimal_comma`` reads ``1.234,5`` (or ``1 234,5``) as 1234.5 instead.
        """
        spec = self.spec
        if not _is_text(values):  # typed Parquet column
            numbers = np.array(values, dtype="float64")
        elif spec.format == DECIMAL_COMMA:
            texts = np.asarray(values, dtype=object)
            plain = np.array(
                [
                    re.sub(r"[. \u00a0\u202f]", "", str(t)).replace(",", ".")
                    if _COMMA_DECIMAL.fullmatch(str(t))
                    else None
                    for t in texts
                ],
                dtype=object,
            )
            numbers = np.array(pd.to_numeric(plain, errors="coerce"), dtype="float64")
        else:
            texts = np.asarray(values, dtype=object)
            numbers = np.array(pd.to_numeric(texts, errors="coerce"), dtype="float64")
            failed = np.isnan(numbers)
            if failed.any():
                grouped = [p for p in np.flatnonzero(failed) if _THOUSANDS.fullmatch(texts[p])]
                if grouped:
                    plain = np.array([texts[p].replace(",", "") for p in grouped], dtype=object)
                    numbers[grouped] = np.array(pd.to_numeric(plain, errors="coerce"), dtype="float64")
        unreadable = ~np.isfinite(numbers)
        if unreadable.any():
            numbers[unreadable] = np.nan  # then out of no range: comparing NaN is False (and silent)
        checks = [(UNPARSABLE_NUMBER, "cannot read {value} as a number", unreadable)]
        bad = unreadable
        if spec.minimum is not None:
            low = numbers < spec.minimum
            checks.append((OUT_OF_RANGE, f"{{value}} is below the minimum {spec.minimum:g}", low))
            bad = bad | low
        if spec.maximum is not None:
            high = numbers > spec.maximum
            checks.append((OUT_OF_RANGE, f"{{value}} is above the maximum {spec.maximum:g}", high))
            bad = bad | high
        if not bad.any():
            return numbers, []
        return numbers, [self._problem(kind, template, flagged, shown) for kind, template, flagged in checks]

    def _datetimes(self, values: Any) -> tuple[npt.NDArray[np.datetime64], list[Problem]]:
        """Timestamps as naive UTC (microseconds); offsets are converted, no offset is taken as UTC.

        With ``spec.format`` only that format is accepted. Otherwise ISO 8601 first, then formats guessed
        from the first unread value (at most three), then a lenient parser for values that look like dates.
        """
        if not _is_text(values):  # typed Parquet column
            stamps = pd.DatetimeIndex(values)
            stamps = stamps if stamps.tz is None else stamps.tz_convert(None)
            typed = stamps.as_unit("us").to_numpy().copy()
            return typed, self._outside_window(typed, np.asarray(stamps.astype(str), dtype=object))
        texts = np.asarray(values, dtype=object)
        relative = (texts == _READ_AS_NOW[0]) | (texts == _READ_AS_NOW[1])
        candidates = texts
        if relative.any():
            candidates = texts.copy()
            candidates[relative] = None
        parsed = _to_utc(candidates, self.spec.format or "ISO8601")
        bad = np.isnat(parsed)
        if bad.any() and not self.spec.format:
            _read_other_formats(texts, parsed, relative)
            bad = np.isnat(parsed)
        problems = self._outside_window(parsed, texts)
        if bad.any():
            problems.insert(0, self._problem(UNPARSABLE_DATETIME, self._datetime_template, bad, texts))
        return parsed, problems

    def _outside_window(self, parsed: npt.NDArray[np.datetime64], shown: Any) -> list[Problem]:
        """The dates outside the field's accepted window (:attr:`FieldSpec.dates_accepted`): a problem,
        and missing in `parsed` (changed in place)."""
        low, high = self._date_window
        outside = ~np.isnat(parsed) & ((parsed < low) | (parsed >= high))
        if not outside.any():
            return []
        parsed[outside] = np.datetime64("NaT")
        earliest, latest = self.spec.dates_accepted
        template = (
            f"{{value}} is outside the dates accepted ({earliest} to {latest}); correct it at the source, "
            "or widen the field's earliest/latest in the dictionary"
        )
        return [self._problem(OUT_OF_RANGE, template, outside, shown)]

    @cached_property
    def _date_window(self) -> tuple[np.datetime64, np.datetime64]:
        """The first moment accepted and the first one after the window (the day after the latest)."""
        earliest, latest = self.spec.dates_accepted
        low = np.datetime64(pd.Timestamp(earliest).as_unit("us"))
        return low, np.datetime64((pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)).as_unit("us"))

    @cached_property
    def _datetime_template(self) -> str:
        if self.spec.format:
            return f"cannot read {{value}} in the format {self.spec.format!r}"
        return "cannot read {value} as a date and time (ISO 8601: 2025-03-04T14:22:10)"

    @cached_property
    def _boolean_words(self) -> tuple[frozenset[str], frozenset[str]]:
        return boolean_words(self.spec)

    def _booleans(self, values: Any) -> tuple[Any, list[Problem]]:
        """Yes/no values: the default words (yes/no, y/n, true/false, 1/0, on/off) and the field's own."""
        if not _is_text(values):  # typed Parquet column
            return pd.array(values, dtype="boolean"), []
        true_words, false_words = self._boolean_words
        keys = lower_texts(_arrow_texts(values))
        is_true = _is_in(keys, true_words)
        bad = ~(is_true | _is_in(keys, false_words))
        parsed = pd.array(is_true, dtype="boolean")
        if not bad.any():
            return parsed, []
        parsed[bad] = pd.NA
        template = "{value} is not a yes/no value (yes, no, true, false, 1, 0)"
        return parsed, [self._problem(UNPARSABLE_BOOLEAN, template, bad, np.asarray(values, dtype=object))]

    @cached_property
    def _category_lookup(self) -> dict[str, str]:
        return category_lookup(self.spec)

    def _categories(self, values: Any) -> tuple[ObjectArray, list[Problem]]:
        """Canonical category values; a value matching no value or synonym is a problem when the list is
        closed and kept as written when it is open."""
        texts = [str(value) for value in values]
        lookup = self._category_lookup
        canonical = [lookup.get(normalise_token(text)) for text in texts]
        unmatched = np.array([value is None for value in canonical], dtype=bool)
        result = np.array(
            [text if value is None else value for text, value in zip(texts, canonical, strict=True)],
            dtype=object,
        )
        if not self.spec.is_closed or not unmatched.any():
            return result, []
        allowed = list(self.spec.values)
        more = ", ..." if len(allowed) > _LISTED_CATEGORIES else ""
        listed = ", ".join(allowed[:_LISTED_CATEGORIES]) + more
        template = "{value} is not a known value (" + listed + "); add it as a synonym in the dictionary"
        return result, [self._problem(UNKNOWN_CATEGORY, template, unmatched, texts)]


def _read_other_formats(texts: ObjectArray, parsed: npt.NDArray[np.datetime64], relative: BoolArray) -> None:
    """Fill in the timestamps ISO 8601 did not read: formats guessed from the first unread value (at most
    three), then a lenient parser for the values that look like dates. Relative dates are never read, nor
    used to guess a format."""
    failed = np.flatnonzero(np.isnat(parsed))
    relative[failed] |= _is_in(lower_texts(_arrow_texts(texts[failed])), _RELATIVE_DATES)
    for _ in range(3):
        pending = np.flatnonzero(np.isnat(parsed) & ~relative)
        if not len(pending):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the guess is checked by parsing with it below
            guessed = guess_datetime_format(str(texts[pending[0]]))
        if guessed is None:
            break
        retry = _to_utc(texts[pending], guessed)
        if np.isnat(retry).all():
            break
        parsed[pending] = retry
    pending = np.flatnonzero(np.isnat(parsed) & ~relative)
    lenient = np.array([p for p in pending if _DATE_LIKE.search(texts[p])], dtype=np.intp)
    if len(lenient):
        parsed[lenient] = _to_utc(texts[lenient], "mixed")


def _is_text(values: Any) -> bool:
    """Whether values are texts (objects or a string array) rather than values stored with a type."""
    dtype = values.dtype
    return dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype)


def _to_utc(texts: ObjectArray, fmt: str) -> npt.NDArray[np.datetime64]:
    """Texts read with one format, as naive UTC microseconds (NaT where unread).

    A format (``ISO8601`` or a strftime pattern) is read by the parser ``pandas.to_datetime`` calls for
    it, without the index the call builds around it: for the one value of a lead sent to the API that
    index cost several times the parsing. Its integers are UTC instants whether or not the texts carry
    an offset (``utc=True``); the unit is cut to microseconds as ``as_unit`` does (toward the past).
    ``mixed`` goes through ``to_datetime`` itself. No cache: the texts are distinct values already (or a
    single one).
    """
    if fmt != "mixed":  # the parser alone: it neither guesses nor falls back, so it does not warn
        return _strptime_utc(texts, fmt)
    with warnings.catch_warnings():
        # pandas warns when it falls back to element-wise parsing or guesses day-first; the result is
        # checked by the caller, so the warning has nothing to add
        warnings.simplefilter("ignore")
        # (pandas-stubs list no object arrays among the arguments to_datetime takes, hence the cast)
        stamps = pd.to_datetime(cast(Any, texts), errors="coerce", utc=True, format=fmt, cache=False)
    # an aware index's integers are UTC; a copy, to be written into
    utc: npt.NDArray[np.datetime64] = stamps.as_unit("us").asi8.view("datetime64[us]").copy()
    return utc


def _strptime_utc(texts: ObjectArray, fmt: str) -> npt.NDArray[np.datetime64]:
    """``to_datetime(texts, format=fmt, utc=True, errors="coerce")``'s parser on its own, microseconds."""
    parsed, _offset = array_strptime(texts, fmt, exact=True, errors="coerce", utc=True)
    return np.asarray(parsed, dtype="datetime64[us]")
