"""`careleads serve --workers N`: every worker gets connections, and a taken address is said at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _service_support import child_pids, free_port, make_settings, process_alive
from careleads.errors import ConfigError
from careleads.serving import claim_address, serve

CONNECTIONS = 64  # spread by a hash: a worker gets under a quarter about once in 40,000 runs


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(link)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def _workers(pid: int) -> set[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    return {
        child
        for child in child_pids(pid)
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    }


def _established_inodes(port: int) -> set[str]:
    """The inodes of the server ends of established TCP connections to `port` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                found.add(fields[9])
    return found


CLI = [sys.executable, "-c", "from careleads.cli import main; main()"]


def _environment(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a test server: its data folder under `tmp_path`, SQLite by default, no jobs."""
    settings = make_settings(tmp_path, "sqlite")
    return {
        **os.environ,
        "CARELEADS_DATA_DIR": str(settings.data_dir),
        "CARELEADS_DATABASE_URL": database_url or settings.database_url,
        "CARELEADS_SCHEDULER": "false",
        "CARELEADS_LOG_LEVEL": "warning",
    }


def _serve_two_workers(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str]]]:
    env = _environment(tmp_path)
    port = free_port()
    assert subprocess.run([*CLI, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    child = _serve_two_workers(port, env)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline:
            workers = _workers(child.pid)
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready and len(workers) >= 2:
                break
            assert child.poll() is None, "the server ended while starting"
            time.sleep(0.2)
        else:
            raise AssertionError("the server did not start two workers")
        time.sleep(1.0)  # the second worker may answer its first health check a moment after the first
        yield child, port, env
    finally:
        child.terminate()
        child.wait(timeout=30)


def _health(connection: socket.socket, port: int) -> int:
    """GET /v1/health on an open keep-alive connection; the status."""
    connection.sendall(f"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii"))
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(4096)
    return int(head.split(b" ", 2)[1])


def test_keep_alive_connections_opened_together_reach_every_worker(
    served: tuple[subprocess.Popen[bytes], int, dict[str, str]],
) -> None:
    """Finding: with uvicorn's shared socket, keep-alive connections opened while the workers are busy went
    mostly to one (14 and 2 of 16, 60 and 4 of 64): the first worker free accepts every one waiting, and
    keeps them. Here the kernel gives each connection to a worker as it is opened."""
    child, port, _ = served
    first, second = sorted(_workers(child.pid))
    for pid in (first, second):  # busy workers: the connections wait to be accepted, as under load
        os.kill(pid, signal.SIGSTOP)
    try:
        connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CONNECTIONS)]
        os.kill(first, signal.SIGCONT)  # one worker is free first (the other still in a long request)
        time.sleep(1.0)
    finally:
        for pid in (first, second):
            os.kill(pid, signal.SIGCONT)
    try:
        assert all(_health(c, port) == 200 for c in connections)  # each one accepted and served
        established = _established_inodes(port)
        per_worker = {pid: len(_socket_inodes(pid) & established) for pid in _workers(child.pid)}
        assert sum(per_worker.values()) == CONNECTIONS, per_worker
        assert len(per_worker) == 2 and min(per_worker.values()) >= CONNECTIONS // 4, per_worker
        assert not _socket_inodes(child.pid) & established  # the supervisor accepts nothing
    finally:
        for connection in connections:
            connection.close()


def test_a_second_server_on_a_taken_address_says_so_and_the_first_keeps_serving(
    served: tuple[subprocess.Popen[bytes], int, dict[str, str]],
) -> None:
    _, port, env = served
    second = subprocess.run(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr and "--port" in second.stderr
    for _ in range(2 * CONNECTIONS):  # new connections, spread over the first server's workers only
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10).status_code == 200


def test_an_address_another_program_listens_on_is_refused_before_any_worker_starts() -> None:
    other = socket.create_server(("127.0.0.1", 0))
    port = other.getsockname()[1]
    try:
        with pytest.raises(OSError):
            claim_address("127.0.0.1", port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(host="127.0.0.1", port=port, workers=2, log_level="warning")
        with pytest.raises(ConfigError, match="--port 0"):  # each worker would bind a free port of its own
            serve(host="127.0.0.1", port=0, workers=2, log_level="warning")
    finally:
        other.close()


def test_the_workers_end_with_a_killed_supervisor(
    served: tuple[subprocess.Popen[bytes], int, dict[str, str]],
) -> None:
    """Finding: after `kill -9` of `careleads serve --workers 2`, its workers kept serving on the port."""
    child, port, _ = served
    workers = _workers(child.pid)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(process_alive(pid) for pid in workers):
        time.sleep(0.2)
    alive = [pid for pid in workers if process_alive(pid)]
    for pid in alive:  # left running by a failure: not left behind by the test too
        os.kill(pid, signal.SIGKILL)
    assert not alive, "a worker of the killed server is still running"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)


def test_a_worker_takes_no_connection_before_its_app_has_started(tmp_path: Path) -> None:
    """A worker binds the address as it starts but listens only once its app is up: a connection the kernel
    gave a worker still loading would wait for it, and be reset when it fails to start. Here every worker
    fails to start (its database was never migrated) and uvicorn's supervisor keeps starting them again;
    for three seconds, every connection attempt must be refused, none accepted."""
    port = free_port()
    env = _environment(tmp_path, database_url=f"sqlite:///{tmp_path / 'never-migrated.db'}")
    child = _serve_two_workers(port, env)
    accepted = refused = 0
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert child.poll() is None, "the supervisor ended"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    accepted += 1
            except ConnectionRefusedError:
                refused += 1
            time.sleep(0.01)
        assert len(_workers(child.pid)) >= 1  # workers were started (and failed) meanwhile
    finally:
        child.terminate()
        child.wait(timeout=30)
    assert refused > 50
    assert accepted == 0
