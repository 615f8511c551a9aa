"""Value normalisation: matching keys, missing-value placeholders and vectorised parsers per field type.

Every parser here works on the *distinct* values of a column (after ``pandas.factorize``), so a column of
a million rows with a few hundred distinct spellings costs a few hundred conversions, not a million.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionDtype
from pandas.tseries.api import guess_datetime_format

from careleads.dictionary._schema import FieldSpec, FieldType, TableSpec
from careleads.errors import InputError

BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

_NON_ALNUM = re.compile(r"[\W_]+")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# a value must look like a date before the slow, lenient parser may try it ("12" is not a date)
_DATE_LIKE = re.compile(r"\d{1,4}[-/.\s]\d{1,2}|\d{8}|[A-Za-z]{3}")
# pandas reads these words as "the current moment": never a recorded timestamp
_RELATIVE_DATES = frozenset({"now", "today", "tomorrow", "yesterday"})

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
class Problem:
    """A row-level problem found among the distinct values of a column.

    ``bad`` flags the distinct values with the problem; ``messages`` holds one message per distinct value
    (only the flagged entries are read).
    """

    kind: str
    bad: BoolArray
    messages: ObjectArray


def _messages(
    field: str, values: pd.Series, template: str, *, bad: BoolArray, show_value: bool = True
) -> ObjectArray:
    """Build ``"<field>: <template with {value}>"`` for each flagged value (others get ""), vectorised."""
    out = np.full(len(values), "", dtype=object)
    if not bad.any():
        return out
    head, _, tail = template.partition("{value}")
    if show_value:
        text = f"{field}: {head}'" + values[bad].astype("string") + f"'{tail}"
        out[bad] = np.asarray(text.astype(object), dtype=object)
    else:
        out[bad] = f"{field}: {head}(value hidden: identifying field){tail}"
    return out


def parse_numbers(
    values: pd.Series, spec: FieldSpec, *, show_value: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Parse distinct, stripped, non-missing strings as numbers and check the field's range.

    Thousands separators written as ``1,234`` are accepted; ``inf`` and ``nan`` are not numbers.
    """
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    failed = numbers.isna().to_numpy()
    if failed.any():
        retry = values[failed]
        grouped = retry.str.fullmatch(_THOUSANDS.pattern).fillna(False).astype(bool)
        if grouped.any():
            fixed = pd.to_numeric(retry[grouped].str.replace(",", "", regex=False), errors="coerce")
            numbers.loc[fixed.index] = fixed.astype("float64")
    finite = np.isfinite(numbers.to_numpy(dtype="float64", na_value=np.nan))
    unparsable = ~finite
    numbers = numbers.where(finite)
    problems = [
        Problem(
            "unparsable_number",
            unparsable,
            _messages(
                spec.name, values, "cannot read {value} as a number", bad=unparsable, show_value=show_value
            ),
        )
    ]
    array = numbers.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            low = finite & (array < spec.minimum)
            problems.append(
                Problem(
                    "out_of_range",
                    low,
                    _messages(
                        spec.name,
                        values,
                        f"{{value}} is below the minimum {spec.minimum:g}",
                        bad=low,
                        show_value=show_value,
                    ),
                )
            )
        if spec.maximum is not None:
            high = finite & (array > spec.maximum)
            problems.append(
                Problem(
                    "out_of_range",
                    high,
                    _messages(
                        spec.name,
                        values,
                        f"{{value}} is above the maximum {spec.maximum:g}",
                        bad=high,
                        show_value=show_value,
                    ),
                )
            )
    return numbers, problems


def _to_utc(values: pd.Series, fmt: str) -> pd.Series:
    with warnings.catch_warnings():
        # pandas warns when it falls back to element-wise parsing or guesses day-first; the result is
        # checked below, so the warning has nothing to add
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", utc=True, format=fmt)


def parse_datetimes(
    values: pd.Series, spec: FieldSpec, *, show_value: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Parse distinct, stripped, non-missing strings as timestamps (naive UTC, microseconds).

    With ``spec.format`` only that format is accepted. Otherwise ISO 8601 first, then formats guessed
    from the first unparsed value (at most three), then a lenient parser for values that look like dates.
    Offsets are converted to UTC; timestamps without an offset are taken as UTC.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):  # typed Parquet column
        stamps = values if getattr(values.dt, "tz", None) is None else values.dt.tz_convert(None)
        return stamps.astype("datetime64[us]"), []
    relative = values.str.lower().isin(_RELATIVE_DATES).to_numpy()
    candidates = values.mask(relative)
    if spec.format:
        parsed = _to_utc(candidates, spec.format)
    else:
        parsed = _to_utc(candidates, "ISO8601")
        for _ in range(3):
            pending = parsed.isna().to_numpy() & ~relative
            if not pending.any():
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the guess is checked by parsing with it below
                guessed = guess_datetime_format(str(values[pending].iloc[0]))
            if guessed is None:
                break
            retry = _to_utc(values[pending], guessed)
            if retry.notna().sum() == 0:
                break
            parsed.loc[retry.index] = parsed.loc[retry.index].fillna(retry)
        pending = parsed.isna().to_numpy() & ~relative
        if pending.any():
            looks_like_date = values[pending].str.contains(_DATE_LIKE.pattern, regex=True).fillna(False)
            lenient = values[pending][looks_like_date.astype(bool)]
            if len(lenient):
                retry = _to_utc(lenient, "mixed")
                parsed.loc[retry.index] = parsed.loc[retry.index].fillna(retry)
    naive = parsed.dt.tz_convert(None).astype("datetime64[us]")
    bad = naive.isna().to_numpy()
    hint = (
        f" in the format {spec.format!r}"
        if spec.format
        else " as a date and time (ISO 8601: 2025-03-04T14:22:10)"
    )
    return naive, [
        Problem(
            "unparsable_datetime",
            bad,
            _messages(spec.name, values, "cannot read {value}" + hint, bad=bad, show_value=show_value),
        )
    ]


def boolean_words(spec: FieldSpec) -> tuple[frozenset[str], frozenset[str]]:
    """Return the placeholder keys read as true and as false for a boolean field.

    The defaults (yes/no, y/n, true/false, 1/0, on/off) are extended by the field's ``values``
    (``{"true": [...], "false": [...]}``).
    """
    extra_true = {placeholder_key(v) for v in spec.values.get("true", ())}
    extra_false = {placeholder_key(v) for v in spec.values.get("false", ())}
    return frozenset(TRUE_WORDS | extra_true), frozenset(FALSE_WORDS | extra_false)


def parse_booleans(
    values: pd.Series, spec: FieldSpec, *, show_value: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Parse distinct, stripped, non-missing strings as booleans (pandas ``boolean`` dtype)."""
    if pd.api.types.is_bool_dtype(values.dtype):  # typed Parquet column
        return values.astype("boolean"), []
    true_words, false_words = boolean_words(spec)
    keys = values.str.lower()
    is_true = keys.isin(true_words).to_numpy()
    is_false = keys.isin(false_words).to_numpy()
    parsed = pd.Series(pd.array(np.where(is_true, True, False), dtype="boolean"), index=values.index)
    bad = ~(is_true | is_false)
    parsed[bad] = pd.NA
    return parsed, [
        Problem(
            "unparsable_boolean",
            bad,
            _messages(
                spec.name,
                values,
                "{value} is not a yes/no value (yes, no, true, false, 1, 0)",
                bad=bad,
                show_value=show_value,
            ),
        )
    ]


def category_lookup(spec: FieldSpec) -> dict[str, str]:
    """Return the matching key -> canonical value table of a category field."""
    lookup: dict[str, str] = {}
    for canonical, synonyms in spec.values.items():
        for value in (canonical, *synonyms):
            lookup.setdefault(normalise_token(value), canonical)
    return lookup


def map_categories(
    values: pd.Series, spec: FieldSpec, *, show_value: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Map distinct, stripped, non-missing strings to canonical category values.

    A value that matches no canonical value or synonym is a problem when the field is closed and kept
    as written when it is open.
    """
    if not spec.values:
        return values.astype(object), []
    lookup = category_lookup(spec)
    tokens = pd.Series(
        [normalise_token(value) for value in values.astype(str)], index=values.index, dtype=object
    )
    mapped = tokens.map(lookup)
    unmatched = mapped.isna().to_numpy()
    result = mapped.where(~unmatched, values.astype(object))
    if not spec.is_closed:
        return result, []
    allowed = list(spec.values)
    listed = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    return result, [
        Problem(
            "unknown_category",
            unmatched,
            _messages(
                spec.name,
                values,
                "{value} is not a known value (" + listed + "); add it as a synonym in the dictionary",
                bad=unmatched,
                show_value=show_value,
            ),
        )
    ]


def parse_values(
    values: pd.Series, spec: FieldSpec, *, show_value: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Parse distinct, stripped, non-missing strings according to the field's type."""
    if spec.type is FieldType.NUMBER:
        return parse_numbers(values, spec, show_value=show_value)
    if spec.type is FieldType.DATETIME:
        return parse_datetimes(values, spec, show_value=show_value)
    if spec.type is FieldType.BOOLEAN:
        return parse_booleans(values, spec, show_value=show_value)
    if spec.type is FieldType.CATEGORY:
        return map_categories(values, spec, show_value=show_value)
    return values.astype(target_dtype(spec)), []  # text stays text (no round trip through Python objects)


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
    "Problem",
    "boolean_words",
    "category_lookup",
    "empty_column",
    "map_categories",
    "match_columns",
    "normalise_token",
    "parse_booleans",
    "parse_datetimes",
    "parse_numbers",
    "parse_values",
    "placeholder_key",
    "placeholders_for",
    "target_dtype",
]
