"""Shared data of the monitoring, pilot and lifecycle tests: one export, one model trained once per session.

The export is the simulator's 26 months (8,000 leads): the telehealth app channel launches after month 12
(2025-09-01) and the paid social campaign changes after month 15 (2025-12-01). The model is trained on what
was known before the launch, so everything after it is new to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from careleads.features import LeadDataset, Target
from careleads.models import LeadModel, ModelRegistry, train_model
from careleads.monitoring import MonitorData
from conftest import Export, ExportFactory

N_LEADS = 8_000
SEED = 5
LAUNCH = pd.Timestamp("2025-09-01")
CAMPAIGN_CHANGE = pd.Timestamp("2025-12-01")


@dataclass(frozen=True)
class Setup:
    export: Export
    dataset: LeadDataset  # the whole history, labels as of the end of the export
    model: LeadModel  # trained before the launch, published in `registry`
    registry: Path
    data: MonitorData


_CACHE: dict[str, Setup] = {}


def monitoring_setup(crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """The session's export and pre-launch model (built on first use, then shared by every test file)."""
    if "setup" not in _CACHE:
        export = crm_export(N_LEADS, SEED)
        before = export.tables.dataset(Target(), data_end=LAUNCH)
        model = train_model(before, seed=0).model
        registry = tmp_path_factory.mktemp("monitoring_registry")
        ModelRegistry(registry).register(model)
        ModelRegistry(registry).publish(model.version, actor="test")
        data = MonitorData(
            leads=export.tables.leads,
            events=export.tables.events,
            outcomes=export.tables.outcomes,
            model=model,
            data_end=export.data.end,
            description="test export",
        )
        _CACHE["setup"] = Setup(
            export=export, dataset=export.dataset(), model=model, registry=registry, data=data
        )
    return _CACHE["setup"]
