"""Point-in-time features, labels with censoring, targets, and the one data-set assembly."""

from __future__ import annotations

from careleads.features._assembly import (
    DAY_ONE_HOURS,
    MAX_EVENT_MOMENTS,
    MOMENT_COLUMNS,
    FeaturesAtMoments,
    activity_moments,
    assemble_dataset,
    build_dataset,
    end_of_data,
    scoring_moments,
)
from careleads.features._dataset import LeadDataset, build_features
from careleads.features._point_in_time import (
    ACTIVITY_HOURS,
    EVENT_TYPES,
    PAGE_TYPES,
    FeatureSpec,
    LabelResult,
    creation_time,
    engagement_features,
    label_leads,
    latest_activity,
    lead_features,
    record_features,
)
from careleads.features._targets import KNOWN_OUTCOMES, Cohort, Target
from careleads.features._text import (
    MESSAGE_EVENT_TYPES,
    TEXT_FEATURE_PREFIXES,
    class_probabilities,
    text_features,
)

__all__ = [
    "ACTIVITY_HOURS",
    "DAY_ONE_HOURS",
    "EVENT_TYPES",
    "MAX_EVENT_MOMENTS",
    "KNOWN_OUTCOMES",
    "MESSAGE_EVENT_TYPES",
    "MOMENT_COLUMNS",
    "PAGE_TYPES",
    "FeatureSpec",
    "FeaturesAtMoments",
    "LabelResult",
    "LeadDataset",
    "Cohort",
    "Target",
    "activity_moments",
    "assemble_dataset",
    "build_dataset",
    "build_features",
    "class_probabilities",
    "creation_time",
    "end_of_data",
    "engagement_features",
    "label_leads",
    "latest_activity",
    "lead_features",
    "record_features",
    "scoring_moments",
    "text_features",
    "TEXT_FEATURE_PREFIXES",
]
