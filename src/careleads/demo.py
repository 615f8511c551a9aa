"""The whole loop on embedded synthetic data: generate, ingest, train rules and model, evaluate, report."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import Target, build_dataset
from careleads.governance import fairness_of_model, fairness_section
from careleads.models import TrainingResult, train_model
from careleads.report import Section, Table, render_report
from careleads.report._plots import calibration_svg, gains_svg, roc_svg, tier_bars_svg
from careleads.scoring import score_leads
from careleads.stats._metrics import binary_metrics
from careleads.synth import generate
from careleads.types import PathLikeStr

Progress = Callable[[str], None]
METRIC_NAMES: tuple[str, ...] = ("auc", "pr_auc", "brier", "ece", "lift_top_decile", "top_tier_lift")
TEXT_METRIC_NAMES: tuple[str, ...] = ("auc", "pr_auc", "brier", "ece", "lift_top_decile")


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    training: TrainingResult
    tables: CrmTables
    metrics: dict[str, Any]
    report_path: Path
    model_dir: Path
    decisions_path: Path
    text_training: TrainingResult | None = None


def run_demo(
    out_dir: PathLikeStr = "careleads-demo",
    *,
    n_leads: int = 50_000,
    seed: int = 7,
    target: Target | None = None,
    progress: Progress | None = None,
    text: bool = True,
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
    text : bool
        Simulate leads whose text says what the form does not (``generate(text_signals=True)``) and compare
        the model with text and conversational features ("model + text") against the same model without
        them ("model") on the same test window: ``text_comparison`` in metrics.json and a report section.
        The model that scores and routes the leads is the one without text either way.
    """
    say = progress or (lambda _msg: None)
    target = target or Target()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say(f"simulating {n_leads:,} leads")
    data = generate(n_leads, seed=seed, text_signals=text)
    data.write(out / "data")
    say("ingesting the export through the data dictionary")
    tables = load_crm_folder(out / "data", quarantine_dir=out / "quarantine")
    say("building point-in-time features")
    dataset = tables.dataset(target, data_end=data.end)
    # the same leads at arrival: a cold-start model scores new leads before any engagement (API, UI)
    cold = (
        tables.dataset(Target(target.outcome, target.window_days, as_of_hours=0), data_end=data.end)
        if target.as_of_hours > 0
        else None
    )
    training = train_model(dataset, truth=data.truth, seed=seed, progress=say, cold_start=cold)
    model_dir = training.model.save(out / "models" / training.model.version)
    text_training = None
    if text:
        say("building text and conversational features (questions and messages redacted first)")
        text_dataset = build_dataset(
            tables.leads,
            tables.events,
            tables.outcomes,
            target=target,
            table=tables.dictionary.table("leads"),
            data_end=data.end,
            text=True,
        )
        say("training the same model with text features")
        text_training = train_model(text_dataset, truth=data.truth, seed=seed)
    say("scoring every lead")
    decisions = score_leads(training.model, tables.leads, tables.events)
    decisions_path = out / "decisions.csv"
    decisions.to_csv(decisions_path, index=False)
    metrics: dict[str, Any] = {
        "target": target.to_dict(),
        "split": training.split.describe(),
        "test": training.metrics,
        "tiers": training.tiers,
        "ingest": tables.summary(),
        "model_version": training.model.version,
    }
    if text_training is not None:
        metrics["text_comparison"] = text_comparison(training, text_training, seed=seed)
    say("checking fairness by sensitive group on the test window")
    fairness = fairness_of_model(
        training.model, dataset, tables.leads, dictionary=tables.dictionary, rows=training.split.test
    )
    metrics["fairness"] = fairness.to_dict()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    say("writing the report")
    report_path = write_training_report(
        out / "report.html",
        training,
        tables=tables,
        text_comparison=metrics.get("text_comparison"),
        extra_sections=[fairness_section(fairness)],
    )
    return DemoResult(
        out_dir=out,
        training=training,
        tables=tables,
        metrics=metrics,
        report_path=report_path,
        model_dir=model_dir,
        decisions_path=decisions_path,
        text_training=text_training,
    )


def text_comparison(
    training: TrainingResult, text_training: TrainingResult, *, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """ "model + text" against "model" on the same test leads, with a paired bootstrap of the AUC gain.

    Parameters
    ----------
    training, text_training : TrainingResult
        The same model trained without and with text and conversational features on the same leads.
    n_boot : int
        Bootstrap resamples of the test leads for the interval of the AUC difference.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``model`` and ``model + text`` (the metrics of TEXT_METRIC_NAMES, and ``oracle`` when known),
        ``auc_gain`` and its 95% interval ``auc_gain_ci``, and ``n`` test leads.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    base = training.test_frame[["lead_id", "y", "model"]]
    both = base.merge(
        text_training.test_frame[["lead_id", "model"]].rename(columns={"model": "text"}), on="lead_id"
    )
    y = both["y"].to_numpy()
    p_base, p_text = both["model"].to_numpy(), both["text"].to_numpy()
    out: dict[str, Any] = {
        "n": int(len(both)),
        "model": {k: v for k, v in binary_metrics(y, p_base).to_dict().items() if k in TEXT_METRIC_NAMES},
        "model + text": {
            k: v for k, v in binary_metrics(y, p_text).to_dict().items() if k in TEXT_METRIC_NAMES
        },
    }
    if "oracle" in training.metrics:
        out["oracle"] = {k: v for k, v in training.metrics["oracle"].items() if k in TEXT_METRIC_NAMES}
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue
        gains.append(roc_auc_score(y[rows], p_text[rows]) - roc_auc_score(y[rows], p_base[rows]))
    out["auc_gain"] = out["model + text"]["auc"] - out["model"]["auc"]
    out["auc_gain_ci"] = [float(np.quantile(gains, 0.025)), float(np.quantile(gains, 0.975))] if gains else []
    out["text_features"] = [c for c in text_training.model.features if c not in training.model.features]
    return out


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
