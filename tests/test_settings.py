"""Settings: one reader of the environment, and the one variable careleads sets for its own processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from careleads.errors import ConfigError
from careleads.settings import MonitorSettings, Settings, get_settings


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY" and not k.startswith("CARELEADS_")}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_importing_careleads_leaves_the_environment_alone() -> None:
    done = run_python(
        "import os, careleads, careleads.models, careleads.scoring\n"
        "assert 'OMP_WAIT_POLICY' not in os.environ, os.environ['OMP_WAIT_POLICY']\n"
    )
    assert done.returncode == 0, done.stderr


def test_the_command_lets_openmp_threads_sleep_unless_told_otherwise() -> None:
    code = (
        "import os, sys\n"
        "sys.argv = ['careleads', '--help']\n"
        "from careleads.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ['OMP_WAIT_POLICY'])\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("passive")
    kept = run_python(code, OMP_WAIT_POLICY="active")
    assert kept.stdout.strip().endswith("active")


def test_batch_workers_start_with_sleeping_openmp_threads() -> None:
    # the fork server (and every worker forked from it) loads LightGBM: it gets the variable, the caller's
    # process keeps its environment as it was
    code = (
        "import multiprocessing, os\n"
        "from careleads.engines._pool import _start_fork_server\n"
        "_start_fork_server()\n"
        "assert 'OMP_WAIT_POLICY' not in os.environ\n"
        "with multiprocessing.get_context('forkserver').Pool(1) as pool:\n"
        "    print(pool.apply(os.getenv, ('OMP_WAIT_POLICY',)))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "passive"


def test_monitor_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELEADS_MONITOR_GATE_MAX_ECE", "0.04")
    monkeypatch.setenv("CARELEADS_MONITOR_CONTACT_OUTCOMES", "intake_call_completed,meeting_booked")
    monkeypatch.setenv("CARELEADS_PSEUDONYM_KEY_FILE", "/keys/pseudonym")  # a plain field, not a nested one
    settings = get_settings()
    assert settings.monitor.gate_max_ece == 0.04
    assert settings.monitor.contact_outcomes == ("intake_call_completed", "meeting_booked")
    assert str(settings.pseudonym_key_file) == "/keys/pseudonym"
    assert Settings(monitor=MonitorSettings(psi_bins=5)).monitor.psi_bins == 5


def test_bad_monitor_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELEADS_MONITOR_CONFIDENCE", "1.5")
    with pytest.raises(ConfigError, match="CARELEADS_MONITOR_CONFIDENCE"):
        get_settings()
    with pytest.raises(ValidationError, match="calibration_tolerance"):
        MonitorSettings(calibration_tolerance=0.1, calibration_act_tolerance=0.05)
