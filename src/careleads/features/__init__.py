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
from careleads.features._targets import KNOWN_OUTCOMES, Target

__all__ = [
    "EVENT_TYPES",
    "KNOWN_OUTCOMES",
    "PAGE_TYPES",
    "FeatureSpec",
    "LabelResult",
    "LeadDataset",
    "Target",
    "build_dataset",
    "build_features",
    "engagement_features",
    "label_leads",
    "lead_features",
]
