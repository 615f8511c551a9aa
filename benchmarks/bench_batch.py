"""Batch scoring benchmark: ``python benchmarks/bench_batch.py [--leads 1000000]`` prints JSON and a table.

Figures (each scoring run in its own subprocess, so peak memory is that run's):

- end to end throughput for N simulated leads (read Parquet, ingest, features, model, tiers, hard rules
  and routing, write): the headline figure; the same without decisions (scores and tiers only); each in
  one process and with a pool of worker processes (``--workers``, default the CPU count), whose memory is
  the sampled total of every process; and the same with LightGBM's own predictor instead of compiled trees;
- the limit, measured in the same run: reading the same file plus raw LightGBM prediction on the prepared
  matrix (and the same with lleaves-compiled trees), and each end-to-end time as a ratio to it;
- the yardsticks of the machine, measured in the same run: raw LightGBM with the model's first 200 trees on
  that matrix, and a Python loop;
- peak memory for N and ``--big-factor`` times N leads (the bigger file repeats the N file with new ids);
- single-lead latency in process (``bench_scoring.measure_file`` on the same model and leads);
- training time on N leads when a model is trained (ingest, features, ``train_model``), and the training
  data built in pandas and on Spark ``local[2]``, checked equal;
- Spark ``local[2]`` against the local engine on the same input (``--no-spark`` skips it).

One figure alone: ``python benchmarks/bench_batch.py --child score --input LEADS --model MODEL --out OUT
--decisions --workers 2`` (the headline), ``--child limit --input LEADS --model MODEL``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import _common
import bench_scoring

SEED = 9
# the goal: end to end with hard rules and routing within this many times the limit (read + raw predict)
GOAL_RATIO_TO_LIMIT = 2.0
# the goal in leads per second with hard rules and routing (a budget, see docs/PERFORMANCE.md)
GOAL_LEADS_PER_SECOND = 200_000


def child_score(
    input_path: str,
    model_path: str,
    out: str,
    *,
    decisions: bool,
    engine: str = "local",
    compiled: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Score one file as ``careleads score`` does; the time, the leads read and written, and peak memory."""
    from careleads.engines import keep_freed_memory, score_file
    from careleads.models import LeadModel

    keep_freed_memory()  # as `careleads score` does
    model = LeadModel.load(model_path)
    if compiled:  # compile (or load the cached library) before the clock starts, as a warm service would
        from careleads.engines import compile_trees

        compile_trees(model)
    start = time.perf_counter()
    session_seconds = 0.0
    tree = _common.TreeMemory()
    if engine == "spark":
        from careleads.engines import score_file_spark, spark_session

        session = spark_session("local[2]")
        started = time.perf_counter()
        summary = score_file_spark(
            input_path,
            model=model,
            out_path=out,
            spark=session,
            decisions=decisions,
            compiled=compiled,
            overwrite=True,
        )
        seconds = time.perf_counter() - started
        session.stop()
        session_seconds = started - start
    else:
        with tree:
            summary = score_file(
                input_path,
                model=model,
                out_path=out,
                decisions=decisions,
                compiled=compiled,
                overwrite=True,
                workers=workers,
            )
        seconds = time.perf_counter() - start
    return {
        "engine": engine,
        "leads": summary.n_read,
        "scored": summary.n_scored,
        "quarantined": summary.n_quarantined,
        "seconds": round(seconds, 2),
        "leads_per_second": round(summary.n_read / max(seconds, 1e-9)),
        "spark_session_seconds": round(session_seconds, 2),
        "predictor": summary.predictor,
        "decisions": decisions,
        "workers": workers,
        "peak_rss_mb": _common.peak_mb(),
        "peak_rss_all_processes_mb": round(max(tree.peak, _common.peak_mb()), 1)
        if engine == "local"
        else None,
    }


def child_limit(input_path: str, model_path: str) -> dict[str, Any]:
    """The limit (read the file, plus raw predictions on the prepared matrix) and the machine's yardsticks."""
    import pyarrow.parquet as pq

    from careleads.dictionary import ingest_table, load_dictionary, match_columns
    from careleads.engines import compile_trees, keep_freed_memory, lleaves_available, model_columns
    from careleads.models import LeadModel

    keep_freed_memory()  # the same process settings as the runs it is compared with
    model = LeadModel.load(model_path)
    dictionary = load_dictionary()
    names = pq.ParquetFile(input_path).schema_arrow.names
    table = dictionary.table("leads")
    columns = model_columns(names, match_columns(names, table, input_path), model, table)
    start = time.perf_counter()
    raw = pq.read_table(input_path, columns=columns).to_pandas()
    read_seconds = time.perf_counter() - start
    clean = ingest_table(raw, dictionary, "leads").clean
    del raw
    prepared = _common.prepared_matrix(model, clean)
    start = time.perf_counter()
    lgb_raw = model.scorer.predict_raw(prepared)
    lgb_seconds = time.perf_counter() - start
    out: dict[str, Any] = {
        "rows": len(prepared),
        "trees": int(model.scorer.n_estimators_),
        "read_seconds": round(read_seconds, 2),
        "lightgbm_predict_seconds": round(lgb_seconds, 2),
        "lightgbm_rows_per_second": round(len(prepared) / max(lgb_seconds, 1e-9)),
        "limit_seconds": round(read_seconds + lgb_seconds, 2),
    }
    yardstick = _common.lightgbm_yardstick(model, prepared)
    out["yardstick_trees"] = yardstick["trees"]
    out["yardstick_lightgbm_rows_per_second"] = yardstick["rows_per_second"]
    out["yardstick_python_seconds"] = _common.python_yardstick()
    if lleaves_available():
        compiled = compile_trees(model)
        start = time.perf_counter()
        ll_raw = compiled.scorer.predict_raw(prepared)
        ll_seconds = time.perf_counter() - start
        out["lleaves_predict_seconds"] = round(ll_seconds, 2)
        out["lleaves_rows_per_second"] = round(len(prepared) / max(ll_seconds, 1e-9))
        out["lleaves_max_abs_difference"] = float(np.max(np.abs(ll_raw - lgb_raw)))
    return out


def child_train(folder: str) -> dict[str, Any]:
    """Ingest, build the data set and train on an export folder; the model is saved to ``FOLDER/model``."""
    from careleads.datasets import load_crm_folder
    from careleads.features import Target
    from careleads.models import train_model

    figures: dict[str, Any] = {}
    start = time.perf_counter()
    tables = load_crm_folder(folder)
    figures["ingest_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    dataset = tables.dataset(Target(as_of_hours=0))
    figures["features_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    result = train_model(dataset, seed=0)
    figures["train_seconds"] = round(time.perf_counter() - start, 1)
    figures["leads"] = len(dataset)
    figures["training_rows"] = int(result.split.train.sum())
    figures["trees"] = int(result.model.scorer.n_estimators_)
    figures["test_auc"] = round(float(result.metrics["model"]["auc"]), 4)
    figures["peak_rss_mb"] = _common.peak_mb()
    result.model.save(Path(folder) / "model")
    return figures


def child_features(folder: str, as_of_hours: int = 24) -> dict[str, Any]:
    """The point-in-time data set of an export built in pandas and on Spark ``local[2]`` (equal, checked)."""
    import pandas as pd

    from careleads.datasets import load_crm_folder
    from careleads.engines import build_dataset_spark, spark_session
    from careleads.features import Target

    tables = load_crm_folder(folder)
    target = Target(as_of_hours=as_of_hours)
    start = time.perf_counter()
    local = tables.dataset(target)
    figures: dict[str, Any] = {
        "leads": len(local),
        "events": len(tables.events),
        "as_of_hours": as_of_hours,
        "local_seconds": round(time.perf_counter() - start, 1),
        "local_peak_rss_mb": _common.peak_mb(),
    }
    clean = Path(tempfile.mkdtemp(prefix="careleads-clean-"))
    paths = {}
    for name in ("leads", "events", "outcomes"):
        paths[name] = clean / f"{name}.parquet"
        getattr(tables, name).to_parquet(paths[name])
    table = tables.dictionary.table("leads")
    del tables
    session = spark_session("local[2]")
    start = time.perf_counter()
    spark = build_dataset_spark(
        paths["leads"], paths["events"], paths["outcomes"], target=target, table=table, spark=session
    )
    figures["spark_seconds"] = round(time.perf_counter() - start, 1)
    session.stop()
    shutil.rmtree(clean)
    figures["equal"] = bool(
        spark.X.reset_index(drop=True).equals(local.X.reset_index(drop=True))
        and spark.y.reset_index(drop=True).equals(local.y.reset_index(drop=True))
        and spark.lead_id.reset_index(drop=True)
        .astype(str)
        .equals(local.lead_id.reset_index(drop=True).astype(str))
        and pd.Series(spark.censored.to_numpy()).equals(pd.Series(local.censored.to_numpy()))
    )
    return figures


def repeat_file(source: Path, target: Path, times: int) -> None:
    """Write `source` `times` over with distinct lead ids (a bigger file without simulating more leads)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    partial = target.with_name(target.name + ".tmp")
    with pq.ParquetWriter(partial, table.schema) as writer:
        for k in range(times):
            column = table.column("lead_id")
            ids = pc.binary_join_element_wise(
                column, pa.scalar(f"-{k}", column.type), pa.scalar("", column.type)
            )
            copy = table.set_column(table.schema.get_field_index("lead_id"), "lead_id", ids)
            writer.write_table(copy, row_group_size=250_000)
    partial.replace(target)  # a killed run leaves no half-written file to reuse


def _score(
    leads: Path, model: Path, out: Path, *, decisions: bool, workers: int = 1, **more: str
) -> dict[str, Any]:
    argv = [
        "score",
        "--input",
        str(leads),
        "--model",
        str(model),
        "--out",
        str(out),
        "--workers",
        str(workers),
    ]
    if decisions:
        argv.append("--decisions")
    for name, value in more.items():
        argv += [f"--{name.replace('_', '-')}", value]
    return _common.run_child(__file__, argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the benchmark (see the module docstring)."""
    from careleads.synth import generate

    work = Path(args.work or tempfile.mkdtemp(prefix="careleads-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"machine": _common.machine(), "leads": args.leads}
    data_dir = work / "data"
    if not (data_dir / "leads.parquet").exists():
        generate(args.leads, seed=SEED).write(data_dir, fmt="parquet")
    leads = data_dir / "leads.parquet"
    model = Path(args.model) if args.model else data_dir / "model"
    if args.train or not model.exists():
        figures["training"] = _common.run_child(__file__, ["train", "--input", str(data_dir)])
        model = data_dir / "model"
        if args.spark:  # the same training data built on Spark
            figures["features_spark"] = _common.run_child(__file__, ["features", "--input", str(data_dir)])
    figures["limit"] = _common.run_child(__file__, ["limit", "--input", str(leads), "--model", str(model)])
    # the headline: end to end with hard rules and routing, on the whole input, in one process and with
    # a pool of worker processes; then scores and tiers only
    runs = [("batch_with_decisions", True, 1), ("batch", False, 1)]
    if args.workers > 1:
        runs[1:1] = [("batch_with_decisions_workers", True, args.workers)]
        runs.append(("batch_workers", False, args.workers))
    for name, decisions, workers in runs:
        figures[name] = _score(leads, model, work / f"{name}.parquet", decisions=decisions, workers=workers)
    figures["batch_lightgbm"] = _score(
        leads, model, work / "lgb.parquet", decisions=False, predictor="lightgbm"
    )
    if args.big_factor > 1:
        big = work / "big.parquet"
        if not big.exists():
            repeat_file(leads, big, args.big_factor)
        figures["batch_big"] = _score(big, model, work / "big_out.parquet", decisions=False)
    figures["latency"] = bench_scoring.measure_file(model, leads, args.latency_leads)
    if args.spark:
        figures["spark_local_2"] = _score(leads, model, work / "spark_out", decisions=False, engine="spark")
    figures["ratios"] = ratios(figures)
    return figures


# the local runs on the main input, whose time is compared with the limit's on the same file
SAME_INPUT = (
    "batch_with_decisions",
    "batch_with_decisions_workers",
    "batch",
    "batch_workers",
    "batch_lightgbm",
)


def ratios(figures: Mapping[str, Any]) -> dict[str, float]:
    """Each run's time over the limit's, and its leads/s over the LightGBM yardstick's rows/s.

    Both the limit and the yardstick are measured in the same run on the same file, so these ratios are
    steadier than the raw figures when the machine's speed swings.
    """
    limit = figures["limit"]
    out: dict[str, float] = {}
    for key in SAME_INPUT:
        if key in figures:
            out[f"{key}_over_limit"] = _common.ratio(figures[key]["seconds"], limit["limit_seconds"])
            out[f"{key}_over_lightgbm_yardstick"] = _common.ratio(
                figures[key]["leads_per_second"], limit["yardstick_lightgbm_rows_per_second"]
            )
    return out


def rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table's rows."""
    out: list[tuple[str, str]] = []
    keys = ("batch_with_decisions", "batch_with_decisions_workers", "batch", "batch_workers")
    for key in (*keys, "batch_lightgbm", "batch_big", "spark_local_2"):
        if key in figures:
            f = figures[key]
            label = f"{key} ({f['predictor']}, {f.get('workers', 1)} process(es) scoring)"
            out.append((f"{label}: leads/s", f"{f['leads_per_second']:,}"))
            memory = f"{f['peak_rss_mb']:,}"
            if f.get("workers", 1) > 1:
                memory += f" (all processes: {f['peak_rss_all_processes_mb']:,})"
            out.append((f"{key}: peak memory MB ({f['leads']:,} leads)", memory))
    limit = figures.get("limit", {})
    if limit:
        out.append(("limit: read + LightGBM predict, s", str(limit["limit_seconds"])))
        out.append(("LightGBM predict rows/s", f"{limit['lightgbm_rows_per_second']:,}"))
        if "lleaves_rows_per_second" in limit:
            out.append(("lleaves predict rows/s", f"{limit['lleaves_rows_per_second']:,}"))
        out.append(
            (
                f"yardstick: LightGBM, first {limit['yardstick_trees']} trees, rows/s",
                f"{limit['yardstick_lightgbm_rows_per_second']:,}",
            )
        )
        out.append(("yardstick: Python loop of 5M additions, s", str(limit["yardstick_python_seconds"])))
    for key in keys:
        name = f"{key}_over_limit"
        if name in figures.get("ratios", {}):
            out.append((f"end to end / limit ({key})", str(figures["ratios"][name])))
    if "latency" in figures:
        out += bench_scoring.rows(figures["latency"])
    if "training" in figures:
        t = figures["training"]
        out.append(
            (
                "training on leads: ingest / features / train s",
                f"{t['ingest_seconds']} / {t['features_seconds']} / {t['train_seconds']}",
            )
        )
    if "features_spark" in figures:
        f = figures["features_spark"]
        out.append(
            (
                f"training data, {f['leads']:,} leads and {f['events']:,} events: pandas / Spark local[2] s",
                f"{f['local_seconds']} / {f['spark_seconds']} ({'equal' if f['equal'] else 'DIFFERENT'})",
            )
        )
    return out


def table(figures: Mapping[str, Any]) -> str:
    """The figures as a plain-text table."""
    return _common.table(f"careleads batch scoring ({figures['leads']:,} leads)", rows(figures))


def child(argv: Sequence[str]) -> dict[str, Any]:
    """One figure in this fresh interpreter (``--child KIND ...``)."""
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_batch.py --child")
    parser.add_argument("kind", choices=("score", "limit", "train", "features"))
    parser.add_argument("--input", required=True, help="lead file (score, limit) or export folder")
    parser.add_argument("--model", default="", help="model folder (score, limit)")
    parser.add_argument("--out", default="", help="output (score)")
    parser.add_argument("--decisions", action="store_true", help="hard rules and routing (score)")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument("--predictor", choices=("compiled", "lightgbm"), default="compiled")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.kind == "score":
        return child_score(
            args.input,
            args.model,
            args.out,
            decisions=args.decisions,
            engine=args.engine,
            compiled=args.predictor == "compiled",
            workers=args.workers,
        )
    if args.kind == "limit":
        return child_limit(args.input, args.model)
    if args.kind == "features":
        return child_features(args.input)
    return child_train(args.input)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        _common.emit_line(child(argv[1:]))
        return 0
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_batch.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the main input")
    parser.add_argument(
        "--big-factor", type=int, default=5, help="the memory run scores this many times more"
    )
    parser.add_argument("--model", default=None, help="a model folder (default: train one on the input)")
    parser.add_argument(
        "--latency-leads", type=int, default=2_000, help="leads scored one at a time for the latency"
    )
    parser.add_argument("--train", action="store_true", help="time training even when --model is given")
    parser.add_argument("--no-spark", dest="spark", action="store_false", help="skip the Spark runs")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the pooled runs (default: the CPU count; 1 skips them)",
    )
    parser.add_argument("--work", default=None, help="folder for data and outputs (kept; reused if present)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args)
    _common.emit(figures, json_path=args.json, text=table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
