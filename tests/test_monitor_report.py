"""The HTML reports of monitoring and pilots render with their plots."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from _monitoring_support import CAMPAIGN_CHANGE, Setup, monitoring_setup
from careleads.cli._monitor import register
from careleads.monitoring import PilotDefinition, evaluate_pilot, monitor
from careleads.report import write_monitor_report, write_pilot_report
from conftest import ExportFactory


@pytest.fixture(scope="session")
def setup(crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return monitoring_setup(crm_export, tmp_path_factory)


def _svgs(html: str) -> int:
    return len(re.findall(r"<svg\b", html))


def test_monitor_report_has_summary_tables_and_plots(setup: Setup, tmp_path: Path) -> None:
    report = monitor(setup.data, since=CAMPAIGN_CHANGE, until=CAMPAIGN_CHANGE + pd.DateOffset(months=3))
    path = write_monitor_report(report, tmp_path / "monitor.html")
    html = path.read_text(encoding="utf-8")
    # PSI bars, score histograms, predicted-against-observed by tier, calibration curve
    assert _svgs(html) >= 4
    assert "<script" not in html.lower()
    assert html.index("Monitoring act") < html.index("PSI by feature and score")
    for heading in (
        f"Drift: {report.drift.status}",
        f"Calibration by tier over time: {report.calibration_status}, tier order: {report.stability_status}",
        "Business outcomes",
    ):
        assert f">{heading}<" in html
    assert "campaign=brand_awareness" in html
    assert "Tier A converted at" in html
    # human formats: headings in words, shares as percentages, no scientific notation, no warning colours
    # on lines that are not warnings
    assert "conversion_rate" not in html and ">Conversion rate<" in html
    rate = float(report.business.by_tier["conversion_rate"].iloc[0]) if report.business is not None else 0.0
    assert f"{rate * 100:.1f}%" in html
    assert not re.search(r">-?\d\.\d+e[-+]\d+<", html)
    assert 'class="warnings"' not in html


def test_pilot_reports_render_for_both_designs(setup: Setup, tmp_path: Path) -> None:
    for definition in (
        PilotDefinition(name="random", start="2025-01-01", seed=1),
        PilotDefinition(name="shadow", start="2025-01-01", mode="shadow", capacity_per_day=3),
    ):
        result = evaluate_pilot(definition, setup.data)
        html = write_pilot_report(result, tmp_path / f"{definition.name}.html").read_text(encoding="utf-8")
        assert _svgs(html) >= 1
        assert "Decision: " in html
        assert f"careleads pilot {definition.name}" in html
        assert "Conversion by tier" not in html  # the pilot's chart is by arm
        if definition.mode == "random":
            assert "95% intervals" in html


def test_cli_writes_the_html_reports(setup: Setup, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    data = ["--data", str(setup.export.folder), "--registry", str(setup.registry)]
    out = tmp_path / "m.html"
    result = runner.invoke(
        app, ["monitor", *data, "--since", "2025-03-01", "--until", "2025-06-01", "--report", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    assert _svgs(out.read_text(encoding="utf-8")) >= 3
    pilots = ["--pilots-dir", str(tmp_path / "pilots")]
    assert runner.invoke(app, ["pilot", "start", "p", "--start", "2025-01-01", *pilots]).exit_code == 0
    page = tmp_path / "p.html"
    shown = runner.invoke(app, ["pilot", "report", "p", *pilots, *data, "--report", str(page)])
    assert shown.exit_code == 0, shown.output
    assert _svgs(page.read_text(encoding="utf-8")) >= 1
