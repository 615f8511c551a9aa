"""The fairness section of an HTML report: selection and conversion per sensitive attribute and group."""

from __future__ import annotations

from careleads.privacy import FairnessReport
from careleads.report._html import Section, Table

__all__ = ["fairness_section"]


def fairness_section(report: FairnessReport) -> Section:
    """The fairness part of an HTML report: per attribute and group, selection and conversion."""
    rows = []
    for attribute in report.attributes:
        for group in attribute.groups:
            rows.append(
                [
                    attribute.column,
                    group.group,
                    group.n,
                    group.score_mean,
                    group.selection_rate,
                    group.conversion_rate,
                    group.true_positive_rate,
                ]
            )
    return Section(
        title="Fairness",
        paragraphs=[
            "Sensitive attributes are never model features; they are joined back only to compare groups. "
            "Selection rate is the share of leads placed in the top tiers "
            f"({', '.join(report.positive_tiers)}); "
            "true-positive rate is the share of converters placed there (equal opportunity)."
        ],
        items=report.warnings
        or ["No group differs from the largest group beyond the configured thresholds."],
        warning=bool(report.warnings),
        tables=[
            Table(
                columns=["attribute", "group", "leads", "mean score", "selection rate", "conversion", "TPR"],
                rows=rows,
                percent=["selection rate", "conversion", "TPR"],
            )
        ],
    )
