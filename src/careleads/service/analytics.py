"""The analytics layer: pseudonymised model inputs and raw outputs as Parquet part files.

Rows are keyed by the lead's pseudonym (never its external id, name or contact details) and hold the
model's inputs as of the scoring moment plus what the scorer returned. Each scoring's row is written to the
store table ``analytics_outbox`` in the scoring's own transaction (:func:`pending_row`), so an acknowledged
scoring is never lost, whatever happens to the process afterwards. The writer (:class:`AnalyticsWriter`)
drains that table into Parquet parts: it claims a batch of rows (marks them with the part's name), writes
the part (features built for the whole batch at once, through the same feature code as training), then
deletes the rows it wrote. A crash between two steps is finished at the next drain (a claimed batch whose
part exists is only settled). With ``background=True`` (the service's choice) a background thread drains
and a writer process builds the part: that takes a few tens of milliseconds of CPU, and in the service's
own process it held the GIL while requests waited (it set the tail latency).

Erasure (:meth:`AnalyticsWriter.erase`) deletes the lead's waiting rows in the erasure's transaction and
removes its rows from the parts; a part being written meanwhile is cleaned when it is settled, because
settling keeps only the leads whose rows are still in the table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from careleads.engines import end_with_parent
from careleads.features import FeatureSpec, build_features
from careleads.store import AnalyticsPending, session_scope
from careleads.types import PathLikeStr

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process per data folder
    fcntl = None  # type: ignore[assignment]

__all__ = ["AnalyticsRow", "AnalyticsWriter", "decode_row", "encode_row", "pending_row", "write_part"]

_PART_GLOB = "scores/part-*.parquet"
#: the rows one part holds when a backlog is drained (on PostgreSQL, with any committed late below them)
DRAIN_ROWS = 5000
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalyticsRow:
    """One scoring: the lead's pseudonym, its inputs (fields and events, no identifiers) and the outputs."""

    lead_key: str
    lead_fields: dict[str, Any]
    events: list[dict[str, Any]]
    as_of: datetime
    outputs: dict[str, Any] = field(default_factory=dict)


def _writer_process() -> ProcessPoolExecutor:
    """The analytics writer: one spawned process that ends with the service, even when the service is
    killed (SIGKILL) and cannot stop it, and yields the cores to the service's requests."""
    return ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=_writer_started
    )


#: how much lower the writer process's scheduling priority is than the service's (``nice``): a part can
#: wait, a request should not wait for it
WRITER_NICENESS = 10


def _writer_started() -> None:
    end_with_parent()
    with contextlib.suppress(OSError, AttributeError):  # not POSIX: the default priority
        os.nice(WRITER_NICENESS)


def _ready() -> bool:
    from careleads.features import build_features  # noqa: F401 - what a part needs, imported up front

    return True


def _plain(value: Any) -> Any:
    """`value` as JSON the store keeps (times tagged, so :func:`_restored` gives them back)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):
        return {"$datetime": pd.Timestamp(value).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return None  # missing, as Parquet writes it; JSON (PostgreSQL's at least) has no NaN
    return value


def _restored(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return pd.Timestamp(value["$datetime"]).to_pydatetime()
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def encode_row(row: AnalyticsRow) -> dict[str, Any]:
    """`row` as a JSON object for the ``analytics_outbox`` table."""
    return {
        "lead_fields": _plain(row.lead_fields),
        "events": _plain(row.events),
        "as_of": _plain(row.as_of),
        "outputs": _plain(row.outputs),
    }


def decode_row(lead_key: str, data: dict[str, Any] | str) -> AnalyticsRow:
    """The row :func:`encode_row` stored (as the store's JSON text, or that text read)."""
    read: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
    return AnalyticsRow(
        lead_key=lead_key,
        lead_fields=_restored(read["lead_fields"]),
        events=_restored(read["events"]),
        as_of=_restored(read["as_of"]),
        outputs=_restored(read["outputs"]),
    )


def pending_row(row: AnalyticsRow, now: datetime) -> AnalyticsPending:
    """The ``analytics_outbox`` row of `row`, to insert in the scoring's transaction."""
    return AnalyticsPending(lead_key=row.lead_key, row=encode_row(row), part=None, created_at=now)


def _part_name() -> str:
    return f"part-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.parquet"


#: a row of the table as a drain claims it: the lead's pseudonym and the row's JSON text
Stored = tuple[str, str]


def write_part(
    folder: Path, spec: FeatureSpec, rows: list[AnalyticsRow] | list[Stored], name: str | None = None
) -> Path:
    """Build the features of `rows` and write them with the outputs as one Parquet part (file then rename).

    `rows` are scorings, or rows as the table holds them (decoded here: in the writer process, not the
    service's). `name` is the part's file name (default: the time and a random suffix).
    """
    frame = _frame(spec, [r if isinstance(r, AnalyticsRow) else decode_row(*r) for r in rows])
    target = folder / "scores"
    target.mkdir(parents=True, exist_ok=True)
    name = name or _part_name()
    path = target / name
    tmp = path.with_name(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
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


@contextlib.contextmanager
def _file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive ``flock`` on `path` between processes; yields whether it is held (``wait=False``: not
    when another process holds it)."""
    if fcntl is None:  # pragma: no cover - not POSIX
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class AnalyticsWriter:
    """Drains the ``analytics_outbox`` table into Parquet parts under ``folder/scores``.

    Parameters
    ----------
    folder : path
        The analytics folder (``Settings.analytics_dir``).
    spec : FeatureSpec
        Which features to build from the lead fields and events.
    flush_rows : int
        Rows committed (by this process) before the table is drained into a part.
    background : bool
        Drain in a background thread and build parts in a writer process (started by :meth:`start` or at
        the first drain), so that the committing request never waits for a part file; :meth:`close` stops
        both.

    Notes
    -----
    :meth:`attach` gives the writer the store's session factory; until then it cannot drain. One process
    drains a folder at a time (a file lock in the folder); the others leave their rows to it or to the next
    drain.
    """

    def __init__(
        self, folder: PathLikeStr, *, spec: FeatureSpec, flush_rows: int = 500, background: bool = False
    ) -> None:
        self.folder = Path(folder)
        self.spec = spec
        self.flush_rows = flush_rows
        self.background = background
        self.sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()  # guards the counters below
        self._committed = 0  # rows committed since the last drain began
        self._asked = 0  # the smallest batch a drain asked for writes (0: none asked)
        self._running = False  # the background thread is draining
        self._drain_lock = threading.Lock()  # one drain at a time in this process
        self._part_lock = threading.Lock()  # one rewrite of part files at a time in this process
        self._flusher: threading.Thread | None = None
        self._writer: ProcessPoolExecutor | None = None
        self._starting: Future[bool] | None = None  # the writer process importing its libraries

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Drain the table of the store `sessions` open."""
        self.sessions = sessions

    def committed(self, n_rows: int) -> None:
        """`n_rows` analytics rows were committed; drain when :attr:`flush_rows` have been.

        The drain writes parts of at least :attr:`flush_rows` rows: rows that arrive while it writes wait
        for the next one, so a steady stream of leads does not become a stream of tiny parts (and of
        transactions on the store's writers). With ``background=True`` this returns at once and a
        background thread drains.
        """
        with self._lock:
            self._committed += n_rows
            if self._committed < self.flush_rows:
                return
            self._committed = 0
        self._drain(self.flush_rows)

    def _drain(self, at_least: int) -> None:
        """Drain parts of at least `at_least` rows, here or (``background=True``) in the background thread."""
        if not self.background:
            self._drain_quietly(at_least)
            return
        with self._lock:
            self._asked = min(self._asked or at_least, at_least)
            if self._running:
                return
            self._running = True
            self._flusher = threading.Thread(
                target=self._drain_in_background, name="analytics-flush", daemon=True
            )
            self._flusher.start()

    def _drain_in_background(self) -> None:
        while True:
            with self._lock:
                at_least, self._asked = self._asked, 0
                if not at_least:
                    self._running = False
                    return
            self._drain_quietly(at_least)

    def _drain_quietly(self, at_least: int) -> None:
        try:
            self.flush(at_least=at_least)
        except Exception:  # the rows stay in the table: the next drain writes them
            logger.exception("analytics: writing a part file failed")

    def flush(self, *, at_least: int = 1) -> int:
        """Write the waiting rows now, in parts of at most :data:`DRAIN_ROWS`; returns the rows written.

        A part claimed and not settled (a crash) is always finished; a new part is begun only while at
        least `at_least` rows wait (the default: every waiting row is written). Returns 0 at once when
        another process is draining the folder.
        """
        if self.sessions is None:
            return 0
        written = 0
        with self._drain_lock, _file_lock(self.folder / ".drain.lock", wait=False) as held:
            if not held:
                return 0
            while (claimed := self._claim(self.sessions, at_least=at_least)) is not None:
                name, rows = claimed
                n_written: int | None = None  # the part was written before a crash: rows unknown
                if rows and not (self.folder / "scores" / name).exists():
                    self._write(name, rows)
                    n_written = len(rows)
                written += self._settle(self.sessions, name, n_written)
        return written

    def _claim(
        self, sessions: sessionmaker[Session], *, at_least: int = 1
    ) -> tuple[str, list[Stored]] | None:
        """The rows of a part claimed before and not settled (a crash), else a new batch when at least
        `at_least` rows wait, marked with the part's name; None when nothing (or too little) waits.

        The rows are read as the table's JSON text and decoded where the part is built: in the service's
        process, decoding a batch held the interpreter for tens of milliseconds while requests waited.
        """
        with session_scope(sessions) as session:
            name = session.scalar(
                select(AnalyticsPending.part).where(AnalyticsPending.part.is_not(None)).limit(1)
            )
            if name is None:
                ids = list(
                    session.scalars(
                        select(AnalyticsPending.id)
                        .where(AnalyticsPending.part.is_(None))
                        .order_by(AnalyticsPending.id)
                        .limit(DRAIN_ROWS)
                    )
                )
                if not ids or len(ids) < min(at_least, DRAIN_ROWS):
                    return None
                name = _part_name()  # never reused: SQLite may give a deleted row's id again
                # the batch and any row committed meanwhile below its last id (a PostgreSQL id is taken
                # before its transaction commits): one range, not thousands of parameters
                session.execute(
                    update(AnalyticsPending)
                    .where(AnalyticsPending.part.is_(None), AnalyticsPending.id <= ids[-1])
                    .values(part=name)
                )
            found = session.execute(
                select(AnalyticsPending.lead_key, cast(AnalyticsPending.row, Text))
                .where(AnalyticsPending.part == name)
                .order_by(AnalyticsPending.id)
            ).all()
        return name, [(str(key), str(text)) for key, text in found]

    def _write(self, name: str, rows: list[Stored]) -> None:
        if not self.background:
            write_part(self.folder, self.spec, rows, name)
            return
        if self._writer is None:
            self._writer = _writer_process()
        self._writer.submit(write_part, self.folder, self.spec, rows, name).result()

    def _settle(self, sessions: sessionmaker[Session], name: str, n_written: int | None) -> int:
        """Keep in part `name` only the leads whose rows are still in the table (an erasure may have taken
        some after the claim), then delete its rows; returns how many.

        `n_written`: the rows this drain wrote to the part (None: written before a crash). When all of them
        are still in the table, none was erased and the part is not read back (no rows are added to a
        claimed part): the store's writers wait for this transaction.
        """
        with session_scope(sessions) as session:
            keys = session.scalars(
                select(AnalyticsPending.lead_key).where(AnalyticsPending.part == name).with_for_update()
            ).all()
            path = self.folder / "scores" / name
            if len(keys) != n_written and path.exists():
                with self._parts_locked():
                    self._rewrite(path, lambda frame: frame["lead_key"].isin(set(keys)))
            session.execute(delete(AnalyticsPending).where(AnalyticsPending.part == name))
        return len(keys)

    @contextlib.contextmanager
    def _parts_locked(self) -> Iterator[None]:
        with self._part_lock, _file_lock(self.folder / ".parts.lock", wait=True):
            yield

    @staticmethod
    def _rewrite(path: Path, keep_rows: Callable[[pd.DataFrame], pd.Series]) -> int:
        """Keep the rows of part `path` for which `keep_rows(frame)` is true (none: the part goes); returns
        the rows removed."""
        if not path.exists():
            return 0
        frame = pd.read_parquet(path)
        keep = keep_rows(frame)
        if keep.all():
            return 0
        if keep.any():
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
            frame.loc[keep].to_parquet(tmp, index=False)
            tmp.replace(path)
        else:
            path.unlink()
        return int((~keep).sum())

    def waiting(self) -> int:
        """Rows in the table not written to a part yet."""
        if self.sessions is None:
            return 0
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(AnalyticsPending)) or 0)

    def start(self) -> None:
        """Write what an earlier run left in the table (after a crash); with ``background=True`` start the
        writer process now, so it imports pandas and the feature code (a second or two of CPU) on the other
        core while the service starts, and drain in the background thread."""
        if self._writer is None and self.background:
            self._writer = _writer_process()
            self._starting = self._writer.submit(_ready)
        self._drain(1)

    def wait_started(self, timeout: float = 60.0) -> None:
        """Wait, at most `timeout` seconds, until the writer process :meth:`start` began has imported its
        libraries (the service takes requests after that: that second or two of CPU otherwise lands on its
        first requests). A writer that failed or is slower is logged, and the service starts anyway: leads
        come first, their analytics rows wait in the store."""
        if self._starting is None:
            return
        try:
            self._starting.result(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - any failure of the writer's start-up: logged, not fatal
            logger.warning("analytics: the writer process has not started (%s)", type(exc).__name__)

    def close(self) -> None:
        """Wait for a background drain, write what is still waiting and stop the writer (at shutdown)."""
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
        """Every written row (flush first to include the waiting ones)."""
        parts = [pd.read_parquet(p) for p in self.files()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def erase(self, session: Session, lead_key: str) -> int:
        """Delete the lead's waiting rows (in `session`'s transaction) and its rows of the part files;
        returns the rows removed.

        A part being written meanwhile is cleaned when it is settled (its rows of this lead are gone from
        the table by then).
        """
        result = session.execute(delete(AnalyticsPending).where(AnalyticsPending.lead_key == lead_key))
        removed = int(getattr(result, "rowcount", 0) or 0)
        with self._parts_locked():
            for path in self.files():
                removed += self._rewrite(path, lambda frame: frame["lead_key"] != lead_key)
        return removed
