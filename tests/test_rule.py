"""The one rule that reads a field's text, at its boundaries, through both of its callers.

Each case gives a field and a text, and the clean value or the problem message expected. The same text is
read as a record (``validate_record``) and as a cell of a one-row file (``ingest_table``); both call the
field's ``FieldRule``, so both must give the expected answer.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from careleads.dictionary import (
    Dictionary,
    FieldSpec,
    FieldType,
    Sensitivity,
    TableSpec,
    ingest_table,
    validate_record,
)
from careleads.dictionary._rule import FieldRule, lower_texts, strip_texts

_ISO_HINT = " as a date and time (ISO 8601: 2025-03-04T14:22:10)"


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def read(spec: FieldSpec, text: str | None) -> tuple[Any, str]:
    """(clean value, problem messages) of one text, read as a record and as a one-row file (which agree)."""
    table = TableSpec("t", (FieldSpec("id", FieldType.IDENTIFIER), spec), key="id")
    dictionary = Dictionary("d", {"t": table})
    clean, problems = validate_record({"id": "1", spec.name: text}, dictionary, "t")
    as_record = (clean[spec.name], "; ".join(p.message for p in problems))
    frame = pd.DataFrame({"id": ["1"], spec.name: ["" if text is None else text]}, dtype=object)
    result = ingest_table(frame, dictionary, "t", strict=True)
    if len(result.quarantine):
        as_row: tuple[Any, str] = (None, str(result.quarantine["_reason"].iloc[0]))
    else:
        as_row = (_plain(result.clean[spec.name].iloc[0]), "")
    assert as_record == as_row, (text, as_record, as_row)
    # by default the row is kept: the value is missing and each problem is a flag with the same message
    kept = ingest_table(frame, dictionary, "t")
    if not len(kept.quarantine):
        assert "; ".join(kept.flagged["_reason"]) == as_record[1]
        assert kept.clean[spec.name].isna().iloc[0] or not as_record[1]
    if as_record[0] is not None:
        assert type(_plain(as_record[0])) is type(as_row[0]) or isinstance(as_record[0], pd.Timestamp)
    return as_record


DISTANCE = FieldSpec("distance_km", FieldType.NUMBER, minimum=0, maximum=400)
AMOUNT = FieldSpec("amount", FieldType.NUMBER)


def _cannot(text: str) -> str:
    return f"distance_km: cannot read '{text}' as a number"


@pytest.mark.parametrize(
    ("text", "value", "message"),
    [
        ("12.5", 12.5, ""),
        (" 12.5\t", 12.5, ""),
        ("+3", 3.0, ""),
        ("-0", 0.0, ""),
        ("1e2", 100.0, ""),
        ("1E2", 100.0, ""),
        (".5", 0.5, ""),
        ("5.", 5.0, ""),
        ("0", 0.0, ""),
        ("400", 400.0, ""),  # the maximum itself is in range
        ("400.0000001", None, "distance_km: '400.0000001' is above the maximum 400"),
        ("-0.0001", None, "distance_km: '-0.0001' is below the minimum 0"),
        ("-5", None, "distance_km: '-5' is below the minimum 0"),
        ("1,234", None, "distance_km: '1,234' is above the maximum 400"),  # read, then out of range
        ("12,34", None, _cannot("12,34")),  # not a thousands separator
        ("1_000", None, _cannot("1_000")),
        ("0x10", None, _cannot("0x10")),
        ("inf", None, _cannot("inf")),
        ("-inf", None, _cannot("-inf")),
        ("nan", None, _cannot("nan")),
        ("1e400", None, _cannot("1e400")),  # overflows to infinity
        ("12 km", None, _cannot("12 km")),
        ("\uff11\uff12", None, _cannot("\uff11\uff12")),  # full-width digits
        ("\u0663", None, _cannot("\u0663")),  # an Arabic-Indic digit
        ("\u22125", None, _cannot("\u22125")),  # a minus sign that is not a hyphen
    ],
)
def test_numbers_signs_exponents_separators_and_range(text: str, value: float | None, message: str) -> None:
    assert read(DISTANCE, text) == (value, message)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,234", 1234.0), ("-1,234.5", -1234.5), ("+1,000,000", 1e6), ("1e-320", 1e-320), ("-0.25", -0.25)],
)
def test_numbers_without_a_range(text: str, value: float) -> None:
    assert read(AMOUNT, text) == (value, "")


AT = FieldSpec("at", FieldType.DATETIME)
DAY = FieldSpec("day", FieldType.DATETIME, format="%d/%m/%Y")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2025-03-04T14:22:10", "2025-03-04 14:22:10"),  # naive: taken as UTC
        ("2025-03-04 14:22", "2025-03-04 14:22"),
        ("2025-03-04", "2025-03-04"),  # date only: midnight
        ("2025-03", "2025-03-01"),  # ISO 8601 with less precision
        ("2025", "2025-01-01"),
        ("2025-03-04T10:00:00Z", "2025-03-04 10:00"),
        ("2025-03-05 09:00:00+02:00", "2025-03-05 07:00"),  # offsets converted to UTC
        ("2025-03-04T22:30:00-08:00", "2025-03-05 06:30"),
        ("2024-09-01T10:26:24.123456789", "2024-09-01 10:26:24.123456"),  # microseconds kept
        ("03/04/2025 10:00", "2025-03-04 10:00"),  # guessed format, month first
        ("4 Mar 2025", "2025-03-04"),  # the lenient parser
        ("1900-01-01", "1900-01-01"),  # the first day of the default window
        ("2100-12-31T23:59:59", "2100-12-31 23:59:59"),  # the last moment of the default window
    ],
)
def test_timestamps_offsets_naive_and_date_only(text: str, value: str) -> None:
    got, message = read(AT, text)
    assert message == "" and isinstance(got, pd.Timestamp) and got.tzinfo is None
    assert got == pd.Timestamp(value)


@pytest.mark.parametrize(
    "text", ["1500-01-01", "1677-09-21", "1899-12-31T23:59:59", "2101-01-01", "9999-12-31"]
)
def test_dates_outside_the_window_are_refused_unless_the_field_widens_it(text: str) -> None:
    """Outside the nanosecond range or not, a date before 1900 or after 2100 is a typing or export error by
    default (`FieldSpec.dates_accepted`); a field that needs older or later dates says so."""
    got, message = read(AT, text)
    assert got is None and "outside the dates accepted (1900-01-01 to 2100-12-31)" in message
    wide = FieldSpec("at", FieldType.DATETIME, earliest="1400-01-01", latest="9999-12-31")
    got, message = read(wide, text)
    assert message == "" and got == pd.Timestamp(text)


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",
        "2025-13-01T00:00",
        "2025-03-04T25:00:00",
        "10000-01-01",  # a year out of bounds
        "now",  # pandas reads these two as the current moment
        "today",
        "Now",
        "yesterday",
        "tomorrow",
        "12",
        "10:00",  # not date-like: the lenient parser, which would read it as today's time, may not try it
    ],
)
def test_timestamps_that_are_not_read(text: str) -> None:
    assert read(AT, text) == (None, f"at: cannot read '{text}'{_ISO_HINT}")


def test_a_field_with_a_format_reads_only_that_format() -> None:
    assert read(DAY, "25/12/2024") == (pd.Timestamp("2024-12-25"), "")
    assert read(DAY, "2025-12-25") == (None, "day: cannot read '2025-12-25' in the format '%d/%m/%Y'")
    assert read(DAY, "today") == (None, "day: cannot read 'today' in the format '%d/%m/%Y'")


def test_a_column_of_timestamps_guesses_a_format_from_its_first_unread_value() -> None:
    """Which values a column reads depends on its other values: the rule reads distinct values together."""
    rule = FieldRule(AT)
    texts = np.array(["2025-03-04", "Yesterday", "13/03/2025", "04/03/2025", "today"], dtype=object)
    parsed, problems = rule.parse(texts)
    # relative words are passed over; "13/03/2025" can only be day-first, and the format guessed from it
    # reads "04/03/2025" as 4 March
    assert parsed[[0, 2, 3]].tolist() == [pd.Timestamp(s) for s in ("2025-03-04", "2025-03-13", "2025-03-04")]
    assert [problem.bad.tolist() for problem in problems] == [[False, True, False, False, True]]
    # alone, "04/03/2025" is month-first
    assert read(AT, "04/03/2025") == (pd.Timestamp("2025-04-03"), "")


YES_NO = FieldSpec("ok", FieldType.BOOLEAN, values={"true": ("Sí",), "false": ("nein",)})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Yes", True),
        ("NO", False),
        ("y", True),
        ("N", False),
        ("t", True),
        ("F", False),
        ("1", True),
        ("0", False),
        ("1.0", True),
        ("0.0", False),
        ("on", True),
        ("Off", False),
        ("checked", True),
        ("UNCHECKED", False),
        ("sí", True),  # the field's own words, any case
        ("NEIN", False),
    ],
)
def test_yes_no_words(text: str, value: bool) -> None:
    assert read(YES_NO, text) == (value, "")


@pytest.mark.parametrize("text", ["maybe", "2", "yes!", "-1", "1.00"])
def test_other_words_are_not_yes_or_no(text: str) -> None:
    assert read(YES_NO, text) == (None, f"ok: '{text}' is not a yes/no value (yes, no, true, false, 1, 0)")


SERVICE = FieldSpec(
    "service",
    FieldType.CATEGORY,
    values={"womens_health": ("Women's Health", "OB/GYN"), "orthopedics": ("Ortho", "Bone & Joint")},
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("orthopedics", "orthopedics"),
        ("ORTHO", "orthopedics"),
        ("bone and joint", "orthopedics"),  # & counts as "and"
        ("Womens Health", "womens_health"),  # punctuation and case ignored
        ("ob-gyn", "womens_health"),
        ("Wómen's health", "womens_health"),  # accents ignored
    ],
)
def test_category_synonyms(text: str, value: str) -> None:
    assert read(SERVICE, text) == (value, "")


def test_unknown_categories_are_refused_by_a_closed_list_and_kept_by_an_open_one() -> None:
    listed = "womens_health, orthopedics"
    assert read(SERVICE, "Dentistry") == (
        None,
        f"service: 'Dentistry' is not a known value ({listed}); add it as a synonym in the dictionary",
    )
    open_list = FieldSpec("service", FieldType.CATEGORY, values=dict(SERVICE.values), closed=False)
    assert read(open_list, " Dentistry ") == ("Dentistry", "")
    assert read(open_list, "Ortho") == ("orthopedics", "")
    many = FieldSpec("code", FieldType.CATEGORY, values={f"v{k}": () for k in range(13)})
    first_twelve = ", ".join(f"v{k}" for k in range(12))
    assert read(many, "x") == (
        None,
        f"code: 'x' is not a known value ({first_twelve}, ...); add it as a synonym in the dictionary",
    )


@pytest.mark.parametrize(
    "text", ["", "   ", None, "N/A", "n/a", "  Select ", "NULL", "\u00a0none\u3000", "?", "-", "Unknown"]
)
def test_placeholders_are_missing(text: str | None) -> None:
    assert read(DISTANCE, text) == (None, "")
    required = FieldSpec("distance_km", FieldType.NUMBER, required=True)
    assert read(required, text) == (None, "distance_km: required value is missing")


def test_field_placeholders_and_a_field_value_that_is_a_global_placeholder() -> None:
    inquiry = FieldSpec("inquiry", FieldType.TEXT, missing_values=("Please select",))
    assert read(inquiry, "please SELECT") == (None, "")
    assert read(inquiry, "please select one") == ("please select one", "")  # longer: a value
    campaign = FieldSpec("campaign", FieldType.CATEGORY, values={"none": (), "fall": ()})
    assert read(campaign, "None") == ("none", "")  # the field's own value wins over the global placeholder
    assert read(DISTANCE, "nullable") == (None, _cannot("nullable"))


def test_direct_identifiers_are_not_echoed() -> None:
    phone = FieldSpec("phone", FieldType.NUMBER, sensitivity=Sensitivity.DIRECT_IDENTIFIER, maximum=10)
    hidden = "(value hidden: identifying field)"
    assert read(phone, "555 0100 call me") == (None, f"phone: cannot read {hidden} as a number")
    assert read(phone, "5550100") == (None, f"phone: {hidden} is above the maximum 10")


def test_text_is_stripped_and_kept() -> None:
    note = FieldSpec("note", FieldType.TEXT)
    assert read(note, "\u00a0 hello \u3000") == ("hello", "")
    assert read(note, "ünïcode 😀") == ("ünïcode 😀", "")


def test_placeholder_keys_are_lower_cased_by_arrow_on_both_paths() -> None:
    """The record path and a column compare the same lower-cased text (Arrow's), also for the dotted I."""
    rule = FieldRule(FieldSpec("note", FieldType.TEXT), ("i", "k"))
    texts = ["\u0130", "\u212a", "I", "ii", " K "]
    stripped = strip_texts(pa.array(texts, type=pa.large_string()))
    lowered = lower_texts(stripped).to_pylist()
    assert lowered == ["i", "k", "i", "ii", "k"]
    assert [rule.is_placeholder(key) for key in lowered] == [True, True, True, False, True]
    column = pd.Series(stripped.to_pylist(), dtype="string")
    assert rule.placeholder_mask(column).tolist() == [True, True, True, False, True]


def test_typed_values_are_checked_against_the_range_and_shown_as_written() -> None:
    rule = FieldRule(DISTANCE)
    parsed, problems = rule.parse(np.array([12.5, 401.0, np.inf]), shown=["12.5", "401.0", "inf"])
    assert parsed[:2].tolist() == [12.5, 401.0] and np.isnan(parsed[2])  # out of range, yet read
    unreadable, _below, above = problems
    assert unreadable.bad.tolist() == [False, False, True]
    assert above.messages[1] == "distance_km: '401.0' is above the maximum 400"


def _date_texts() -> Any:
    """Texts around the ISO 8601 shapes: dates, times, fractions, offsets, separators, junk and gaps."""
    from hypothesis import strategies as st

    def joined(parts: list[str]) -> str:
        return "".join(parts)

    number = st.integers(0, 10_000).map(str)
    part = st.one_of(
        number,
        number.map(lambda n: n.zfill(2)),
        st.sampled_from(
            ["-", ":", "T", " ", ".", "Z", "+", "/", "W", "t", "z", ",", "\u00a0", "\ud7ff", "0"]
        ),
    )
    iso = st.builds(
        "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
        st.integers(0, 10_000),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["T", " ", "t"]),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".123456", ".123456789", ".9999999999"]),
        st.sampled_from(["", "Z", "+05:00", "-08:00", "+0530", "+14:00", "-23:59", "+24:00"]),
    )
    return st.lists(st.one_of(iso, st.lists(part, max_size=12).map(joined), st.none()), max_size=6)


def test_a_format_reads_as_pandas_to_datetime_does() -> None:
    """The rule calls the parser ``pandas.to_datetime`` uses for a format, without the index around it: for
    any texts, ISO 8601 or a strftime format, the instants are those of ``to_datetime(..., utc=True)``."""
    from hypothesis import given, settings

    from careleads.dictionary._rule import _to_utc

    @settings(max_examples=400, deadline=None, database=None)
    @given(_date_texts())
    def check(values: list[str | None]) -> None:
        texts = np.array(values, dtype=object)
        for fmt in (
            "ISO8601",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M:%S%z",
            "%Y-%m-%d %H:%M:%S %Z",
            "%d/%m/%Y",
        ):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = pd.to_datetime(texts, errors="coerce", utc=True, format=fmt, cache=False)
            want = expected.as_unit("us").asi8.view("datetime64[us]")
            got = _to_utc(texts, fmt)
            assert got.dtype == np.dtype("datetime64[us]") and got.flags.writeable
            assert np.array_equal(got, want, equal_nan=True), (values, fmt)

    check()
