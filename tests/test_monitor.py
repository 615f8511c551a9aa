"""Monitoring on the simulator's export: drift after the channel launch and campaign change, none before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from _monitoring_support import CAMPAIGN_CHANGE, LAUNCH, Setup, monitoring_setup
from careleads.cli._monitor import register
from careleads.errors import ConfigError, InputError, NotFoundError
from careleads.models import ModelRegistry
from careleads.monitoring import (
    MONITOR_STEPS,
    FolderSource,
    MonitorData,
    MonitorReport,
    monitor,
    resolve_model,
    scored_frame,
)
from careleads.settings import MonitorSettings, get_settings
from conftest import ExportFactory


@pytest.fixture(scope="session")
def setup(crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return monitoring_setup(crm_export, tmp_path_factory)


@pytest.fixture(scope="session")
def after_change(setup: Setup) -> MonitorReport:
    """The three months after the campaign change (the app channel launched three months before)."""
    return monitor(setup.data, since=CAMPAIGN_CHANGE, until=CAMPAIGN_CHANGE + pd.DateOffset(months=3))


@pytest.fixture(scope="session")
def stable(setup: Setup) -> MonitorReport:
    """Two half-years before any change: September-February against March-August."""
    return monitor(setup.data, reference=("2024-09-01", "2025-02-28 23:59"), since="2025-03-01", until=LAUNCH)


def _status(report: MonitorReport, column: str) -> tuple[str, float]:
    row = next(c for c in report.drift.columns if c.column == column)
    return row.status, row.psi


def test_drift_flagged_after_the_launch_and_campaign_change(after_change: MonitorReport) -> None:
    assert after_change.drift.status == "act"
    assert after_change.status == "act"
    for column in ("source", "campaign"):
        status, psi = _status(after_change, column)
        assert status == "act", (column, psi)
    # the awareness campaign moves landings to the blog (11% -> 26% here): a real shift, PSI about 0.17
    status, psi = _status(after_change, "landing_page")
    assert status in ("watch", "act") and psi > 0.1, psi
    evidence = next(c for c in after_change.drift.columns if c.column == "source").evidence
    assert any("telehealth_app: 0% ->" in e for e in evidence), evidence
    flagged = {c.column for c in after_change.drift.columns if c.status == "act"}
    assert flagged <= {"source", "campaign", "landing_page"}, flagged


def test_no_drift_in_a_stable_window(stable: MonitorReport) -> None:
    for column in ("source", "campaign", "landing_page"):
        status, psi = _status(stable, column)
        assert status == "ok", (column, psi)
    assert not [c.column for c in stable.drift.columns if c.status != "ok"]
    assert stable.drift.score is not None and stable.drift.score.status == "ok"


def test_training_window_comes_from_the_model_card(setup: Setup, after_change: MonitorReport) -> None:
    period = setup.model.card["training_period"]
    assert after_change.reference_window == (pd.Timestamp(period["start"]), pd.Timestamp(period["end"]))
    assert after_change.reference_window[1] < LAUNCH
    assert after_change.drift.n_reference == period["rows"]


def test_calibration_excludes_open_windows(setup: Setup) -> None:
    # the last 30 days of leads have no matured outcome yet: they are counted as open, never as negatives
    end = setup.export.data.end
    report = monitor(setup.data, since=end - pd.Timedelta(days=20), until=end)
    assert int(report.calibration["n"].sum()) == 0
    assert int(report.calibration["n_excluded"].sum()) == report.drift.n_current
    assert set(report.calibration["status"]) == {"pending"}
    assert report.latest_matured_period() is None
    assert any("pending" in line for line in report.summary_lines())


def test_calibration_by_tier_matches_a_direct_count(setup: Setup, after_change: MonitorReport) -> None:
    frame, _ = scored_frame(setup.data)
    december = frame[(frame["as_of"] >= CAMPAIGN_CHANGE) & (frame["as_of"] < "2026-01-01")]
    tier_a = december[(december["tier"] == "A") & december["label"].notna() & ~december["censored"]]
    row = after_change.calibration[
        (after_change.calibration["period"] == CAMPAIGN_CHANGE) & (after_change.calibration["tier"] == "A")
    ].iloc[0]
    assert row["n"] == len(tier_a) > 0
    assert row["observed_rate"] == pytest.approx(tier_a["label"].mean())
    assert row["predicted_mean"] == pytest.approx(tier_a["probability"].mean())


def test_summary_starts_in_plain_words(after_change: MonitorReport) -> None:
    lines = after_change.summary_lines()
    assert lines[0].startswith("Monitoring act: model ")
    assert any(line.startswith("Tier A converted at ") and "predicted: " in line for line in lines[1:6])
    assert "February 2026" in lines[1]
    assert lines[-1].startswith("Act: inputs or scores drifted")


def test_to_dict_is_strict_json(after_change: MonitorReport) -> None:
    payload = json.loads(json.dumps(after_change.to_dict(), allow_nan=False))
    assert payload["status"] == "act"
    assert payload["statuses"]["drift"] == "act"
    assert {c["column"] for c in payload["drift"]["columns"] if c["status"] == "act"} >= {
        "source",
        "campaign",
    }
    assert payload["calibration"][0].keys() >= {"period", "tier", "n", "observed_rate", "status"}
    assert payload["settings"]["psi_act"] == 0.25
    assert payload["business"]["by_tier"][0]["tier"] == "A"


def test_thresholds_come_from_settings(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    lenient = MonitorSettings(psi_watch=5.0, psi_act=10.0)
    report = monitor(
        setup.data,
        since=CAMPAIGN_CHANGE,
        until=CAMPAIGN_CHANGE + pd.DateOffset(months=3),
        settings=lenient,
    )
    assert all(c.status == "ok" for c in report.drift.columns)
    with pytest.raises(ValidationError, match="'watch' value 0.3 is above the 'act' value 0.2"):
        MonitorSettings(psi_watch=0.3, psi_act=0.2)
    monkeypatch.setenv("CARELEADS_MONITOR_PSI_ACT", "0.4")
    monkeypatch.setenv("CARELEADS_MONITOR_EXCLUDED_FEATURES", "created_month, source")
    env = get_settings().monitor
    assert env.psi_act == 0.4 and env.excluded_features == ("created_month", "source")
    monkeypatch.setenv("CARELEADS_MONITOR_EXCLUDED_FEATURES", "")
    assert get_settings().monitor.excluded_features == ()
    monkeypatch.setenv("CARELEADS_MONITOR_PSI_BINS", "ten")
    with pytest.raises(ConfigError, match="CARELEADS_MONITOR_PSI_BINS"):
        get_settings()
    monkeypatch.delenv("CARELEADS_MONITOR_PSI_BINS")
    monkeypatch.setenv("CARELEADS_MONITOR_PSI_ACTION", "0.3")  # a misspelt name is an error, not ignored
    with pytest.raises(ConfigError, match="CARELEADS_MONITOR_PSI_ACTION"):
        get_settings()


def test_business_outcomes_from_a_decisions_file(setup: Setup) -> None:
    frame, _ = scored_frame(setup.data)
    ids = frame["lead_id"].to_numpy()
    rng = np.random.default_rng(0)
    decisions = pd.DataFrame(
        {
            "lead_id": ids,
            "probability": frame["probability"].to_numpy(),
            "tier": frame["tier"].to_numpy(),
            "review_required": rng.random(len(ids)) < 0.25,
            "override": np.where(rng.random(len(ids)) < 0.1, "clinical_triage", ""),
            "feedback": [("not_a_fit" if u < 0.05 else None) for u in rng.random(len(ids))],
        }
    )
    # the scores written at the time win over a fresh scoring: halve the recent ones to see it
    recent = (frame["as_of"] >= CAMPAIGN_CHANGE).to_numpy()
    decisions.loc[recent, "probability"] = decisions.loc[recent, "probability"] * 0.5
    data = MonitorData(**{**setup.data.__dict__, "decisions": decisions})
    report = monitor(data, since=CAMPAIGN_CHANGE, until=CAMPAIGN_CHANGE + pd.DateOffset(months=3))
    assert report.business is not None
    assert report.business.manual_review_rate == pytest.approx(0.25, abs=0.04)
    assert report.business.override_rate == pytest.approx(0.1, abs=0.03)
    assert report.business.feedback_counts.get("not_a_fit", 0) > 0
    assert report.business.appointments_per_100_leads is not None
    assert report.drift.score is not None and report.drift.score.status != "ok"
    bad = decisions.drop(columns=["tier"])
    with pytest.raises(InputError, match="tier"):
        monitor(MonitorData(**{**setup.data.__dict__, "decisions": bad}), since=CAMPAIGN_CHANGE)


def test_errors_say_what_to_do(setup: Setup, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no lead in the recent window"):
        monitor(setup.data, since="2030-01-01", until="2030-02-01")
    with pytest.raises(InputError, match="is not before"):
        monitor(setup.data, since="2026-01-01", until="2025-01-01")
    with pytest.raises(NotFoundError, match="no target"):
        resolve_model(ModelRegistry(tmp_path))


def test_folder_source_reads_the_export_and_the_published_model(setup: Setup) -> None:
    data = FolderSource(setup.export.folder, setup.registry).load()
    assert data.model.version == setup.model.version
    assert len(data.leads) == len(setup.data.leads)
    assert data.data_end >= pd.Timestamp("2026-10-01")


def test_cli_monitor_exits_non_zero_on_act(setup: Setup, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "monitor.json"
    common = ["monitor", "--data", str(setup.export.folder), "--registry", str(setup.registry)]
    result = runner.invoke(
        app, [*common, "--since", "2025-12-01", "--until", "2026-03-01", "--json", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("Monitoring act")  # the progress bar is on standard error
    assert json.loads(out.read_text())["status"] == "act"
    bad = runner.invoke(app, [*common, "--model", "no-such-version"])
    assert bad.exit_code == 2
    assert "no-such-version" in bad.output
    helped = runner.invoke(app, ["monitor", "--help"])
    assert helped.exit_code == 0
    for option in ("--data", "--model", "--registry", "--since", "--json", "--report"):
        assert option in helped.output


def test_progress_names_every_step_in_order(setup: Setup) -> None:
    said: list[str] = []
    monitor(
        setup.data,
        since=CAMPAIGN_CHANGE,
        until=CAMPAIGN_CHANGE + pd.DateOffset(months=3),
        progress=said.append,
    )
    assert said == list(MONITOR_STEPS)
