"""The analytics layer: pseudonymised model inputs and raw outputs as Parquet part files.

Rows are keyed by the lead's pseudonym (never its external id, name or contact details) and hold the
model's features as of the scoring moment plus what the scorer returned. Rows are buffered in memory and
written as one part file per flush, so a request does not pay for a file write; features are built at flush
time for the whole buffer at once, through the same feature code as training. With ``background=True`` (the
service's choice) a full buffer is handed to a writer process by a background thread: building the features
and the Parquet file takes a few tens of milliseconds of CPU, and in the service's own process that time
held the GIL while requests waited (it set the tail latency). The writer process ends with the process that
started it, even when that one is killed (``kill -9``): it watches its parent and exits when it is gone.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.features import FeatureSpec, build_features
from careleads.types import PathLikeStr

__all__ = ["AnalyticsRow", "AnalyticsWriter", "write_part"]

_PART_GLOB = "scores/part-*.parquet"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalyticsRow:
    """One scoring: the lead's pseudonym, its inputs (fields and events, no identifiers) and the outputs."""

    lead_key: str
    lead_fields: dict[str, Any]
    events: list[dict[str, Any]]
    as_of: datetime
    outputs: dict[str, Any] = field(default_factory=dict)


#: how often the writer process checks that the process that started it still runs (seconds)
PARENT_POLL_SECONDS = 0.5


def _exit_with_parent(parent: int) -> None:
    """Run in the writer process when it starts: a daemon thread ends the process as soon as its parent
    (pid `parent`) is gone, however it ended; the parent's own exit is seen as a change of ``os.getppid()``
    (the process is adopted by another)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)  # nothing of the writer's is worth finishing for a server that is gone

    threading.Thread(target=watch, name="analytics-parent-watch", daemon=True).start()


def _writer_process() -> ProcessPoolExecutor:
    """The writer process (one, started with spawn), which ends when this process ends."""
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _ready() -> bool:
    from careleads.features import build_features  # noqa: F401 - what a part needs, imported up front

    return True


def write_part(folder: Path, spec: FeatureSpec, rows: list[AnalyticsRow]) -> Path:
    """Build the features of `rows` and write them with the outputs as one Parquet part (file then rename)."""
    frame = _frame(spec, rows)
    target = folder / "scores"
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = target / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def _frame(spec: FeatureSpec, rows: list[AnalyticsRow]) -> pd.DataFrame:
    key = spec.key
    leads = pd.DataFrame([{**r.lead_fields, key: f"row{i}"} for i, r in enumerate(rows)])
    leads[spec.time_column] = pd.to_datetime(leads[spec.time_column])
    events = pd.DataFrame(
        [{**e, "lead_id": f"row{i}"} for i, r in enumerate(rows) for e in r.events],
        columns=["lead_id", "occurred_at", "event_type", "page"],
    )
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    as_of = pd.Series(pd.to_datetime([r.as_of for r in rows]), index=leads.index)
    X = build_features(leads, events, as_of, spec)
    X.columns = [f"x_{c}" for c in X.columns]
    head = pd.DataFrame({"lead_key": [r.lead_key for r in rows], "as_of": as_of.to_numpy()})
    outputs = pd.DataFrame([r.outputs for r in rows])
    return pd.concat([head, X.reset_index(drop=True), outputs.reset_index(drop=True)], axis=1)


class AnalyticsWriter:
    """Buffers analytics rows and writes them as Parquet under ``folder/scores``.

    Parameters
    ----------
    folder : path
        The analytics folder (``Settings.analytics_dir``).
    spec : FeatureSpec
        Which features to build from the lead fields and events.
    flush_rows : int
        Rows buffered before a part file is written.
    background : bool
        Write full buffers in a writer process (started by :meth:`start` or at the first flush), handed over
        by a background thread, so that the caller never waits for a part file; :meth:`close` stops it.
    """

    def __init__(
        self, folder: PathLikeStr, *, spec: FeatureSpec, flush_rows: int = 500, background: bool = False
    ) -> None:
        self.folder = Path(folder)
        self.spec = spec
        self.flush_rows = flush_rows
        self.background = background
        self._buffer: list[AnalyticsRow] = []
        self._lock = threading.Lock()  # guards the buffer
        self._write_lock = threading.Lock()  # one writer of part files at a time; erasure waits for it
        self._flusher: threading.Thread | None = None
        self._writer: ProcessPoolExecutor | None = None

    def add(self, rows: Iterable[AnalyticsRow]) -> None:
        """Buffer rows (after their transaction committed); a full buffer is written as a part file.

        With ``background=True`` this returns at once: a background thread hands the rows to the writer
        process.
        """
        with self._lock:
            self._buffer.extend(rows)
            full = len(self._buffer) >= self.flush_rows
            start = full and self.background and (self._flusher is None or not self._flusher.is_alive())
            if start:
                self._flusher = threading.Thread(
                    target=self._flush_quietly, name="analytics-flush", daemon=True
                )
                self._flusher.start()
        if full and not self.background:
            self.flush()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # the rows are lost from the analytics layer only; the store holds the decisions
            logger.exception("analytics: writing a part file failed")

    def flush(self) -> Path | None:
        """Write the buffered rows as one part file; returns its path (None when the buffer was empty)."""
        with self._write_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return None
            if not self.background:
                return write_part(self.folder, self.spec, rows)
            if self._writer is None:
                self._writer = _writer_process()
            return self._writer.submit(write_part, self.folder, self.spec, rows).result()

    def start(self) -> None:
        """Start the writer process now, so it imports pandas and the feature code (a second or two of CPU)
        on the other core while the service starts, not at the first flush. This does not wait for it: the
        first part file waits, in the background thread that writes it."""
        if self.background and self._writer is None:
            self._writer = _writer_process()
            self._writer.submit(_ready)

    def close(self) -> None:
        """Wait for a background write, write what is still buffered and stop the writer (at shutdown)."""
        flusher = self._flusher
        if flusher is not None:
            flusher.join()
        self.flush()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None

    def files(self) -> list[Path]:
        """The part files written so far."""
        return sorted(self.folder.glob(_PART_GLOB))

    def read(self) -> pd.DataFrame:
        """Every written row (flush first to include the buffer)."""
        parts = [pd.read_parquet(p) for p in self.files()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def erase(self, lead_key: str) -> int:
        """Remove every row of one lead from the buffer and the part files; returns the rows removed."""
        with self._write_lock:  # a part being written now is finished first, then cleaned too
            return self._erase(lead_key)

    def _erase(self, lead_key: str) -> int:
        with self._lock:
            before = len(self._buffer)
            self._buffer = [r for r in self._buffer if r.lead_key != lead_key]
            removed = before - len(self._buffer)
        for path in self.files():
            frame = pd.read_parquet(path)
            keep = frame["lead_key"] != lead_key
            if keep.all():
                continue
            removed += int((~keep).sum())
            tmp = path.with_suffix(".tmp")
            if keep.any():
                frame.loc[keep].to_parquet(tmp, index=False)
                tmp.replace(path)
            else:
                path.unlink()
        return removed
