"""How a batch run writes its files: atomic writes, the chunk parts, the Parquet layout of the decisions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from careleads.engines._chunks import PER_LEAD_COLUMNS
from careleads.engines._pool import write_arrow

__all__ = ["PartFormat", "parquet_options", "write_atomic", "write_part"]

PartFormat = Literal["parquet", "csv", "arrow"]
"""How a chunk's part is written: Parquet, CSV, or Arrow IPC (kept until the run ends)."""


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_part(table: pa.Table, path: Path, fmt: PartFormat) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        pq.write_table(table, tmp, **parquet_options(table.schema))
    elif fmt == "arrow":
        write_arrow(table, tmp, compression="lz4")  # kept until the run ends: a quarter of the disk
    else:
        pacsv.write_csv(table, tmp)
    os.replace(tmp, path)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind))


def _statistics_columns(schema: pa.Schema) -> list[str]:
    """Columns given min/max statistics in the Parquet output: the lead id and those not text.

    Statistics of the text fields (tier, action, notes, the route fields) took about a third of the write;
    with those of the lead id a reader can still skip row groups when looking leads up.
    """
    return [f.name for f in schema if f.name == "lead_id" or not _is_text(f.type)]


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns dictionary-encoded in the Parquet output: all but the per-lead ones.

    Hashing a million distinct ids and times into a dictionary that Parquet then drops took about a sixth
    of the write, and the file is smaller without it (18.4 against 22.2 MB for 1M decisions).
    """
    return [f.name for f in schema if f.name not in PER_LEAD_COLUMNS]


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How decisions are written to Parquet (the single output file and each part of a folder).

    The Arrow schema is not stored in the file: the text columns arrive as Arrow dictionaries
    (`careleads.engines._chunks.to_arrow`), and a stored schema would make every reader (pandas, Spark,
    DuckDB) give them back as categoricals; without it they read back as plain text, and the other types
    (the naive decision time included) as they were.
    """
    return {
        "write_statistics": _statistics_columns(schema),
        "use_dictionary": _dictionary_columns(schema),
        "store_schema": False,
    }
