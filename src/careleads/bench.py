"""Benchmarks: a command that prints figures (never a timed test).

``python -m careleads.bench [--generate-leads 1000000] [--train-leads 200000]`` prints JSON with the
time and peak memory of simulating leads, ingesting them through the dictionary, building point-in-time
features and training the rule baseline and the model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(figures: dict[str, Any], name: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    value = fn()
    figures[name] = {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    return value


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.system(),
    }


def bench_generate(n_leads: int) -> dict[str, Any]:
    """Simulate `n_leads` and write them as CSV and Parquet."""
    from careleads.synth import generate

    figures: dict[str, Any] = {"leads": n_leads}
    data = _timed(figures, "simulate", lambda: generate(n_leads, seed=1))
    figures["events"] = len(data.events)
    with tempfile.TemporaryDirectory() as tmp:
        _timed(figures, "write_csv", lambda: data.write(Path(tmp) / "csv"))
        _timed(figures, "write_parquet", lambda: data.write(Path(tmp) / "pq", fmt="parquet"))
    figures["leads_per_second_simulate"] = round(n_leads / figures["simulate"]["seconds"])
    return figures


def bench_train(n_leads: int) -> dict[str, Any]:
    """Ingest, build features and train on `n_leads` simulated leads."""
    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models._training import train_model
    from careleads.synth import generate

    figures: dict[str, Any] = {"leads": n_leads}
    data = generate(n_leads, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        data.write(Path(tmp), fmt="parquet")
        tables = _timed(figures, "ingest", lambda: load_crm_folder(tmp))
    dataset = _timed(figures, "features", lambda: tables.dataset(Target(), data_end=data.end))
    result = _timed(figures, "train", lambda: train_model(dataset, truth=data.truth))
    figures["training_rows"] = int(result.split.train.sum())
    figures["test_auc"] = {k: round(v["auc"], 4) for k, v in result.metrics.items()}
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m careleads.bench", description=__doc__)
    parser.add_argument("--generate-leads", type=int, default=1_000_000, help="leads to simulate (0 skips)")
    parser.add_argument("--train-leads", type=int, default=200_000, help="leads to train on (0 skips)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"machine": machine()}
    if args.generate_leads:
        figures["generate"] = bench_generate(args.generate_leads)
    if args.train_leads:
        figures["train"] = bench_train(args.train_leads)
    text = json.dumps(figures, indent=2)
    print(text)  # noqa: T201 - a benchmark prints its figures
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
