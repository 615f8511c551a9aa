"""Every HTML report and chart: self-contained pages (inline CSS and SVG) and the plots they show.

Plots are drawn with matplotlib's object API and touch no global state, so reports and the dashboard's
charts may be drawn on several threads at once. The pages: the training report (``careleads demo``,
``careleads train --report``), the evaluation report (``careleads evaluate``), monitoring and pilots, and
the fairness section; the web pages show the dashboard charts as ``data:`` URLs.
"""

from __future__ import annotations

from careleads.report._charts import (
    calibration_points_svg,
    capacity_svg,
    conversion_over_time_svg,
    data_url,
    hours_by_tier_svg,
    ledger_svg,
    score_counts_svg,
)
from careleads.report._evaluation import write_evaluation_report
from careleads.report._fairness import fairness_section
from careleads.report._html import Figure, Section, Table, cell_text, heading, render_html, render_report
from careleads.report._monitoring import write_monitor_report, write_pilot_report
from careleads.report._plots import (
    calibration_svg,
    gains_svg,
    histogram_svg,
    psi_bars_svg,
    roc_svg,
    tier_bars_svg,
)
from careleads.report._score_paths import score_path_section, score_paths_svg
from careleads.report._training import METRIC_NAMES, TEXT_METRIC_NAMES, comparison_rows, write_training_report

__all__ = [
    "METRIC_NAMES",
    "TEXT_METRIC_NAMES",
    "Figure",
    "Section",
    "Table",
    "calibration_points_svg",
    "calibration_svg",
    "capacity_svg",
    "cell_text",
    "comparison_rows",
    "conversion_over_time_svg",
    "data_url",
    "fairness_section",
    "gains_svg",
    "heading",
    "histogram_svg",
    "hours_by_tier_svg",
    "ledger_svg",
    "psi_bars_svg",
    "render_html",
    "render_report",
    "roc_svg",
    "score_counts_svg",
    "score_path_section",
    "score_paths_svg",
    "tier_bars_svg",
    "write_evaluation_report",
    "write_monitor_report",
    "write_pilot_report",
    "write_training_report",
]
