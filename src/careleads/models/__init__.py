"""Models: training with time-based validation, evaluation, leakage audit, registry.

The metrics are :mod:`careleads.stats`'s.
"""

from __future__ import annotations

from careleads.models._evaluate import evaluate_file
from careleads.models._evaluation_result import EvaluationResult, SplitInfo
from careleads.models._gbm import FramePreprocessor, GradientBoostedScorer
from careleads.models._lead_model import CARD_FILE, LeadModel
from careleads.models._leakage import LeakageReport, LeakageSuspect, audit_leakage
from careleads.models._registry import (
    DEFAULT_SEGMENT,
    ModelEntry,
    ModelRegistry,
    card_key,
    publication_key,
)
from careleads.models._split import OrderedSplit, TimeSplit, random_split, split_by_order, time_split
from careleads.models._tabular import TabularFeatures, logistic_baseline
from careleads.models._training import TrainingResult, train_model
from careleads.stats import ProbabilityCalibrator

__all__ = [
    "CARD_FILE",
    "DEFAULT_SEGMENT",
    "EvaluationResult",
    "LeakageReport",
    "LeakageSuspect",
    "OrderedSplit",
    "SplitInfo",
    "TabularFeatures",
    "audit_leakage",
    "card_key",
    "evaluate_file",
    "logistic_baseline",
    "publication_key",
    "random_split",
    "split_by_order",
    "FramePreprocessor",
    "GradientBoostedScorer",
    "LeadModel",
    "ModelEntry",
    "ModelRegistry",
    "TimeSplit",
    "TrainingResult",
    "time_split",
    "train_model",
    "ProbabilityCalibrator",
]
