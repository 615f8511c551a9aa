"""The whole loop on embedded synthetic data: generate, ingest, train rules and model, evaluate, report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import Target
from careleads.models._training import TrainingResult, train_model
from careleads.report import Section, Table, render_report
from careleads.report._plots import calibration_svg, gains_svg, roc_svg, tier_bars_svg
from careleads.scoring import score_leads
from careleads.synth import generate
from careleads.types import PathLikeStr

Progress = Callable[[str], None]
METRIC_NAMES: tuple[str, ...] = ("auc", "pr_auc", "brier", "ece", "lift_top_decile", "top_tier_lift")


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    training: TrainingResult
    tables: CrmTables
    metrics: dict[str, Any]
    report_path: Path
    model_dir: Path
    decisions_path: Path


def run_demo(
    out_dir: PathLikeStr = "careleads-demo",
    *,
    n_leads: int = 50_000,
    seed: int = 7,
    target: Target | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the whole loop and write data, quarantine, model, model card, metrics.json, report.html.

    Parameters
    ----------
    out_dir : path
        Folder for everything the demo writes (created if needed).
    n_leads : int
        Leads to simulate.
    seed : int
        Seed of the simulator and the model.
    target : Target, optional
        Default: appointment_scheduled within 30 days, scored 24 hours after the lead arrives.
    progress : callable, optional
        Receives a short message at each step.
    """
    say = progress or (lambda _msg: None)
    target = target or Target()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say(f"simulating {n_leads:,} leads")
    data = generate(n_leads, seed=seed)
    data.write(out / "data")
    say("ingesting the export through the data dictionary")
    tables = load_crm_folder(out / "data", quarantine_dir=out / "quarantine")
    say("building point-in-time features")
    dataset = tables.dataset(target, data_end=data.end)
    training = train_model(dataset, truth=data.truth, seed=seed, progress=say)
    model_dir = training.model.save(out / "models" / training.model.version)
    say("scoring every lead")
    decisions = score_leads(training.model, tables.leads, tables.events)
    decisions_path = out / "decisions.csv"
    decisions.to_csv(decisions_path, index=False)
    metrics = {
        "target": target.to_dict(),
        "split": training.split.describe(),
        "test": training.metrics,
        "tiers": training.tiers,
        "ingest": tables.summary(),
        "model_version": training.model.version,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    say("writing the report")
    report_path = write_training_report(out / "report.html", training, tables=tables)
    return DemoResult(
        out_dir=out,
        training=training,
        tables=tables,
        metrics=metrics,
        report_path=report_path,
        model_dir=model_dir,
        decisions_path=decisions_path,
    )


def comparison_rows(metrics: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The comparison table: one row per scorer (model, rules, oracle), one column per metric."""
    return [[name, *(metrics[name].get(m, float("nan")) for m in METRIC_NAMES)] for name in metrics]


def write_training_report(
    path: PathLikeStr, training: TrainingResult, *, tables: CrmTables | None = None
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
                        ["censored leads (window still open)", card["censored_leads"]],
                        ["trees", card["trees"]],
                        ["calibration", card["calibration"]["method"]],
                    ],
                ),
                Table(
                    columns=["feature", "share of gain"],
                    rows=list(card["feature_importance"].items()),
                    caption="Most influential features",
                ),
                Table(
                    columns=["field", "why it is not a feature"], rows=list(card["excluded_fields"].items())
                ),
            ],
        ),
    ]
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
