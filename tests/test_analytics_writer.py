"""The analytics writer process ends with the service, even when the service is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from _service_support import child_pids, free_port, process_alive


def test_the_writer_process_ends_when_the_server_is_killed(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CARELEADS_DATA_DIR": str(tmp_path / "data"),
        "CARELEADS_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'careleads.db'}",
        "CARELEADS_ANALYTICS_BACKGROUND": "true",
        "CARELEADS_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "uvicorn", "careleads.app:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        while time.monotonic() < deadline and not children:  # the writer starts with the service
            children = {c for c in child_pids(server.pid) if process_alive(c)}
            time.sleep(0.1)
        assert children, "the service started no writer process"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(process_alive(c) for c in children):
            time.sleep(0.2)
        assert not any(process_alive(c) for c in children), "a child of the killed server is still running"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        for child in children:  # left running by a failure: not left behind by the test too
            if process_alive(child):
                os.kill(child, signal.SIGKILL)
