"""Load benchmark of ``POST /v1/leads``: ``python benchmarks/bench_api.py --backend sqlite|postgres``.

Starts ``careleads serve`` (``--workers N`` uvicorn processes) in a subprocess on 127.0.0.1 (a fresh
SQLite file, or a fresh PostgreSQL database created next to ``CARELEADS_DATABASE_URL`` and dropped
afterwards), trains and publishes a small model (unless ``--no-model``), then drives new leads at a steady
rate (``--rate``, default 200 a second, for ``--duration`` seconds) from a separate process: a lean asyncio
HTTP/1.1 client with the requests serialised beforehand, open loop, at most ``--max-in-flight`` requests
outstanding. Prints throughput and latency percentiles as JSON and a table, with the machine's Python-loop
yardstick measured in the same run.
Requests the client could not start because too many were outstanding are counted as ``skipped``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import _common

# the goal: at this offered rate, the 99th percentile of latency under GOAL_P99_MS
GOAL_RATE_PER_S = 200.0
GOAL_P99_MS = 25.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payloads(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` simulated inbound leads (fields known at creation only), each with a unique external id."""
    from careleads.dictionary import KnownAt, load_dictionary
    from careleads.synth import generate

    table = load_dictionary().table("leads")
    allowed = [f.name for f in table.fields if f.known is KnownAt.CREATION]
    frame = generate(max(n, 100), seed=seed, bad_row_rate=0.0).leads.head(n)  # 100: the simulator's least
    run = uuid.uuid4().hex[:6]
    out = []
    for i, row in enumerate(frame.to_dict("records")):
        lead = {k: v for k, v in row.items() if k in allowed and isinstance(v, str) and v != ""}
        lead["lead_id"] = f"BENCH-{run}-{i}"
        out.append(lead)
    return out


_CONNECTIONS = 16


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads their responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, data: bytes) -> int:
        self.writer.write(data)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return status


def request_bytes(method: str, host: str, port: int, path: str, token: str, body: Any = None) -> bytes:
    """One HTTP/1.1 request, serialised beforehand (a JSON body when `body` is given)."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode("ascii") + data


async def _drive(
    url: str, token: str, leads: list[dict[str, Any]], rate: float, duration: float, max_in_flight: int
) -> dict[str, Any]:
    """Open-loop load: request i is sent at ``i / rate`` s, on an idle keep-alive connection or a new one.

    The client is a plain asyncio HTTP/1.1 client with the requests serialised beforehand, so that on a
    small machine the load generator takes as little CPU as possible from the server it measures. Like wrk,
    it opens its connections first (``_CONNECTIONS``) and uses them in turn (the one idle longest first), so
    that with several server processes each gets its share of the requests (reusing the most recent
    connection sent nearly everything to one process).
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    n_total = int(rate * duration)
    requests = [
        request_bytes("POST", host, port, "/v1/leads", token, leads[i % len(leads)]) for i in range(n_total)
    ]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    skipped = 0
    in_flight = 0
    idle: collections.deque[_Connection] = collections.deque()
    for _ in range(min(_CONNECTIONS, max_in_flight)):
        idle.append(_Connection(*await asyncio.open_connection(host, port)))

    async def one(data: bytes) -> None:
        nonlocal in_flight
        in_flight += 1
        start = time.perf_counter()
        connection: _Connection | None = None
        try:
            while idle and connection is None:
                connection = idle.popleft()
                if connection.reader.at_eof():  # closed by the server while idle (keep-alive timeout)
                    connection.writer.close()
                    connection = None
            if connection is None:
                connection = _Connection(*await asyncio.open_connection(host, port))
            status = await connection.request(data)
            key = str(status)
            if status < 300:
                latencies.append(time.perf_counter() - start)
            idle.append(connection)
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            key = type(exc).__name__
            if connection is not None:
                connection.writer.close()
        finally:
            in_flight -= 1
        statuses[key] = statuses.get(key, 0) + 1

    tasks = []
    begin = time.perf_counter()
    for i in range(n_total):
        due = begin + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            skipped += 1
            continue
        tasks.append(asyncio.create_task(one(requests[i])))
    sent_until = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    for connection in idle:
        connection.writer.close()
    lat_ms = np.asarray(latencies) * 1000.0
    return {
        "offered_rate_per_s": rate,
        "duration_s": round(sent_until - begin, 2),
        "sent": len(tasks),
        "skipped_client_backlog": skipped,
        "ok": len(latencies),
        "statuses": statuses,
        "throughput_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(float(np.percentile(lat_ms, 50)), 1) if len(lat_ms) else None,
        "p90_ms": round(float(np.percentile(lat_ms, 90)), 1) if len(lat_ms) else None,
        "p99_ms": round(float(np.percentile(lat_ms, 99)), 1) if len(lat_ms) else None,
        "max_ms": round(float(lat_ms.max()), 1) if len(lat_ms) else None,
    }


def _driver_process(args: tuple[str, str, list[dict[str, Any]], float, float, int], queue: Any) -> None:
    queue.put(asyncio.run(_drive(*args)))


def _prepare(
    data_dir: Path, database_url: str, *, model: bool, roles: tuple[str, ...] = ("integration",)
) -> dict[str, str]:
    """Migrate, add one user and token per role, and publish a small model; returns the tokens by role."""
    from careleads.service.users import create_token, create_user
    from careleads.settings import Settings
    from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade

    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(database_url)
    upgrade(engine)
    tokens: dict[str, str] = {}
    with session_scope(make_sessionmaker(engine)) as session:
        for role in roles:
            create_user(session=session, name=f"bench-{role}", role=role)
            tokens[role] = create_token(session=session, user_name=f"bench-{role}")
    engine.dispose()
    if model:
        import dataclasses

        from careleads.datasets import load_crm_folder
        from careleads.features import Target
        from careleads.models import ModelRegistry, train_model
        from careleads.synth import generate

        data = generate(4000, seed=1)
        folder = data_dir / "training"
        data.write(folder)
        dataset = load_crm_folder(folder).dataset(Target(), data_end=data.end)
        dataset = dataclasses.replace(dataset, as_of=dataset.as_of.astype("datetime64[ns]"))
        trained = train_model(dataset, seed=0).model
        registry = ModelRegistry(settings.registry_path())
        registry.publish(registry.register(trained), actor="bench")
    return tokens


def _postgres_database(base_url: str, name: str, *, create: bool) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class Served(NamedTuple):
    """A running benchmark server."""

    url: str
    tokens: dict[str, str]
    pid: int


@contextlib.contextmanager
def served(
    *,
    backend: str,
    model: bool,
    workers: int = 1,
    database_url: str | None = None,
    roles: tuple[str, ...] = ("integration",),
) -> Iterator[Served]:
    """``careleads serve`` on a fresh store (see the module docstring): its URL, a token per role
    and the server's process id.

    The server and its store (the temporary folder, the PostgreSQL database) are removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="careleads-bench-") as tmp:
        data_dir = Path(tmp)
        pg_name: str | None = None
        base = ""
        if backend == "sqlite":
            url = f"sqlite:///{data_dir / 'careleads.db'}"
        else:
            base = database_url or os.environ.get("CARELEADS_DATABASE_URL", "")
            if not base.startswith("postgresql"):
                raise SystemExit(
                    "--backend postgres needs CARELEADS_DATABASE_URL (or --database-url) of a server"
                )
            pg_name = f"careleads_bench_{os.getpid()}"
            url = _postgres_database(base, pg_name, create=True)
        try:
            tokens = _prepare(data_dir, url, model=model, roles=roles)
            port = _free_port()
            env = {
                **os.environ,
                "CARELEADS_DATA_DIR": str(data_dir),
                "CARELEADS_DATABASE_URL": url,
                "CARELEADS_LOG_LEVEL": "warning",
            }
            env["CARELEADS_SCHEDULER"] = "false"  # requests only: no scheduled job runs during the load
            command = [sys.executable, "-c", "from careleads.cli import main; main()", "serve"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
            try:
                _wait_ready(f"http://127.0.0.1:{port}", server)
                yield Served(f"http://127.0.0.1:{port}", tokens, server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            if pg_name is not None:
                _postgres_database(base, pg_name, create=False)


def run_benchmark(
    *,
    backend: str,
    rate: float = 200.0,
    duration: float = 20.0,
    max_in_flight: int = 64,
    model: bool = True,
    workers: int = 1,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Run one benchmark and return its figures (see the module docstring)."""
    n_load = int(rate * duration)
    leads = payloads(n_load + 20, seed=5)  # the last 20 warm the server up
    with served(backend=backend, model=model, workers=workers, database_url=database_url) as (url, tokens, _):
        token = tokens["integration"]
        # warm up (first requests load the model and fill caches)
        warm = asyncio.run(_drive(url, token, leads[n_load:], 5.0, 4.0, 4))
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        driver = context.Process(
            target=_driver_process,
            args=((url, token, leads[:n_load], rate, duration, max_in_flight), queue),
        )
        driver.start()
        figures: dict[str, Any] = queue.get(timeout=duration + 120)
        driver.join(timeout=10)
    figures.update(
        {
            "backend": backend,
            "model": "published LightGBM (4,000 simulated leads)" if model else "rule baseline (no model)",
            "uvicorn_workers": workers,
            "max_in_flight": max_in_flight,
            "warm_up_ok": warm["ok"],
            "served_over_offered": _common.ratio(figures["throughput_per_s"], rate),
            "goal": {"rate_per_s": GOAL_RATE_PER_S, "p99_ms": GOAL_P99_MS},
        }
    )
    return figures


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready within a minute")


def rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's rows."""
    return [
        ("offered / served per s", f"{figures['offered_rate_per_s']} / {figures['throughput_per_s']}"),
        (
            "sent / ok / skipped (client backlog)",
            f"{figures['sent']} / {figures['ok']} / {figures['skipped_client_backlog']}",
        ),
        ("statuses", ", ".join(f"{k}: {v}" for k, v in sorted(figures["statuses"].items()))),
        (
            "latency p50 / p90 / p99 / max ms",
            f"{figures['p50_ms']} / {figures['p90_ms']} / {figures['p99_ms']} / {figures['max_ms']}",
        ),
        ("yardstick: Python loop of 5M additions, s", str(figures["python_loop_seconds"])),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_api.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite", help="store backend")
    parser.add_argument("--rate", type=float, default=GOAL_RATE_PER_S, help="offered requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (at most 120)")
    parser.add_argument("--max-in-flight", type=int, default=64, help="most outstanding requests")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--no-model", action="store_true", help="score with the rule baseline only")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: environment)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"machine": _common.machine()}
    figures.update(
        run_benchmark(
            backend=args.backend,
            rate=args.rate,
            duration=min(args.duration, 120.0),
            max_in_flight=args.max_in_flight,
            model=not args.no_model,
            workers=args.workers,
            database_url=args.database_url,
        )
    )
    figures["python_loop_seconds"] = _common.python_yardstick()
    title = f"careleads POST /v1/leads ({figures['backend']}, {figures['uvicorn_workers']} worker(s))"
    _common.emit(figures, json_path=args.json, text=_common.table(title, rows(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
