"""Shared test data: simulated CRM exports built by code, once per session.

One factory fixture (`crm_export`) simulates, writes and ingests an export for a size and seed, and keeps it
for the rest of the session, so every test file asks for the same few exports instead of building its own:

- `small_export`: 3,000 leads, for fast tests;
- `acceptance_export`: 50,000 leads with a fixed seed, the size the acceptance figures are asserted on;
- `acceptance_training`: one training run on `acceptance_export`, shared by the training and scoring tests.
"""

from __future__ import annotations

import os

# LightGBM's OpenMP threads spin while they wait; when other processes share the two cores, spinning threads
# slow training tenfold. Passive waiting must be set before lightgbm is first imported (it loads OpenMP).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import LeadDataset, Target
from careleads.models._training import TrainingResult, train_model
from careleads.synth import SyntheticData, generate

SMALL_LEADS = 3_000
SMALL_SEED = 3
ACCEPTANCE_LEADS = 50_000
ACCEPTANCE_SEED = 11


@dataclass(frozen=True)
class Export:
    """A simulated export: what the simulator made, where it was written, and what ingest made of it."""

    data: SyntheticData
    folder: Path
    quarantine_dir: Path
    tables: CrmTables

    def dataset(self, target: Target | None = None) -> LeadDataset:
        """Point-in-time features and labels, with the export's own end as the end of the data."""
        return self.tables.dataset(target or Target(), data_end=self.data.end)


ExportFactory = Callable[[int, int], Export]


@pytest.fixture(scope="session")
def crm_export(tmp_path_factory: pytest.TempPathFactory) -> ExportFactory:
    """``crm_export(n_leads, seed)``: simulate, write (CSV) and ingest an export; cached per size and seed."""
    cache: dict[tuple[int, int], Export] = {}

    def make(n_leads: int, seed: int) -> Export:
        key = (n_leads, seed)
        if key not in cache:
            data = generate(n_leads, seed=seed)
            base = tmp_path_factory.mktemp(f"export_{n_leads}_{seed}")
            folder = base / "data"
            data.write(folder)
            quarantine_dir = base / "quarantine"
            tables = load_crm_folder(folder, quarantine_dir=quarantine_dir)
            cache[key] = Export(data=data, folder=folder, quarantine_dir=quarantine_dir, tables=tables)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def small_export(crm_export: ExportFactory) -> Export:
    return crm_export(SMALL_LEADS, SMALL_SEED)


@pytest.fixture(scope="session")
def acceptance_export(crm_export: ExportFactory) -> Export:
    return crm_export(ACCEPTANCE_LEADS, ACCEPTANCE_SEED)


@pytest.fixture(scope="session")
def acceptance_dataset(acceptance_export: Export) -> LeadDataset:
    return acceptance_export.dataset()


@pytest.fixture(scope="session")
def acceptance_training(acceptance_export: Export, acceptance_dataset: LeadDataset) -> TrainingResult:
    """The one training run of the session: rules and model for appointment_scheduled within 30 days."""
    return train_model(acceptance_dataset, truth=acceptance_export.data.truth, seed=0)
