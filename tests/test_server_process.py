"""`careleads serve` as a real process: the processes it starts end with it, even after ``kill -9``.

Finding 9 of issue 23: after ``kill -9`` of the server, its analytics writer process kept running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead and not yet reaped by its new parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


def test_the_analytics_writer_ends_when_the_server_is_killed(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CARELEADS_DATA_DIR": str(tmp_path / "data"),
        "CARELEADS_DATABASE_URL": "",  # the embedded SQLite store, migrated on start
        "CARELEADS_ANALYTICS_BACKGROUND": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", "from careleads.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    writer = 0
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1) as answer:
                    return bool(answer.status == 200)
            except (urllib.error.URLError, OSError):
                return server.poll() is not None  # stop waiting: it has exited

        assert _wait(healthy, 60) and server.poll() is None, "the server did not start"

        def writer_started() -> bool:
            nonlocal writer
            spawned = [pid for pid, cmd in _children(server.pid).items() if "spawn_main" in cmd]
            writer = spawned[0] if spawned else 0
            return bool(writer)

        assert _wait(writer_started, 30), f"no writer process among {_children(server.pid)}"
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        assert _wait(lambda: not _alive(writer), 5), "the analytics writer outlived the killed server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()
        if writer and _alive(writer):
            os.kill(writer, signal.SIGKILL)
