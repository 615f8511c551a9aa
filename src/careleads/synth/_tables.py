"""The simulators' tables as files: sequential ids, and CSV or Parquet written with pyarrow."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from careleads.errors import InputError
from careleads.types import PathLikeStr

__all__ = ["sequential_ids", "write_tables"]


def write_tables(
    tables: dict[str, pd.DataFrame], out_dir: PathLikeStr, *, fmt: Literal["csv", "parquet"] = "csv"
) -> dict[str, Path]:
    """Write each frame to ``out_dir/<name>.<fmt>`` with pyarrow (fast for millions of rows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in ("csv", "parquet"):
        raise InputError(f"unknown format {fmt!r}: use csv or parquet")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        paths[name] = path
    return paths


def sequential_ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    """``prefix`` + zero-padded 1..n, built in bytes: formatting millions of id strings is slow."""
    numbers = np.arange(1, n + 1, dtype=np.int64)
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    for k in range(width):
        chars[:, len(prefix) + width - 1 - k] = 48 + (numbers // 10**k) % 10
    return chars.view(f"S{len(prefix) + width}").ravel().astype(str).astype(object)
