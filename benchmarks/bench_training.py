"""Simulator, ingest and training: ``python benchmarks/bench_training.py [--generate-leads 1000000]``.

Prints JSON and a table with the time and peak memory of simulating leads and writing them as CSV and
Parquet, then of ingesting a simulated export through the data dictionary, building point-in-time
features and training the rule baseline and the model (``--train-leads``), with the machine's
Python-loop yardstick measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import _common


def bench_generate(n_leads: int) -> dict[str, Any]:
    """Simulate `n_leads` and write them as CSV and Parquet."""
    from careleads.synth import generate

    figures: dict[str, Any] = {"leads": n_leads}
    data = _common.timed(figures, "simulate", lambda: generate(n_leads, seed=1))
    figures["events"] = len(data.events)
    with tempfile.TemporaryDirectory() as tmp:
        _common.timed(figures, "write_csv", lambda: data.write(Path(tmp) / "csv"))
        _common.timed(figures, "write_parquet", lambda: data.write(Path(tmp) / "pq", fmt="parquet"))
    figures["leads_per_second_simulate"] = round(n_leads / max(figures["simulate"]["seconds"], 0.01))
    return figures


def bench_train(n_leads: int) -> dict[str, Any]:
    """Ingest, build features and train on `n_leads` simulated leads."""
    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model
    from careleads.synth import generate

    figures: dict[str, Any] = {"leads": n_leads}
    data = generate(n_leads, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        data.write(Path(tmp), fmt="parquet")
        tables = _common.timed(figures, "ingest", lambda: load_crm_folder(tmp))
    dataset = _common.timed(figures, "features", lambda: tables.dataset(Target(), data_end=data.end))
    result = _common.timed(figures, "train", lambda: train_model(dataset, truth=data.truth))
    figures["dataset_rows"] = len(dataset)
    figures["training_rows"] = int(result.split.train.sum())
    figures["test_auc"] = {k: round(v["auc"], 4) for k, v in result.metrics.items()}
    return figures


def rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table's rows."""
    out = []
    for part in ("generate", "train"):
        if part in figures:
            steps = figures[part]
            for step, value in steps.items():
                if isinstance(value, dict) and "seconds" in value:
                    label = f"{step} ({steps['leads']:,} leads): s, peak MB so far"
                    out.append((label, f"{value['seconds']}, {value['peak_rss_mb']:,}"))
    if "train" in figures:
        auc = ", ".join(f"{k} {v}" for k, v in figures["train"]["test_auc"].items())
        out.append(("test AUC", auc))
    out.append(("yardstick: Python loop of 5M additions, s", str(figures["python_loop_seconds"])))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_training.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--generate-leads", type=int, default=1_000_000, help="leads to simulate (0 skips)")
    parser.add_argument("--train-leads", type=int, default=200_000, help="leads to train on (0 skips)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"machine": _common.machine()}
    if args.generate_leads:
        figures["generate"] = bench_generate(args.generate_leads)
    if args.train_leads:
        figures["train"] = bench_train(args.train_leads)
    figures["python_loop_seconds"] = _common.python_yardstick()
    _common.emit(
        figures, json_path=args.json, text=_common.table("careleads simulate, ingest, train", rows(figures))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
