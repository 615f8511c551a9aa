"""Point-in-time features, labels with censoring, and targets."""

from __future__ import annotations

from careleads.features._dataset import LeadDataset, build_dataset, build_features
from careleads.features._point_in_time import (
    EVENT_TYPES,
    PAGE_TYPES,
    FeatureSpec,
    LabelResult,
    engagement_features,
    label_leads,
    lead_features,
)
from careleads.features._reengagement import (
    build_reengagement_dataset,
    evaluate_reengagement,
    find_returns,
    reengagement_features,
    score_returning,
)
from careleads.features._targets import KNOWN_OUTCOMES, Target
from careleads.features._text import MESSAGE_EVENT_TYPES, class_probabilities, text_features

__all__ = [
    "EVENT_TYPES",
    "KNOWN_OUTCOMES",
    "MESSAGE_EVENT_TYPES",
    "PAGE_TYPES",
    "FeatureSpec",
    "LabelResult",
    "LeadDataset",
    "Target",
    "build_dataset",
    "build_reengagement_dataset",
    "build_features",
    "class_probabilities",
    "engagement_features",
    "evaluate_reengagement",
    "find_returns",
    "label_leads",
    "lead_features",
    "reengagement_features",
    "score_returning",
    "text_features",
]
