"""The whole loop on embedded synthetic data: generate, ingest, train rules and model, evaluate, report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import DAY_ONE_HOURS, Target, build_dataset
from careleads.models import TrainingResult, train_model
from careleads.monitoring import FAIRNESS_COLUMNS, fairness_of_model
from careleads.report import TEXT_METRIC_NAMES, fairness_section, score_path_section, write_training_report
from careleads.scoring import score_leads, score_path
from careleads.stats import binary_metrics
from careleads.synth import generate
from careleads.types import PathLikeStr

Progress = Callable[[str], None]


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
    # each lead at the moments of its first days it is scored at: one model at arrival, on events, in a batch
    dataset = tables.dataset(target, data_end=data.end, day_one_hours=DAY_ONE_HOURS)
    training = train_model(dataset, truth=data.truth, seed=seed, progress=say)
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
    say("checking fairness by sensitive group and payer on the test window")
    fairness = fairness_of_model(
        training.model,
        dataset,
        tables.leads,
        dictionary=tables.dictionary,
        rows=training.test_rows,
        by=FAIRNESS_COLUMNS,
    )
    metrics["fairness"] = fairness.to_dict()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    say("writing the report")
    report_path = write_training_report(
        out / "report.html",
        training,
        tables=tables,
        text_comparison=metrics.get("text_comparison"),
        extra_sections=[
            fairness_section(fairness),
            score_path_section(example_paths(training, tables, seed=seed)),
        ],
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


def example_paths(
    training: TrainingResult, tables: CrmTables, *, n: int = 4, seed: int = 0, until_hours: float = 72.0
) -> dict[str, Any]:
    """The score paths (:func:`careleads.scoring.score_path`) of `n` test leads with a few early events."""
    import numpy as np

    test_ids = set(training.test_frame["lead_id"])
    leads = tables.leads.loc[tables.leads["lead_id"].isin(test_ids)]
    leads = leads.loc[leads["do_not_profile"].fillna(False).astype(bool) == False]  # noqa: E712
    created = pd.to_datetime(leads.set_index("lead_id")["created_at"])
    events = tables.events.loc[tables.events["lead_id"].isin(set(leads["lead_id"]))]
    early = events.loc[
        pd.to_datetime(events["occurred_at"]).to_numpy()
        <= (created.reindex(events["lead_id"]) + pd.Timedelta(hours=until_hours)).to_numpy()
    ]
    counts = early["lead_id"].value_counts()
    busy = sorted(counts.loc[counts.between(3, 12)].index)
    chosen = np.random.default_rng(seed).permutation(np.asarray(busy, dtype=object))[:n]
    records = leads.set_index("lead_id", drop=False)
    paths = {}
    for i, lead_id in enumerate(chosen, start=1):
        record = records.loc[lead_id].to_dict()
        mine = early.loc[early["lead_id"] == lead_id, ["occurred_at", "event_type", "page"]]
        paths[f"example {i}"] = score_path(
            training.model, record, mine.to_dict(orient="records"), until_hours=until_hours
        )
    return paths


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
