"""Shared HTML reporting: inline SVG plots and a self-contained page template."""

from __future__ import annotations

from careleads.report._evaluation import write_evaluation_report
from careleads.report._html import Figure, Section, Table, render_html, render_report
from careleads.report._plots import (
    calibration_svg,
    gains_svg,
    histogram_svg,
    psi_bars_svg,
    roc_svg,
    tier_bars_svg,
)

__all__ = [
    "Figure",
    "Section",
    "Table",
    "calibration_svg",
    "gains_svg",
    "histogram_svg",
    "psi_bars_svg",
    "render_html",
    "render_report",
    "roc_svg",
    "tier_bars_svg",
    "write_evaluation_report",
]
