"""Mixed-load benchmark: ``python benchmarks/bench_mixed.py --backend sqlite|postgres``.

Intake, reading and review at once, as a clinic's day looks: a CRM integration creates leads (``--creates``
a second) and posts engagement events (``--events``), reviewers read leads and queue pages (``--reads``:
half ``GET /v1/leads/{id}``, half the review queue in the API and the page's JSON twin) and label leads
(``--feedback``). The requests of every kind are spread evenly over ``--duration`` seconds and sent open
loop over at most ``--clients`` keep-alive connections (concurrent clients); a request due while every
client is busy is counted as ``skipped``. The server is one uvicorn process on a fresh store
(``bench_api.served``: SQLite file, or a fresh PostgreSQL database next to ``CARELEADS_DATABASE_URL``) with
a small published model.

Prints, per route and in all: requests, statuses, p50 / p99 / max latency, and whether the goal is met:
no 5xx, no request over 2 s, p99 of creates under 100 ms (at 100 creates and 20 reads a second).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import _common
import bench_api

GOAL = {"creates_per_s": 100.0, "reads_per_s": 20.0, "create_p99_ms": 100.0, "longest_ms": 2000.0}
ROLES = ("integration", "reviewer", "admin")
SEED_LEADS = 200


def schedule(
    *,
    host: str,
    port: int,
    tokens: dict[str, str],
    lead_ids: dict[int, str],
    rates: dict[str, float],
    duration: float,
    seed: int = 5,
) -> list[tuple[float, str, bytes]]:
    """Every request of the run as ``(due second, route, bytes)``, in order of due time.

    Each kind's requests are evenly spaced at its rate, with an offset so that kinds do not fall due
    together. Creates carry new simulated leads; events, reads and feedback go to `lead_ids` (id -> the
    lead's creation time) in turn (feedback to each lead at most once).
    """
    n_creates = int(rates["creates"] * duration)
    leads = bench_api.payloads(max(n_creates, 1), seed=seed)
    planned: list[tuple[float, str, bytes]] = []

    def spread(route: str, rate: float, make: Any) -> None:
        n = int(rate * duration)
        offset = len(planned) % 7 / 7.0 / rate if rate else 0.0
        planned.extend((offset + i / rate, route, make(i)) for i in range(n))

    integration, reviewer, admin = tokens["integration"], tokens["reviewer"], tokens["admin"]
    targets = list(lead_ids.items())

    def event_body(i: int) -> dict[str, Any]:
        # engagement in the lead's first day, as an integration reports it (minutes after arrival)
        lead_id, created_at = targets[i % len(targets)]
        at = datetime.fromisoformat(created_at) + timedelta(minutes=10 + i // len(targets))
        return {"event_id": f"mixed-{i}", "event_type": "email_open", "occurred_at": at.isoformat()}

    spread(
        "POST /v1/leads",
        rates["creates"],
        lambda i: bench_api.request_bytes("POST", host, port, "/v1/leads", integration, leads[i]),
    )
    spread(
        "POST /v1/leads/{id}/events",
        rates["events"],
        lambda i: bench_api.request_bytes(
            "POST", host, port, f"/v1/leads/{targets[i % len(targets)][0]}/events", integration, event_body(i)
        ),
    )
    spread(
        "GET /v1/leads/{id}",
        rates["reads"] / 2,
        lambda i: bench_api.request_bytes(
            "GET", host, port, f"/v1/leads/{targets[i % len(targets)][0]}", admin
        ),
    )
    spread(
        "GET queue (API, page JSON)",
        rates["reads"] / 2,
        lambda i: bench_api.request_bytes(
            "GET", host, port, "/v1/review-queue?limit=50" if i % 2 else "/ui/queue.json", reviewer
        ),
    )
    n_feedback = min(int(rates["feedback"] * duration), len(targets))
    spread(
        "POST /v1/leads/{id}/feedback",
        n_feedback / duration if duration else 0.0,
        lambda i: bench_api.request_bytes(
            "POST",
            host,
            port,
            f"/v1/leads/{targets[-1 - i][0]}/feedback",
            admin,
            {"label": "follow_later", "note": "benchmark"},
        ),
    )
    planned.sort(key=lambda item: item[0])
    return planned


async def _drive(url: str, planned: list[tuple[float, str, bytes]], clients: int) -> dict[str, Any]:
    """Send `planned` open loop over at most `clients` connections; latencies and statuses by route."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    idle: collections.deque[bench_api._Connection] = collections.deque()
    for _ in range(clients):
        idle.append(bench_api._Connection(*await asyncio.open_connection(host, port)))
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    statuses: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    skipped: collections.Counter[str] = collections.Counter()

    async def one(route: str, data: bytes, connection: bench_api._Connection) -> None:
        start = time.perf_counter()
        try:
            code = str(await connection.request(data))
            idle.append(connection)
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            code = type(exc).__name__
            connection.writer.close()
            idle.append(bench_api._Connection(*await asyncio.open_connection(host, port)))
        latencies[route].append((time.perf_counter() - start) * 1000.0)
        statuses[route][code] += 1

    tasks = []
    begin = time.perf_counter()
    for due, route, data in planned:
        delay = begin + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            skipped[route] += 1
            continue
        tasks.append(asyncio.create_task(one(route, data, idle.popleft())))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    for connection in idle:
        connection.writer.close()
    routes = {}
    for route in sorted({r for _, r, _ in planned}):
        ms = np.asarray(latencies.get(route, []), dtype=float)
        routes[route] = {
            "sent": len(ms),
            "skipped": skipped[route],
            "statuses": dict(sorted(statuses[route].items())),
            "per_s": round(len(ms) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
            "max_ms": round(float(ms.max()), 1) if len(ms) else None,
        }
    every = np.concatenate([np.asarray(v, dtype=float) for v in latencies.values()] or [np.zeros(0)])
    return {"elapsed_s": round(elapsed, 2), "routes": routes, "all_ms": every.tolist()}


def _driver_process(args: tuple[str, list[tuple[float, str, bytes]], int], queue: Any) -> None:
    queue.put(asyncio.run(_drive(*args)))


def _seed_leads(url: str, token: str, n: int) -> dict[int, str]:
    """Create `n` leads before the load (the targets of events, reads and feedback): id -> creation time."""
    import httpx

    ids = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for lead in bench_api.payloads(n, seed=11):
            answer = client.post("/v1/leads", json=lead)
            answer.raise_for_status()
            ids[int(answer.json()["id"])] = str(lead["created_at"])
    return ids


def verdict(routes: dict[str, Any], all_ms: list[float]) -> dict[str, Any]:
    """Whether the run met the goal, and the figures it was judged on."""
    five_xx = sum(
        count for r in routes.values() for code, count in r["statuses"].items() if code.startswith("5")
    )
    failed = sum(
        count for r in routes.values() for code, count in r["statuses"].items() if not code[0].isdigit()
    )
    over = sum(1 for ms in all_ms if ms > GOAL["longest_ms"])
    create = routes.get("POST /v1/leads", {})
    p99 = create.get("p99_ms")
    skipped = sum(r["skipped"] for r in routes.values())
    return {
        "5xx": five_xx,
        "connection_errors": failed,
        "over_2s": over,
        "skipped": skipped,
        "create_p99_ms": p99,
        "met": five_xx == 0
        and failed == 0
        and over == 0
        and skipped == 0
        and p99 is not None
        and p99 < GOAL["create_p99_ms"],
    }


def run_benchmark(
    *,
    backend: str,
    rates: dict[str, float],
    duration: float,
    clients: int,
    workers: int = 1,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Run one benchmark and return its figures (see the module docstring)."""
    with bench_api.served(
        backend=backend, model=True, workers=workers, database_url=database_url, roles=ROLES
    ) as (url, tokens, pid):
        lead_ids = _seed_leads(url, tokens["integration"], SEED_LEADS)
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        planned = schedule(
            host=parts.hostname or "127.0.0.1",
            port=int(parts.port or 80),
            tokens=tokens,
            lead_ids=lead_ids,
            rates=rates,
            duration=duration,
        )
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        driver = context.Process(target=_driver_process, args=((url, planned, clients), queue))
        cpu_before = _common.tree_cpu_seconds(pid)
        driver.start()
        result: dict[str, Any] = queue.get(timeout=duration + 180)
        cpu = _common.tree_cpu_seconds(pid) - cpu_before
        driver.join(timeout=10)
    served_requests = sum(r["sent"] for r in result["routes"].values())
    result["server_cpu_s"] = round(cpu, 2)
    result["server_cores_busy"] = round(cpu / result["elapsed_s"], 2) if result["elapsed_s"] else None
    result["server_cpu_ms_per_request"] = round(1000 * cpu / served_requests, 2) if served_requests else None
    all_ms = result.pop("all_ms")
    return {
        "backend": backend,
        "offered_per_s": rates,
        "duration_s": duration,
        "clients": clients,
        "uvicorn_workers": workers,
        **result,
        "goal": GOAL,
        "verdict": verdict(result["routes"], all_ms),
    }


def rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's rows: one per route, then the verdict."""
    out = []
    for route, r in figures["routes"].items():
        codes = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
        out.append(
            (
                route,
                f"{r['per_s']}/s  p50 {r['p50_ms']}  p99 {r['p99_ms']}  max {r['max_ms']} ms  [{codes}]"
                + (f"  skipped {r['skipped']}" if r["skipped"] else ""),
            )
        )
    v = figures["verdict"]
    out.append(
        ("5xx / connection errors / over 2 s", f"{v['5xx']} / {v['connection_errors']} / {v['over_2s']}")
    )
    out.append(
        (
            "server CPU: cores busy / ms per request",
            f"{figures['server_cores_busy']} / {figures['server_cpu_ms_per_request']}",
        )
    )
    out.append(("goal met", "yes" if v["met"] else "no"))
    out.append(("yardstick: Python loop of 5M additions, s", str(figures["python_loop_seconds"])))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_mixed.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite", help="store backend")
    parser.add_argument("--creates", type=float, default=GOAL["creates_per_s"], help="lead creates a second")
    parser.add_argument("--events", type=float, default=20.0, help="events a second")
    parser.add_argument(
        "--reads", type=float, default=GOAL["reads_per_s"], help="lead and queue reads a second"
    )
    parser.add_argument("--feedback", type=float, default=2.0, help="feedback labels a second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most 300)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (connections)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: environment)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    rates = {"creates": args.creates, "events": args.events, "reads": args.reads, "feedback": args.feedback}
    figures: dict[str, Any] = {"machine": _common.machine()}
    figures.update(
        run_benchmark(
            backend=args.backend,
            rates=rates,
            duration=min(args.duration, 300.0),
            clients=args.clients,
            workers=args.workers,
            database_url=args.database_url,
        )
    )
    figures["python_loop_seconds"] = _common.python_yardstick()
    title = (
        f"careleads mixed load ({figures['backend']}, {args.workers} worker(s), {args.clients} clients, "
        f"{figures['duration_s']:g} s)"
    )
    _common.emit(figures, json_path=args.json, text=_common.table(title, rows(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
