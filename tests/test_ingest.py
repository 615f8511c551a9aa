"""Reading files and ingesting them against the dictionary: normalisation, quarantine, counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careleads.dictionary import (
    Dictionary,
    FieldSpec,
    FieldType,
    IngestResult,
    Sensitivity,
    TableSpec,
    ingest_file,
    ingest_table,
    load_dictionary,
    read_table,
    repeats_values,
    write_quarantine,
)
from careleads.errors import DictionaryError, InputError

HEADER = "Lead ID,Created Date,Specialty,Lead Source,distance_km,consent_sms,Insurance Type,inquiry_type,Zip,Browser"  # noqa: E501
GOOD = [
    "L1,2025-03-04T14:22:10,Ortho,Google Ads,12.5,yes,PPO,Select,02134,firefox",  # row 2
    "L2,2025-03-05 09:00:00+02:00,Heart Care,PPC,3,N,Cash,Please select,02135,",  # row 3
    "L3,2025-03-06,OB/GYN,instagram,,TRUE,Medicare,Scheduling,N/A,safari",  # row 4
]
BAD = {
    5: (",2025-03-04,Derm,SEO,1,no,HMO,,02136,x", "lead_id", "missing_required"),
    6: ("L5,2025-13-45,Derm,SEO,1,no,HMO,,02136,x", "created_at", "unparsable_datetime"),
    7: ("L6,2025-03-04,Derm,SEO,-5,no,HMO,,02136,x", "distance_km", "out_of_range"),
    8: ("L7,2025-03-04,Dentistry,SEO,1,no,HMO,,02136,x", "service_line", "unknown_category"),
    9: ("L1,2025-03-07,Derm,SEO,1,no,HMO,,02136,x", "lead_id", "duplicate_key"),
    10: ("L9,2025-03-04,Derm,SEO,far,no,HMO,,02136,x", "distance_km", "unparsable_number"),
    11: ("L10,2025-03-04,Derm,SEO,1,maybe,HMO,,02136,x", "consent_sms", "unparsable_boolean"),
}
MULTI = "L11,yesterday,Derm,SEO,999,no,HMO,,02136,x"  # row 12: two problems in one row


def write_leads(folder: Path, *, delimiter: str = ",", extra: tuple[str, ...] = ()) -> Path:
    lines = [HEADER, *GOOD, *(line for line, _, _ in BAD.values()), MULTI, *extra]
    file = folder / "leads.csv"
    file.write_text("\n".join(line.replace(",", delimiter) for line in lines) + "\n", encoding="utf-8")
    return file


@pytest.fixture
def result(tmp_path: Path) -> IngestResult:
    return ingest_file(write_leads(tmp_path), load_dictionary(), "leads", strict=True)


def test_each_bad_row_lands_in_quarantine_with_row_field_and_reason(result: IngestResult) -> None:
    quarantine = result.quarantine.set_index("_row")
    assert list(quarantine.index) == [*BAD, 12]
    for row, (_, field, kind) in BAD.items():
        assert quarantine.loc[row, "_field"] == field
        assert str(quarantine.loc[row, "_reason"]).startswith(f"{field}: ")
        assert kind in result.summary.reasons
    assert "required value is missing" in str(quarantine.loc[5, "_reason"])
    assert "'2025-13-45'" in str(quarantine.loc[6, "_reason"])
    assert "below the minimum 0" in str(quarantine.loc[7, "_reason"])
    assert "'Dentistry' is not a known value" in str(quarantine.loc[8, "_reason"])
    assert quarantine.loc[9, "_reason"] == "lead_id: duplicate key 'L1' (first stored on row 2)"
    assert set(quarantine["_source"]) == {"leads.csv"}
    # the original values, as written, travel with the reasons
    assert quarantine.loc[8, "Specialty"] == "Dentistry"
    assert quarantine.loc[7, "distance_km"] == "-5"


def test_a_row_with_several_problems_is_quarantined_once_with_all_reasons(result: IngestResult) -> None:
    row = result.quarantine.set_index("_row").loc[12]
    reason = str(row["_reason"])
    assert row["_field"] == "created_at; distance_km"
    assert reason.count("; ") == 1
    assert "cannot read 'yesterday'" in reason and "above the maximum 400" in reason


def test_counts_add_up(result: IngestResult) -> None:
    summary = result.summary
    assert (summary.n_read, summary.n_stored, summary.n_quarantined) == (11, 3, 8)
    assert summary.n_stored + summary.n_quarantined == summary.n_read
    assert len(result.clean) == summary.n_stored and len(result.quarantine) == summary.n_quarantined
    assert summary.reasons["out_of_range"] == 2 and summary.reasons["unparsable_datetime"] == 2
    assert summary.field_reasons["distance_km: out_of_range"] == 2
    assert sum(summary.reasons.values()) == 9  # row 12 has two kinds


def test_clean_rows_have_canonical_names_values_and_types(result: IngestResult) -> None:
    clean = result.clean
    assert list(clean.columns[:4]) == ["lead_id", "created_at", "lead_type", "service_line"]
    assert clean["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert clean["service_line"].tolist() == ["orthopedics", "cardiology", "womens_health"]
    assert clean["source"].tolist() == ["paid_search", "paid_search", "paid_social"]
    assert clean["insurance"].tolist() == ["commercial", "self_pay", "medicare"]
    assert clean["created_at"].tolist() == [
        pd.Timestamp("2025-03-04 14:22:10"),
        pd.Timestamp("2025-03-05 07:00:00"),  # +02:00 converted to UTC
        pd.Timestamp("2025-03-06"),
    ]
    assert clean["created_at"].dtype == np.dtype("datetime64[us]")
    assert clean["distance_km"].dtype == np.dtype("float64")
    assert clean["distance_km"].iloc[0] == 12.5 and pd.isna(clean["distance_km"].iloc[2])
    assert clean["consent_sms"].dtype == pd.BooleanDtype()
    assert clean["consent_sms"].tolist() == [True, False, True]
    assert isinstance(clean["service_line"].dtype, pd.CategoricalDtype)
    assert clean["postal_code"].dtype == pd.StringDtype()
    assert clean["postal_code"].iloc[0] == "02134"  # leading zero kept


def test_placeholders_become_missing_and_are_counted(result: IngestResult) -> None:
    clean = result.clean
    assert clean["inquiry_type"].isna().tolist() == [
        True,
        True,
        False,
    ]  # "Select", field-level "Please select"
    assert clean["inquiry_type"].iloc[2] == "scheduling"
    assert pd.isna(clean["postal_code"].iloc[2])  # "N/A"
    assert result.summary.n_placeholders == {"inquiry_type": 2, "postal_code": 1}
    # counted over all rows read: 3 stored rows plus the 7 quarantined rows spelled "Derm"
    assert result.summary.n_normalised["service_line"] == 10


def test_unknown_columns_are_kept_and_reported(result: IngestResult) -> None:
    assert result.summary.unknown_columns == ("Browser",)
    assert result.clean["Browser"].tolist() == ["firefox", pd.NA, "safari"]
    assert "lead_type" in result.summary.missing_columns
    assert result.clean["lead_type"].isna().all()
    assert result.summary.renamed_columns["Specialty"] == "service_line"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    frame = read_table(write_leads(tmp_path, delimiter=delimiter))
    assert frame.columns[0] == "Lead ID" and frame.shape == (11, 10)
    assert ingest_table(frame, load_dictionary(), "leads", strict=True).summary.n_stored == 3


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    file = tmp_path / "leads.csv"
    file.write_text(f"{HEADER}\n{GOOD[0]}\n\n{BAD[6][0]}\n", encoding="utf-8")
    quarantine = ingest_file(file, load_dictionary(), "leads").quarantine
    assert quarantine["_row"].tolist() == [3, 4]
    assert quarantine["_reason"].tolist()[0] == "blank row"


def test_the_first_good_copy_of_a_key_is_stored() -> None:
    frame = pd.DataFrame(
        {"lead_id": ["A", "A", "A"], "created_at": ["not a date", "2025-01-01", "2025-01-02"]},
    )
    result = ingest_table(frame, load_dictionary(), "leads", source="x.csv")
    assert result.clean["created_at"].tolist() == [pd.Timestamp("2025-01-01")]
    assert result.quarantine["_row"].tolist() == [2, 4]
    assert result.quarantine["_reason"].iloc[1] == "lead_id: duplicate key 'A' (first stored on row 3)"


def test_typed_parquet_input_gives_the_same_clean_rows(tmp_path: Path, result: IngestResult) -> None:
    typed = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "created_at": pd.to_datetime(["2025-03-04 14:22:10", "2025-03-05 07:00"], format="ISO8601"),
            "distance_km": [12.5, 500.0],
            "consent_sms": [True, False],
            "service_line": ["Ortho", "Heart Care"],
        }
    )
    file = tmp_path / "leads.parquet"
    typed.to_parquet(file)
    parsed = ingest_file(file, load_dictionary(), "leads", strict=True)
    assert parsed.clean["created_at"].iloc[0] == result.clean["created_at"].iloc[0]
    assert parsed.clean["consent_sms"].tolist() == [True]
    assert parsed.quarantine["_reason"].tolist() == ["distance_km: '500.0' is above the maximum 400"]


def test_datetime_formats_offsets_and_relative_words() -> None:
    spec = Dictionary(
        "d",
        {
            "t": TableSpec(
                "t",
                (
                    FieldSpec("id", FieldType.IDENTIFIER),
                    FieldSpec("at", FieldType.DATETIME),
                    FieldSpec("day", FieldType.DATETIME, format="%d/%m/%Y"),
                ),
                key="id",
            )
        },
    )
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "at": ["2025-03-04T10:00:00Z", "03/15/2025 10:00", "today", "2025-03-04"],
            "day": ["25/12/2024", "01/02/2025", "01/02/2025", "2025-12-25"],
        }
    )
    result = ingest_table(frame, spec, "t", strict=True)
    assert result.clean["at"].tolist() == [pd.Timestamp("2025-03-04 10:00"), pd.Timestamp("2025-03-15 10:00")]
    assert result.clean["day"].tolist() == [pd.Timestamp("2024-12-25"), pd.Timestamp("2025-02-01")]
    reasons = result.quarantine["_reason"].tolist()
    assert reasons[0].startswith("at: cannot read 'today'")
    assert reasons[1] == "day: cannot read '2025-12-25' in the format '%d/%m/%Y'"


def test_open_categories_keep_new_values_and_a_field_value_beats_a_global_placeholder() -> None:
    frame = pd.DataFrame(
        {
            "lead_id": ["1", "2", "3"],
            "created_at": ["2025-01-01"] * 3,
            "campaign": ["fall_flu", "None", "Spring Wellness"],
        }
    )
    clean = ingest_table(frame, load_dictionary(), "leads").clean
    assert clean["campaign"].tolist() == ["fall_flu", "none", "spring_wellness"]


def test_direct_identifiers_are_not_echoed_in_reasons() -> None:
    phone = FieldSpec("phone", FieldType.NUMBER, sensitivity=Sensitivity.DIRECT_IDENTIFIER)
    spec = Dictionary("d", {"t": TableSpec("t", (phone,))})
    reason = (
        ingest_table(pd.DataFrame({"phone": ["555 0100 call me"]}), spec, "t", strict=True)
        .quarantine["_reason"]
        .iloc[0]
    )
    assert "555" not in reason and "value hidden" in reason


def test_missing_required_column_and_ambiguous_columns_are_input_errors() -> None:
    dictionary = load_dictionary()
    with pytest.raises(InputError, match=r"leads\.csv: no column for the required field\(s\) created_at"):
        ingest_table(pd.DataFrame({"lead_id": ["1"]}), dictionary, "leads", source="leads.csv")
    both = pd.DataFrame({"lead_id": ["1"], "created_at": ["2025-01-01"], "Zip": ["1"], "postal_code": ["2"]})
    with pytest.raises(InputError, match="'Zip' and 'postal_code' both match the field 'postal_code'"):
        ingest_table(both, dictionary, "leads")
    with pytest.raises(DictionaryError, match="no table 'contacts'"):
        ingest_table(both, dictionary, "contacts")


def test_read_table_refuses_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "blank.csv")
    (tmp_path / "image.csv").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError, match="binary"):
        read_table(tmp_path / "image.csv")
    (tmp_path / "book.csv").write_bytes(b"PK\x03\x04" + b"x" * 100)
    with pytest.raises(InputError, match="Excel"):
        read_table(tmp_path / "book.csv")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a well-formed CSV"):
        read_table(tmp_path / "ragged.csv")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_table(tmp_path / "broken.parquet")
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)


def test_read_table_keeps_placeholders_and_reads_other_encodings(tmp_path: Path) -> None:
    file = tmp_path / "latin.csv"
    file.write_bytes("name;city\nJosé;NA\n;São Paulo\n".encode("latin-1"))
    frame = read_table(file)
    assert frame.to_dict("list") == {"name": ["José", ""], "city": ["NA", "São Paulo"]}
    assert frame.attrs["source"] == "latin.csv"
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa,b\n1,null\n".encode())
    assert read_table(bom).to_dict("list") == {"a": ["1"], "b": ["null"]}


def test_write_quarantine_and_ingest_file_write_the_bad_rows(tmp_path: Path, result: IngestResult) -> None:
    path = write_quarantine(result, tmp_path / "out" / "q.csv")
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(written.columns[:4]) == ["_source", "_row", "_field", "_reason"]
    assert written["_row"].tolist() == [str(row) for row in [*BAD, 12]]
    ingest_file(write_leads(tmp_path), load_dictionary(), "leads", quarantine_dir=tmp_path / "q", strict=True)
    assert len(pd.read_csv(tmp_path / "q" / "leads.quarantine.csv")) == 8


SHIPPED = load_dictionary()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["L1", "L2", "", "N/A", " L3 "]),
            st.sampled_from(["2025-01-01", "2025-02-30", "", "x", "2025-01-01T00:00:00+05:00"]),
            st.sampled_from(["Ortho", "derm", "???", "", "Select", "Dentistry"]),
            st.sampled_from(["1", "-1", "401", "", "abc", "1,000"]),
        ),
        max_size=25,
    )
)
def test_every_row_is_either_stored_or_quarantined(rows: list[tuple[str, str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["lead_id", "created_at", "service_line", "distance_km"], dtype=str)
    result = ingest_table(frame, SHIPPED, "leads")
    assert result.summary.n_stored + result.summary.n_quarantined == len(rows)
    assert result.clean["lead_id"].is_unique
    assert result.clean["lead_id"].notna().all() and result.clean["created_at"].notna().all()
    assert sorted(result.quarantine["_row"]) == result.quarantine["_row"].tolist()


def test_many_rows_with_many_unknown_columns_account_for_every_row() -> None:
    # speed is measured by the benchmark (python benchmarks/bench_training.py), never by a timed test
    n_rows = 20_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(n_rows)],
            "created_at": pd.Series(
                pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n_rows), "s")
            )
            .dt.strftime("%Y-%m-%dT%H:%M:%S")
            .to_numpy(),
            "service_line": rng.choice(["Ortho", "Cardio", "Skin", "PT", "Dentistry"], n_rows),
            "distance_km": rng.gamma(2, 10, n_rows).round(1).astype(str),
            "consent_sms": rng.choice(["yes", "no", "Y", ""], n_rows),
        }
    ).astype(str)
    for extra in range(25):
        frame[f"extra_{extra}"] = rng.choice(["a", "b", "c"], n_rows)
    result = ingest_table(frame, load_dictionary(), "leads", strict=True)
    assert result.summary.reasons == {"unknown_category": result.summary.n_quarantined}
    assert result.summary.n_quarantined > 0
    assert result.summary.n_stored + result.summary.n_quarantined == n_rows
    assert len(result.summary.unknown_columns) == 25


def _messy_leads(n_rows: int, seed: int) -> pd.DataFrame:
    """Simulated leads as text, with blanks, placeholders, padding, case changes and junk mixed in."""
    from careleads.synth import generate

    rng = np.random.default_rng(seed)
    frame = generate(n_rows, seed=seed).leads.astype("string").astype(object)
    n_rows = len(frame)  # the simulator adds a few duplicated rows
    noise = np.array(["", "  ", "N/A", "Select", "???", "-1", "1e9", "yes", "2025-02-30", None], dtype=object)
    for column in frame.columns:
        values = frame[column].to_numpy(dtype=object).copy()
        spoil = rng.random(n_rows) < 0.15
        values[spoil] = rng.choice(noise, int(spoil.sum()))
        pad = rng.random(n_rows) < 0.1
        values[pad] = [f"  {v.upper()} " if isinstance(v, str) else v for v in values[pad]]
        frame[column] = values
    return frame


@pytest.mark.parametrize("typed", [False, True])
def test_clean_values_equal_ingesting_each_distinct_value_alone(typed: bool) -> None:
    """Values are taken per row from the distinct values: the same as checking every value on its own."""
    from careleads.dictionary._ingest import _ingest_column
    from careleads.dictionary._normalise import target_dtype
    from careleads.dictionary._rule import FieldRule

    dictionary = load_dictionary()
    table = dictionary.table("leads")
    raw = _messy_leads(300, seed=5)
    if typed:  # Parquet-typed columns take the typed path
        raw = raw.assign(distance_km=pd.to_numeric(raw["distance_km"], errors="coerce"))
    n_checked = 0
    for spec in table.fields:
        if spec.name not in raw:
            continue
        column = raw[spec.name]
        rule = FieldRule(spec, dictionary.missing_values, required=spec.required)
        values = _ingest_column(column, rule).values
        assert values.dtype == target_dtype(spec), spec.name
        assert list(values.index) == list(range(len(column)))
        alone: dict[object, object] = {}
        for value in column.drop_duplicates():
            one = pd.Series([value], dtype=column.dtype)
            got = _ingest_column(one, FieldRule(spec, dictionary.missing_values)).values.iloc[0]
            alone[None if pd.isna(value) else value] = got
        expected = [alone[None if pd.isna(v) else v] for v in column]
        for got, want in zip(values.tolist(), expected, strict=True):
            assert (pd.isna(got) and pd.isna(want)) or got == want, spec.name
        n_checked += int(values.notna().sum())
    assert n_checked > 3_000  # most cells were compared as values, not as missing


def _same_result(got: IngestResult, want: IngestResult) -> None:
    pd.testing.assert_frame_equal(got.clean, want.clean)
    pd.testing.assert_frame_equal(got.quarantine, want.quarantine)
    assert got.summary == want.summary


def test_remembered_distinct_values_give_what_checking_them_afresh_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A chunk whose few distinct values an earlier chunk had (in another order) is ingested as if new."""
    from careleads.dictionary import _ingest

    dictionary = load_dictionary()
    first = _messy_leads(600, seed=11).astype("string")
    chunks = [first.iloc[::-1].reset_index(drop=True), _messy_leads(600, seed=12).astype("string")]
    monkeypatch.setattr(_ingest, "_remembered", {})
    with monkeypatch.context() as nothing_remembered:  # each chunk checked afresh
        nothing_remembered.setattr(_ingest, "_REMEMBERED_VALUES", -1)
        want = [ingest_table(chunk, dictionary, "leads") for chunk in chunks]
    assert not _ingest._remembered
    ingest_table(first, dictionary, "leads")
    n_remembered = len(_ingest._remembered)
    assert n_remembered >= 15  # the categories, yes/no fields and age
    _same_result(ingest_table(chunks[0], dictionary, "leads"), want[0])
    assert len(_ingest._remembered) == n_remembered  # the same values, found in memory
    _same_result(ingest_table(chunks[1], dictionary, "leads"), want[1])
    assert want[1].summary.n_quarantined and want[1].summary.n_placeholders


@pytest.mark.parametrize("seed", [3, 4])
def test_columns_read_as_dictionaries_give_what_their_text_gives(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category, yes/no or number column that arrives as a dictionary (pandas categorical, as a Parquet
    file's dictionary-encoded column is read) is ingested exactly as the same column of text, though the
    dictionary lists its values in another order and holds values no row has (a row group's others)."""
    from careleads.dictionary import _ingest

    rng = np.random.default_rng(seed)
    dictionary = load_dictionary()
    text = _messy_leads(800, seed=seed).astype("string")
    as_dictionary = text.copy()
    n_columns = 0
    for spec in dictionary.table("leads").fields:
        if spec.name not in text or not repeats_values(spec):
            continue
        column = text[spec.name]
        held = [str(v) for v in rng.permutation(column.dropna().drop_duplicates().to_numpy(dtype=object))]
        values = ["a value of another chunk", *held[:3], " N/A ", *held[3:]]
        codes = pd.Index(values).get_indexer(pd.Index(column.astype(object).where(column.notna(), None)))
        array = pa.DictionaryArray.from_arrays(
            pa.array(codes, type=pa.int32(), mask=codes < 0), pa.array(values, type=pa.string())
        )
        as_dictionary[spec.name] = pa.table({"column": array}).to_pandas()["column"]
        assert isinstance(as_dictionary[spec.name].dtype, pd.CategoricalDtype)
        n_columns += 1
    assert n_columns >= 15
    calls: list[str] = []
    real = _ingest._dictionary_codes

    def counted(raw: pd.Series) -> tuple[npt.NDArray[np.intp], pd.Index]:
        calls.append(str(raw.name))
        return real(raw)

    monkeypatch.setattr(_ingest, "_dictionary_codes", counted)
    got = ingest_table(as_dictionary, dictionary, "leads")
    assert len(calls) == n_columns  # every one took its values from the dictionary
    want = ingest_table(text, dictionary, "leads")
    _same_result(got, want)
    assert want.summary.n_quarantined and want.summary.n_placeholders and want.summary.n_normalised


def test_remembered_values_belong_to_their_own_field_spec() -> None:
    """Two specs of one field name (two dictionaries) never share what their values gave."""
    from careleads.dictionary._ingest import _ingest_column
    from careleads.dictionary._rule import FieldRule
    from careleads.dictionary._schema import FieldSpec, FieldType

    narrow = FieldSpec(name="sex", type=FieldType.CATEGORY, values={"female": ("F",)}, closed=True)
    wide = FieldSpec(name="sex", type=FieldType.CATEGORY, values={"female": ("F", "W")}, closed=True)
    column = pd.Series(["F", "W", "F"], dtype="string")
    for spec, n_bad in ((narrow, 1), (wide, 0), (narrow, 1)):
        parsed = _ingest_column(column, FieldRule(spec))
        assert sum(len(rows) for _, rows, _ in parsed.problems) == n_bad
        assert parsed.values.isna().tolist() == [False, n_bad == 1, False]


def test_a_column_with_no_value_at_all_is_missing_not_an_error() -> None:
    frame = pd.DataFrame(
        {"lead_id": ["L1", None], "created_at": ["2025-03-04", "2025-03-05"], "age": [None, None]}
    )
    result = ingest_table(frame, load_dictionary(), "leads")
    assert result.clean["age"].isna().all()
    assert result.summary.n_stored == 1
    assert result.quarantine["_reason"].tolist() == ["lead_id: required value is missing"]


def test_text_and_time_columns_skip_factorize_with_the_same_result() -> None:
    from careleads.dictionary._ingest import _ingest_column
    from careleads.dictionary._rule import FieldRule
    from careleads.dictionary._schema import FieldSpec, FieldType, Sensitivity

    texts = ["  hello ", "", None, "N/A", "hello", "ünïcode 😀", "hello", "  ", "n/a", "x" * 300]
    times = ["2025-03-04", " 2025-03-04 ", "", None, "N/A", "2025-02-30", "2025-03-04T10:00:00", "n/a", "x"]
    for kind, values in ((FieldType.TEXT, texts), (FieldType.IDENTIFIER, texts), (FieldType.DATETIME, times)):
        spec = FieldSpec(
            name="note", type=kind, sensitivity=Sensitivity.DIRECT_IDENTIFIER, missing_values=("n/a",)
        )
        for required in (False, True):
            rule = FieldRule(spec, ("null",), required=required)
            fast = _ingest_column(pd.Series(values, dtype="string"), rule)
            hashed = _ingest_column(pd.Series(values, dtype=object), rule)
            pd.testing.assert_series_equal(fast.values, hashed.values.astype(fast.values.dtype))
            assert fast.raw_empty.tolist() == hashed.raw_empty.tolist()
            assert fast.n_placeholders == hashed.n_placeholders == 2
            got = [(k, rows.tolist(), list(messages)) for k, rows, messages in fast.problems]
            want = [(k, rows.tolist(), list(messages)) for k, rows, messages in hashed.problems]
            assert got == want and (not required or got)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.text(alphabet="aAkK\u212aiI\u0130/ -#?.()ßẞé", max_size=6)), max_size=30
    ),
    keys=st.sets(st.text(alphabet="akik/ -#?.()ßé", min_size=1, max_size=5), max_size=6),
)
@example(values=["\u0130", "\u212a", "ẞ", None], keys={"i", "k", "ß"})
def test_placeholders_are_found_as_lower_casing_every_value_would(
    values: list[str | None], keys: set[str]
) -> None:
    """Comparing only the values short enough to be a key finds what lower-casing the whole column finds,
    and what the rule says of each value alone (as for a record).

    (Values are lower-cased by Arrow: the dotted capital I becomes "i", where Python's ``str.lower`` gives
    two characters.)
    """
    from careleads.dictionary._rule import FieldRule, lower_texts

    rule = FieldRule(FieldSpec("note", FieldType.TEXT), keys)
    text = pd.Series(values, dtype="string")
    lowered = lower_texts(pa.array(values, type=pa.large_string())).to_pylist()
    want = [key is not None and key in rule.placeholders for key in lowered]
    assert rule.placeholder_mask(text).tolist() == want
    assert [key is not None and rule.is_placeholder(key) for key in lowered] == want
