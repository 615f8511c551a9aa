"""Batch scoring benchmark: ``python -m careleads.engines.bench`` prints JSON and a table.

Figures (each scoring run in its own subprocess, so peak memory is that run's ``ru_maxrss``):

- batch throughput for N leads end to end (read Parquet, ingest, features, model, tiers, hard rules and
  routing, write): the headline figure; the same without decisions (scores and tiers only); and their
  ratio to the limit: reading the same file plus raw LightGBM prediction on the prepared matrix (and the
  same with lleaves-compiled trees); each in one process and with a pool of worker processes
  (``--workers``, default the CPU count), whose memory is the sampled total of every process;
- peak memory for N and 5N leads (the 5N file repeats the N file with new lead ids);
- single-lead in-process latency (p50, p99) of the API's single-record path and of
  :func:`careleads.scoring.score_one`;
- training time on N leads (ingest, features, `train_model`);
- Spark ``local[2]`` against the local engine on the same input.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SEED = 9
# LightGBM rows per second with this many trees: the yardstick of native speed the goals were set against
YARDSTICK_TREES = 200


def machine() -> dict[str, Any]:
    """Python, CPU count, model name and load when the benchmark started (other workers share the CPUs)."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "system": platform.system(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _child(argv: list[str]) -> dict[str, Any]:
    """Run one figure in a fresh interpreter; returns its JSON (and its peak memory)."""
    done = subprocess.run(
        [sys.executable, "-m", "careleads.engines.bench", "--child", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {argv[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _peak_mb() -> float:
    """Peak resident memory of this process image, MB.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` across ``exec``, so a child would
    report its parent's peak when that is higher.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _tree_rss_mb() -> float:
    """Resident memory of this process and every process descending from it (pool workers), MB.

    The tree is walked through ``/proc/PID/task/TID/children`` (about a tenth of the time of reading every
    process on the machine, which the sampling thread did ten times a second during the measured run);
    where the kernel does not list children, every process is read.
    """
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        return _tree_rss_mb_scan()
    total = 0
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text(encoding="utf-8").split()[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text(encoding="utf-8").split())
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tree_rss_mb_scan() -> float:
    """`_tree_rss_mb` by reading every process's parent."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text(encoding="utf-8").split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = pages * os.sysconf("SC_PAGE_SIZE")
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in mine) / 2**20


class _TreeMemory:
    """The highest total resident memory of this process tree, sampled every 0.1 s in a thread.

    A sum of resident sets counts pages shared by the processes (the modules the fork server loaded
    before forking the workers) once per process, so it overstates the memory used.
    """

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _tree_rss_mb())

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def child_score(
    input_path: str,
    model_path: str,
    out: str,
    *,
    decisions: bool,
    engine: str,
    compiled: bool,
    workers: int = 1,
) -> dict[str, Any]:
    from careleads.engines import keep_freed_memory, score_file
    from careleads.models import LeadModel

    keep_freed_memory()  # as `careleads score` does
    model = LeadModel.load(model_path)
    if compiled:  # compile (or load the cached library) before the clock starts, as a warm service would
        from careleads.engines._compiled import compile_trees

        compile_trees(model)
    start = time.perf_counter()
    if engine == "spark":
        from careleads.engines._spark import score_file_spark, spark_session

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
        with _TreeMemory() as tree:
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
        session_seconds = 0.0
    return {
        "engine": engine,
        "leads": summary.n_read,
        "seconds": round(seconds, 2),
        "leads_per_second": round(summary.n_read / seconds),
        "spark_session_seconds": round(session_seconds, 2),
        "predictor": summary.predictor,
        "decisions": decisions,
        "workers": workers,
        "peak_rss_mb": _peak_mb(),
        "peak_rss_all_processes_mb": round(max(tree.peak, _peak_mb()), 1) if engine == "local" else None,
    }


def child_limit(input_path: str, model_path: str) -> dict[str, Any]:
    """The limit: read the file, plus raw predictions on the already prepared matrix."""
    import pandas as pd
    import pyarrow.parquet as pq

    from careleads.dictionary import ingest_table, load_dictionary
    from careleads.dictionary._normalise import match_columns
    from careleads.engines._compiled import compile_trees, lleaves_available
    from careleads.engines._local import model_columns
    from careleads.engines._memory import keep_freed_memory
    from careleads.features import build_features
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
    when = pd.to_datetime(clean[model.spec.time_column]) + pd.Timedelta(hours=model.target.as_of_hours)
    empty = pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "event_type": pd.Series(dtype="string"),
        }
    )
    prepared = model.preprocessor.transform(build_features(clean, empty, when, model.spec))
    start = time.perf_counter()
    lgb_raw = model.scorer.predict_raw(prepared)
    lgb_seconds = time.perf_counter() - start
    out = {
        "rows": len(prepared),
        "trees": int(model.scorer.n_estimators_),
        "read_seconds": round(read_seconds, 2),
        "lightgbm_predict_seconds": round(lgb_seconds, 2),
        "lightgbm_rows_per_second": round(len(prepared) / lgb_seconds),
        "limit_seconds": round(read_seconds + lgb_seconds, 2),
    }
    # yardsticks of the machine, for comparing figures measured on different ones
    trees = min(YARDSTICK_TREES, int(model.scorer.n_estimators_))
    start = time.perf_counter()
    model.scorer.booster_.predict(prepared, num_iteration=trees)
    out["yardstick_trees"] = trees
    out["yardstick_lightgbm_rows_per_second"] = round(len(prepared) / (time.perf_counter() - start))
    out["yardstick_python_seconds"] = python_yardstick()
    if lleaves_available():
        compiled = compile_trees(model)
        start = time.perf_counter()
        ll_raw = compiled.scorer.predict_raw(prepared)
        ll_seconds = time.perf_counter() - start
        out["lleaves_predict_seconds"] = round(ll_seconds, 2)
        out["lleaves_rows_per_second"] = round(len(prepared) / ll_seconds)
        out["lleaves_max_abs_difference"] = float(np.max(np.abs(ll_raw - lgb_raw)))
    return out


def python_yardstick(n: int = 5_000_000) -> float:
    """Seconds this machine takes for `n` additions in a pure-Python loop: its speed on interpreted code.

    Batch scoring spends much of its time in Python around native kernels, so two machines whose LightGBM
    runs equally fast can still differ here (and in leads per second).
    """
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return round(time.perf_counter() - start, 3)


def latency(model_path: str, input_path: str, n: int = 2_000) -> dict[str, Any]:
    """p50 / p99 in process (after a warm-up) of the single-record path the API uses
    (:func:`careleads.scoring_fast.score_record`, three reason codes), of `score_one` (the batch pipeline on
    one lead) and of `score_leads` on one lead without reason codes."""
    import pandas as pd
    import pyarrow.parquet as pq

    from careleads.dictionary import ingest_table, load_dictionary
    from careleads.models import LeadModel
    from careleads.scoring import score_leads, score_one
    from careleads.scoring_fast import score_record

    model = LeadModel.load(model_path)
    raw = next(pq.ParquetFile(input_path).iter_batches(batch_size=n)).to_pandas()
    clean = ingest_table(raw, load_dictionary(), "leads").clean
    leads = [{str(k): v for k, v in row.items()} for row in clean.to_dict("records")]

    def timed(call: Any, items: list[dict[str, Any]], warm: int = 50) -> npt.NDArray[np.float64]:
        """Milliseconds per call, after `warm` calls that are not counted."""
        for item in items[:warm]:
            call(item)
        out = []
        for item in items:
            begin = time.perf_counter()
            call(item)
            out.append(time.perf_counter() - begin)
        return np.asarray(out, dtype=np.float64) * 1000

    ms = timed(lambda lead: score_one(model, lead), leads)
    fast_ms = timed(lambda lead: score_record(model, lead), leads)
    no_reasons = timed(
        lambda lead: score_leads(model, pd.DataFrame([lead]), n_reasons=0), leads[:500], warm=0
    )
    return {
        "calls": len(ms),
        "record_p50_ms": round(float(np.percentile(fast_ms, 50)), 3),
        "record_p99_ms": round(float(np.percentile(fast_ms, 99)), 3),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "no_reasons_p50_ms": round(float(np.percentile(no_reasons, 50)), 3),
        "no_reasons_p99_ms": round(float(np.percentile(no_reasons, 99)), 3),
    }


def child_train(folder: str) -> dict[str, Any]:
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
    figures["peak_rss_mb"] = _peak_mb()
    result.model.save(Path(folder) / "model")
    return figures


def child_features(folder: str, as_of_hours: int = 24) -> dict[str, Any]:
    """The point-in-time data set of an export built in pandas and on Spark ``local[2]`` (equal, checked)."""
    import pandas as pd

    from careleads.datasets import load_crm_folder
    from careleads.engines import build_dataset_spark
    from careleads.engines._spark import spark_session
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
        "local_peak_rss_mb": _peak_mb(),
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


def _repeat_file(source: Path, target: Path, times: int) -> None:
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    from careleads.synth import generate

    work = Path(args.work or tempfile.mkdtemp(prefix="careleads-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"machine": machine(), "leads": args.leads}
    data_dir = work / "data"
    if not (data_dir / "leads.parquet").exists():
        generate(args.leads, seed=SEED).write(data_dir, fmt="parquet")
    leads = data_dir / "leads.parquet"
    model = Path(args.model) if args.model else data_dir / "model"
    if args.train or not model.exists():
        figures["training"] = _child(["train", str(data_dir)])
        model = data_dir / "model"
        if args.spark:  # the same training data built on Spark
            figures["features_spark"] = _child(["features", str(data_dir)])
    figures["limit"] = _child(["limit", str(leads), str(model)])
    # the headline: end to end with hard rules and routing, on the whole input, in one process and with
    # a pool of worker processes; then scores and tiers only
    runs = [("batch_with_decisions", True, 1), ("batch", False, 1)]
    if args.workers > 1:
        runs[1:1] = [("batch_with_decisions_workers", True, args.workers)]
        runs.append(("batch_workers", False, args.workers))
    for name, decisions, workers in runs:
        figures[name] = _child(
            [
                "score",
                str(leads),
                str(model),
                str(work / f"{name}.parquet"),
                str(decisions),
                "local",
                "True",
                str(workers),
            ]
        )
    figures["batch_lightgbm"] = _child(
        ["score", str(leads), str(model), str(work / "lgb.parquet"), "False", "local", "False"]
    )
    limit = figures["limit"]["limit_seconds"]
    for name, _decisions, _workers in runs:
        figures[name]["ratio_to_limit"] = round(figures[name]["seconds"] / limit, 2)
    if args.big_factor > 1:
        big = work / "big.parquet"
        if not big.exists():
            _repeat_file(leads, big, args.big_factor)
        figures["batch_big"] = _child(["score", str(big), str(model), str(work / "big_out.parquet"), "False"])
    figures["latency"] = latency(str(model), str(leads))
    if args.spark:
        figures["spark_local_2"] = _child(
            ["score", str(leads), str(model), str(work / "spark_out"), "False", "spark"]
        )
    return figures


def table(figures: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"careleads batch scoring ({figures['leads']:,} leads)")
    out.add_column("figure")
    out.add_column("value", justify="right")
    rows: list[tuple[str, str]] = []
    keys = ("batch_with_decisions", "batch_with_decisions_workers", "batch", "batch_workers")
    for key in (*keys, "batch_lightgbm", "batch_big", "spark_local_2"):
        if key in figures:
            f = figures[key]
            label = f"{key} ({f['predictor']}, {f.get('workers', 1)} process(es) scoring)"
            rows.append((f"{label}: leads/s", f"{f['leads_per_second']:,}"))
            memory = f"{f['peak_rss_mb']:,}"
            if f.get("workers", 1) > 1:
                memory += f" (all processes: {f['peak_rss_all_processes_mb']:,})"
            rows.append((f"{key}: peak memory MB ({f['leads']:,} leads)", memory))
    limit = figures.get("limit", {})
    if limit:
        rows.append(("limit: read + LightGBM predict, s", str(limit["limit_seconds"])))
        rows.append(("LightGBM predict rows/s", f"{limit['lightgbm_rows_per_second']:,}"))
        if "lleaves_rows_per_second" in limit:
            rows.append(("lleaves predict rows/s", f"{limit['lleaves_rows_per_second']:,}"))
        if "yardstick_trees" in limit:
            rows.append(
                (
                    f"yardstick: LightGBM, first {limit['yardstick_trees']} trees, rows/s",
                    f"{limit['yardstick_lightgbm_rows_per_second']:,}",
                )
            )
            rows.append(("yardstick: Python loop of 5M additions, s", str(limit["yardstick_python_seconds"])))
    for key in keys:
        if "ratio_to_limit" in figures.get(key, {}):
            rows.append((f"end to end / limit ({key})", str(figures[key]["ratio_to_limit"])))
    if "latency" in figures:
        lat = figures["latency"]
        rows.append(
            (
                "one lead, API path (3 reasons) p50 / p99 ms",
                f"{lat['record_p50_ms']} / {lat['record_p99_ms']}",
            )
        )
        rows.append(
            ("one lead, score_one (batch pipeline) p50 / p99 ms", f"{lat['p50_ms']} / {lat['p99_ms']}")
        )
    if "training" in figures:
        t = figures["training"]
        rows.append(
            (
                "training on leads: ingest / features / train s",
                f"{t['ingest_seconds']} / {t['features_seconds']} / {t['train_seconds']}",
            )
        )
    if "features_spark" in figures:
        f = figures["features_spark"]
        rows.append(
            (
                f"training data, {f['leads']:,} leads and {f['events']:,} events: pandas / Spark local[2] s",
                f"{f['local_seconds']} / {f['spark_seconds']} ({'equal' if f['equal'] else 'DIFFERENT'})",
            )
        )
    for name, value in rows:
        out.add_row(name, value)
    console = Console(file=io.StringIO(), record=True, width=100)
    console.print(out)
    return console.export_text()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        kind, rest = argv[1], argv[2:]
        if kind == "score":
            decisions = rest[3] == "True"
            engine = rest[4] if len(rest) > 4 else "local"
            compiled = rest[5] != "False" if len(rest) > 5 else True
            workers = int(rest[6]) if len(rest) > 6 else 1
            result = child_score(
                rest[0],
                rest[1],
                rest[2],
                decisions=decisions,
                engine=engine,
                compiled=compiled,
                workers=workers,
            )
        elif kind == "limit":
            result = child_limit(rest[0], rest[1])
        elif kind == "features":
            result = child_features(rest[0])
        else:
            result = child_train(rest[0])
        print(json.dumps(result))  # noqa: T201 - read by the parent
        return
    parser = argparse.ArgumentParser(prog="python -m careleads.engines.bench", description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the main input")
    parser.add_argument(
        "--big-factor", type=int, default=5, help="the memory run scores this many times more"
    )
    parser.add_argument("--model", default=None, help="a model folder (default: train one on the input)")
    parser.add_argument("--train", action="store_true", help="time training even when --model is given")
    parser.add_argument("--no-spark", dest="spark", action="store_false", help="skip the Spark run")
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
    text = json.dumps(figures, indent=2)
    print(text)  # noqa: T201 - a benchmark prints its figures
    print(table(figures))  # noqa: T201
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
