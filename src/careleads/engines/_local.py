"""Local batch scoring: a lead file streamed in chunks through ingest, scoring and decisions, resumable.

Each chunk of the input (CSV or Parquet) is checked against the data dictionary (bad rows go to a
quarantine file with their reasons), scored by :func:`careleads.scoring.score_leads` (the function the API
uses), routed by :func:`careleads.decisions.decide_many` and written as one part file. Memory holds one
chunk at a time, plus 8 bytes per stored lead for the duplicate check across chunks. With ``workers`` > 1,
a pool of processes scores chunks in parallel (a few chunks in flight) while the main process reads
the input and commits the results in input order, so the output and the restarts are the same.

Crash safety: a part is written under a temporary name and renamed when complete; then a small JSON
checkpoint (rows consumed, parts committed) is replaced atomically. A restarted run deletes any part the
checkpoint does not list, skips the rows the checkpoint counts and goes on, so a kill at any moment neither
skips nor duplicates a lead. The output is either a folder of parts (``part-00000.parquet`` ..., then
``_SUCCESS``) or, when the output path ends in ``.parquet`` or ``.csv``, one file: a Parquet file is written
as the chunks are committed (its parts are then Arrow files, kept only for a restart), a CSV file is
assembled from the parts at the end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from careleads.decisions import HardRules, Routing
from careleads.dictionary import (
    FLAGGED_COLUMNS,
    SAMPLE_BYTES,
    Dictionary,
    TableSpec,
    decode_sample,
    ingest_file,
    ingest_table,
    load_dictionary,
    match_columns,
    repeats_values,
    sniff_delimiter,
)
from careleads.engines._chunks import (
    DEFAULT_CHUNK_ROWS,
    REASONS_COST,
    TRIAGE_COLUMN,
    Chunk,
    EventLookup,
    ScoredChunk,
    ScoringOptions,
    SeenKeys,
    drop_repeats,
    empty_output,
    hash_keys,
    to_arrow,
)
from careleads.engines._files import PartFormat, parquet_options, write_atomic, write_part
from careleads.engines._pool import IN_FLIGHT_FOLDER, ChunkJob, ChunkQueue, read_arrow
from careleads.engines._quarantine import alarm_notes, gather_parts, report_chunk
from careleads.errors import InputError
from careleads.models import LeadModel
from careleads.scoring import Scorer
from careleads.types import PathLikeStr

logger = logging.getLogger(__name__)

OutputFormat = Literal["parquet", "csv"]
CHECKPOINT_FILE = "_checkpoint.json"
SUCCESS_FILE = "_SUCCESS"
QUARANTINE_FOLDER = "_quarantine"
FLAGGED_FOLDER = "_flagged"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch run is: share of the input done and the rows so far."""

    fraction: float
    n_read: int
    n_scored: int
    n_quarantined: int


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    n_read, n_scored, n_quarantined : int
        Data rows read; leads scored (one decision each); rows quarantined. ``n_scored + n_quarantined ==
        n_read`` always holds.
    n_chunks, n_chunks_resumed : int
        Chunks in the output, and how many of them an earlier, interrupted run had already committed.
    predictor : str
        ``"lleaves"`` (compiled trees) or ``"lightgbm"``.
    """

    input_path: str
    out_path: str
    quarantine_path: str
    engine: str
    fmt: str
    n_read: int
    n_scored: int
    n_quarantined: int
    n_chunks: int
    n_chunks_resumed: int
    seconds: float
    predictor: str
    model_version: str
    decisions: bool
    n_reasons: int
    notes: list[str] = field(default_factory=list)
    flagged_path: str = ""
    n_flagged: int = 0
    n_quarantined_alarming: int = 0

    @property
    def leads_per_second(self) -> float:
        return self.n_read / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["leads_per_second"] = round(self.leads_per_second, 1)
        return out


# ----------------------------------------------------------------------------------------- reading

_DICTIONARY_VALUES = 256  # a chunk's dictionary column keeps at least this many values as a dictionary
CHECKED_LEADS = 2_000  # the first leads of a run, on which compiled trees are compared with LightGBM


class Reader:
    """Raw chunks of exactly `chunk_rows` rows (the last one shorter), as text (CSV) or stored types."""

    def __init__(self, path: Path, dictionary: Dictionary, *, decisions: bool, model: Scorer) -> None:
        self.path = path
        self.is_parquet = _is_parquet(path)
        self._malformed: list[tuple[int, str]] = []
        if self.is_parquet:
            try:
                self._file = pq.ParquetFile(path)
            except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
                raise InputError(f"{path}: not a readable Parquet file ({exc}); export it again") from exc
            self.columns = list(self._file.schema_arrow.names)
            self.total = int(self._file.metadata.num_rows)
            self.row_groups: int | None = int(self._file.metadata.num_row_groups)
        else:
            with path.open("rb") as handle:
                head = handle.read(SAMPLE_BYTES)
            if not head.strip():
                raise InputError(f"{path}: the file is empty; export the table again, with its header row")
            encoding, sample = decode_sample(path, head)
            self.delimiter = sniff_delimiter(sample, truncated=len(head) == SAMPLE_BYTES)
            self.encoding = "utf8" if encoding == "utf-8-sig" else encoding
            header = next(csv.reader(io.StringIO(sample.lstrip("\ufeff")), delimiter=self.delimiter), [])
            self.columns = [str(c) for c in header]
            self.total = path.stat().st_size
            self.row_groups = None  # a CSV file has none
        table = dictionary.table("leads")
        mapping = match_columns(self.columns, table, path.name)
        self.read_columns = self.columns if decisions else model_columns(self.columns, mapping, model, table)
        if self.is_parquet:
            # text columns of fields whose values repeat come as dictionary arrays: a Parquet file usually
            # stores them so, and reading them without writing out every row's text takes half the time
            # and hands ingest their distinct values (see `repeats_values`)
            schema = self._file.schema_arrow
            repeating = [
                column
                for column in self.read_columns
                if column in mapping
                and repeats_values(table.field(mapping[column]))
                and (
                    pa.types.is_string(schema.field(column).type)
                    or pa.types.is_large_string(schema.field(column).type)
                )
            ]
            if repeating:
                self._file = pq.ParquetFile(path, read_dictionary=repeating)

    def fraction(self, handle: Any) -> float:
        if self.is_parquet or handle is None:
            return 0.0
        return min(1.0, float(handle.tell()) / max(self.total, 1))

    def _batches(self, rows: int) -> Iterator[tuple[pa.RecordBatch, Any]]:
        if self.is_parquet:
            # a chunk's rows in one batch: the first chunk is ready as soon as they are decoded
            batches = self._file.iter_batches(batch_size=min(rows, 1 << 20), columns=self.read_columns)
            for batch in batches:
                yield batch, None
            return

        def invalid(row: Any) -> str:
            self._malformed.append((int(row.number or -1), str(row.text)))
            return "skip"

        with self.path.open("rb") as handle:
            reader = pacsv.open_csv(
                handle,
                read_options=pacsv.ReadOptions(
                    encoding=self.encoding, block_size=8 << 20, use_threads=False
                ),  # one thread: the parser then reports line numbers of malformed lines
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(self.columns, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                    include_columns=self.read_columns,
                ),
            )
            for batch in reader:
                yield batch, handle

    def chunks(self, chunk_rows: int) -> Iterator[tuple[Chunk, float]]:
        """Chunks in file order; rows are numbered as in a spreadsheet (header = row 1)."""
        pending: list[pa.RecordBatch] = []
        n_pending = 0
        n_done = 0
        n_malformed_used = 0
        handle = None
        for batch, handle in self._batches(chunk_rows):
            pending.append(batch)
            n_pending += batch.num_rows
            while n_pending >= chunk_rows:
                table = _one_dictionary(pa.Table.from_batches(pending))
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                chunk, n_malformed_used = self._make(head, n_done, n_malformed_used, last=False)
                n_done += chunk_rows
                pending, n_pending = rest.to_batches(), rest.num_rows
                yield chunk, self.fraction(handle) if not self.is_parquet else n_done / max(self.total, 1)
        table = _one_dictionary(pa.Table.from_batches(pending)) if pending else None
        if table is not None and table.num_rows or len(self._malformed) > n_malformed_used:
            if table is None:
                table = pa.table({c: pa.array([], type=pa.string()) for c in self.read_columns})
            chunk, n_malformed_used = self._make(table, n_done, n_malformed_used, last=True)
            yield chunk, 1.0

    def _make(self, table: pa.Table, first: int, n_used: int, *, last: bool) -> tuple[Chunk, int]:
        delivered = np.arange(first, first + table.num_rows, dtype=np.int64)
        lines = np.asarray(sorted(n for n, _ in self._malformed), dtype=np.int64)
        # a delivered row sits after every malformed line that precedes it: shift its number by their count
        shift = np.searchsorted(lines - np.arange(len(lines)) - 2, delivered, side="right")
        rows = delivered + 2 + shift
        # malformed lines up to this chunk's last row belong to it; the last chunk takes all that remain
        last_row = 2**62 if last else (int(rows[-1]) if len(rows) else 0)
        ordered = sorted(self._malformed)
        mine = [(n, t) for n, t in ordered[n_used:] if n <= last_row]
        malformed = pd.DataFrame(
            {
                "_source": pd.array([self.path.name] * len(mine), dtype="string"),
                "_row": np.asarray([n for n, _ in mine], dtype=np.int64),
                "_field": pd.array([""] * len(mine), dtype="string"),
                "_reason": pd.array(
                    [f"malformed line: expected {len(self.columns)} fields: {t[:200]}" for _, t in mine],
                    dtype="string",
                ),
            }
        )
        return Chunk(table=table, rows=rows, malformed=malformed), n_used + len(mine)


def _one_dictionary(table: pa.Table) -> pa.Table:
    """`table` with one dictionary per dictionary column, and large dictionaries written out as text.

    Batches of two row groups have two dictionaries; an Arrow IPC file, in which a chunk goes to a pool
    worker, takes one. A Parquet dictionary covers a whole row group: one with many values (postal codes,
    say) costs more to hand over and to turn into pandas categories than hashing the chunk's text does.
    """
    if not any(pa.types.is_dictionary(column.type) for column in table.columns):
        return table
    table = table.unify_dictionaries()
    largest = max(_DICTIONARY_VALUES, table.num_rows // 16)
    for k, column in enumerate(table.columns):
        if (
            pa.types.is_dictionary(column.type)
            and column.num_chunks
            and len(column.chunk(0).dictionary) > largest
        ):
            table = table.set_column(k, table.field(k).name, column.cast(column.type.value_type))
    return table


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return True
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def model_columns(
    columns: Sequence[str], mapping: dict[str, str], model: Scorer, table: TableSpec
) -> list[str]:
    """Input columns needed to score (model fields, key, time, required fields); the rest is not read."""
    spec = model.spec
    wanted = {*spec.categorical, *spec.numeric, *spec.boolean, *spec.presence, spec.key, spec.time_column}
    wanted.add("do_not_profile")
    wanted.update(f.name for f in table.fields if f.required)
    return [c for c in columns if c in mapping and mapping[c] in wanted]


# ----------------------------------------------------------------------------------------- the run


def _read_part(path: Path) -> pa.Table:
    """A Parquet or Arrow part (an interrupted run of an earlier version may have left Parquet parts)."""
    return read_arrow(path) if path.suffix == ".arrow" else pq.read_table(path)


class _OutputFile:
    """The single Parquet output, assembled as the run goes: each committed chunk is appended at once.

    Written under a temporary name and renamed by `_finish_run`; a restarted run writes it again from the
    committed parts, then goes on appending.
    """

    def __init__(self, layout: _Layout) -> None:
        self.tmp = layout.work / f".{layout.out.name}.tmp"  # beside the parts: a crash leaves nothing else
        self._writer: pq.ParquetWriter | None = None

    def add(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, table.schema, **parquet_options(table.schema))
        self._writer.write_table(table.cast(self._writer.schema))

    def close(self) -> Path:
        """Finish the file (an empty table when no chunk was committed); its temporary path."""
        if self._writer is None:
            empty = to_arrow(empty_output())
            pq.write_table(empty, self.tmp, **parquet_options(empty.schema))
        self.release()
        return self.tmp

    def release(self) -> None:
        """Close the file if it is open (after an error: a restart writes it again)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _input_identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass
class _Layout:
    out: Path
    single: bool
    fmt: OutputFormat
    work: Path
    quarantine_path: Path

    @property
    def flagged_path(self) -> Path:
        """The list of values the dictionary could not read on scored rows (file, row, field, value, what
        to do): beside the quarantine file."""
        return self.quarantine_path.with_name(
            self.quarantine_path.name.replace("quarantine", "flagged").lstrip("_")
            if self.single
            else "_flagged.csv"
        )

    @classmethod
    def of(cls, out: Path, fmt: OutputFormat | None) -> _Layout:
        suffix = out.suffix.lower()
        if suffix in (".parquet", ".csv"):
            kind: OutputFormat = "parquet" if suffix == ".parquet" else "csv"
            if fmt is not None and fmt != kind:
                raise InputError(f"{out}: the name says {kind} but the format asked is {fmt}; pick one")
            work = out.with_name(out.name + ".parts")
            return cls(out, True, kind, work, out.with_name(out.stem + ".quarantine.csv"))
        return cls(out, False, fmt or "parquet", out, out / "_quarantine.csv")

    @property
    def part_fmt(self) -> PartFormat:
        """Parts of one Parquet file are Arrow files: cheap to write and read, encoded once, at the end."""
        return "arrow" if self.single and self.fmt == "parquet" else self.fmt

    def part(self, index: int) -> Path:
        return self.work / f"part-{index:05d}.{self.part_fmt}"

    def quarantine_part(self, index: int) -> Path:
        return self.work / QUARANTINE_FOLDER / f"part-{index:05d}.csv"


def _read_keys(path: Path) -> pd.Series:
    if path.suffix == ".arrow":
        column = read_arrow(path).column("lead_id")
    elif path.suffix == ".parquet":
        column = pq.read_table(path, columns=["lead_id"]).column(0)
    else:
        column = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(include_columns=["lead_id"], strings_can_be_null=False)
        ).column(0)
    return pd.Series(column.to_pandas(), dtype="string")


def score_file(
    input_path: PathLikeStr,
    *,
    model: Scorer,
    out_path: PathLikeStr,
    chunk_rows: int | None = None,
    events_path: PathLikeStr | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    fmt: OutputFormat | None = None,
    n_reasons: int = 0,
    decisions: bool = True,
    compiled: bool | None = None,
    dictionary: Dictionary | None = None,
    overwrite: bool = False,
    decided_at: str | None = None,
    hook: Callable[[str, int], None] | None = None,
    workers: int = 1,
    hard_rules: HardRules | None = None,
    routing: Routing | None = None,
    quarantine_values: bool = False,
    as_of_hours: float | None = None,
) -> BatchSummary:
    """Score a lead file (CSV or Parquet) in chunks to Parquet or CSV, with constant memory; resumable.

    Parameters
    ----------
    input_path : path
        Leads as exported (any column names the dictionary knows); CSV (delimiter and encoding detected)
        or Parquet.
    model : LeadModel or RulesBaseline
        The model that scores (see `ModelRegistry.load`), or the rule baseline
        (:func:`careleads.scoring.rules_baseline`) where no model is published.
    out_path : path
        ``*.parquet`` or ``*.csv``: one file; anything else: a folder of part files with ``_SUCCESS``.
        Quarantined rows go to ``<out stem>.quarantine.csv`` (one file) or ``<out>/_quarantine.csv``.
    chunk_rows : int, optional
        Leads per chunk; memory grows with this, never with the input. Default: 200,000, shared among the
        workers (100,000 with two: smaller chunks keep both busy to the end of the file), and ten times
        fewer with `n_reasons` (reasons cost about ten times the score).
    events_path : path, optional
        Events of these leads (CSV or Parquet); read whole, then each chunk takes its own. Without it,
        leads are scored cold (creation-time signals only).
    progress : callable, optional
        Called after each chunk with a `BatchProgress`.
    fmt : "parquet" or "csv", optional
        Format of a folder output (default Parquet); a file output takes it from its suffix.
    n_reasons : int
        Reason codes per lead (SHAP values from LightGBM: about ten times the cost of the score). 0 leaves
        ``reasons`` empty.
    decisions : bool
        Apply hard rules and routing (:func:`careleads.decisions.decide_many`): overrides, route fields and
        review flag; the whole input row is then read and checked. Owner assignment is left to the work
        queue. Without decisions only the columns the model reads are read and checked.
    compiled : bool, optional
        Score with trees compiled by lleaves (checked against LightGBM to 1e-9 on the first chunk).
        Default: when lleaves is installed.
    dictionary : Dictionary, optional
        Default: the shipped dictionary.
    overwrite : bool
        Replace a finished output at `out_path`.
    decided_at : str, optional
        Decision time (ISO 8601, local clock) for SLA due times; default: when the run starts. A resumed
        run keeps the time of the run it resumes.
    hook : callable, optional
        ``hook(stage, chunk)`` with stage ``"part_written"`` (part renamed, checkpoint not yet written) or
        ``"checkpointed"``; for tests that interrupt a run.
    workers : int
        Processes that score chunks in parallel (1: this process alone). The main process still reads the
        input and commits the chunks one by one in input order, so the output and a restart are the same
        whatever the number; memory grows with it (about ``workers + 1`` chunks in flight, and one
        model per process). The Spark engine has its own executors. Workers import the calling script
        as multiprocessing's spawn does, so a script calling this needs the usual
        ``if __name__ == "__main__":`` guard.
    hard_rules, routing : optional
        The rules that decide (default: the shipped ``hard_rules.yaml`` and ``routing.yaml``).
    quarantine_values : bool
        Keep each quarantined row's values in the quarantine file (names, contact details, messages: only
        when the operator asks). Default: only the row number, field, reason and triage level. The
        quarantine and flagged files are readable by their owner only (0600) either way.
    as_of_hours : float, optional
        Score every lead this many hours after its creation, with its events up to then. Default: at its
        arrival without `events_path`, at the model's scoring moment with it.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        When the input is unreadable, lacks required columns, or the output holds another run.
    """
    from careleads.engines._compiled import TOLERANCE, compile_trees, compiled_matches, lleaves_available

    start = time.perf_counter()
    if chunk_rows is None:
        # reasons cost about ten times the score: chunks ten times smaller keep each chunk's time, and the
        # progress bar moving, as without them
        per_chunk = DEFAULT_CHUNK_ROWS // (REASONS_COST if n_reasons else 1)
        chunk_rows = max(1, per_chunk // max(workers, 1))
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be 1 or more, got {chunk_rows}")
    if workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    source = Path(input_path)
    if not source.is_file():
        raise InputError(f"{source}: no such file; give the path of a CSV or Parquet lead file")
    layout = _Layout.of(Path(out_path), fmt)
    dictionary = dictionary or load_dictionary()
    reader = Reader(source, dictionary, decisions=decisions, model=model)
    state = _open_run(
        layout,
        source,
        model,
        overwrite=overwrite,
        n_reasons=n_reasons,
        decisions=decisions,
        as_of_hours=as_of_hours,
    )
    if decided_at is not None and not state["parts"]:
        state["decided_at"] = pd.Timestamp(decided_at).isoformat()
    state.setdefault("chunk_rows", chunk_rows)
    options = ScoringOptions(
        n_reasons=n_reasons,
        decisions=decisions,
        decided_at=state["decided_at"],
        categorical=True,
        hard_rules=hard_rules,
        routing=routing,
        as_of_hours=as_of_hours,
    )
    notes: list[str] = []
    events = None
    if events_path is not None:
        events_result = ingest_file(events_path, dictionary, "events")
        if events_result.summary.n_quarantined:
            path = layout.quarantine_path.with_name(layout.quarantine_path.stem + ".events.csv")
            events_result.quarantine.to_csv(path, index=False)
            notes.append(f"{events_result.summary.n_quarantined} event rows quarantined: {path}")
        events = EventLookup(events_result.clean)

    seen = SeenKeys()
    for part in state["parts"]:
        seen.add(hash_keys(_read_keys(layout.work / part["name"])))
    n_resumed = len(state["parts"])
    use_compiled = isinstance(model, LeadModel) and (lleaves_available() if compiled is None else compiled)
    scorer_model = model
    predictor = "lightgbm"
    if use_compiled:
        assert isinstance(model, LeadModel)
        scorer_model = compile_trees(model)
        predictor = "lleaves"
    checked = not use_compiled

    if state["chunk_rows"] != chunk_rows:
        notes.append(f"resumed with the interrupted run's chunk size, {state['chunk_rows']} rows")
        chunk_rows = int(state["chunk_rows"])
    rows_to_skip = int(state["rows_read"])

    def commit(chunk: Chunk, fraction: float, scored: ScoredChunk[pa.Table]) -> None:
        """Drop repeats of earlier chunks, write the part and its quarantine, then the checkpoint."""
        result = drop_repeats(
            scored, seen, raw=lambda: chunk.frame, rows=chunk.rows, key=model.spec.key, source=source.name
        )
        index = len(state["parts"])
        quarantine = pd.concat([result.quarantine, chunk.malformed], ignore_index=True)
        name = layout.part(index).name
        if result is scored and scored.file is not None and layout.part_fmt == "arrow":
            os.replace(scored.file, layout.part(index))  # the worker's file holds these very decisions
        else:
            write_part(result.decisions, layout.part(index), layout.part_fmt)
            if scored.file is not None:
                scored.file.unlink()
        report_chunk(
            quarantine,
            result.flagged,
            state,
            files=(layout.quarantine_part(index), layout.work / FLAGGED_FOLDER / f"part-{index:05d}.csv"),
            dictionary=dictionary,
            keep_values=quarantine_values,
        )
        if hook is not None:
            hook("part_written", index)
        n_scored = result.decisions.num_rows
        state["parts"].append({"name": name, "rows": n_scored, "quarantined": len(quarantine)})
        state["rows_read"] += result.n_read
        state["n_read"] += result.n_read + len(chunk.malformed)
        state["n_scored"] += n_scored
        state["n_quarantined"] += len(quarantine)
        write_atomic(layout.work / CHECKPOINT_FILE, json.dumps(state, indent=1).encode("utf-8"))
        if hook is not None:
            hook("checkpointed", index)
        if output is not None:
            output.add(result.decisions)
        logger.info("chunk %d: %d scored, %d quarantined", index, n_scored, len(quarantine))
        if progress is not None:
            progress(BatchProgress(fraction, state["n_read"], state["n_scored"], state["n_quarantined"]))

    output = _OutputFile(layout) if layout.part_fmt == "arrow" else None
    job = ChunkJob(
        model=scorer_model,
        dictionary=dictionary,
        source=source.name,
        options=options,
        events=events,
        compiled=use_compiled,
    )

    def trees_match(chunk: Chunk) -> bool:
        """Whether compiled trees score the chunk's first leads as LightGBM does; if not, use LightGBM."""
        nonlocal job, predictor
        sample = sample_features(
            model, chunk.table.slice(0, CHECKED_LEADS).to_pandas(), dictionary, source.name
        )
        assert isinstance(scorer_model, LeadModel) and isinstance(model, LeadModel)
        gap = compiled_matches(scorer_model, model, sample) if sample is not None else 0.0
        if gap <= TOLERANCE:
            return True
        notes.append(f"compiled trees differ from LightGBM by {gap:.2e}; scoring with LightGBM")
        predictor = "lightgbm"
        job = replace(job, model=model, compiled=False)
        return False

    if workers > 1 and reader.is_parquet and reader.total - int(state["rows_read"]) <= chunk_rows:
        workers = 1  # what is left fits one chunk: a pool would only add its start-up
    with ChunkQueue(workers, layout.work / IN_FLIGHT_FOLDER) as queue, contextlib.ExitStack() as stack:
        queue.start(job)  # with a pool, the workers load while the first chunk is read
        if output is not None:
            stack.callback(output.release)  # on an error too: no open file is left behind
            for part in state["parts"]:  # committed by an interrupted run
                output.add(_read_part(layout.work / part["name"]))
        for chunk, fraction in reader.chunks(chunk_rows):
            if rows_to_skip > 0:
                # committed by an earlier run (same chunk size, so chunks line up)
                rows_to_skip -= chunk.table.num_rows
                continue
            check = not checked and chunk.table.num_rows > 0
            checked = checked or check
            if check and workers == 1:  # this process scores the chunk at once: check first
                trees_match(chunk)
            finished = queue.put(job, chunk, fraction)
            # with a pool, the workers score the first chunk while this process checks; if the trees
            # differ, they score it again with LightGBM
            if check and workers > 1 and not trees_match(chunk):
                finished = queue.redo(job)
            for done in finished:
                commit(*done)
        for done in queue.drain():
            commit(*done)
        assembled = output.close() if output is not None else None

    _finish_run(layout, state, reader.read_columns, assembled=assembled)
    return BatchSummary(
        input_path=str(source),
        out_path=str(layout.out),
        quarantine_path=str(layout.quarantine_path),
        engine="local",
        fmt=layout.fmt,
        n_read=int(state["n_read"]),
        n_scored=int(state["n_scored"]),
        n_quarantined=int(state["n_quarantined"]),
        n_chunks=len(state["parts"]),
        n_chunks_resumed=n_resumed,
        seconds=time.perf_counter() - start,
        predictor=predictor,
        model_version=model.version,
        decisions=decisions,
        n_reasons=n_reasons,
        notes=[*notes, *alarm_notes(state, layout.quarantine_path)],
        flagged_path=str(layout.flagged_path),
        n_flagged=int(state.get("n_flagged", 0)),
        n_quarantined_alarming=int(state.get("n_alarming", 0)),
    )


def sample_features(model: Scorer, raw: pd.DataFrame, dictionary: Dictionary, source: str) -> Any:
    from careleads.features import build_features

    clean = ingest_table(raw.head(CHECKED_LEADS), dictionary, "leads", source=source).clean
    if not len(clean):
        return None
    when = pd.to_datetime(clean[model.spec.time_column]) + model.target.as_of_offset
    empty = pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "event_type": pd.Series(dtype="string"),
        }
    )
    return build_features(clean, empty, when, model.spec)


def _open_run(
    layout: _Layout,
    source: Path,
    model: Scorer,
    *,
    overwrite: bool,
    n_reasons: int,
    decisions: bool,
    as_of_hours: float | None,
) -> dict[str, Any]:
    """Start a run, or pick up an interrupted one from its checkpoint (removing uncommitted parts)."""
    identity = _input_identity(source)
    checkpoint = layout.work / CHECKPOINT_FILE
    finished = layout.out.exists() and (layout.single or (layout.out / SUCCESS_FILE).exists())
    if finished and not checkpoint.exists():
        if not overwrite:
            raise InputError(
                f"{layout.out} already holds a finished run; remove it, choose another output or overwrite"
            )
        if layout.out.is_dir():
            shutil.rmtree(layout.out)
        else:
            layout.out.unlink()
    settings = {
        "model_version": model.version,
        "n_reasons": n_reasons,
        "decisions": decisions,
        "as_of_hours": as_of_hours,
    }
    if checkpoint.exists():
        state: dict[str, Any] = json.loads(checkpoint.read_text(encoding="utf-8"))
        if state.get("input") != identity or state.get("settings") != settings:
            raise InputError(
                f"{layout.work} holds an interrupted run of another input, model or settings "
                f"({state.get('input', {}).get('path')}, {state.get('settings')}); remove it to start afresh"
            )
        committed = {p["name"] for p in state["parts"]}
        for path in layout.work.glob("part-*"):
            if path.name not in committed:
                path.unlink()  # written by a run killed before its checkpoint: it will be redone
        chunks = {Path(name).stem for name in committed}  # "part-00003": a chunk's quarantine has its number
        for path in (layout.work / QUARANTINE_FOLDER).glob("part-*"):
            if path.stem not in chunks:
                path.unlink()
        logger.info("resuming after %d committed chunks (%d rows)", len(committed), state["rows_read"])
        return state
    if layout.work.exists() and any(layout.work.iterdir()):
        raise InputError(f"{layout.work} holds no interrupted careleads run; choose another output")
    (layout.work / QUARANTINE_FOLDER).mkdir(parents=True, exist_ok=True)
    state = {
        "version": CHECKPOINT_VERSION,
        "input": identity,
        "settings": settings,
        "decided_at": pd.Timestamp.now().floor("s").isoformat(),
        "rows_read": 0,
        "n_read": 0,
        "n_scored": 0,
        "n_quarantined": 0,
        "parts": [],
    }
    write_atomic(checkpoint, json.dumps(state, indent=1).encode("utf-8"))
    return state


def _finish_run(
    layout: _Layout, state: dict[str, Any], columns: Sequence[str], *, assembled: Path | None = None
) -> None:
    """Gather quarantine parts into one file; assemble a single output file; mark the run done.

    `assembled`: the single Parquet output, already written as the chunks were committed.
    """
    parts = [layout.work / p["name"] for p in state["parts"]]
    quarantine_tmp = layout.quarantine_path.with_name(f".{layout.quarantine_path.name}.tmp")
    gather_parts(
        sorted((layout.work / QUARANTINE_FOLDER).glob("part-*.csv")),
        quarantine_tmp,
        ["_source", "_row", "_field", "_reason", TRIAGE_COLUMN, *columns],
    )
    flagged_parts = sorted((layout.work / FLAGGED_FOLDER).glob("part-*.csv"))
    gather_parts(flagged_parts, layout.flagged_path, FLAGGED_COLUMNS)
    if layout.single:
        tmp = layout.out.with_name(f".{layout.out.name}.tmp")
        if layout.fmt == "parquet":
            if assembled is None:
                output = _OutputFile(layout)
                for path in parts:
                    output.add(_read_part(path))
                assembled = output.close()
            tmp = assembled
        else:
            with tmp.open("wb") as target:
                for i, path in enumerate(parts):
                    with path.open("rb") as part:
                        if i:
                            part.readline()
                        shutil.copyfileobj(part, target)
        os.replace(quarantine_tmp, layout.quarantine_path)
        os.replace(tmp, layout.out)
        shutil.rmtree(layout.work)
    else:
        os.replace(quarantine_tmp, layout.quarantine_path)
        shutil.rmtree(layout.work / QUARANTINE_FOLDER, ignore_errors=True)
        shutil.rmtree(layout.work / FLAGGED_FOLDER, ignore_errors=True)
        summary = {k: state[k] for k in ("n_read", "n_scored", "n_quarantined", "settings", "decided_at")}
        write_atomic(layout.out / SUCCESS_FILE, json.dumps(summary, indent=1).encode("utf-8"))
        (layout.work / CHECKPOINT_FILE).unlink()


def read_scores(path: PathLikeStr) -> pd.DataFrame:
    """Read the output of a batch run (one file or a folder of parts) as one frame, in input order."""
    out = Path(path)
    if out.is_dir():
        parts = sorted(out.glob("part-*"))
        if not parts:
            return empty_output()
        if parts[0].suffix == ".csv":
            return pd.concat([pd.read_csv(p, dtype={"lead_id": "string"}) for p in parts], ignore_index=True)
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    if out.suffix.lower() == ".csv":
        return pd.read_csv(out, dtype={"lead_id": "string"})
    return pd.read_parquet(out)
