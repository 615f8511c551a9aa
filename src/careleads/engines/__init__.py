"""Batch scoring engines: local (streaming, resumable) and Spark (for volumes beyond one machine)."""

from __future__ import annotations

from careleads.engines._chunks import DEFAULT_CHUNK_ROWS, ScoringOptions, decide_chunk
from careleads.engines._local import BatchProgress, BatchSummary, read_scores, score_file
from careleads.engines._memory import keep_freed_memory

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchProgress",
    "BatchSummary",
    "ScoringOptions",
    "decide_chunk",
    "keep_freed_memory",
    "read_scores",
    "score_file",
]
