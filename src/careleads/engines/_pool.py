"""Pool workers for the local engine: chunks scored in parallel processes, handed back in input order.

The main process (:func:`careleads.engines._local.score_file`) reads the input and commits each chunk
(cross-chunk check, part file, checkpoint) in order; this module only scores chunks elsewhere.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import forkserver
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.dictionary import Dictionary
from careleads.engines._chunks import Chunk, EventLookup, ScoredChunk, ScoringOptions, score_chunk, to_arrow
from careleads.engines._memory import keep_freed_memory
from careleads.models import LeadModel
from careleads.scoring import Scorer
from careleads.settings import OPENMP_WAIT_POLICY, prefer_sleeping_openmp_threads

IN_FLIGHT_FOLDER = "_in_flight"  # chunks on their way to and from worker processes


@dataclass(frozen=True)
class ChunkJob:
    """What each chunk of a run is scored with; a pool worker receives it once, when it starts."""

    model: Scorer
    dictionary: Dictionary
    source: str
    options: ScoringOptions
    events: EventLookup | None
    compiled: bool  # compiled trees pickle as the LightGBM model: a worker compiles them again (cached)

    def run(self, raw: pd.DataFrame, rows: npt.NDArray[np.int64]) -> ScoredChunk[pa.Table]:
        """Score a chunk; the decisions as the Arrow table a part file is written from."""
        scored = score_chunk(
            raw,
            rows=rows,
            model=self.model,
            dictionary=self.dictionary,
            source=self.source,
            options=self.options,
            events=self.events,
        )
        return ScoredChunk(
            decisions=to_arrow(scored.decisions),
            quarantine=scored.quarantine,
            positions=scored.positions,
            hashes=scored.hashes,
            keys=scored.keys,
            n_read=scored.n_read,
            predictor="lleaves" if self.compiled else "lightgbm",
            flagged=scored.flagged,
        )


_worker_job: ChunkJob | None = None


def _start_worker(given: ChunkJob | bytes, n_threads: int, forked: bool = False) -> None:
    """Pool initializer: keep the job for every chunk; Ctrl-C is the main process's to handle.

    `forked`: this worker is a fork of the main process (see `ChunkQueue`), not of the fork server, whose
    workers get the job pickled by the main process (see `ChunkQueue.start`).
    """
    global _worker_job
    # pickled by the main process before the pool started: our own job, from the process that started this one
    job: ChunkJob = pickle.loads(given) if isinstance(given, bytes) else given  # noqa: S301
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process stops the pool on an interrupt
    end_with_parent()
    keep_freed_memory()  # this process exists for the run
    if forked:
        # The main process's log handlers came with the fork; one may write to a console whose lock a
        # progress-bar thread held at that moment, and would wait for it forever. A worker from the fork
        # server has none (its warnings reach stderr through logging's last resort): the same here.
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
            if isinstance(logger, logging.Logger):
                logger.handlers.clear()
    if job.compiled and isinstance(job.model, LeadModel):  # only a model's trees compile
        from careleads.engines._compiled import compile_trees

        job = replace(job, model=compile_trees(job.model, n_threads=n_threads))
    _worker_job = job


def _warm() -> None:
    """A task that does nothing: submitted once per worker, it makes the pool start them all at once."""


def end_with_parent() -> None:
    """In a worker process (a pool's initializer): end it as soon as the process that started it ends,
    even killed with SIGKILL, which cannot stop its children (a pool worker would wait for ever for its next
    task: the other workers hold the pipes open)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    """End this worker when the main process ends: killed (SIGKILL), it cannot stop the pool, and a worker
    would wait forever to send its result or take the next chunk (the other workers hold the pipes open)."""
    parent.join()
    os._exit(1)


def _score_in_worker(folder: str, index: int, rows: npt.NDArray[np.int64]) -> ScoredChunk[pa.Table]:
    """Score the chunk the main process left in `folder`; leave its decisions there, return the rest."""
    job = _worker_job
    if job is None:
        raise RuntimeError("chunks are scored in worker processes started by ChunkQueue")
    scored = job.run(read_arrow(Path(folder) / f"in-{index}.arrow").to_pandas(), rows)
    # compressed: a part file as the run keeps it (see `ScoredChunk.file`), and quicker to write than raw
    write_arrow(scored.decisions, Path(folder) / f"out-{index}.arrow", compression="lz4")
    return replace(scored, decisions=scored.decisions.schema.empty_table())


def write_arrow(table: pa.Table, path: Path, *, compression: str | None = None) -> None:
    """An Arrow IPC file (`compression`: None, or "lz4" / "zstd" for a file that stays on disk a while)."""
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)  # a slice is written as its rows only


def read_arrow(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        # an uncompressed file is not copied: the table maps it
        table: pa.Table = pa.ipc.open_file(source).read_all()
    return table


_Scored = tuple[Chunk, float, ScoredChunk[pa.Table]]
# what a worker imports to score (those not installed are skipped)
_WORKER_MODULES = (
    "careleads.engines._pool",
    "careleads.decisions",
    "careleads.engines._compiled",
    "lleaves",
)


def _start_fork_server() -> None:
    """Start the fork server (if it is not running) with OpenMP threads that sleep while they wait.

    The server and the workers forked from it are careleads' own processes and load LightGBM at once (see
    :func:`careleads.settings.prefer_sleeping_openmp_threads`); the variable is set only while the server
    starts, so this process's environment is left as the caller had it.
    """
    added = OPENMP_WAIT_POLICY not in os.environ
    prefer_sleeping_openmp_threads()
    try:
        forkserver.ensure_running()
    finally:
        if added:
            os.environ.pop(OPENMP_WAIT_POLICY, None)


def _forks(job: ChunkJob) -> bool:
    """Whether a pool for `job` forks its workers from this process (rather than from a fork server).

    A fork starts a worker at once, with the modules, settings and compiled trees this process holds; a
    fork server's worker must import them first (about a second of CPU). But LightGBM's OpenMP threads do
    not survive a fork once this process has predicted with them (a worker would wait forever for them),
    so only workers that never call LightGBM are forked: those scoring with compiled trees and without
    reason codes (SHAP values come from LightGBM). The process's other threads are Arrow's and OpenBLAS's
    pools, which those libraries restore in a forked child, and Python threads (a progress bar), which a
    worker never uses.
    """
    return job.compiled and job.options.n_reasons == 0 and sys.platform == "linux"


class ChunkQueue:
    """Chunks scored in this process (one worker) or by a pool of processes, handed back in chunk order.

    A pool keeps at most ``workers + 1`` chunks in flight, so memory does not grow with the input. Chunks
    and decisions travel as Arrow files in `folder` (written once, mapped by the reader) rather than
    pickled through a pipe, which cost the main process more than reading and writing the chunk. Workers
    that never call LightGBM are forked from this process when the first chunk is put (see `_forks`);
    the others come from a fork server, started early. `fork` False always uses the fork
    server. Leaving the ``with`` block (on an error too) cancels the chunks not started, waits for those
    running (no worker outlives the run) and removes `folder`.
    """

    def __init__(self, workers: int, folder: Path, *, fork: bool = True) -> None:
        self.workers = workers
        self.folder = folder
        self.fork = fork
        self.start_method = ""  # "fork" or "forkserver" once the pool has started
        self._job: ChunkJob | None = None  # what the pool's workers keep
        self._pool: ProcessPoolExecutor | None = None
        # a chunk in flight: scored by a worker (a future) or, while the workers start, here (done)
        self._pending: deque[tuple[Chunk, float, int, Future[ScoredChunk[pa.Table]] | ScoredChunk[pa.Table]]]
        self._pending = deque()
        self._warming: list[Future[None]] = []
        self._spawner: threading.Thread | None = None
        self._spawn_error: BaseException | None = None
        self._n_sent = 0

    def __enter__(self) -> ChunkQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _stop(self) -> None:
        """Cancel the chunks not started and wait for the workers to end."""
        if self._spawner is not None:
            self._spawner.join()
            self._spawner = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.start_method = ""
        self._job = None
        self._warming = []
        self._spawn_error = None

    def start(self, job: ChunkJob, *, now: bool = False) -> None:
        """Start the workers (with a pool): from a fork server, they import and load the model while the
        first chunk is read; forked (see `_forks`), they start at the first `put` (`now`), with the job
        as it is then.

        `job` is what the workers keep: `put` takes no other, `redo` starts the pool again for another.
        """
        if self.workers == 1 or self._pool is not None:
            return
        self._job = job
        forks = self.fork and _forks(job)
        if forks and not now:
            return
        shutil.rmtree(self.folder, ignore_errors=True)  # left by a run that was killed
        self.folder.mkdir(parents=True)
        n_threads = max(1, (os.cpu_count() or 1) // self.workers)
        if forks:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(job, n_threads, True),
            )
            self.start_method = "fork"
            with warnings.catch_warnings():
                # Python 3.12+ warns of forking a process with threads: see `_forks` for why these are safe
                warnings.filterwarnings(
                    "ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning
                )
                # a fork pool creates every worker at the first submit, here, in this thread
                self._warming = [self._pool.submit(_warm) for _ in range(self.workers)]
            return
        context = multiprocessing.get_context("forkserver")
        # the server imports these once and forks each worker from itself (a spawned worker would take
        # seconds to import them); it never predicts, so forking it is safe for OpenMP
        context.set_forkserver_preload(list(_WORKER_MODULES))
        _start_fork_server()
        # the job is pickled here, before the thread starts: the thread would otherwise pickle it while this
        # one scores the first chunks with the same objects (a cache filled meanwhile breaks the pickling)
        sealed = bytes(ForkingPickler.dumps(job))
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(sealed, n_threads)
        )
        self.start_method = "forkserver"
        # starting a worker waits for the fork server to import (about a second): in a thread, so that this
        # process reads (and scores) the first chunks meanwhile
        self._spawner = threading.Thread(target=self._spawn, name="careleads-pool-start", daemon=True)
        self._spawner.start()

    def _spawn(self) -> None:
        assert self._pool is not None  # set before the thread starts
        try:
            self._warming = [self._pool.submit(_warm) for _ in range(self.workers)]
        except BaseException as exc:  # raised in the main thread by _ready
            self._spawn_error = exc

    def _ready(self) -> bool:
        """Whether the workers have started (once their processes are created)."""
        if self._spawner is not None:
            self._spawner.join()
            self._spawner = None
            if self._spawn_error is not None:
                raise self._spawn_error
        return all(future.done() for future in self._warming)

    def put(self, job: ChunkJob, chunk: Chunk, fraction: float) -> list[_Scored]:
        """Score `chunk`; the chunks now done, in order (with a pool, none until it is full).

        While the workers are still starting (the fork server imports for about a second), this process
        scores the first chunk itself, and any chunk beyond one waiting for each worker, on the CPU the
        start-up leaves idle.
        """
        if self.workers == 1:
            return [(chunk, fraction, job.run(chunk.frame, chunk.rows))]
        self.start(job, now=True)
        if job is not self._job:
            raise RuntimeError("the workers keep the job they started with: change it with redo")
        assert self._pool is not None  # started above
        index = self._n_sent
        self._n_sent += 1
        spawning = self._spawner is not None and self._spawner.is_alive() and not self._pending
        if spawning or (not self._ready() and len(self._pending) >= self.workers):
            self._pending.append((chunk, fraction, index, job.run(chunk.frame, chunk.rows)))
        else:
            write_arrow(chunk.table, self.folder / f"in-{index}.arrow")
            future = self._pool.submit(_score_in_worker, str(self.folder), index, chunk.rows)
            self._pending.append((chunk, fraction, index, future))
        return [self._next() for _ in range(len(self._pending) - self.workers)]

    def redo(self, job: ChunkJob) -> list[_Scored]:
        """Score the chunks in flight again, with `job`; the chunks now done, as `put` gives them.

        For a main process that found, after handing out the first chunk, that the compiled trees differ
        from LightGBM. The pool starts again for `job`: forked workers never call LightGBM.
        """
        in_flight = [(chunk, fraction) for chunk, fraction, _, _ in self._pending]
        self._pending.clear()
        self._stop()
        done: list[_Scored] = []
        for chunk, fraction in in_flight:
            done += self.put(job, chunk, fraction)
        return done

    def drain(self) -> Iterator[_Scored]:
        """The chunks still in flight, in order, as they finish."""
        while self._pending:
            yield self._next()

    def _next(self) -> _Scored:
        chunk, fraction, index, future = self._pending.popleft()
        if isinstance(future, ScoredChunk):  # scored here
            return chunk, fraction, future
        scored = future.result()  # a worker's exception is raised here, as it was raised
        out = self.folder / f"out-{index}.arrow"
        (self.folder / f"in-{index}.arrow").unlink()  # POSIX: a mapped file stays readable while mapped
        # left for the caller to keep as a part or to delete (leaving the `with` block deletes it anyway)
        return chunk, fraction, replace(scored, decisions=read_arrow(out), file=out)
