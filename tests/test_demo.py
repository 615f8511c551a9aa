"""The whole loop on a small simulated export: files written, figures reported, report offline."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from careleads.demo import DemoResult, run_demo
from careleads.report import comparison_rows
from careleads.scoring import DECISION_COLUMNS

DEMO_LEADS = 6_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    messages: list[str] = []
    result = run_demo(tmp_path_factory.mktemp("demo"), n_leads=DEMO_LEADS, seed=7, progress=messages.append)
    return result, messages


def test_metrics_json_holds_model_rules_and_oracle_figures(demo: tuple[DemoResult, list[str]]) -> None:
    result, _ = demo
    metrics = json.loads((result.out_dir / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    assert set(test) == {"model", "rules", "oracle"}
    for scorer in ("model", "rules", "oracle"):
        assert 0.5 < test[scorer]["auc"] <= 1.0, scorer
    for scorer in ("model", "rules"):
        for name in ("pr_auc", "brier", "ece", "lift_top_decile", "top_tier_lift"):
            assert math.isfinite(test[scorer][name]), (scorer, name)
    assert test["model"]["n"] == test["rules"]["n"] == test["oracle"]["n"] > 500
    assert metrics["target"] == {"outcome": "appointment_scheduled", "window_days": 30, "as_of_hours": 24}
    assert metrics["split"]["kind"] == "time"
    leads = metrics["ingest"]["leads"]
    assert leads["n_stored"] + leads["n_quarantined"] == leads["n_read"]
    assert metrics["model_version"] == result.training.model.version


def test_report_is_offline_html_with_plots(demo: tuple[DemoResult, list[str]]) -> None:
    result, _ = demo
    assert result.report_path == result.out_dir / "report.html"
    html = result.report_path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert html.count("<svg") >= 4  # calibration, tiers, gains, ROC
    assert not re.search(r"<script[^>]+src\s*=\s*[\"']?(https?:)?//", html, flags=re.IGNORECASE)
    assert not re.search(r"<link[^>]+href\s*=\s*[\"']?(https?:)?//", html, flags=re.IGNORECASE)
    assert "Comparison on the test window" in html
    assert "oracle" in html


def test_model_artifact_and_card_are_written(demo: tuple[DemoResult, list[str]]) -> None:
    result, _ = demo
    assert (result.model_dir / "model.json").exists() and (result.model_dir / "trees.txt").exists()
    card = json.loads((result.model_dir / "model_card.json").read_text(encoding="utf-8"))
    assert card["version"] == result.training.model.version
    assert card["target"]["outcome"] == "appointment_scheduled"
    assert card["training_period"]["end"] < card["test_period"]["start"]
    assert "age" not in card["features"] and "lead_status" not in card["features"]
    assert card["test_metrics"]["model"]["auc"] == pytest.approx(result.metrics["test"]["model"]["auc"])


def test_decisions_csv_scores_every_stored_lead(demo: tuple[DemoResult, list[str]]) -> None:
    result, _ = demo
    decisions = pd.read_csv(result.decisions_path)
    assert result.decisions_path == result.out_dir / "decisions.csv"
    assert tuple(decisions.columns) == DECISION_COLUMNS
    assert len(decisions) == result.tables.results["leads"].summary.n_stored
    assert decisions["score"].between(0, 100).all()
    assert set(decisions["scored_by"]) == {"model", "rules"}


def test_the_demo_writes_data_and_quarantine_and_reports_progress(demo: tuple[DemoResult, list[str]]) -> None:
    result, messages = demo
    for name in ("leads", "events", "outcomes", "truth"):
        assert (result.out_dir / "data" / f"{name}.csv").exists()
    assert (result.out_dir / "quarantine" / "leads.quarantine.csv").exists()
    assert len(messages) >= 5
    assert messages[0] == f"simulating {DEMO_LEADS:,} leads"


def test_comparison_rows_follow_the_metric_order(demo: tuple[DemoResult, list[str]]) -> None:
    result, _ = demo
    rows = comparison_rows(result.training.metrics)
    assert [row[0] for row in rows] == ["model", "rules", "oracle"]
    assert rows[0][1] == result.training.metrics["model"]["auc"]
    assert math.isnan(rows[2][-1])  # the oracle has no tiers, so no top-tier lift
