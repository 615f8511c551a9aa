"""Batch scoring engines: local (streaming, resumable) and Spark (for volumes beyond one machine).

Spark also builds the point-in-time training data of large histories (`build_dataset_spark`).
"""

from __future__ import annotations

from careleads.engines._chunks import DEFAULT_CHUNK_ROWS, ScoringOptions, decide_chunk
from careleads.engines._compiled import compile_trees, lleaves_available
from careleads.engines._local import BatchProgress, BatchSummary, model_columns, read_scores, score_file
from careleads.engines._memory import keep_freed_memory
from careleads.engines._pool import end_with_parent
from careleads.engines._spark import score_file_spark, spark_session
from careleads.engines._spark_features import build_dataset_spark

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchProgress",
    "BatchSummary",
    "ScoringOptions",
    "build_dataset_spark",
    "compile_trees",
    "decide_chunk",
    "end_with_parent",
    "keep_freed_memory",
    "lleaves_available",
    "model_columns",
    "read_scores",
    "score_file",
    "score_file_spark",
    "spark_session",
]
