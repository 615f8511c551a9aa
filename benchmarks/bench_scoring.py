"""Single-lead scoring latency in process: ``python benchmarks/bench_scoring.py [--leads 2000]``.

Times, one call at a time after a warm-up, the single-record path the API uses
(``careleads.scoring.score_record(model, lead, events)``, three reason codes) with each lead's
events and without them (a lead at creation), and ``careleads.scoring.score_one`` (the batch pipeline
on a one-row frame). Prints p50 and p99 in milliseconds as JSON and a table, with the Python-loop
yardstick of the machine measured in the same run.

By default it trains a small model on 4,000 simulated leads; ``--model DIR --input LEADS.parquet``
measures a saved model on the first leads of a file instead (the batch benchmark does this).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _common

if TYPE_CHECKING:
    from careleads.models import LeadModel

# the goal: one lead scored in under 2 ms at the 99th percentile, in process
GOAL_P99_MS = 2.0


def measure(
    model: LeadModel,
    leads: Sequence[Mapping[str, Any]],
    events_by_lead: Mapping[Any, Sequence[Mapping[str, Any]]] | None = None,
    *,
    n_score_one: int | None = None,
) -> dict[str, Any]:
    """Latency figures of the single-record path and of `score_one` on `leads` (clean field values).

    Parameters
    ----------
    model
        The model to score with.
    leads
        Leads as mappings of clean field values; each is scored once per path.
    events_by_lead
        Each lead's events, by lead id; when given, the single-record path is also timed with them.
    n_score_one
        Time `score_one` on the first this many leads only (it is about a hundred times slower).
    """
    from careleads.scoring import score_one, score_record

    figures: dict[str, Any] = {"calls": len(leads)}
    if events_by_lead is not None:
        figures["score_record_with_events"] = _common.percentiles(
            _common.milliseconds_per_call(
                lambda lead: score_record(model, lead, events_by_lead.get(lead["lead_id"], [])), leads
            )
        )
    figures["score_record"] = _common.percentiles(
        _common.milliseconds_per_call(lambda lead: score_record(model, lead), leads)
    )
    some = leads if n_score_one is None else leads[:n_score_one]
    figures["score_one"] = _common.percentiles(
        _common.milliseconds_per_call(lambda lead: score_one(model, lead), some, warm=min(50, len(some) // 2))
    )
    figures["score_one_over_score_record_p50"] = _common.ratio(
        figures["score_one"]["p50_ms"], figures["score_record"]["p50_ms"]
    )
    figures["goal_p99_ms"] = GOAL_P99_MS
    return figures


def measure_file(model_path: str | Path, input_path: str | Path, n: int = 2_000) -> dict[str, Any]:
    """`measure` a saved model on the clean leads among the first `n` rows of a Parquet file."""
    import pyarrow.parquet as pq

    from careleads.dictionary import ingest_table, load_dictionary
    from careleads.models import LeadModel

    model = LeadModel.load(model_path)
    raw = next(pq.ParquetFile(input_path).iter_batches(batch_size=n)).to_pandas()
    clean = ingest_table(raw, load_dictionary(), "leads").clean
    leads = [{str(k): v for k, v in row.items()} for row in clean.to_dict("records")]
    figures = measure(model, leads)
    figures["quarantined"] = len(raw) - len(clean)  # rows the dictionary refused are not scored
    return figures


def measure_simulated(n: int = 2_000, *, n_train: int = 4_000) -> dict[str, Any]:
    """Train a model on `n_train` simulated leads and `measure` it on the first `n` of them, with events."""
    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model
    from careleads.synth import generate

    data = generate(n_train, seed=1)
    with tempfile.TemporaryDirectory(prefix="careleads-bench-") as folder:
        data.write(folder)
        tables = load_crm_folder(folder)
    model = train_model(tables.dataset(Target(), data_end=data.end), seed=0).model
    leads = [{str(k): v for k, v in row.items()} for row in tables.leads.head(n).to_dict("records")]
    events_by_lead: dict[Any, list[dict[str, Any]]] = {}
    for event in tables.events.to_dict("records"):
        events_by_lead.setdefault(event["lead_id"], []).append({str(k): v for k, v in event.items()})
    figures = measure(model, leads, events_by_lead, n_score_one=min(n, 200))
    figures["model"] = {"trained_on_leads": n_train, "trees": int(model.scorer.n_estimators_)}
    return figures


def rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table's rows."""
    out = []
    labels = {
        "score_record_with_events": "one lead with its events, score_record (3 reasons)",
        "score_record": "one lead at creation, score_record (3 reasons)",
        "score_one": "one lead, score_one (the batch pipeline)",
    }
    for key, label in labels.items():
        if key in figures:
            out.append((f"{label}: p50 / p99 ms", f"{figures[key]['p50_ms']} / {figures[key]['p99_ms']}"))
    out.append(("score_one p50 / score_record p50", str(figures["score_one_over_score_record_p50"])))
    if "python_loop_seconds" in figures:
        out.append(("yardstick: Python loop of 5M additions, s", str(figures["python_loop_seconds"])))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_scoring.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--leads", type=int, default=2_000, help="leads to score one at a time (default 2000)"
    )
    parser.add_argument(
        "--train-leads", type=int, default=4_000, help="simulated leads to train on (without --model)"
    )
    parser.add_argument("--model", type=Path, default=None, help="a saved model folder (with --input)")
    parser.add_argument("--input", type=Path, default=None, help="a Parquet lead file (with --model)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if (args.model is None) != (args.input is None):
        parser.error("--model and --input go together")
    figures: dict[str, Any] = {"machine": _common.machine()}
    if args.model is not None:
        figures.update(measure_file(args.model, args.input, args.leads))
    else:
        figures.update(measure_simulated(args.leads, n_train=args.train_leads))
    figures["python_loop_seconds"] = _common.python_yardstick()
    _common.emit(
        figures, json_path=args.json, text=_common.table("careleads single-lead scoring", rows(figures))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
