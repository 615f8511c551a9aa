"""Benchmark `evaluate_file` on a generated 1,000,000-row, 30-column lead CSV.

Usage: python benchmarks/bench_evaluate.py [--rows N] [--report PATH]

The CSV is generated with numpy in a temporary folder by a child process, so that the peak resident memory
reported (resource.getrusage, this process only) is the evaluation's. With ``--report`` the HTML report is
drawn too (``careleads.report.write_evaluation_report``, as ``careleads evaluate --report`` does) and its
time is ``report_s``, apart from ``evaluate_s``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import _common

N_NUMERIC = 12
N_CATEGORICAL = 10
N_BOOLEAN = 3


def generate(path: Path, n_rows: int, seed: int = 0) -> None:
    """30 columns: id, created_at, last_visit, 12 numeric, 10 categorical, 3 boolean, free text, label."""
    rng = np.random.default_rng(seed)
    created = np.datetime64("2023-01-01") + rng.integers(0, 730 * 24 * 60, n_rows).astype("timedelta64[m]")
    created.sort()
    columns: dict[str, object] = {
        "lead_id": np.char.add("L", np.arange(n_rows).astype(str)),
        "created_at": np.datetime_as_string(created, unit="m"),
        "last_visit": np.datetime_as_string(
            created - rng.integers(0, 90 * 24 * 60, n_rows).astype("timedelta64[m]"), unit="m"
        ),
    }
    logit = np.full(n_rows, -2.0)
    for i in range(N_NUMERIC):
        values = rng.gamma(2.0, 5.0, n_rows)
        logit += (0.04 if i < 4 else 0.0) * (values - 10.0)
        values[rng.random(n_rows) < 0.05] = np.nan
        columns[f"num_{i:02d}"] = np.round(values, 2)
    for i in range(N_CATEGORICAL):
        n_levels = (5, 20, 200, 1000)[i % 4]
        codes = rng.zipf(1.6, n_rows) % n_levels
        logit += (0.3 if i < 3 else 0.0) * np.sin(codes)
        columns[f"cat_{i:02d}"] = np.char.add(f"c{i}_", codes.astype(str))
    for i in range(N_BOOLEAN):
        flag = rng.random(n_rows) < 0.3
        logit += 0.4 * flag if i == 0 else 0.0
        columns[f"flag_{i}"] = np.where(flag, "yes", "no")
    columns["notes"] = np.where(rng.random(n_rows) < 0.2, "asked about opening hours", "")
    columns["converted"] = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    pd.DataFrame(columns).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--report", type=Path, default=None, help="also write the HTML report here")
    parser.add_argument("--generate-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only is not None:
        generate(args.generate_only, args.rows)
        return

    from careleads.models import evaluate_file
    from careleads.report import write_evaluation_report

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench_leads.csv"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--generate-only", str(path)], check=True
        )
        generate_s = time.perf_counter() - start
        steps: list[tuple[str, float]] = []
        start = time.perf_counter()
        result = evaluate_file(
            path,
            label="converted",
            time_column="created_at",
            progress=lambda message: steps.append((message, time.perf_counter() - start)),
        )
        evaluate_s = time.perf_counter() - start
        report_s = None
        if args.report is not None:
            start = time.perf_counter()
            write_evaluation_report(result, args.report)
            report_s = round(time.perf_counter() - start, 1)
        size_mb = path.stat().st_size / 1e6
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    durations = {
        message: round((steps[i + 1][1] if i + 1 < len(steps) else evaluate_s) - at, 2)
        for i, (message, at) in enumerate(steps)
    }
    print(
        json.dumps(
            {
                "rows": args.rows,
                "columns": 30,
                "csv_mb": round(size_mb, 1),
                "generate_s": round(generate_s, 1),
                "evaluate_s": round(evaluate_s, 1),
                "report_s": report_s,
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "steps_s": durations,
                "model": result.model_kind,
                "test_auc": round(result.test.auc, 4),
                "logistic_auc": round(result.baselines["logistic"].auc, 4),
                "leakage_suspects": [s.column for s in result.leakage.suspects],
                "machine": _common.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
