"""The Spark engine: the local engine's chunk function applied to each Arrow batch with ``mapInArrow``.

Every batch is ingested through the data dictionary, scored by :func:`careleads.scoring.score_leads` and
routed exactly as in the local engine (:func:`careleads.engines._chunks.process_chunk`), so both engines give
the same decision for every lead. Batches come in and go out as Arrow record batches, as the local engine's
pool workers take and give their chunks (no conversion of every value to and from Python objects). A lead
id repeated across batches keeps its first copy (in Spark's reading order) and the later copies are
quarantined, as ingest does within a file. Spark retries failed tasks itself; the output is written by
Spark (a folder of parts with ``_SUCCESS``).

PySpark is an optional extra: ``pip install careleads[spark]`` (and Java 17).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from careleads.dictionary import Dictionary, load_dictionary
from careleads.engines._chunks import (
    DEFAULT_CHUNK_ROWS,
    OUTPUT_TYPES,
    SCORE_COLUMNS,
    EventLookup,
    ScoringOptions,
    process_chunk,
    to_arrow,
)
from careleads.engines._local import CHECKED_LEADS, BatchSummary, OutputFormat, Reader, sample_features
from careleads.errors import ConfigError, InputError
from careleads.models import LeadModel
from careleads.types import PathLikeStr

logger = logging.getLogger(__name__)

_ORDER = "_order"
_KIND = "_kind"
_HELPER_COLUMNS = (_ORDER, _KIND, "_q_field", "_q_reason", "_q_values")


@contextmanager
def pandas_3_accepted() -> Iterator[None]:
    """PySpark 4.x warns that pandas 3 is not fully supported; the parts used here are tested to work."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        yield


def spark_session(master: str = "local[2]", *, batch_rows: int = DEFAULT_CHUNK_ROWS) -> Any:
    """A SparkSession for scoring: Arrow transfer on, UTC session clock, quiet logs.

    Parameters
    ----------
    master : str
        ``local[N]`` or a cluster URL (``spark://host:7077``, ``yarn``, ``k8s://...``).
    batch_rows : int
        Rows per Arrow batch handed to the scoring function.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError("the Spark engine needs pyspark: pip install 'careleads[spark]'") from exc
    builder = (
        SparkSession.builder.master(master)
        .appName("careleads-score")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
    )
    if master.startswith("local"):
        # workers run the same interpreter (and so the same careleads) as the driver
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = builder.config("spark.pyspark.python", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _spark_schema(columns: list[str]) -> Any:
    from pyspark.sql import types as T

    kinds = {
        "string": T.StringType(),
        "timestamp[us]": T.TimestampType(),
        "double": T.DoubleType(),
        "int64": T.LongType(),
        "bool": T.BooleanType(),
    }
    fields = [T.StructField(name, kinds[str(OUTPUT_TYPES[name])], True) for name in columns]
    fields += [T.StructField(_ORDER, T.LongType(), False), T.StructField(_KIND, T.StringType(), False)]
    fields += [T.StructField(name, T.StringType(), True) for name in ("_q_field", "_q_reason", "_q_values")]
    return T.StructType(fields)


def _arrow_schema(columns: list[str]) -> pa.Schema:
    """The Arrow twin of `_spark_schema`: what each scored batch holds (timestamps in UTC, Spark's way)."""
    fields = [
        pa.field(name, pa.timestamp("us", tz="UTC") if name == "as_of" else OUTPUT_TYPES[name])
        for name in columns
    ]
    fields += [pa.field(_ORDER, pa.int64(), nullable=False), pa.field(_KIND, pa.string(), nullable=False)]
    fields += [pa.field(name, pa.string()) for name in ("_q_field", "_q_reason", "_q_values")]
    return pa.schema(fields)


def _score_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    model: LeadModel,
    columns: list[str],
    options: ScoringOptions,
    source: str,
    compiled: bool,
    events: pd.DataFrame | None,
) -> Iterator[pa.RecordBatch]:
    """The function each Spark task runs: one output row per input row, a decision or a quarantine entry.

    Input columns are text (Spark casts them); a missing value becomes an empty text, as in a CSV file read
    by the local engine.
    """
    from careleads.engines._compiled import compile_trees

    scorer = compile_trees(model) if compiled else model
    dictionary = load_dictionary()
    lookup = EventLookup(events) if events is not None else None
    schema = _arrow_schema(columns)
    for batch in batches:
        if not batch.num_rows:
            continue
        order = batch.column(_ORDER).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        texts = [name for name in batch.schema.names if name != _ORDER]
        raw = pa.table({name: pc.fill_null(batch.column(name), "") for name in texts}).to_pandas()
        rows = np.arange(2, len(raw) + 2, dtype=np.int64)
        result = process_chunk(
            raw, rows=rows, model=scorer, dictionary=dictionary, source=source, options=options, events=lookup
        )
        q = result.quarantine
        kept = np.ones(len(raw), dtype=bool)
        q_pos = q["_row"].to_numpy(dtype=np.int64) - 2
        kept[q_pos] = False
        decided = to_arrow(result.decisions.reindex(columns=columns), dictionaries=False)
        n, m = decided.num_rows, len(q)
        # the quarantined rows follow the decisions: no decision field, their problem in the helper columns
        arrays = [
            pa.concat_arrays(
                [decided.column(name).combine_chunks(), pa.nulls(m, decided.schema.field(name).type)]
            )
            for name in columns
        ]
        arrays[columns.index("as_of")] = arrays[columns.index("as_of")].cast(schema.field("as_of").type)
        values = q.drop(columns=["_source", "_row", "_field", "_reason"]).to_dict("records")
        quarantined = {
            "_q_field": q["_field"].astype(object).tolist(),
            "_q_reason": q["_reason"].astype(object).tolist(),
            "_q_values": [
                json.dumps({k: v for k, v in row.items() if isinstance(v, str) and v}) for row in values
            ],
        }
        arrays += [
            pa.array(np.concatenate([order[kept], order[q_pos]]), type=pa.int64()),
            pa.concat_arrays([pa.repeat("decision", n), pa.repeat("quarantine", m)]),
            *(
                pa.concat_arrays([pa.nulls(n, pa.string()), pa.array(v, type=pa.string())])
                for v in quarantined.values()
            ),
        ]
        yield from pa.Table.from_arrays(arrays, schema=schema).to_batches()


def score_file_spark(
    input_path: PathLikeStr,
    *,
    model: LeadModel,
    out_path: PathLikeStr,
    events_path: PathLikeStr | None = None,
    master: str = "local[2]",
    spark: Any = None,
    batch_rows: int = DEFAULT_CHUNK_ROWS,
    n_reasons: int = 0,
    decisions: bool = True,
    compiled: bool | None = None,
    fmt: OutputFormat | None = None,
    overwrite: bool = False,
    decided_at: str | None = None,
    as_of_hours: float | None = None,
) -> BatchSummary:
    """Score a lead file with Spark; the same decisions as :func:`careleads.engines.score_file`.

    Parameters
    ----------
    input_path : path
        CSV or Parquet lead file (a path Spark can read: local, HDFS, S3 with the right connectors).
    model : LeadModel
        The model; broadcast to the workers once.
    out_path : path
        Output folder (Spark writes a folder of parts with ``_SUCCESS``); quarantined rows go to
        ``<out>/_quarantine.csv`` with Spark's row id instead of a line number.
    events_path : path, optional
        Events of these leads; read on the driver and broadcast (they must fit in a worker's memory).
    master : str
        Spark master when no `spark` session is given: ``local[2]`` or a cluster URL.
    spark : SparkSession, optional
        An existing session (tests share one).
    batch_rows : int
        Rows per Arrow batch (per call of the scoring function).
    n_reasons, decisions, compiled, decided_at, as_of_hours
        As for :func:`careleads.engines.score_file`.
    fmt : "parquet" or "csv", optional
        Output format (default from the suffix, else Parquet).
    overwrite : bool
        Replace an existing output.

    Returns
    -------
    BatchSummary
    """
    from pyspark.sql import functions as F

    from careleads.dictionary import ingest_file
    from careleads.engines._compiled import TOLERANCE, lleaves_available

    start = time.perf_counter()
    source = Path(input_path)
    if not source.is_file():
        raise InputError(f"{source}: no such file; give the path of a CSV or Parquet lead file")
    out = Path(out_path)
    kind: OutputFormat = fmt or ("csv" if out.suffix.lower() == ".csv" else "parquet")
    if out.exists() and not overwrite:
        raise InputError(f"{out} already exists; remove it, choose another output or overwrite")
    dictionary = load_dictionary()
    reader = Reader(source, dictionary, decisions=decisions, model=model)
    session = spark or spark_session(master, batch_rows=batch_rows)
    if reader.is_parquet:
        frame = session.read.parquet(str(source))
    else:
        frame = (
            session.read.option("header", True)
            .option("sep", reader.delimiter)
            .option("encoding", reader.encoding.replace("utf8", "UTF-8"))
            .option("quote", '"')
            .option("escape", '"')
            .option("multiLine", True)
            .option("inferSchema", False)
            .csv(str(source))
        )
    frame = frame.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in reader.read_columns])
    use_compiled = lleaves_available() if compiled is None else compiled
    notes: list[str] = []
    if use_compiled:  # the local engine's check: compiled trees only where they score as LightGBM does
        gap = _compiled_gap(frame.limit(CHECKED_LEADS), model, dictionary, source.name)
        if gap > TOLERANCE:
            notes.append(f"compiled trees differ from LightGBM by {gap:.2e}; scoring with LightGBM")
            use_compiled = False
    frame = frame.withColumn(_ORDER, F.monotonically_increasing_id())
    parallelism = session.sparkContext.defaultParallelism
    partitions = frame.rdd.getNumPartitions()
    if _spread(partitions, reader.row_groups, parallelism):
        frame = frame.repartition(parallelism)
        partitions = parallelism

    events = None
    if events_path is not None:
        events = ingest_file(events_path, dictionary, "events").clean
    options = ScoringOptions(
        n_reasons=n_reasons,
        decisions=decisions,
        decided_at=pd.Timestamp(decided_at).isoformat()
        if decided_at
        else pd.Timestamp.now().floor("s").isoformat(),
        as_of_hours=as_of_hours,
    )
    columns = list(OUTPUT_TYPES) if decisions else list(SCORE_COLUMNS)
    shared = session.sparkContext.broadcast((model, events))
    name = source.name

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        task_model, task_events = shared.value
        yield from _score_batches(
            batches,
            model=task_model,
            columns=columns,
            options=options,
            source=name,
            compiled=use_compiled,
            events=task_events,
        )

    with pandas_3_accepted():
        return _run(
            frame.mapInArrow(run, schema=_spark_schema(columns)).persist(),
            out=out,
            kind=kind,
            name=name,
            overwrite=overwrite,
            start=start,
            source=source,
            master=str(session.sparkContext.master),
            use_compiled=use_compiled,
            model=model,
            decisions=decisions,
            n_reasons=n_reasons,
            notes=notes,
            partitions=partitions,
        )


def _spread(partitions: int, row_groups: int | None, parallelism: int) -> bool:
    """Whether the input must be dealt out to `parallelism` tasks before it is scored.

    Spark splits a Parquet file by bytes but never inside a row group, so a file of one row group (pandas and
    pyarrow write up to a million rows in one) gives one task every lead and the others none, however many
    partitions Spark reports. `row_groups` is None for a CSV file (split by bytes, or not at all when
    values may hold line breaks).
    """
    return partitions < parallelism or (row_groups is not None and row_groups < parallelism)


def _compiled_gap(sample: Any, model: LeadModel, dictionary: Dictionary, source: str) -> float:
    """Largest difference of compiled trees from LightGBM on the leads of `sample` (a Spark frame of text
    columns), computed on the driver."""
    from careleads.engines._compiled import compile_trees, compiled_matches

    # collected as rows: toPandas trips over pandas 3 deprecations in PySpark 4
    raw = pd.DataFrame([tuple(row) for row in sample.collect()], columns=sample.columns, dtype="string")
    features = sample_features(model, raw, dictionary, source)
    return compiled_matches(compile_trees(model), model, features) if features is not None else 0.0


def _run(
    mapped: Any,
    *,
    out: Path,
    kind: OutputFormat,
    name: str,
    overwrite: bool,
    start: float,
    source: Path,
    master: str,
    use_compiled: bool,
    model: LeadModel,
    decisions: bool,
    n_reasons: int,
    notes: list[str],
    partitions: int,
) -> BatchSummary:
    from pyspark.sql import functions as F

    # a lead id decided in more than one batch keeps its first copy; the repeated ids are found from the ids
    # and reading order alone (few: ingest keeps one copy per batch), so the decisions are not shuffled
    decided = mapped.filter(F.col(_KIND) == "decision")
    repeated = (
        decided.groupBy("lead_id")
        .agg(F.min(_ORDER).alias("_first"), F.count(F.lit(1)).alias("_copies"))
        .filter(F.col("_copies") > 1)
        .drop("_copies")
    )
    marked = decided.join(repeated, on="lead_id", how="left")
    is_repeat = F.col("_first").isNotNull() & (F.col(_ORDER) != F.col("_first"))
    kept = marked.filter(~is_repeat).drop("_first", *_HELPER_COLUMNS)
    writer = kept.write.mode("overwrite" if overwrite else "errorifexists")
    if kind == "csv":
        writer.option("header", True).csv(str(out))
    else:
        writer.parquet(str(out))
    repeats = marked.filter(is_repeat).select(
        F.lit(name).alias("_source"),
        F.col(_ORDER).alias("_row_id"),
        F.lit("lead_id").alias("_field"),
        F.concat(
            F.lit("lead_id: duplicate key '"), F.col("lead_id"), F.lit("' (stored from an earlier batch)")
        ).alias("_reason"),
        F.lit(None).cast("string").alias("_values"),
    )
    bad = mapped.filter(F.col(_KIND) == "quarantine").select(
        F.lit(name).alias("_source"),
        F.col(_ORDER).alias("_row_id"),
        F.col("_q_field").alias("_field"),
        F.col("_q_reason").alias("_reason"),
        F.col("_q_values").alias("_values"),
    )
    # quarantined rows are few: collected as rows (toPandas trips over pandas 3 deprecations in PySpark 4)
    names = ["_source", "_row_id", "_field", "_reason", "_values"]
    collected = bad.unionByName(repeats).orderBy("_row_id").collect()
    quarantine = pd.DataFrame([tuple(row) for row in collected], columns=names)
    quarantine.to_csv(out / "_quarantine.csv", index=False)
    n_read = int(mapped.count())
    mapped.unpersist()
    n_quarantined = len(quarantine)
    return BatchSummary(
        input_path=str(source),
        out_path=str(out),
        quarantine_path=str(out / "_quarantine.csv"),
        engine=f"spark ({master})",
        fmt=kind,
        n_read=n_read,
        n_scored=n_read - n_quarantined,
        n_quarantined=n_quarantined,
        n_chunks=partitions,  # the scoring tasks (asking Spark for the output's would score them all again)
        n_chunks_resumed=0,
        seconds=time.perf_counter() - start,
        predictor="lleaves" if use_compiled else "lightgbm",
        model_version=model.version,
        decisions=decisions,
        n_reasons=n_reasons,
        notes=notes,
    )
