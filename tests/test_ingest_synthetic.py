"""The simulator's export ingests through the shipped dictionary: every injected defect is quarantined (a row
that cannot be identified) or flagged (a value the dictionary cannot read, on a row that is kept)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.datasets import TABLES, load_crm_folder
from careleads.errors import InputError
from careleads.synth import OUTCOMES, SERVICE_LINES, SOURCES, generate
from conftest import Export

# injected defect -> (the field the quarantine must name, words its reason must hold)
DEFECTS: dict[str, tuple[str, str]] = {
    "missing_id": ("lead_id", "required value is missing"),
    "bad_date": ("created_at", "cannot read"),
    "impossible_age": ("age", "the m"),  # "below the minimum" / "above the maximum"
    "impossible_distance": ("distance_km", "the m"),
    "unknown_service_line": ("service_line", "is not a known value"),
    "duplicate_id": ("lead_id", "duplicate key"),
}
FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1
# defects of a row that cannot be identified or placed in time; the others only flag a value
REFUSED = {"missing_id", "bad_date", "duplicate_id"}


def test_every_row_read_is_stored_or_quarantined(small_export: Export) -> None:
    for table in TABLES:
        summary = small_export.tables.results[table].summary
        assert summary.n_read > 0, table
        assert summary.n_stored + summary.n_quarantined == summary.n_read, table
        assert len(small_export.tables.results[table].clean) == summary.n_stored
    leads = small_export.tables.results["leads"].summary
    assert leads.n_read == len(small_export.data.leads)
    defects = small_export.data.truth["injected_defect"]
    assert leads.n_quarantined >= defects.isin(REFUSED).sum()
    assert leads.n_flagged >= (~defects.isin(REFUSED) & (defects != "")).sum()


def test_each_injected_defect_is_quarantined_or_flagged_with_a_reason_naming_its_field(
    small_export: Export,
) -> None:
    data = small_export.data
    result = small_export.tables.results["leads"]
    quarantine = result.quarantine.set_index("_row")
    flagged = result.flagged.set_index(["_row", "_field"])
    defects = data.truth["injected_defect"].to_numpy()
    n_leads = len(data.truth)
    duplicated_ids = list(data.leads["lead_id"].iloc[n_leads:])
    for kind, (field, words) in DEFECTS.items():
        rows = np.flatnonzero(defects == kind)
        assert len(rows) > 0, kind
        if kind == "duplicate_id":
            # the first copy is stored; the appended copy is quarantined
            ids = set(data.truth["lead_id"].iloc[rows])
            spoilt = [n_leads + i for i, lead_id in enumerate(duplicated_ids) if lead_id in ids]
            assert len(spoilt) == len(rows)
            assert ids <= set(small_export.tables.leads["lead_id"])
        else:
            spoilt = list(rows)
        for row in spoilt:
            if kind in REFUSED:
                entry = quarantine.loc[row + FIRST_DATA_ROW]
                assert field in str(entry["_field"]).split("; "), (kind, row, entry["_field"])
            else:
                assert row + FIRST_DATA_ROW not in quarantine.index, (kind, row)
                entry = flagged.loc[(row + FIRST_DATA_ROW, field)]
                assert entry["_value"] == str(data.leads[field].iloc[row]).strip(), (kind, row)
            assert f"{field}: " in entry["_reason"], (kind, entry["_reason"])
            assert words in entry["_reason"], (kind, entry["_reason"])
    assert {"missing_required", "unparsable_datetime", "duplicate_key"} <= set(result.summary.reasons)
    assert {"out_of_range", "unknown_category"} <= {k.split(": ")[1] for k in result.summary.flagged_reasons}


def test_the_quarantine_files_are_written(small_export: Export) -> None:
    written = pd.read_csv(
        small_export.quarantine_dir / "leads.quarantine.csv", dtype=str, keep_default_na=False
    )
    expected = small_export.tables.results["leads"].quarantine
    assert len(written) == len(expected)
    assert list(written.columns[:4]) == ["_source", "_row", "_field", "_reason"]
    assert set(written["_source"]) == {"leads.csv"}
    for table in TABLES:
        assert (small_export.quarantine_dir / f"{table}.quarantine.csv").exists()


def test_clean_tables_hold_canonical_values(small_export: Export) -> None:
    tables = small_export.tables
    leads = tables.leads
    assert set(leads["service_line"].dropna()) <= set(SERVICE_LINES)
    assert set(leads["source"].dropna()) <= set(SOURCES)
    assert leads["lead_id"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(leads["created_at"])
    assert leads["age"].dropna().between(0, 120).all()
    assert set(tables.outcomes["outcome"]) == set(OUTCOMES)
    assert pd.api.types.is_datetime64_any_dtype(tables.events["occurred_at"])
    normalised = tables.results["leads"].summary.n_normalised
    assert normalised.get("service_line", 0) > 0  # messy spellings were mapped back


def test_a_parquet_export_ingests_like_the_csv_one(tmp_path: Path) -> None:
    data = generate(600, seed=4)
    data.write(tmp_path / "csv")
    data.write(tmp_path / "parquet", fmt="parquet")
    from_csv = load_crm_folder(tmp_path / "csv")
    from_parquet = load_crm_folder(tmp_path / "parquet")
    for table in TABLES:
        a, b = from_csv.results[table].summary, from_parquet.results[table].summary
        assert (a.n_read, a.n_stored, a.n_quarantined) == (b.n_read, b.n_stored, b.n_quarantined), table
    assert from_csv.leads["lead_id"].tolist() == from_parquet.leads["lead_id"].tolist()


def test_a_folder_without_the_tables_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a folder"):
        load_crm_folder(tmp_path / "missing")
    (tmp_path / "leads.csv").write_text("lead_id,created_at\nL1,2025-01-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="no events.csv or events.parquet"):
        load_crm_folder(tmp_path)
