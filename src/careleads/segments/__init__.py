"""Segments: use cases for leads that are not new patients, over the layers below.

- Returning leads (:func:`find_returns`, :func:`build_reengagement_dataset`, :func:`score_returning`,
  :func:`evaluate_reengagement`): leads that did not convert and come back after a quiet period, re-scored
  at their return with their renewed activity and their decayed history.
- Partnerships (:func:`load_partnership_folder`, :func:`build_partnership_dataset`,
  :func:`train_partnership_model`, :func:`score_partnerships`, :func:`route_partnership`): clinicians,
  practices and health systems, with their own features, rule baseline, model and routing to business
  development.

Both build their data sets with the one assembly of :mod:`careleads.features`
(:func:`careleads.features.assemble_dataset`), so the end of the data and the labels are those of every
other data set.
"""

from __future__ import annotations

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
    reengagement_features,
    score_returning,
)

__all__ = [
    "DEFAULT_QUIET_DAYS",
    "PARTNERSHIP_TARGET",
    "RETURN_COLUMNS",
    "SCOPE_SCRIPTS",
    "PartnershipTables",
    "build_partnership_dataset",
    "build_reengagement_dataset",
    "evaluate_reengagement",
    "find_returns",
    "load_partnership_folder",
    "partnership_features",
    "partnership_points_path",
    "reengagement_features",
    "route_partnership",
    "score_partnerships",
    "score_returning",
    "train_partnership_model",
]
