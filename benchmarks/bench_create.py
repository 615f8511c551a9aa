"""Creating leads in process on a store with many open review tasks: ``python benchmarks/bench_create.py
[--leads N] [--creates N]``.

A fresh SQLite store with a small published model (``bench_api``'s). ``--leads`` simulated leads are
created first, one transaction each (about a quarter wait in review, many of them without an owner once the
queues are at capacity), then ``--creates`` more are timed: ``service.leads.create_lead`` in its own
transaction, as ``POST /v1/leads`` runs it without HTTP. The analytics rows wait in the store (no part is
written during the run).

Prints the open review tasks, the CPU and wall milliseconds per create (mean; p50 and p99 of wall time), and
the milliseconds of one owner lookup (``service._ledger.assignment_lookup`` for one staffed queue: its
owners' open loads and the owner assigned last), which every create runs inside its transaction. The script
runs unchanged on earlier revisions (``PYTHONPATH=OTHER/src``), so a change is stated as a ratio measured in
one session.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

import _common
import bench_api

LOOKUPS = 500


def run_benchmark(*, n_leads: int, n_creates: int) -> dict[str, Any]:
    """Seed the store, time the creates and the owner lookup; the figures as a dict."""
    from careleads.service._ledger import assignment_lookup
    from careleads.service.context import ServiceContext
    from careleads.service.leads import create_lead
    from careleads.settings import Settings
    from careleads.store import ReviewTask, make_engine, make_sessionmaker, session_scope

    with tempfile.TemporaryDirectory(prefix="careleads-bench-create-") as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'careleads.db'}"
        bench_api._prepare(data_dir, url, model=True)
        settings = Settings(
            data_dir=data_dir, database_url=url, analytics_background=False, analytics_flush_rows=10**9
        )
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        ctx = ServiceContext.from_settings(settings)
        ctx.bind(sessions)
        leads = bench_api.payloads(n_leads + n_creates, seed=11)

        def create(lead: dict[str, Any]) -> None:
            with session_scope(sessions) as session:
                create_lead(
                    session=session, ctx=ctx, lead_in=lead, actor="bench-integration", role="integration"
                )

        for lead in leads[:n_leads]:
            create(lead)
        with session_scope(sessions) as session:
            n_open = session.scalar(
                select(func.count()).select_from(ReviewTask).where(ReviewTask.status == "open")
            )
        wall, cpu = [], []
        for lead in leads[n_leads:]:
            start, start_cpu = time.perf_counter(), time.process_time()
            create(lead)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        staffed = sorted(name for name, queue in ctx.routing.queues.items() if queue.owners)
        with session_scope(sessions) as session:
            lookup = assignment_lookup(session, ctx.routing)
            queues = [frozenset({name}) for name in itertools.islice(itertools.cycle(staffed), LOOKUPS)]
            lookup_ms = _common.milliseconds_per_call(lookup, queues, warm=len(staffed))
        engine.dispose()
    wall_ms = np.asarray(wall) * 1000.0
    return {
        "machine": _common.machine(),
        "backend": "sqlite",
        "n_leads_before": n_leads,
        "open_review_tasks": int(n_open or 0),
        "creates": {
            "n": n_creates,
            "cpu_ms_mean": round(float(np.mean(cpu)) * 1000.0, 3),
            "wall_ms_mean": round(float(np.mean(wall_ms)), 3),
            **_common.percentiles(wall_ms),
        },
        "owner_lookup": {"staffed_queues": len(staffed), **_common.percentiles(lookup_ms)},
        "python_loop_seconds": _common.python_yardstick(),
    }


def rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures as table rows."""
    creates, lookup = figures["creates"], figures["owner_lookup"]
    return [
        (
            "open review tasks (leads created before)",
            f"{figures['open_review_tasks']} ({figures['n_leads_before']})",
        ),
        ("create: CPU / wall ms, mean", f"{creates['cpu_ms_mean']:.2f} / {creates['wall_ms_mean']:.2f}"),
        ("create: wall p50 / p99 ms", f"{creates['p50_ms']:.2f} / {creates['p99_ms']:.2f}"),
        ("owner lookup: p50 / p99 ms", f"{lookup['p50_ms']:.3f} / {lookup['p99_ms']:.3f}"),
        ("yardstick: Python loop of 5M additions, s", f"{figures['python_loop_seconds']:.3f}"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_create.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--leads", type=int, default=12000, help="leads created before the timed ones")
    parser.add_argument("--creates", type=int, default=300, help="leads created and timed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.leads < 0 or args.creates < 1:
        parser.error("--leads must be 0 or more and --creates at least 1")
    figures = run_benchmark(n_leads=args.leads, n_creates=args.creates)
    title = f"careleads create in process (sqlite, {figures['open_review_tasks']} open review tasks)"
    _common.emit(figures, json_path=args.json, text=_common.table(title, rows(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
