"""The HTML report of ``careleads evaluate``: leakage evidence, split, model choice, test figures, drift."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from careleads.report._html import Figure, Section, Table, render_report
from careleads.report._plots import calibration_svg, gains_svg, psi_bars_svg, roc_svg, tier_bars_svg
from careleads.types import PathLikeStr

if TYPE_CHECKING:
    from careleads.models import EvaluationResult


def evaluation_sections(result: EvaluationResult) -> list[Section]:
    """The report's sections, in reading order."""
    model_name = f"model ({result.model_kind})"
    probs = {model_name: result.p_test, "logistic baseline": result.p_test_baseline}
    sections: list[Section] = []
    if result.warnings:
        sections.append(Section("Warnings", items=list(result.warnings), warning=True))

    leak_rows = [
        [s.column, ", ".join(s.detectors), "; ".join(s.evidence), "kept (--keep)" if s.kept else "excluded"]
        for s in result.leakage.suspects
    ]
    watch_rows = [[w.column, ", ".join(w.detectors), "; ".join(w.evidence)] for w in result.leakage.watched]
    leak_tables = [Table(["column", "detectors", "evidence", "decision"], leak_rows, "Suspects")]
    if watch_rows:
        leak_tables.append(
            Table(["column", "detectors", "evidence"], watch_rows, "Single weak signs: used as features")
        )
    sections.append(
        Section(
            "Leakage audit",
            paragraphs=[
                "Columns that carry the outcome instead of predicting it make a model look better than it "
                "will be on new leads. Each suspect is listed with the evidence found on the training part; "
                "one strong sign, or two independent weak ones, makes a suspect. Strength alone never does."
            ]
            + (["No suspects were found."] if not leak_rows else []),
            tables=leak_tables if leak_rows or watch_rows else [],
            items=list(result.leakage.notes),
        )
    )
    split = result.split
    sections.append(
        Section(
            "Data and split",
            tables=[
                Table(
                    ["item", "value"],
                    [
                        ["file", result.source],
                        ["rows read", result.n_read],
                        ["rows used", result.rows],
                        ["label", f"{result.label} = {result.positive}"],
                        ["positive rate", result.positive_rate],
                        ["split", split.kind],
                        ["time column", split.time_column or ""],
                        ["group column", split.group_column or ""],
                        ["training rows (incl. validation)", split.train_rows],
                        ["validation rows", split.validation_rows],
                        ["test rows", split.test_rows],
                        ["training ends", split.train_end or ""],
                        ["test starts", split.test_start or ""],
                    ],
                ),
                Table(
                    ["column", "reason"], [[e["column"], e["reason"]] for e in result.excluded], "Not used"
                ),
            ],
            paragraphs=[f"Features used: {', '.join(result.features)}."],
        )
    )
    sections.append(
        Section(
            "Model choice on the validation slice",
            tables=[
                Table(
                    ["candidate", "validation AUC", "boosting rounds"],
                    [[c["name"], c["validation_auc"], c["rounds"] or ""] for c in result.candidates],
                ),
                Table(
                    ["column", "share of importance"],
                    [[k, v] for k, v in list(result.importance.items())[:15]],
                    "LightGBM importance (gain) by input column",
                    percent=["share of importance"],
                ),
            ],
            paragraphs=[
                f"Chosen: {result.model_settings.get('candidate', result.model_kind)}, then refit on the "
                f"whole training part; calibration: {result.calibrator.to_dict()['method']}."
            ],
        )
    )
    metric_names = ["auc", "pr_auc", "brier", "ece", "lift_top_decile"]
    base = result.baselines["logistic"].to_dict()
    test = result.test.to_dict()
    sections.append(
        Section(
            "Test part (touched once)",
            tables=[
                Table(
                    ["metric", model_name, "logistic baseline"], [[m, test[m], base[m]] for m in metric_names]
                )
            ],
            figures=[
                Figure(roc_svg(result.y_test, probs)),
                Figure(calibration_svg(result.y_test, probs)),
                Figure(gains_svg(result.y_test, probs)),
            ],
        )
    )
    sections.append(
        Section(
            "Conversion by tier",
            paragraphs=["Tier thresholds were set on the validation slice; the test leads are counted here."],
            tables=[
                Table(
                    ["tier", "leads", "conversions", "conversion rate", "action"],
                    [
                        [
                            r["tier"],
                            r["leads"],
                            r["conversions"],
                            r["conversion_rate"],
                            result.tier_scheme.actions[r["tier"]],
                        ]
                        for r in result.tiers
                    ],
                    percent=["conversion rate"],
                )
            ],
            figures=[
                Figure(tier_bars_svg({model_name: result.tiers, "logistic baseline": result.baseline_tiers}))
            ],
        )
    )
    psi = {c.column: c.psi for c in result.drift.columns if c.column != "__label__"}
    sections.append(
        Section(
            "Drift between the training and test windows",
            items=[line.replace("__label__", result.label) for line in result.drift.summary_lines()],
            figures=[Figure(psi_bars_svg(psi))] if psi else [],
        )
    )
    return sections


def write_evaluation_report(result: EvaluationResult, path: PathLikeStr) -> Path:
    """Write the HTML report of `evaluate_file`'s result (ROC, calibration, lift, tiers, drift, leakage)."""
    return render_report(
        path,
        title=f"careleads evaluate: {result.source}",
        subtitle=f"label {result.label} = {result.positive}; {result.rows:,} rows; split {result.split.kind}",
        summary_lines=result.summary_lines(include_warnings=False),
        sections=evaluation_sections(result),
    )
