"""The HTML report of a training run (``careleads demo``, ``careleads train --report``).

The comparison table on the test window (model, rules and, with simulated data, the oracle), calibration,
conversion by tier, gains and ROC, the model card, the text comparison and data quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import CrmTables
from careleads.models import TrainingResult
from careleads.report._html import Section, Table, render_report
from careleads.report._plots import calibration_svg, gains_svg, roc_svg, tier_bars_svg
from careleads.types import PathLikeStr

__all__ = ["METRIC_NAMES", "TEXT_METRIC_NAMES", "comparison_rows", "write_training_report"]

#: The columns of the comparison table, in order.
METRIC_NAMES: tuple[str, ...] = ("auc", "pr_auc", "brier", "ece", "lift_top_decile", "top_tier_lift")
#: The columns of the text comparison (no tiers: the text model is not tiered).
TEXT_METRIC_NAMES: tuple[str, ...] = ("auc", "pr_auc", "brier", "ece", "lift_top_decile")


def comparison_rows(metrics: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The comparison table: one row per scorer (model, rules, oracle), one column per metric."""
    return [[name, *(metrics[name].get(m, float("nan")) for m in METRIC_NAMES)] for name in metrics]


def write_training_report(
    path: PathLikeStr,
    training: TrainingResult,
    *,
    tables: CrmTables | None = None,
    text_comparison: dict[str, Any] | None = None,
    extra_sections: Sequence[Section] = (),
) -> Path:
    """An offline HTML report: comparison table, calibration, ROC, gains and conversion by tier."""
    frame = training.test_frame
    probs = {name: frame[name].to_numpy() for name in ("model", "rules", "oracle") if name in frame}
    y = frame["y"].to_numpy()
    m = training.metrics
    card = training.model.card
    summary = [
        f"Target: {training.model.target.describe()}.",
        f"Test window from {training.split.test_start:%Y-%m-%d}: {len(frame):,} leads, "
        f"{frame['y'].mean():.1%} converted.",
        f"Model AUC {m['model']['auc']:.3f} against rules {m['rules']['auc']:.3f}"
        + (f" and the oracle's {m['oracle']['auc']:.3f}" if "oracle" in m else "")
        + f"; model calibration error (ECE) {m['model']['ece']:.3f}.",
        f"Tier A holds {training.tiers['model'][0]['leads']:,} test leads converting at "
        f"{training.tiers['model'][0]['conversion_rate']:.1%}.",
    ]
    sections = [
        Section(
            title="Comparison on the test window",
            paragraphs=[
                "Every figure is measured on later months than the model was trained on; "
                "the test window chose nothing. The oracle uses the simulator's true probabilities: "
                "the best any model could do."
            ],
            tables=[Table(columns=["scorer", *METRIC_NAMES], rows=comparison_rows(m))],
        ),
        Section(
            title="Calibration",
            figures=[calibration_svg(y, probs)],
            paragraphs=["Predicted probability against observed conversion, equal-count bins."],
        ),
        Section(
            title="Conversion by tier",
            figures=[tier_bars_svg(training.tiers)],
            tables=[
                Table(
                    columns=["tier", "leads", "conversions", "conversion_rate"],
                    percent=["conversion_rate"],
                    rows=[
                        [r["tier"], r["leads"], r["conversions"], r["conversion_rate"]]
                        for r in training.tiers["model"]
                    ],
                    caption="Model tiers",
                )
            ],
        ),
        Section(title="Lift and gains", figures=[gains_svg(y, probs)]),
        Section(title="ROC", figures=[roc_svg(y, probs)]),
        Section(
            title="Model card",
            tables=[
                Table(
                    columns=["field", "value"],
                    rows=[
                        ["version", card["version"]],
                        [
                            "training period",
                            f"{card['training_period']['start']} to {card['training_period']['end']}",
                        ],
                        ["training rows", card["training_period"]["rows"]],
                        ["reviewer feedback rows added", card["training_period"].get("feedback_rows", 0)],
                        ["censored leads (window still open)", card["censored_leads"]],
                        ["trees", card["trees"]],
                        ["calibration", card["calibration"]["method"]],
                    ],
                ),
                Table(
                    columns=["feature", "share of gain"],
                    percent=["share of gain"],
                    rows=list(card["feature_importance"].items()),
                    caption="Most influential features",
                ),
                Table(
                    columns=["field", "why it is not a feature"], rows=list(card["excluded_fields"].items())
                ),
            ],
        ),
    ]
    if text_comparison is not None:
        sections.insert(1, _text_section(text_comparison))
    sections.extend(extra_sections)
    if tables is not None:
        rows = []
        for name, result in tables.results.items():
            summary_row = result.summary.to_dict()
            rows.append(
                [
                    name,
                    summary_row["n_read"],
                    summary_row["n_stored"],
                    summary_row["n_quarantined"],
                    ", ".join(f"{k}: {v}" for k, v in dict(summary_row["reasons"]).items()),
                ]
            )  # type: ignore[call-overload]
        sections.append(
            Section(
                title="Data quality",
                tables=[Table(columns=["table", "read", "stored", "quarantined", "reasons"], rows=rows)],
                paragraphs=[
                    "Every row read is stored or quarantined with its reason (see the quarantine folder)."
                ],
            )
        )
    return render_report(
        path,
        title="careleads: lead scoring report",
        summary_lines=summary,
        sections=sections,
        subtitle=f"{pd.Timestamp.now():%Y-%m-%d %H:%M}",
    )


def _text_section(comparison: dict[str, Any]) -> Section:
    """The report section comparing the model with and without text and conversational features."""
    names = [n for n in ("model", "model + text", "oracle") if n in comparison]
    rows = [[n, *(comparison[n].get(m, float("nan")) for m in TEXT_METRIC_NAMES)] for n in names]
    ci = comparison.get("auc_gain_ci") or []
    interval = f" (95% paired bootstrap interval {ci[0]:+.4f} to {ci[1]:+.4f})" if len(ci) == 2 else ""
    return Section(
        title="Text and conversational features",
        paragraphs=[
            "The same model with the intent and urgency of the form question and the chat and SMS "
            "signals (messages, latest intent, urgency stated, service preference, intake step) changes "
            f"the test AUC by {comparison['auc_gain']:+.4f}{interval} "
            f"on the same {comparison['n']:,} test leads.",
            "Texts are redacted before they are classified. The classifiers were trained on texts the "
            "simulator generates, never on these leads or their outcomes, and a message counts only if "
            "it was written before the scoring moment, so nothing leaks. They sort messages; they never "
            "make a clinical decision: urgent symptoms go to the clinical-triage override.",
        ],
        tables=[Table(columns=["scorer", *TEXT_METRIC_NAMES], rows=rows)],
    )
