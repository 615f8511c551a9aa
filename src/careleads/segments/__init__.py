"""Segments: use cases for leads that are not new patients, over the layers below.

- Returning leads (:func:`find_returns`, :func:`build_reengagement_dataset`, :func:`score_returning`,
  :func:`evaluate_reengagement`): leads that did not convert and come back after a quiet period, re-scored
  at their return with their renewed activity and their decayed history.
- Partnerships (:func:`load_partnership_folder`, :func:`build_partnership_dataset`,
  :func:`train_partnership_model`, :func:`score_partnerships`, :func:`route_partnership`): clinicians,
  practices and health systems, with their own features, rule baseline, model and routing to business
  development.

- The catalogue (:data:`SEGMENTS`, :func:`train_segment`, :func:`score_segment`, :func:`decide_segment`,
  :func:`score_segment_file`, :func:`segment_baseline`, :func:`segment_key`): each segment's tables, target
  and rule baseline, and one way to train, score and decide it for the command line, batch files and the API.

Both build their data sets with the one assembly of :mod:`careleads.features`
(:func:`careleads.features.assemble_dataset`), so the end of the data and the labels are those of every
other data set.
"""

from __future__ import annotations

from careleads.segments._catalog import (
    SEGMENT_NAMES,
    SEGMENTS,
    Segment,
    decide_segment,
    get_segment,
    score_segment,
    score_segment_file,
    segment_baseline,
    segment_key,
    train_segment,
)
from careleads.segments._partnerships import (
    PARTNERSHIP_TARGET,
    SCOPE_SCRIPTS,
    PartnershipTables,
    build_partnership_dataset,
    load_partnership_folder,
    partnership_features,
    partnership_points_path,
    route_partnership,
    score_partnerships,
    train_partnership_model,
)
from careleads.segments._returning import (
    DEFAULT_QUIET_DAYS,
    RETURN_COLUMNS,
    build_reengagement_dataset,
    evaluate_reengagement,
    find_returns,
    first_returns,
    reengagement_features,
    score_returning,
)

__all__ = [
    "DEFAULT_QUIET_DAYS",
    "PARTNERSHIP_TARGET",
    "RETURN_COLUMNS",
    "SCOPE_SCRIPTS",
    "SEGMENTS",
    "SEGMENT_NAMES",
    "PartnershipTables",
    "Segment",
    "decide_segment",
    "get_segment",
    "score_segment",
    "score_segment_file",
    "segment_baseline",
    "segment_key",
    "train_segment",
    "build_partnership_dataset",
    "build_reengagement_dataset",
    "evaluate_reengagement",
    "find_returns",
    "first_returns",
    "load_partnership_folder",
    "partnership_features",
    "partnership_points_path",
    "reengagement_features",
    "route_partnership",
    "score_partnerships",
    "score_returning",
    "train_partnership_model",
]
