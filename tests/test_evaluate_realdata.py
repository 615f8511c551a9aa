"""Acceptance on real public lead data in ../shared/data (skipped where that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from careleads.models import evaluate_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
X_EDUCATION = DATA / "x_education" / "Leads.csv"
OLIST = DATA / "olist_funnel"
WINDOW_DAYS = 180

pytestmark = pytest.mark.realdata


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")


def test_x_education_flags_status_columns_and_stays_honest() -> None:
    _need(X_EDUCATION)
    result = evaluate_file(X_EDUCATION, label="Converted")
    suspects = {s.column: s for s in result.leakage.suspects}
    for column in ("Tags", "Lead Quality"):
        assert column in suspects, f"{column} not flagged; suspects: {sorted(suspects)}"
        assert suspects[column].excluded and suspects[column].evidence
    assert "Total Time Spent on Website" in result.features
    assert 0.86 <= result.test.auc <= 0.95, result.test.auc


def _olist_csv(folder: Path, *, with_deals: bool) -> Path:
    leads = pd.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv", dtype=str)
    deals = pd.read_csv(OLIST / "olist_closed_deals_dataset.csv", dtype=str)
    joined = leads.merge(deals, on="mql_id", how="left")
    contact = pd.to_datetime(joined["first_contact_date"])
    won = pd.to_datetime(joined["won_date"])
    # censor leads that have not had the whole window to convert by the end of the deals export
    matured = contact <= won.max() - pd.Timedelta(days=WINDOW_DAYS)
    joined["converted_within_180d"] = ((won - contact).dt.days <= WINDOW_DAYS).astype(int)
    columns = [*leads.columns, "converted_within_180d"] + ([*deals.columns[1:]] if with_deals else [])
    path = folder / ("olist_with_deals.csv" if with_deals else "olist.csv")
    joined.loc[matured, columns].to_csv(path, index=False)
    return path


def test_olist_time_split_beats_chance_and_baseline(tmp_path: Path) -> None:
    _need(OLIST)
    path = _olist_csv(tmp_path, with_deals=False)
    result = evaluate_file(path, label="converted_within_180d", time_column="first_contact_date")
    assert result.split.kind == "time"
    assert result.test.auc >= 0.67, result.test.auc
    assert result.test.auc >= result.baselines["logistic"].auc - 1e-9
    assert result.leakage.suspects == ()


def test_olist_deals_columns_are_flagged_when_joined(tmp_path: Path) -> None:
    _need(OLIST)
    path = _olist_csv(tmp_path, with_deals=True)
    result = evaluate_file(path, label="converted_within_180d", time_column="first_contact_date")
    deals_only = pd.read_csv(OLIST / "olist_closed_deals_dataset.csv", nrows=1).columns[1:]
    unused = {e["column"] for e in result.excluded}
    assert set(deals_only) <= unused
    assert set(deals_only).isdisjoint(result.features)
    flagged = {s.column for s in result.leakage.suspects}
    assert set(deals_only) - {"seller_id"} <= flagged  # seller_id is also dropped as a unique identifier
    assert result.test.auc < 0.8
