"""What every benchmark shares: the machine, timing and memory, yardsticks measured in the same run, output.

A figure on its own says little on a shared 2-core machine whose speed swings from minute to minute, so
each benchmark also measures yardsticks in the same run (a pure-Python loop; raw LightGBM prediction on the
same prepared matrix) and states its goals as ratios to them. Benchmarks print figures; they are never
timed tests.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from careleads.models import LeadModel

T = TypeVar("T")

# LightGBM rows per second with this many trees: the yardstick of native speed
YARDSTICK_TREES = 200
# additions in the Python-loop yardstick: the machine's speed on interpreted code
YARDSTICK_LOOP = 5_000_000


def machine() -> dict[str, Any]:
    """Python, CPU count and model, system, and the load at the start (other jobs may share the CPUs)."""
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
        "cpu": cpu or platform.machine(),
        "system": platform.system(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def python_yardstick(n: int = YARDSTICK_LOOP) -> float:
    """Seconds this machine takes for `n` additions in a pure-Python loop: its speed on interpreted code.

    Much of the work around the native kernels is Python, so two machines whose LightGBM runs equally fast
    can still differ here (and in leads per second).
    """
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return round(time.perf_counter() - start, 3)


def lightgbm_yardstick(
    model: LeadModel, matrix: pd.DataFrame, trees: int = YARDSTICK_TREES
) -> dict[str, Any]:
    """Raw LightGBM rows per second on `matrix` with the model's first `trees` trees (all if fewer)."""
    used = min(trees, int(model.scorer.n_estimators_))
    start = time.perf_counter()
    model.scorer.booster_.predict(matrix, num_iteration=used)
    seconds = time.perf_counter() - start
    return {"trees": used, "rows_per_second": round(len(matrix) / max(seconds, 1e-9))}


def prepared_matrix(model: LeadModel, clean_leads: pd.DataFrame) -> pd.DataFrame:
    """The model's input matrix for ingested leads scored at creation (no events), as in batch scoring."""
    import pandas as pd

    from careleads.features import build_features

    when = pd.to_datetime(clean_leads[model.spec.time_column]) + pd.Timedelta(hours=model.target.as_of_hours)
    no_events = pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "event_type": pd.Series(dtype="string"),
        }
    )
    prepared: pd.DataFrame = model.preprocessor.transform(
        build_features(clean_leads, no_events, when, model.spec)
    )
    return prepared


def ratio(numerator: float, denominator: float) -> float:
    """`numerator / denominator` rounded to 3 decimals; NaN when the denominator is not positive."""
    return round(numerator / denominator, 3) if denominator > 0 else math.nan


def timed(figures: dict[str, Any], name: str, fn: Callable[[], T]) -> T:
    """Run `fn`, store its seconds and this process's peak memory so far under `figures[name]`."""
    start = time.perf_counter()
    value = fn()
    figures[name] = {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mb": peak_mb()}
    return value


def milliseconds_per_call(
    call: Callable[[T], object], items: Sequence[T], warm: int = 50
) -> npt.NDArray[np.float64]:
    """Milliseconds of each `call(item)`, after `warm` calls on the first items that are not counted."""
    for item in items[:warm]:
        call(item)
    out = []
    for item in items:
        begin = time.perf_counter()
        call(item)
        out.append(time.perf_counter() - begin)
    return np.asarray(out, dtype=np.float64) * 1000.0


def percentiles(ms: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Count, p50 and p99 of latencies in milliseconds."""
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def peak_mb() -> float:
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


def tree_rss_mb() -> float:
    """Resident memory of this process and every process descending from it (pool workers), MB.

    The tree is walked through ``/proc/PID/task/TID/children`` (about a tenth of the time of reading every
    process on the machine); where the kernel does not list children, every process is read.
    """
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        return tree_rss_mb_scan()
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


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user and system) used so far by process `root` and every live process descending from
    it, read from ``/proc`` (0.0 where it is not there)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text(encoding="utf-8").split())
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return total / ticks


def tree_rss_mb_scan() -> float:
    """`tree_rss_mb` by reading every process's parent."""
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


class TreeMemory:
    """The highest total resident memory of this process tree, sampled every 0.1 s in a thread.

    A sum of resident sets counts pages shared by the processes (the modules loaded before the workers
    forked) once per process, so it overstates the memory used.
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, tree_rss_mb())

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_child(script: str | Path, argv: Sequence[str]) -> dict[str, Any]:
    """Run ``python SCRIPT --child ARGV...`` in a fresh interpreter; returns the JSON of its last line."""
    done = subprocess.run(
        [sys.executable, str(script), "--child", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {' '.join(argv[:1])} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def table(title: str, rows: Iterable[tuple[str, str]], width: int = 100) -> str:
    """Two columns (figure, value) as plain text."""
    from rich.console import Console
    from rich.table import Table

    out = Table(title=title)
    out.add_column("figure")
    out.add_column("value", justify="right")
    for name, value in rows:
        out.add_row(name, value)
    console = Console(file=io.StringIO(), record=True, width=width)
    console.print(out)
    return console.export_text()


def emit_line(figures: Mapping[str, Any]) -> None:
    """Print the figures as one JSON line (a child's answer to :func:`run_child`)."""
    sys.stdout.write(json.dumps(figures) + "\n")


def emit(figures: Mapping[str, Any], *, json_path: Path | None = None, text: str | None = None) -> None:
    """Print the figures as JSON (then `text`, a table, if given) and write the JSON to `json_path`."""
    document = json.dumps(figures, indent=2)
    sys.stdout.write(document + "\n")
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if json_path is not None:
        json_path.write_text(document + "\n", encoding="utf-8")
