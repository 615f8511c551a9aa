"""One chunk of a batch run: ingest, score and decide it, and drop leads an earlier chunk stored.

Shared by the local engine (in its own process or in pool workers, :mod:`careleads.engines._pool`) and the
Spark engine, so that every engine gives the same decisions lead for lead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Generic, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.decisions import HardRules, Routing, TextFields
from careleads.dictionary import Dictionary, empty_flagged, ingest_table
from careleads.scoring import Scorer, score_leads
from careleads.text import default_detector, reading_once

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 200_000  # leads per chunk (local: shared among the workers of a pool; Spark: per batch)
REASONS_COST = (
    10  # reason codes (SHAP values) cost about this many times the score: default chunks are smaller
)
# Decision fields that depend on the whole work queue, not on the lead: owners are assigned when leads
# enter the queue, so a batch file does not carry them (and chunked output equals one-shot output).
_QUEUE_FIELDS = ("route_owner", "route_assignment")
_STRING = pa.string()
OUTPUT_TYPES: dict[str, pa.DataType] = {
    "lead_id": _STRING,
    "as_of": pa.timestamp("us"),
    "probability": pa.float64(),
    "score": pa.int64(),
    "tier": _STRING,
    "action": _STRING,
    "reasons": _STRING,
    "scored_by": _STRING,
    "model_version": _STRING,
    "review_required": pa.bool_(),
    "urgent_review": pa.bool_(),
    "triage": _STRING,
    "overrides": _STRING,
    "notes": _STRING,
    "route_name": _STRING,
    "route_kind": _STRING,
    "route_queue": _STRING,
    "route_call_script": _STRING,
    "route_intake_form": _STRING,
    "route_sla_hours": pa.float64(),
    "route_sla_due": _STRING,
    "route_nurture_track": _STRING,
    "route_channels": _STRING,
    "rules_version": _STRING,
    "routing_version": _STRING,
    "intent": _STRING,
    "intent_probability": pa.float64(),
}
SCORE_COLUMNS: tuple[str, ...] = tuple(list(OUTPUT_TYPES)[:9])
# output columns whose value nearly every lead has on its own: no dictionary for them
PER_LEAD_COLUMNS = ("lead_id", "as_of")


# ----------------------------------------------------------------------------------------- one chunk


@dataclass(frozen=True)
class ScoringOptions:
    """How each chunk is scored; the same for the local and the Spark engine."""

    n_reasons: int = 0
    decisions: bool = True
    decided_at: str = ""  # the decision time for SLA due times, fixed for a whole run (and its restarts)
    # decision texts as categoricals, written as Arrow dictionaries (the local engine; Spark takes plain text)
    categorical: bool = False
    # the hard rules and routing that decide (default: the shipped files); a service passes its own
    hard_rules: HardRules | None = None
    routing: Routing | None = None
    # score each lead this many hours after its creation; None: at arrival without events, else at the
    # model's scoring moment (careleads.scoring.default_offset)
    as_of_hours: float | None = None


class EventLookup:
    """Ingested events, indexed once so each chunk takes its leads' events without a join on all of them."""

    def __init__(self, events: pd.DataFrame) -> None:
        self.events = events.reset_index(drop=True)
        codes, uniques = pd.factorize(self.events["lead_id"].astype("string"), use_na_sentinel=True)
        self._codes = codes
        self._leads = pd.Index(uniques)

    def for_leads(self, lead_ids: pd.Series) -> pd.DataFrame:
        position = self._leads.get_indexer(pd.Index(lead_ids.astype("string")))
        wanted = np.zeros(len(self._leads) + 1, dtype=bool)
        wanted[position[position >= 0]] = True
        # code -1 (missing lead id) maps to the last, never-wanted slot
        return self.events.loc[wanted[self._codes]]


def to_arrow(frame: pd.DataFrame, *, dictionaries: bool = True) -> pa.Table:
    """Decisions as an Arrow table with fixed types (every part of a run has the same schema).

    Text columns other than the lead id (`PER_LEAD_COLUMNS`) are dictionaries of their distinct values (a
    chunk has a few dozen tiers, actions or routes): the hand-over from a worker is a fraction of the size,
    and the Parquet writer encodes each from its dictionary. Files written from them read back as plain
    text (see `careleads.engines._files.parquet_options`). `dictionaries=False`: every text column as plain
    text (what Spark takes).
    """
    arrays = []
    names = []
    for name in frame.columns:
        kind = OUTPUT_TYPES.get(str(name), _STRING)
        column = frame[name]
        if kind == _STRING and dictionaries and name not in PER_LEAD_COLUMNS:
            arrays.append(_dictionary_array(column))
        elif kind == _STRING:
            arrays.append(pa.array(column.astype("string"), type=_STRING, from_pandas=True))
        elif kind == pa.timestamp("us"):
            arrays.append(pa.array(pd.to_datetime(column).astype("datetime64[us]").to_numpy(), type=kind))
        elif kind == pa.bool_():
            arrays.append(pa.array(column.astype("boolean"), type=kind, from_pandas=True))
        elif kind == pa.int64():
            arrays.append(pa.array(column.to_numpy(dtype=np.int64), type=kind))
        else:
            arrays.append(pa.array(pd.to_numeric(column).to_numpy(dtype=np.float64), type=kind))
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def _dictionary_array(column: pd.Series) -> pa.DictionaryArray:
    """A text column as an Arrow dictionary array; a categorical one from its codes, without hashing."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        text = pa.array(column.astype("string"), type=_STRING, from_pandas=True)
        encoded: pa.DictionaryArray = pc.dictionary_encode(text)  # int32 indices, as below
        return encoded
    codes = column.cat.codes.to_numpy().astype(np.int32)
    categories = pa.array(column.cat.categories.astype(object).to_numpy(), type=_STRING)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), categories)


def decide_chunk(
    model: Scorer,
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    options: ScoringOptions,
    text_fields: TextFields | None = None,
) -> pd.DataFrame:
    """Score clean leads and, when asked, decide their paths: the decision fields of the API, one row each.

    Parameters
    ----------
    model : LeadModel or RulesBaseline
        The scorer (a model, possibly with compiled trees, or the rule baseline of a new install).
    leads : DataFrame
        Clean (ingested) leads.
    events : DataFrame or None
        Their events (None: each lead scored as at its arrival).
    options : ScoringOptions
        Reason codes per lead, whether to route, and the decision time.
    text_fields : TextFields, optional
        The free-text fields of leads and events, all triaged (default: the shipped dictionary's).

    Returns
    -------
    DataFrame
        ``SCORE_COLUMNS`` and, with decisions, the override and route fields (owner assignment excluded).
    """
    if len(leads) == 0:  # every row of the chunk was quarantined: nothing to score
        return empty_output(options.decisions)
    after = None if options.as_of_hours is None else pd.Timedelta(hours=options.as_of_hours)
    with reading_once():  # the scoring's text features and the decision's intent read each message once
        scored = score_leads(model, leads, events, n_reasons=options.n_reasons, after_arrival=after)
        if not options.decisions:
            return scored
        from careleads.decisions import decide_columns, intent_model_for

        # the columns of decisions_frame(decide_many(...)) a batch file records, without per-lead objects
        decided = decide_columns(
            leads,
            scored,
            hard_rules=options.hard_rules,
            routing=options.routing,
            now=options.decided_at or None,
            categorical=options.categorical,
            intent_model=intent_model_for(model),
            events=events,
            text_fields=text_fields,
        )
    # `.array`: row for row as `.to_numpy()`, without turning text into Python objects and back
    columns = {name: scored[name].array for name in scored.columns}
    columns["action"] = decided["action"].array  # an override or consent rule may change the path
    for name in decided.columns:
        if name not in columns and name not in _QUEUE_FIELDS:
            columns[name] = decided[name].array
    order = [c for c in OUTPUT_TYPES if c in columns]
    return pd.DataFrame(
        {name: columns[name] for name in order + [c for c in columns if c not in OUTPUT_TYPES]}
    )


def hash_keys(keys: pd.Series) -> npt.NDArray[np.uint64]:
    # keys are (nearly) all distinct: hashed directly, not through their distinct values (the same hashes)
    hashed = pd.util.hash_pandas_object(keys.astype("string"), index=False, categorize=False)
    return np.asarray(hashed.to_numpy(dtype=np.uint64), dtype=np.uint64)


class SeenKeys:
    """Lead keys already stored in this run, as sorted 64-bit hashes (8 bytes a lead).

    A chance collision of two different ids has probability about n^2 / 2^65 (3e-6 for ten million leads);
    it would send a lead to quarantine as a duplicate, with its row, never drop it silently.

    The hashes are kept in sorted runs whose sizes at least halve from one run to the next (a new run is
    merged with the last while that one is not larger than twice the new one): each hash is merged about
    log2(n / chunk) times in all, and a lookup searches that many runs, where a single sorted array would be
    copied whole on every chunk (quadratic in the number of chunks).
    """

    def __init__(self) -> None:
        self._runs: list[npt.NDArray[np.uint64]] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def contains(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(hashes), dtype=bool)
        if not self._runs or not len(hashes):
            return found
        # searched in sorted order: each search then starts near the last (about 10x faster on large runs)
        order = np.argsort(hashes)
        found[order] = self._held(hashes[order])
        return found

    def add(self, hashes: npt.NDArray[np.uint64]) -> None:
        self._add_sorted(np.sort(hashes))

    def add_new(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """``contains(hashes)``, then ``add`` of those not held, with one sort for both."""
        order = np.argsort(hashes)
        queries = hashes[order]
        hit = self._held(queries)
        found = np.zeros(len(hashes), dtype=bool)
        found[order] = hit
        self._add_sorted(queries[~hit])
        return found

    def _held(self, queries: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """Whether each of the sorted `queries` is held."""
        hit = np.zeros(len(queries), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, queries), len(run) - 1)
            hit |= run[at] == queries
        return hit

    def _add_sorted(self, run: npt.NDArray[np.uint64]) -> None:
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            # both runs are sorted: a stable sort merges them in linear time
            run = np.sort(np.concatenate([self._runs.pop(), run]), kind="stable")
        if len(run):
            self._runs.append(run)


#: the quarantine file's column with the clinical-triage level of the row's texts
TRIAGE_COLUMN = "_triage"


@dataclass
class ChunkResult:
    decisions: pd.DataFrame
    quarantine: pd.DataFrame
    n_read: int
    flagged: pd.DataFrame = field(default_factory=empty_flagged)


def triage_rows(raw: pd.DataFrame) -> npt.NDArray[np.object_]:
    """The clinical-triage level (``urgent``, ``possible``, ``none``) of each row: the detector on every text
    of the row, whatever its column, so that a row refused for its id still reaches a human when it may
    describe an emergency."""
    if not len(raw):
        return np.zeros(0, dtype=object)
    texts = raw.astype("string").fillna("")
    joined = ["\n".join(str(v) for v in row) for row in texts.itertuples(index=False, name=None)]
    levels = [result.level for result in default_detector().detect_many(joined)]
    return np.asarray(levels, dtype=object)


# the decisions of a chunk: a frame (as scored) or an Arrow table (as the local engine writes and sends it)
Decisions = TypeVar("Decisions", pd.DataFrame, pa.Table)


@dataclass
class ScoredChunk(Generic[Decisions]):
    """A chunk ingested, scored and decided, before the check against the leads earlier chunks stored.

    Attributes
    ----------
    decisions : DataFrame or Arrow table
        One row per lead ingest kept, in input order.
    quarantine : DataFrame
        The rows ingest rejected, numbered as in a spreadsheet, with the clinical-triage level of their
        texts (``_triage``).
    positions : ndarray
        Position in the raw chunk of each decision row.
    hashes : ndarray
        Hashed key of each decision row (see `SeenKeys`).
    keys : pyarrow.Array
        Key of each decision row as text, for the reason of a repeat.
    n_read : int
        Raw rows in the chunk.
    predictor : str
        What predicted the scores when known ("lleaves" or "lightgbm"; "" when not recorded).
    file : Path or None
        An LZ4-compressed Arrow file holding exactly `decisions`, when a pool worker wrote one: the run may
        keep it as the chunk's part instead of writing the same again.
    flagged : DataFrame
        Values of scored rows the dictionary could not read (read as missing), numbered as `quarantine`.
    """

    decisions: Decisions
    quarantine: pd.DataFrame
    positions: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    keys: pa.Array
    n_read: int
    predictor: str = ""
    file: Path | None = None
    flagged: pd.DataFrame = field(default_factory=empty_flagged)


def score_chunk(
    raw: pd.DataFrame,
    *,
    rows: npt.NDArray[np.int64],
    model: Scorer,
    dictionary: Dictionary,
    source: str,
    options: ScoringOptions,
    events: EventLookup | None = None,
) -> ScoredChunk[pd.DataFrame]:
    """Ingest one chunk of raw lead rows, score and decide; repeats of earlier chunks are not looked for.

    `rows` holds the spreadsheet row number (header = 1) of each raw row, for the quarantine file. The
    result depends on this chunk alone, so chunks may be scored in any order, in any process; `drop_repeats`
    then applies the check across chunks, in chunk order.
    """
    result = ingest_table(raw, dictionary, "leads", source=source)
    quarantine = result.quarantine
    positions = quarantine["_row"].to_numpy(dtype=np.int64) - 2
    quarantine.insert(4, TRIAGE_COLUMN, triage_rows(raw.iloc[positions]))
    quarantine["_row"] = rows[positions]
    flagged = result.flagged
    flagged["_row"] = rows[flagged["_row"].to_numpy(dtype=np.int64) - 2]
    clean = result.clean
    key = model.spec.key
    keys = clean[key].astype("string") if len(clean) else pd.Series([], dtype="string")
    lead_events = events.for_leads(clean[key]) if events is not None else None
    return ScoredChunk(
        decisions=decide_chunk(model, clean, lead_events, options, TextFields.of_dictionary(dictionary)),
        quarantine=quarantine.reset_index(drop=True),
        positions=_stored_positions(len(raw), quarantine, rows),
        hashes=hash_keys(keys) if len(keys) else np.zeros(0, dtype=np.uint64),
        keys=pa.array(keys, type=_STRING, from_pandas=True),
        n_read=len(raw),
        flagged=flagged.reset_index(drop=True),
    )


def drop_repeats(
    scored: ScoredChunk[Decisions],
    seen: SeenKeys,
    *,
    raw: Callable[[], pd.DataFrame],
    rows: npt.NDArray[np.int64],
    key: str,
    source: str,
) -> ScoredChunk[Decisions]:
    """Move leads whose key an earlier chunk stored from the decisions to the quarantine; note the others.

    `raw` gives the raw chunk (called only when there is a repeat): a quarantined repeat keeps its raw row.
    """
    repeat = seen.add_new(scored.hashes)
    if not repeat.any():
        return scored
    bad = np.flatnonzero(repeat)
    keep = ~repeat
    extra = raw().iloc[scored.positions[bad]].astype("string").reset_index(drop=True)
    ids = scored.keys.take(pa.array(bad)).to_pylist()
    repeats = pd.DataFrame(
        {
            "_source": pd.array([source] * len(bad), dtype="string"),
            "_row": rows[scored.positions[bad]],
            "_field": pd.array([key] * len(bad), dtype="string"),
            "_reason": pd.array(
                [f"{key}: duplicate key '{i}' (stored from an earlier chunk)" for i in ids], dtype="string"
            ),
        }
    )
    repeats[TRIAGE_COLUMN] = triage_rows(extra)
    repeats = pd.concat([repeats, extra], axis="columns")
    quarantine = pd.concat([scored.quarantine, repeats], ignore_index=True).sort_values("_row")
    repeated_rows = rows[scored.positions[bad]]
    flagged = scored.flagged[~scored.flagged["_row"].isin(repeated_rows)]
    return ScoredChunk(
        decisions=_keep_rows(scored.decisions, keep),
        quarantine=quarantine.reset_index(drop=True),
        positions=scored.positions[keep],
        hashes=scored.hashes[keep],
        keys=scored.keys.filter(pa.array(keep)),
        n_read=scored.n_read,
        predictor=scored.predictor,
        flagged=flagged.reset_index(drop=True),
    )


def _keep_rows(decisions: Decisions, keep: npt.NDArray[np.bool_]) -> Decisions:
    if isinstance(decisions, pa.Table):
        return cast(Decisions, decisions.filter(pa.array(keep)))  # pyarrow has no types: Table is Any
    frame: pd.DataFrame = decisions.loc[keep].reset_index(drop=True)
    return frame


def process_chunk(
    raw: pd.DataFrame,
    *,
    rows: npt.NDArray[np.int64],
    model: Scorer,
    dictionary: Dictionary,
    source: str,
    options: ScoringOptions,
    events: EventLookup | None = None,
    seen: SeenKeys | None = None,
) -> ChunkResult:
    """Ingest one chunk of raw lead rows, score and decide, and (given `seen`) drop repeats of earlier chunks.

    `rows` holds the spreadsheet row number (header = 1) of each raw row, for the quarantine file.
    """
    scored = score_chunk(
        raw, rows=rows, model=model, dictionary=dictionary, source=source, options=options, events=events
    )
    if seen is not None:
        scored = drop_repeats(scored, seen, raw=lambda: raw, rows=rows, key=model.spec.key, source=source)
    return ChunkResult(
        decisions=scored.decisions, quarantine=scored.quarantine, n_read=scored.n_read, flagged=scored.flagged
    )


def _stored_positions(
    n_raw: int, quarantine: pd.DataFrame, rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Positions in the raw chunk of the rows ingest stored (those not quarantined), in order."""
    quarantined = np.searchsorted(rows, quarantine["_row"].to_numpy(dtype=np.int64))
    keep = np.ones(n_raw, dtype=bool)
    keep[quarantined] = False
    return np.flatnonzero(keep).astype(np.int64)


@dataclass
class Chunk:
    table: pa.Table
    rows: npt.NDArray[np.int64]  # spreadsheet row numbers
    malformed: pd.DataFrame  # CSV lines with the wrong number of fields met while reading this chunk

    @cached_property
    def frame(self) -> pd.DataFrame:
        # converted where the chunk is scored: a pool worker gets the Arrow table (in a file), not this
        frame: pd.DataFrame = self.table.to_pandas()
        return frame


def empty_output(decisions: bool = False) -> pd.DataFrame:
    names = list(OUTPUT_TYPES) if decisions else SCORE_COLUMNS
    return pd.DataFrame({name: pd.Series([], dtype="object") for name in names})
