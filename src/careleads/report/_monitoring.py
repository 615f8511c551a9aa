"""The HTML pages of monitoring and pilots: the summary first, then sections with tables and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from careleads.monitoring import MonitorReport, PilotResult
from careleads.report._html import Figure, Section, Table, render_report, table_of
from careleads.report._plots import calibration_svg, histogram_svg, psi_bars_svg, tier_bars_svg
from careleads.stats import PilotReport, calibration_summary_lines, period_label
from careleads.types import PathLikeStr

__all__ = ["write_monitor_report", "write_pilot_report"]


def write_monitor_report(report: MonitorReport, path: PathLikeStr) -> Path:
    """Write the monitoring report as a self-contained HTML page with plots; returns the path."""
    cfg = report.settings
    drift_rows = report.drift.to_frame()
    psi = {str(r["column"]): float(r["psi"]) for r in drift_rows.to_dict("records")}
    sections = [
        Section(
            f"Drift: {report.drift.status}",
            paragraphs=[
                "Population stability index of each model input and of the score, the training window "
                f"against the recent window (watch from {cfg.psi_watch}, act from {cfg.psi_act})."
            ],
            items=report.drift.summary_lines(),
            figures=[
                Figure(psi_bars_svg(psi, watch=cfg.psi_watch, act=cfg.psi_act), "PSI by feature and score"),
                Figure(
                    histogram_svg(
                        {"training window": report.reference_scores, "recent window": report.current_scores},
                        xlabel="predicted probability",
                    ),
                    "Score distribution in each window",
                ),
            ],
            tables=[
                Table(
                    columns=["column", "kind", "PSI", "status", "evidence"],
                    rows=[
                        [r["column"], r["kind"], r["psi"], r["status"], r["evidence"]]
                        for r in drift_rows.sort_values("psi", ascending=False).to_dict("records")
                    ],
                )
            ],
        )
    ]
    cal = report.calibration
    figures: list[Figure] = []
    latest = report.latest_matured_period()
    if latest is not None:
        rows = cal[cal["period"] == latest]
        by_name = {
            "predicted": [
                {"tier": r["tier"], "conversion_rate": r["predicted_mean"], "leads": r["n"]}
                for r in rows.to_dict("records")
            ],
            "observed": [
                {"tier": r["tier"], "conversion_rate": r["observed_rate"], "leads": r["n"]}
                for r in rows.to_dict("records")
            ],
        }
        figures.append(
            Figure(
                tier_bars_svg(by_name),
                f"Predicted and observed conversion by tier, {period_label(latest, cfg.period_freq)}",
            )
        )
    if report.matured_labels.size:
        figures.append(
            Figure(
                calibration_svg(report.matured_labels, {"model": report.matured_scores}),
                "Calibration of matured leads in the recent window",
            )
        )
    sections.append(
        Section(
            f"Calibration by tier over time: {report.calibration_status}, "
            f"tier order: {report.stability_status}",
            paragraphs=[
                "Only matured outcomes count: leads whose outcome window is still open are excluded and "
                "counted in 'open'."
            ],
            items=calibration_summary_lines(cal, stability=report.stability, freq=cfg.period_freq),
            figures=figures,
            tables=[
                Table(
                    columns=[
                        "period",
                        "tier",
                        "n",
                        "open",
                        "predicted",
                        "observed",
                        "CI low",
                        "CI high",
                        "status",
                    ],
                    rows=[
                        [
                            period_label(pd.Timestamp(r["period"]), cfg.period_freq),
                            r["tier"],
                            int(r["n"]),
                            int(r["n_excluded"]),
                            r["predicted_mean"],
                            r["observed_rate"],
                            r["ci_low"],
                            r["ci_high"],
                            r["status"],
                        ]
                        for r in cal.to_dict("records")
                    ],
                    percent=["predicted", "observed", "CI low", "CI high"],
                ),
                Table(
                    columns=["period", "higher", "lower", "rate higher", "rate lower", "p-value", "status"],
                    rows=[
                        [
                            period_label(pd.Timestamp(r["period"]), cfg.period_freq),
                            r["higher_tier"],
                            r["lower_tier"],
                            r["rate_higher"],
                            r["rate_lower"],
                            r["p_value"],
                            r["status"],
                        ]
                        for r in report.stability.to_dict("records")
                    ],
                    caption="Tier stability: does each tier convert better than the next one down?",
                    percent=["rate higher", "rate lower"],
                ),
            ],
        )
    )
    if report.business is not None:
        by_tier = report.business.by_tier
        sections.append(
            Section(
                "Business outcomes",
                items=report.business.summary_lines(),
                tables=[table_of(by_tier)],
            )
        )
    if report.notes:
        sections.append(Section("Notes", items=list(report.notes)))
    return render_report(
        path,
        title="careleads monitoring",
        subtitle=f"model {report.model_version}, data to {_day(report.data_end)}",
        summary_lines=report.summary_lines(),
        sections=sections,
    )


def write_pilot_report(result: PilotResult, path: PathLikeStr) -> Path:
    """Write the pilot report as a self-contained HTML page with a plot per comparison; returns the path."""
    c = result.comparison
    bars: list[dict[str, Any]] = [
        {"arm": r["arm"], "conversion_rate": r["conversion_rate"], "leads": r["leads"]}
        for r in result.conversion_by_arm
    ]
    if isinstance(c, PilotReport):
        intervals = {a.arm: a.conversion_ci for a in (c.treatment, c.control)}
        for bar in bars:
            if bar["arm"] in intervals:
                bar["ci_low"], bar["ci_high"] = intervals[bar["arm"]]
        caption = "Conversion by arm, with 95% intervals (numbers: leads with a known outcome)"
        chart_title = "Conversion by arm (numbers: leads)"
        table = Table(
            columns=["arm", "leads", "converted", "rate", "CI low", "CI high", "median hours to contact"],
            percent=["rate", "CI low", "CI high"],
            rows=[
                [
                    a.arm,
                    a.n,
                    a.n_converted,
                    a.conversion_rate,
                    a.conversion_ci[0],
                    a.conversion_ci[1],
                    a.median_hours_to_contact,
                ]
                for a in (c.treatment, c.control)
            ],
        )
    else:
        caption = "Share of converters in the day's calls under each ranking (numbers: converters)"
        chart_title = "Conversion of the pilot's leads (numbers: leads)"
        table = Table(
            columns=["ranking", "converters reached", "share"],
            rows=[
                ["model", c.model_captured, c.model_share],
                ["prior", c.prior_captured, c.prior_share],
            ],
            percent=["share"],
        )
    sections = [
        Section(
            "Comparison",
            items=c.summary_lines(),
            tables=[table],
            figures=[Figure(tier_bars_svg({"pilot": bars}, title=chart_title, category="arm"), caption)],
        ),
        Section("Progress", items=result.status.summary_lines()),
    ]
    return render_report(
        path,
        title=f"careleads pilot {result.definition.name}",
        subtitle=result.definition.describe(),
        summary_lines=result.summary_lines()[:2],
        sections=sections,
    )


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()
