"""Inferring a dictionary from any CSV: types, placeholders, identifiers, sensitivity, label, real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.dictionary import (
    Dictionary,
    FieldType,
    KnownAt,
    Sensitivity,
    dump_dictionary,
    infer_dictionary,
    ingest_file,
    ingest_table,
    parse_dictionary,
)
from careleads.errors import InputError

REAL_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
X_EDUCATION = REAL_DATA / "x_education" / "Leads.csv"
OLIST = REAL_DATA / "olist_funnel"
needs_real_data = pytest.mark.skipif(
    not REAL_DATA.is_dir(), reason=f"real data folder {REAL_DATA} is absent (it is never part of a clone)"
)

N_ROWS = 60


def messy_frame() -> pd.DataFrame:
    """A CRM-like export built in code: every column kind, a form placeholder, spelling variants."""
    rng = np.random.default_rng(7)
    pick = rng.choice
    frame = pd.DataFrame(
        {
            "Record ID": [f"R-{i:04d}" for i in range(N_ROWS)],
            "Ref Number": [str(900_000 + 7 * i) for i in range(N_ROWS)],
            "Opened On": pd.Series(pd.date_range("2024-01-01", periods=N_ROWS, freq="37h")).dt.strftime(
                "%Y-%m-%d %H:%M"
            ),
            "Follow Up": pd.Series(pd.date_range("2024-03-01", periods=N_ROWS, freq="D")).dt.strftime(
                "%d/%m/%Y"
            ),
            "Visits": pick(["0", "1", "2", "5", "12", ""], N_ROWS),
            "Spend": [f"{x:.2f}" for x in rng.gamma(2, 50, N_ROWS)],
            "Newsletter": pick(["Yes", "No"], N_ROWS),
            "Paid": pick(["0", "1"], N_ROWS),
            "Channel": pick(["Web", "web", "WEB ", "Phone", "Walk-in", "Pick one"], N_ROWS),
            "Region": pick(["North", "South", "Pick one", "East"], N_ROWS),
            "Plan": pick(["Gold", "Silver", "Pick one", "Bronze", "N/A"], N_ROWS),
            "Comments": [
                f"customer {i} asked about the {w} plan and a second visit"
                for i, w in enumerate(pick(["gold", "basic"], N_ROWS))
            ],
            "E-mail": [f"person{i}@example.org" for i in range(N_ROWS)],
            "Mobile": [f"+1 555 010 {i:04d}" for i in range(N_ROWS)],
            "Age": [str(a) for a in rng.integers(18, 90, N_ROWS)],
            "ZIP": [f"{z:05d}" for z in rng.integers(0, 2000, 10)[rng.integers(0, 10, N_ROWS)]],
            "Outcome": pick(["Won", "Lost", "Lost"], N_ROWS),
        }
    )
    frame.loc[0, "Outcome"] = "Won"
    return frame


@pytest.fixture(scope="module")
def inferred() -> Dictionary:
    return infer_dictionary(messy_frame(), label="Outcome", name="crm")


def test_column_types_are_read_from_content_and_generic_names(inferred: Dictionary) -> None:
    table = inferred.table("data")
    types = {spec.name: spec.type for spec in table.fields}
    assert types == {
        "record_id": FieldType.IDENTIFIER,
        "ref_number": FieldType.IDENTIFIER,
        "opened_on": FieldType.DATETIME,
        "follow_up": FieldType.DATETIME,
        "visits": FieldType.NUMBER,
        "spend": FieldType.NUMBER,
        "newsletter": FieldType.BOOLEAN,
        "paid": FieldType.BOOLEAN,
        "channel": FieldType.CATEGORY,
        "region": FieldType.CATEGORY,
        "plan": FieldType.CATEGORY,
        "comments": FieldType.TEXT,
        "e_mail": FieldType.TEXT,
        "mobile": FieldType.TEXT,
        "age": FieldType.NUMBER,
        "zip": FieldType.CATEGORY,
        "outcome": FieldType.CATEGORY,
    }
    assert table.field("follow_up").format == "%d/%m/%Y"
    assert table.field("opened_on").format is None
    assert table.field("spend").minimum == 0.0
    assert table.field("record_id").aliases == ("Record ID",)
    assert table.key == "record_id"
    assert table.time_column == "opened_on"


def test_spelling_variants_are_grouped_and_lists_stay_open(inferred: Dictionary) -> None:
    channel = inferred.table("data").field("channel")
    web = next(canonical for canonical in channel.values if canonical.lower() == "web")
    assert set(channel.values) == {web, "Phone", "Walk-in"}
    assert {web, *channel.values[web]} == {"Web", "web", "WEB"}  # the most frequent spelling leads
    assert channel.is_closed is False
    assert "Pick one" not in channel.values


def test_a_form_default_shared_by_unrelated_columns_is_a_placeholder(inferred: Dictionary) -> None:
    assert "pick one" in inferred.missing_values
    assert "n/a" in inferred.missing_values  # a known spelling that occurs
    assert "select" not in inferred.missing_values  # known spellings are listed only when they occur


def test_shared_answer_scales_are_not_placeholders() -> None:
    rng = np.random.default_rng(1)
    scale = ["Agree", "Neutral", "Disagree", "Strongly agree"]
    frame = pd.DataFrame({f"Q{i}": rng.choice(scale, 200) for i in range(5)})
    assert infer_dictionary(frame).missing_values == ("",)


def test_sensitivity_is_guessed_from_names_and_content(inferred: Dictionary) -> None:
    table = inferred.table("data")
    assert table.field("e_mail").sensitivity is Sensitivity.DIRECT_IDENTIFIER
    assert table.field("mobile").sensitivity is Sensitivity.DIRECT_IDENTIFIER
    assert table.field("age").sensitivity is Sensitivity.SENSITIVE
    assert table.field("comments").sensitivity is Sensitivity.SENSITIVE
    assert table.field("zip").sensitivity is Sensitivity.QUASI_IDENTIFIER
    assert table.field("opened_on").sensitivity is Sensitivity.QUASI_IDENTIFIER
    assert table.field("channel").sensitivity is Sensitivity.SAFE
    unnamed = pd.DataFrame({"contact": [f"user{i}@mail.example.com" for i in range(30)]})
    assert (
        infer_dictionary(unnamed).table("data").field("contact").sensitivity is Sensitivity.DIRECT_IDENTIFIER
    )


def test_label_values_and_positive_guess(inferred: Dictionary) -> None:
    assert inferred.label is not None
    assert (inferred.label.column, inferred.label.positive) == ("outcome", ("Won",))
    label_field = inferred.table("data").field("outcome")
    assert set(label_field.values) == {"Won", "Lost"}
    assert label_field.known is KnownAt.AFTER_OUTCOME
    assert all(
        spec.known is KnownAt.CREATION for spec in inferred.table("data").fields if spec.name != "outcome"
    )
    binary = pd.DataFrame({"y": ["0", "1", "0"] * 10, "x": ["a", "b", "c"] * 10})
    zero_one = infer_dictionary(binary, label="y")
    assert zero_one.label is not None and zero_one.label.positive == ("1",)
    assert zero_one.table("data").field("y").type is FieldType.CATEGORY  # a 0/1 label stays as it is
    minority = pd.DataFrame({"Result": ["alpha"] * 20 + ["beta"] * 5})
    assert infer_dictionary(minority, label="result").label.positive == ("beta",)  # type: ignore[union-attr]
    with pytest.raises(InputError, match="no label column 'converted'"):
        infer_dictionary(binary, label="converted")


def test_inferred_dictionary_dumps_loads_and_ingests_its_own_data(inferred: Dictionary) -> None:
    assert parse_dictionary(dump_dictionary(inferred)) == inferred
    frame = messy_frame()
    result = ingest_table(frame, inferred, "data", source="crm.csv")
    assert result.summary.n_quarantined == 0 and result.summary.unknown_columns == ()
    clean = result.clean
    assert clean["channel"].dropna().isin(["Web", "web", "Phone", "Walk-in"]).all()
    assert (
        clean["channel"].str.lower().eq("web").sum()
        == frame["Channel"].str.strip().str.lower().eq("web").sum()
    )
    assert clean["plan"].isna().sum() == frame["Plan"].isin(["Pick one", "N/A"]).sum()
    assert clean["newsletter"].dtype == pd.BooleanDtype()
    assert clean["follow_up"].iloc[0] == pd.Timestamp("2024-03-01")
    assert clean["outcome"].astype(str).isin(["Won", "Lost"]).all()


def test_infer_reads_files_and_names_the_dictionary_after_them(tmp_path: Path) -> None:
    file = tmp_path / "export_2025.csv"
    messy_frame().to_csv(file, sep=";", index=False)
    dictionary = infer_dictionary(file)
    assert dictionary.name == "export_2025" and dictionary.label is None
    assert dictionary.table("data").field("visits").type is FieldType.NUMBER


@needs_real_data
def test_x_education_leads() -> None:
    dictionary = infer_dictionary(X_EDUCATION, label="Converted")
    table = dictionary.table("data")
    assert "select" in dictionary.missing_values
    assert table.key == "prospect_id" and table.field("prospect_id").type is FieldType.IDENTIFIER
    assert table.field("prospect_id").aliases == ("Prospect ID",)
    assert table.field("lead_number").type is FieldType.IDENTIFIER
    assert dictionary.label is not None and dictionary.label.column == "converted"
    assert dictionary.label.positive == ("1",)
    assert set(table.field("converted").values) == {"0", "1"}
    assert table.field("do_not_email").type is FieldType.BOOLEAN
    assert table.field("do_not_email").sensitivity is Sensitivity.SAFE
    assert table.field("total_visits").type is FieldType.NUMBER
    assert table.field("page_views_per_visit").type is FieldType.NUMBER
    assert table.field("lead_source").type is FieldType.CATEGORY
    assert table.field("specialization").type is FieldType.CATEGORY
    assert "Select" not in table.field("specialization").values
    assert table.time_column is None  # the file has no timestamps
    result = ingest_file(X_EDUCATION, dictionary, "data")
    assert (result.summary.n_read, result.summary.n_quarantined) == (9240, 0)
    assert result.summary.n_placeholders["specialization"] > 1000
    assert result.clean["converted"].astype(str).eq("1").mean() == pytest.approx(0.3854, abs=1e-3)


@needs_real_data
def test_olist_funnel_files() -> None:
    leads = infer_dictionary(OLIST / "olist_marketing_qualified_leads_dataset.csv").table("data")
    assert leads.key == "mql_id"
    assert leads.field("first_contact_date").type is FieldType.DATETIME
    assert leads.time_column == "first_contact_date"
    assert leads.field("origin").type is FieldType.CATEGORY
    deals = infer_dictionary(OLIST / "olist_closed_deals_dataset.csv").table("data")
    assert deals.field("won_date").type is FieldType.DATETIME
    assert deals.time_column is None  # a won date is not a creation date
    assert deals.field("declared_monthly_revenue").type is FieldType.NUMBER
    assert deals.field("seller_id").type is FieldType.IDENTIFIER
    assert deals.field("has_company").type is FieldType.BOOLEAN


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identifiers_are_read_from_values_not_only_from_names(seed: int) -> None:
    """A different whole number on every row is a record number whatever its name; a column named like a
    key whose values are fractional numbers is a measurement."""
    rng = np.random.default_rng(seed)
    n = 1000
    pool = ["amber", "birch", "cedar", "delta", "ember", "fjord"]
    words = [str(w) for w in rng.choice(pool, 3, replace=False)]
    frame = pd.DataFrame(
        {
            f"{words[0]}_{rng.integers(1, 99)}": rng.choice(np.arange(10**9, 2 * 10**9), n, replace=False),
            f"{words[1]}_key": np.round(rng.gamma(2.0, 15.0, n), 1),
            f"{words[2]}_count": rng.poisson(3, n),
            "won": rng.integers(0, 2, n),
        }
    )
    fields = {f.name: f for f in infer_dictionary(frame, label="won").tables["data"].fields}
    record_number, measured, counted = list(frame.columns[:3])
    assert fields[record_number].type is FieldType.IDENTIFIER
    assert fields[measured].type is FieldType.NUMBER
    assert fields[counted].type is FieldType.NUMBER
