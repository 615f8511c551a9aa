"""Pilots: definitions, status, reports, and the routing simulator that shows the statistics are honest."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from _monitoring_support import Setup, monitoring_setup
from careleads.cli._monitor import register
from careleads.errors import ConfigError, InputError, NotFoundError
from careleads.monitoring import (
    PilotDefinition,
    evaluate_pilot,
    list_pilots,
    load_pilot,
    pilot_arms,
    pilot_frame,
    pilot_results,
    pilot_status,
    save_pilot_result,
    scored_frame,
    simulate_routing,
    start_pilot,
)
from careleads.stats import PilotReport, ShadowComparison, assign_arms, pilot_report
from conftest import ExportFactory

ALPHA = 0.05
CAPACITY = 4  # calls a day against about 10 leads a day


@pytest.fixture(scope="session")
def setup(crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return monitoring_setup(crm_export, tmp_path_factory)


@pytest.fixture(scope="session")
def leads(setup: Setup) -> pd.DataFrame:
    """Every lead with the model's probability, its arrival order and its true probability."""
    frame, _ = scored_frame(setup.data)
    truth = setup.export.data.truth.set_index("lead_id")["p_appointment_scheduled_30d"]
    out = pd.DataFrame(
        {
            "lead_id": frame["lead_id"].to_numpy(dtype=object),
            "day": frame["created_at"].dt.floor("D").to_numpy(),
            "probability": frame["probability"].to_numpy(),
            # first come, first served: earlier leads get the higher priority
            "first_come": -np.arange(len(frame), dtype=float),
            "truth": frame["lead_id"].map(truth).to_numpy(dtype=float),
        }
    )
    assert out["truth"].notna().all()
    return out


def _pilot(frame: pd.DataFrame, *, seed: int, scoring: str, prior: str) -> PilotReport:
    arms = frame.assign(arm=assign_arms(frame["lead_id"], seed=seed))
    sim = simulate_routing(
        arms,
        priority_cols={"scoring": scoring, "prior": prior},
        truth_col="truth",
        capacity_per_day=CAPACITY,
        seed=seed,
        arm_col="arm",
    )
    return pilot_report(sim, arm_col="arm", converted_col="converted", alpha=ALPHA)


def test_simulator_contacts_the_days_capacity_in_each_arms_order(leads: pd.DataFrame) -> None:
    part = leads.iloc[:600]
    sim = simulate_routing(
        part, priority_cols={"scoring": "probability", "prior": "first_come"}, truth_col="truth",
        capacity_per_day=CAPACITY, seed=0,
    )  # fmt: skip
    calls: pd.Series = sim[sim["contacted"] & (sim["arm"] == "scoring")].groupby("day").size()
    day_sizes: pd.Series = part.groupby("day").size()
    assert (calls == np.minimum(CAPACITY, day_sizes.loc[calls.index])).all()
    scoring = sim[sim["arm"] == "scoring"]
    # within a day, every contacted lead has a higher probability than every lead left waiting
    for _, day in scoring.groupby("day"):
        if day["contacted"].all():
            continue
        assert (
            day.loc[day["contacted"], "probability"].min() >= day.loc[~day["contacted"], "probability"].max()
        )
    prior = sim[sim["arm"] == "prior"]
    first = prior.sort_values("first_come", ascending=False).groupby("day").head(1)
    assert first["contacted"].all() and (first["rank"] == 1).all()
    assert sim.loc[sim["contacted"], "hours_to_first_contact"].between(0, 8).all()
    assert sim.loc[~sim["contacted"], "hours_to_first_contact"].isna().all()


def test_a_real_difference_is_detected(leads: pd.DataFrame) -> None:
    report = _pilot(leads, seed=1, scoring="probability", prior="first_come")
    assert report.significant and report.p_value < 1e-4
    assert report.difference_points > 2.0
    assert report.decision.startswith("Scoring arm converted")
    # the simulator's truth: calling the likeliest converters first is worth several points
    assert report.difference_ci_points[0] > 0


def test_equal_arms_are_not_reported_different(leads: pd.DataFrame) -> None:
    report = _pilot(leads, seed=1, scoring="first_come", prior="first_come")
    assert not report.significant
    assert abs(report.difference_points) < 2.0
    assert report.decision.startswith("No significant difference")


def test_false_positive_rate_is_near_alpha(leads: pd.DataFrame) -> None:
    part = leads.iloc[:2000]
    n_seeds = 200
    hits = sum(
        _pilot(part, seed=100 + s, scoring="first_come", prior="first_come").significant
        for s in range(n_seeds)
    )
    rate = hits / n_seeds
    # binomial spread of 200 tries at 5%: about 1.5 points; three of them either side
    assert 0.005 <= rate <= 0.10, rate


def test_power_against_first_come_over_seeds(leads: pd.DataFrame) -> None:
    # the whole history (about 4,000 leads per arm): the difference is found under almost every assignment
    detected = sum(
        _pilot(leads, seed=500 + s, scoring="probability", prior="first_come").significant for s in range(20)
    )
    assert detected >= 18, detected
    # a quarter of it (about 1,000 per arm) is underpowered for this difference: that is what status warns
    small = sum(
        _pilot(leads.iloc[:2000], seed=500 + s, scoring="probability", prior="first_come").significant
        for s in range(20)
    )
    assert small < detected


def test_definitions_are_saved_listed_and_never_overwritten(tmp_path: Path) -> None:
    definition = PilotDefinition(
        name="ortho-q1", start="2025-06-01", scope={"service_line": "orthopedics"}, seed=3
    )
    path = start_pilot(definition, tmp_path)
    assert path == tmp_path / "ortho-q1.json"
    loaded = load_pilot("ortho-q1", tmp_path)
    assert loaded.scope == {"service_line": "orthopedics"} and loaded.seed == 3 and loaded.created_at
    assert [p.name for p in list_pilots(tmp_path)] == ["ortho-q1"]
    with pytest.raises(InputError, match="already exists"):
        start_pilot(definition, tmp_path)
    with pytest.raises(NotFoundError, match="ortho-q1"):
        load_pilot("other", tmp_path)
    with pytest.raises(ConfigError, match="capacity_per_day"):
        PilotDefinition(name="s", start="2025-01-01", mode="shadow")
    with pytest.raises(ConfigError, match="name"):
        PilotDefinition(name="Bad Name", start="2025-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        PilotDefinition(name="d", start="soon")
    arms = pilot_arms(loaded, ["L1", "L2", "L3"])
    assert list(arms) == list(pilot_arms(loaded, ["L3", "L2", "L1"]))[::-1]


def test_status_counts_the_leads_in_scope(setup: Setup) -> None:
    definition = PilotDefinition(
        name="ortho", start="2025-06-01", scope={"service_line": "orthopedics"}, seed=2
    )
    status = pilot_status(definition, setup.data)
    part = pilot_frame(definition, setup.data)
    assert status.n_leads == len(part) > 100
    assert (part["service_line"] == "orthopedics").all() and (part["as_of"] >= "2025-06-01").all()
    leads = setup.data.leads
    created = pd.to_datetime(leads["created_at"])
    in_scope = (leads["service_line"] == "orthopedics") & (created >= pd.Timestamp("2025-05-31"))
    expected = int(in_scope.sum())
    assert abs(status.n_leads - expected) <= 5  # the scoring moment is a day after creation
    assert sum(a["n"] for a in status.arms.values()) == status.n_leads
    for counts in status.arms.values():
        assert counts["n_matured"] + counts["n_open"] == counts["n"]
    assert status.summary_lines()[0].startswith("Pilot ortho: scoring against first-come order")
    json.dumps(status.to_dict(), allow_nan=False)


def test_report_random_and_shadow(setup: Setup) -> None:
    random = evaluate_pilot(PilotDefinition(name="r", start="2025-01-01", seed=4), setup.data)
    assert isinstance(random.comparison, PilotReport)
    assert random.summary_lines()[0].startswith("Decision: ")
    assert random.comparison.treatment.n + random.comparison.control.n > 1000
    shadow = evaluate_pilot(
        PilotDefinition(name="s", start="2025-01-01", mode="shadow", prior="first_come", capacity_per_day=3),
        setup.data,
    )
    assert isinstance(shadow.comparison, ShadowComparison)
    # the model ranks the day's converters ahead of first-come order
    assert shadow.comparison.model_captured > shadow.comparison.prior_captured
    assert shadow.comparison.significant
    assert "shadow mode to a live pilot" in shadow.decision
    rules = evaluate_pilot(
        PilotDefinition(name="sr", start="2025-01-01", mode="shadow", prior="rules", capacity_per_day=3),
        setup.data,
    )
    assert isinstance(rules.comparison, ShadowComparison)
    json.dumps(rules.to_dict(), allow_nan=False)
    with pytest.raises(InputError, match="scope field"):
        pilot_frame(PilotDefinition(name="q", start="2025-01-01", scope={"queue": "intake"}), setup.data)


def test_shadow_report_does_not_depend_on_the_row_order(setup: Setup) -> None:
    # isotonic steps tie many leads on one probability; the day's capacity cuts through such ties
    definition = PilotDefinition(
        name="s", start="2025-01-01", mode="shadow", prior="rules", capacity_per_day=3
    )
    shuffled = replace(setup.data, leads=setup.data.leads.sample(frac=1.0, random_state=3))
    expected = evaluate_pilot(definition, setup.data).comparison.to_dict()
    assert evaluate_pilot(definition, shuffled).comparison.to_dict() == expected


def test_cli_pilot_start_status_report(setup: Setup, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    pilots = ["--pilots-dir", str(tmp_path / "pilots")]
    data = ["--data", str(setup.export.folder), "--registry", str(setup.registry)]
    started = runner.invoke(
        app,
        ["pilot", "start", "ortho", "--start", "2025-03-01", "--scope", "service_line=orthopedics", *pilots],
    )
    assert started.exit_code == 0, started.output
    assert (tmp_path / "pilots" / "ortho.json").exists()
    status = runner.invoke(app, ["pilot", "status", "ortho", *pilots, *data])
    assert status.exit_code == 0, status.output
    assert "Scoring:" in status.output and "Prior:" in status.output
    out = tmp_path / "pilot.json"
    report = runner.invoke(app, ["pilot", "report", "ortho", *pilots, *data, "--json", str(out)])
    assert report.exit_code == 0, report.output
    assert report.stdout.startswith("Decision: ")
    assert json.loads(out.read_text())["definition"]["scope"] == {"service_line": "orthopedics"}
    # the report is kept for the dashboard, beside the definitions it does not disturb
    (kept,) = pilot_results(tmp_path / "pilots")
    assert kept["decision"] == json.loads(out.read_text())["decision"] and kept["reported_at"]
    assert [p.name for p in list_pilots(tmp_path / "pilots")] == ["ortho"]
    bad = runner.invoke(app, ["pilot", "start", "x", "--start", "2025-03-01", "--scope", "nothing", *pilots])
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output
    for command in ("start", "status", "report"):
        helped = runner.invoke(app, ["pilot", command, "--help"])
        assert helped.exit_code == 0 and "--pilots-dir" in helped.output


def test_the_dashboard_shows_each_pilots_latest_report_with_intervals(setup: Setup, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from _web_support import add_lead, lead_record, sign_in, start_web

    result = evaluate_pilot(PilotDefinition(name="random", start="2025-01-01", seed=1), setup.data)
    for web in start_web(tmp_path, "sqlite"):
        pilots = web.settings.data_dir / "pilots"
        add_lead(web.client, web.tokens["integration"], lead_record(1, question="knee pain"))
        sign_in(web.client, web.tokens["analyst"])
        before = web.client.get("/ui/dashboard")
        assert before.status_code == 200 and "No pilot reported yet" in before.text
        save_pilot_result(result, pilots, reported_at=datetime.now(UTC))
        web.client.app.state.dashboard_kept = None  # type: ignore[attr-defined]  # figures kept a minute
        shown = web.client.get("/ui/dashboard.json").json()["pilots"]
        assert [p["name"] for p in shown] == ["random"] and shown[0]["decision"] == result.decision
        comparison = result.comparison
        assert isinstance(comparison, PilotReport)
        arms = {a["arm"]: a for a in shown[0]["arms"]}
        for arm in (comparison.treatment, comparison.control):
            assert arms[arm.arm]["conversion_rate"] == pytest.approx(arm.conversion_rate)
            assert (arms[arm.arm]["ci_low"], arms[arm.arm]["ci_high"]) == pytest.approx(arm.conversion_ci)
        page = web.client.get("/ui/dashboard").text
        assert "Pilot random: scoring against the prior routing" in page and "95% interval" in page
