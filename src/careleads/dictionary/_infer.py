"""Inferring a first data dictionary from any CSV: types, placeholders, identifiers, sensitivity, label.

Everything is read from the content and from generic naming habits ("*_id", "email", "zip"); no column
name of a particular file is known here. The result is a starting point for a person to review: dump it
with :func:`~careleads.dictionary.dump_dictionary`, edit, load it back.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.tseries.api import guess_datetime_format

from careleads.dictionary._normalise import FALSE_WORDS, TRUE_WORDS, normalise_token, placeholder_key
from careleads.dictionary._read import read_table
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
from careleads.dictionary._sensitivity import SensitivityGuess, geography_reason, guess_sensitivity
from careleads.errors import InputError
from careleads.types import PathLikeStr

INFERRED_TABLE = "data"

# spellings that mean "no value" in exports and web forms
KNOWN_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "select",
        "please select",
        "unknown",
        "n/a",
        "na",
        "#n/a",
        "none",
        "-",
        "--",
        "?",
        "null",
        "nan",
        "not available",
        "not specified",
        "not provided",
        "missing",
        "(blank)",
        "undefined",
    }
)
# generic words that are often frequent across columns and still carry meaning
_MEANINGFUL = frozenset({"other", "others", "other (please specify)", "all", "any", "both"})
POSITIVE_LABEL_WORDS: tuple[str, ...] = (
    "1",
    "1.0",
    "yes",
    "y",
    "true",
    "t",
    "converted",
    "won",
    "closed won",
    "closed_won",
    "positive",
    "success",
)

_MAX_LISTED_VALUES = 50
_PLACEHOLDER_MIN_COLUMNS = 3
_PLACEHOLDER_MIN_SHARE = 0.05
_TYPE_SHARE = 0.95  # share of non-missing values that must fit a type
_DATETIME_SHARE = 0.9
_SAMPLE_VALUES = 2000
_MIN_ROWS_FOR_UNIQUENESS = 20
# A column of whole numbers, a different one on every row, is read as an identifier from this many rows (a
# count or an amount repeats long before; a record number never does).
_MIN_ROWS_FOR_NUMBER_ID = 200
# a column of short values is a category up to this many levels when each level repeats (at least two
# rows per level on average); free text is long or mostly unique values
_MAX_CATEGORY_LEVELS = 500
_TEXT_MIN_LENGTH = 30

# numbers written with separators: 1,234.5 (comma between thousands) or 1.234,5 (decimal comma)
_COMMA_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,3}(?:[. \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,[0-9]+)?")
# a value only one of the two readings explains
_ONLY_DECIMAL = re.compile(r"[.\s\u00a0\u202f][0-9]{3},|,(?:[0-9]{1,2}|[0-9]{4,})$|\.[0-9]{3}\.")
_ONLY_THOUSANDS = re.compile(r",[0-9]{3}\.|,[0-9]{3},")
THOUSANDS_COMMA = "thousands_comma"  # a number reading: 1,234.5
_AMBIGUOUS = "ambiguous"  # every value reads either way ("4,857"): the file's other columns decide
_LEADING_ZERO = re.compile(r"^0\d")
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$|^id_")
_CAMEL_ID = re.compile(r"[a-z0-9]I[Dd]$")
_NUMBER_NAME = re.compile(r"(^|_)(number|num|no|nr|code|ref|reference)$")
_CREATION_NAME = re.compile(
    r"creat|first|signup|sign_up|regist|submit|added|received|inquir|enquir|contact|opened|^date$|lead_date|^timestamp$"
)


@dataclass(frozen=True)
class _Profile:
    """The text values of one column, placeholders removed."""

    original: str
    name: str
    counts: pd.Series  # non-missing stripped value -> rows
    n_rows: int

    @property
    def n_present(self) -> int:
        return int(self.counts.sum())

    @property
    def n_distinct(self) -> int:
        return len(self.counts)


def snake_name(text: str) -> str:
    """Return a canonical field name: ASCII lower-case words joined by underscores.

    Examples
    --------
    >>> snake_name("Total Time Spent on Website")
    'total_time_spent_on_website'
    >>> snake_name("leadID")
    'lead_id'
    """
    camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    plain = unicodedata.normalize("NFKD", camel).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def _text_column(column: pd.Series) -> pd.Series:
    values = (
        column
        if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object
        else column.astype(str)
    )
    return values.astype("string").fillna("").str.strip()


def _value_counts(column: pd.Series) -> pd.Series:
    counts = _text_column(column).value_counts(dropna=False, sort=True)
    counts.index = counts.index.astype(str)
    return counts


def _is_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").notna()


def _detect_placeholders(all_counts: dict[str, pd.Series]) -> set[str]:
    """Known placeholder spellings that occur, plus values frequent in several unrelated category columns.

    A value that several columns share while their other values hardly overlap ("Select" among
    specialisms, cities and referral channels) is a form default, not an answer.
    """
    found: set[str] = {""}
    holders: dict[str, list[str]] = {}
    for column, counts in all_counts.items():
        keys = (
            pd.Series(counts.to_numpy(), index=[placeholder_key(v) for v in counts.index])
            .groupby(level=0)
            .sum()
        )
        found |= {key for key in keys.index if key in KNOWN_PLACEHOLDERS}
        n_rows = int(counts.sum())
        if n_rows == 0 or len(keys) > _MAX_LISTED_VALUES or len(keys) < 3:
            continue
        for key, count in keys.items():
            word = str(key)
            if (
                count / n_rows >= _PLACEHOLDER_MIN_SHARE
                and word not in TRUE_WORDS | FALSE_WORDS | _MEANINGFUL
                and not word.replace(".", "", 1).isdigit()
            ):
                holders.setdefault(word, []).append(column)
    for word, columns in holders.items():
        if word in found or len(columns) < _PLACEHOLDER_MIN_COLUMNS:
            continue
        others = [
            {placeholder_key(v) for v in all_counts[column].index} - {word} - KNOWN_PLACEHOLDERS
            for column in columns
        ]
        union = set().union(*others)
        shared = 1 - len(union) / max(1, sum(len(values) for values in others))
        if shared < 0.2:
            found.add(word)
    return found


def _profile(original: str, name: str, column: pd.Series, placeholders: set[str]) -> _Profile:
    counts = _value_counts(column)
    keep = [placeholder_key(value) not in placeholders for value in counts.index]
    return _Profile(original=original, name=name, counts=counts[keep], n_rows=len(column))


def _datetime_share(values: pd.Series, fmt: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format=fmt)
    return float(parsed.notna().mean()) if len(values) else 0.0


def _datetime_format(values: pd.Series) -> tuple[bool, str | None]:
    """(is a datetime column, explicit format or None for ISO 8601 / lenient parsing)."""
    sample = values.iloc[:_SAMPLE_VALUES]
    if sample.str.casefold().isin({"now", "today", "yesterday", "tomorrow"}).any():
        return False, None
    if _datetime_share(sample, "ISO8601") >= _DATETIME_SHARE:
        return True, None
    candidates: Counter[str] = Counter()
    for value in sample.iloc[:20]:
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas warns about day-first guesses; both are tried here
                guessed = guess_datetime_format(str(value), dayfirst=dayfirst)
            if guessed:
                candidates[guessed] += 1
    # a format without a year ("Feb", "03-14") names a month or a day in any year: not a date
    candidates = Counter({fmt: n for fmt, n in candidates.items() if "%Y" in fmt or "%y" in fmt})
    best = max(candidates, key=lambda fmt: _datetime_share(sample, fmt), default=None)
    if best is not None and _datetime_share(sample, best) >= _DATETIME_SHARE:
        return True, best
    return False, None


def reads_as_dates(column: pd.Series) -> bool:
    """Whether a column of text holds dates, as `infer_dictionary` decides it (one place for that rule).

    Examples
    --------
    >>> import pandas as pd
    >>> reads_as_dates(pd.Series(["03/14/2024", "04/02/2024", None]))
    True
    >>> reads_as_dates(pd.Series(["Feb", "Mar"]))
    False
    """
    values = column.dropna().astype("string").str.strip()
    values = values[values.str.len() > 0]
    return bool(len(values)) and _datetime_format(values)[0]


def _number_reading(profile: _Profile) -> str | None:
    """How a column of numbers written with commas reads, or None when it is not such a column.

    Decided from the values: :data:`DECIMAL_COMMA` when nearly every value fits ``1.234,5`` and some value
    fits only that reading (``4,8``, ``5.191,0``); :data:`THOUSANDS_COMMA` when nearly every value fits
    ``1,234.5`` and some value fits only that one (``1,234.5``, ``1,234,567``); ``"ambiguous"`` when
    every value reads either way (``4,857``) or the two kinds of evidence conflict.
    """
    if profile.n_present == 0:
        return None
    values = pd.Series(profile.counts.index, dtype="string")
    weights = profile.counts.to_numpy()
    if not bool(values.str.contains(",", regex=False).any()):
        return None
    plain = _is_number(values).to_numpy()
    decimal = values.str.fullmatch(_COMMA_DECIMAL.pattern).to_numpy(dtype=bool)
    thousands = plain | values.str.fullmatch(_COMMA_THOUSANDS.pattern).to_numpy(dtype=bool)
    fits_decimal = float(weights[decimal].sum()) / profile.n_present >= _TYPE_SHARE
    fits_thousands = float(weights[thousands].sum()) / profile.n_present >= _TYPE_SHARE
    only_decimal = bool(values[decimal].str.contains(_ONLY_DECIMAL.pattern, regex=True).any())
    only_thousands = bool(values[thousands].str.contains(_ONLY_THOUSANDS.pattern, regex=True).any())
    if fits_decimal and only_decimal and not only_thousands:
        return DECIMAL_COMMA
    if fits_thousands and only_thousands and not only_decimal:
        return THOUSANDS_COMMA
    if fits_decimal or fits_thousands:
        return (
            _AMBIGUOUS
            if fits_decimal and fits_thousands
            else (DECIMAL_COMMA if fits_decimal else THOUSANDS_COMMA)
        )
    return None


def _sensitivity(profile: _Profile, field_type: FieldType) -> SensitivityGuess:
    return guess_sensitivity(profile.original, profile.name, field_type, profile.counts)


def _grouped_values(counts: pd.Series) -> dict[str, tuple[str, ...]]:
    """Canonical value (the most frequent spelling) -> the other spellings with the same matching key."""
    groups: dict[str, list[str]] = {}
    for value in counts.index:  # most frequent first
        token = normalise_token(str(value))
        if token:
            groups.setdefault(token, []).append(str(value))
    return {spellings[0]: tuple(spellings[1:]) for spellings in groups.values()}


def _looks_boolean(profile: _Profile) -> bool:
    keys = {placeholder_key(value) for value in profile.counts.index}
    if not keys or len(keys) > 2:
        return False
    n_true, n_false = len(keys & TRUE_WORDS), len(keys & FALSE_WORDS)
    if n_true + n_false != len(keys) or n_true > 1 or n_false > 1:
        return False
    pairs = (
        {"yes", "no"},
        {"y", "n"},
        {"true", "false"},
        {"t", "f"},
        {"1", "0"},
        {"1.0", "0.0"},
        {"on", "off"},
    )
    return len(keys) == 1 or any(keys == pair for pair in pairs)


def _infer_field(
    profile: _Profile, *, is_label: bool, number_reading: str | None = None
) -> tuple[FieldSpec, bool]:
    """Return the field and whether it is unique and complete (a key candidate).

    `number_reading` (:data:`DECIMAL_COMMA` or :data:`THOUSANDS_COMMA`) makes a column of numbers written
    with commas a number field.
    """
    counts = profile.counts
    values = pd.Series(counts.index, dtype="string")
    unique = (
        profile.n_present == profile.n_rows
        and profile.n_distinct == profile.n_rows
        and profile.n_rows >= _MIN_ROWS_FOR_UNIQUENESS
    )
    missing_share = 1 - profile.n_present / profile.n_rows if profile.n_rows else 0.0
    note = f"Inferred ({profile.n_distinct} distinct values, {missing_share:.0%} missing)."
    aliases = (profile.original,) if profile.original != profile.name else ()

    if is_label:
        listed = (
            {str(value): () for value in counts.index} if profile.n_distinct <= _MAX_LISTED_VALUES else {}
        )
        field = FieldSpec(
            name=profile.name,
            type=FieldType.CATEGORY,
            description="The label (outcome) column. " + note,
            aliases=aliases,
            values=listed,
            known=KnownAt.AFTER_OUTCOME,
        )
        return field, False
    minimum: float | None = None
    datetime_format: str | None = None
    number_format: str | None = None
    if profile.n_present == 0:
        field_type = FieldType.CATEGORY
        note = "Inferred (always empty in the sample)."
    else:
        numeric_rows = float(counts[_is_number(values).to_numpy()].sum()) / profile.n_present
        parsed_numbers = pd.to_numeric(values, errors="coerce").dropna()
        # whole numbers only (an id is never 31.6, whatever its name says)
        whole = bool(len(parsed_numbers)) and bool((parsed_numbers == parsed_numbers.round()).all())
        leading_zero = bool(values.str.match(_LEADING_ZERO.pattern).any())
        id_named = bool(_ID_NAME.search(profile.name) or _CAMEL_ID.search(profile.original))
        number_named = bool(_NUMBER_NAME.search(profile.name))
        mean_length = float((values.str.len() * counts.to_numpy()).sum()) / profile.n_present
        spaced = float(counts[values.str.contains(" ", regex=False).to_numpy()].sum()) / profile.n_present
        field_type = FieldType.CATEGORY
        is_direct = _sensitivity(profile, FieldType.CATEGORY).sensitivity is Sensitivity.DIRECT_IDENTIFIER
        # a place (region, country, postcode) is a category even with many spaced or unique short values
        place = (
            geography_reason(profile.original, FieldType.CATEGORY, counts)
            if mean_length < _TEXT_MIN_LENGTH
            else None
        )
        postcode = place is not None and place.startswith("postcode")
        repeating = (
            mean_length < _TEXT_MIN_LENGTH
            and profile.n_distinct <= _MAX_CATEGORY_LEVELS
            and 2 * profile.n_distinct <= profile.n_present
        )
        if _looks_boolean(profile):
            field_type = FieldType.BOOLEAN
        elif is_direct and (profile.n_distinct > _MAX_LISTED_VALUES or unique):
            field_type = FieldType.TEXT
        elif (id_named or (number_named and unique and place is None)) and (
            whole or numeric_rows < _TYPE_SHARE
        ):
            field_type = FieldType.IDENTIFIER
        elif unique and whole and numeric_rows >= _TYPE_SHARE and profile.n_rows >= _MIN_ROWS_FOR_NUMBER_ID:
            field_type = FieldType.IDENTIFIER  # a different whole number on every row: a record number
        elif postcode:
            field_type = FieldType.CATEGORY  # ZIP codes are digits, never amounts
        elif numeric_rows >= _TYPE_SHARE and not leading_zero:
            field_type = FieldType.NUMBER
            if (parsed_numbers >= 0).all():
                minimum = 0.0
        elif number_reading is not None and not leading_zero:
            field_type = FieldType.NUMBER
            number_format = number_reading if number_reading == DECIMAL_COMMA else None
            example = str(values[values.str.contains(",", regex=False)].iloc[0])
            meaning = "decimal comma" if number_format else "comma between thousands"
            note += f" Numbers written with a {meaning} (e.g. {example!r})."
            if not values.str.startswith("-").any():
                minimum = 0.0
        elif numeric_rows < _TYPE_SHARE:
            is_datetime, fmt = _datetime_format(values)
            if is_datetime:
                field_type, datetime_format = FieldType.DATETIME, fmt
            elif place is not None or repeating:
                field_type = FieldType.CATEGORY
            elif profile.n_distinct > _MAX_LISTED_VALUES and (
                mean_length >= _TEXT_MIN_LENGTH or (spaced >= 0.5 and not unique)
            ):
                field_type = FieldType.TEXT
            elif unique and spaced < 0.5:
                field_type = FieldType.IDENTIFIER
        elif unique and place is None:
            field_type = FieldType.IDENTIFIER  # unique codes with leading zeros
    guess = _sensitivity(profile, field_type)
    listed_values: dict[str, tuple[str, ...]] = {}
    if field_type is FieldType.CATEGORY and 0 < profile.n_distinct <= _MAX_LISTED_VALUES:
        listed_values = _grouped_values(counts)
    field = FieldSpec(
        name=profile.name,
        type=field_type,
        description=note,
        aliases=aliases,
        values=listed_values,
        minimum=minimum,
        sensitivity=guess.sensitivity,
        sensitivity_reason=guess.reason,
        # the lists come from one sample: new values are kept, not quarantined, until a person closes them
        closed=field_type is not FieldType.CATEGORY,
        format=datetime_format or number_format,
    )
    return field, unique and field_type is FieldType.IDENTIFIER


def _positive_label(counts: pd.Series) -> tuple[str, ...]:
    by_key = {placeholder_key(str(value)): str(value) for value in counts.index}
    for word in POSITIVE_LABEL_WORDS:
        if word in by_key:
            return (by_key[word],)
    if counts.empty:
        return ()
    return (str(counts.sort_values(kind="stable").index[0]),)  # the minority value


def _unique_names(originals: list[str]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for position, original in enumerate(originals, start=1):
        name = snake_name(original) or f"column_{position}"
        if name[0].isdigit():
            name = f"c_{name}"
        candidate, suffix = name, 2
        while candidate in taken:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        taken.add(candidate)
        names.append(candidate)
    return names


def infer_dictionary(
    frame_or_path: pd.DataFrame | PathLikeStr, *, label: str | None = None, name: str | None = None
) -> Dictionary:
    """Infer a data dictionary (one table, ``"data"``) from any CSV or Parquet file or data frame.

    Per column: boolean (two values such as yes/no, y/n, true/false, 0/1), identifier (named like an id,
    ``*_id``, ``*ID``, unless its values are fractional numbers; or a unique ``*number`` / code; or unique,
    complete, non-numeric values without spaces; or a different whole number on each of 200 or more rows),
    number, datetime (most values parse; a non-ISO format is recorded), free text (many long or
    spaced values), else category with its values (spelling variants grouped as synonyms, list open).
    Placeholders meaning "missing" are the known spellings ("Select", "N/A", "-", ...) that occur plus
    values shared by several category columns whose other values do not overlap.

    Parameters
    ----------
    frame_or_path : pandas.DataFrame or str or os.PathLike
        The data (a frame as read by :func:`~careleads.dictionary.read_table`, or a file).
    label : str, optional
        The outcome column (exact name or matched ignoring case, spaces and punctuation). Its values are
        listed as they are (0/1 stays 0/1) and the positive value is guessed: 1, yes, true, converted, won,
        else the minority value. It is marked ``known: after_outcome``.
    name : str, optional
        Dictionary name; default the file stem or ``"inferred"``.

    Returns
    -------
    Dictionary
        Fields with canonical snake_case names and the original names as aliases, ``known: at_creation``
        (except the label), sensitivity guessed from names and content, the key (first unique complete
        identifier) and the time column (the only datetime column named like a creation date).

    Raises
    ------
    InputError
        If the file cannot be read, has no columns, or the label column does not exist.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Lead ID": [f"L{i}" for i in range(30)], "Converted": ["0", "1", "1"] * 10})
    >>> dictionary = infer_dictionary(frame, label="Converted")
    >>> dictionary.table("data").key, dictionary.label
    ('lead_id', LabelSpec(column='converted', positive=('1',)))
    """
    if isinstance(frame_or_path, pd.DataFrame):
        frame = frame_or_path
        source = str(frame.attrs.get("source", ""))
        default_name = Path(source).stem if source else "inferred"
    else:
        frame = read_table(frame_or_path)
        source = Path(frame_or_path).name
        default_name = Path(frame_or_path).stem
    if frame.shape[1] == 0:
        raise InputError(f"{source or 'the data frame'}: no columns to describe")
    originals = [str(column) for column in frame.columns]
    names = _unique_names(originals)
    label_position: int | None = None
    if label is not None:
        matches = [i for i, original in enumerate(originals) if original == label]
        matches = matches or [
            i for i, original in enumerate(originals) if normalise_token(original) == normalise_token(label)
        ]
        if not matches:
            raise InputError(
                f"{source or 'the data frame'}: no label column {label!r}; columns: {', '.join(originals)}"
            )
        label_position = matches[0]

    all_counts = {original: _value_counts(frame.iloc[:, i]) for i, original in enumerate(originals)}
    label_counts = {
        k: v for k, v in all_counts.items() if label_position is None or k != originals[label_position]
    }
    placeholders = _detect_placeholders(label_counts)

    profiles = [
        _profile(original, field_name, frame.iloc[:, position], placeholders)
        for position, (original, field_name) in enumerate(zip(originals, names, strict=True))
    ]
    readings = [None if i == label_position else _number_reading(p) for i, p in enumerate(profiles)]
    decided = {r for r in readings if r in (DECIMAL_COMMA, THOUSANDS_COMMA)}
    # "4,857" reads either way: the file's other columns decide, else the comma separates thousands
    file_reading = DECIMAL_COMMA if decided == {DECIMAL_COMMA} else THOUSANDS_COMMA
    fields: list[FieldSpec] = []
    key: str | None = None
    for position, profile in enumerate(profiles):
        reading = file_reading if readings[position] == _AMBIGUOUS else readings[position]
        field, key_candidate = _infer_field(
            profile, is_label=position == label_position, number_reading=reading
        )
        fields.append(field)
        if key_candidate and key is None:
            key = field.name
    creation = [f.name for f in fields if f.type is FieldType.DATETIME and _CREATION_NAME.search(f.name)]
    label_spec = None
    if label_position is not None:
        label_field = fields[label_position]
        label_values = _profile(
            originals[label_position], label_field.name, frame.iloc[:, label_position], placeholders
        )
        label_spec = LabelSpec(column=label_field.name, positive=_positive_label(label_values.counts))
    ordered = sorted(placeholders, key=lambda value: (value != "", value))
    return Dictionary(
        name=name or default_name,
        tables={
            INFERRED_TABLE: TableSpec(
                name=INFERRED_TABLE,
                fields=tuple(fields),
                key=key,
                time_column=creation[0] if len(creation) == 1 else None,
                description=f"Inferred from {source or 'a data frame'} ({len(frame)} rows); review it.",
            )
        },
        missing_values=tuple(ordered),
        label=label_spec,
        description="Inferred by careleads; review types, values, sensitivity and `known` before use.",
    )


__all__ = ["INFERRED_TABLE", "KNOWN_PLACEHOLDERS", "infer_dictionary", "reads_as_dates", "snake_name"]
