"""Model lifecycle: the gate refuses a worse model, accepts a better one; rollback restores the scores."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from _monitoring_support import Setup, monitoring_setup
from careleads.cli._monitor import register
from careleads.errors import InputError
from careleads.features import LeadDataset, Target
from careleads.models import LeadModel, ModelRegistry, train_model
from careleads.monitoring import (
    ReasonChange,
    evaluate_on_window,
    feedback_rows,
    gate_and_publish,
    reason_changes,
    retrain,
)
from careleads.settings import MonitorSettings
from conftest import ExportFactory

TARGET = Target().name
# the lead fields the simulator's truth leans on most: without them a model ranks clearly worse
STRONG_FIELDS = ("inquiry_type", "intake_urgency", "source", "insurance")


@pytest.fixture(scope="session")
def setup(crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return monitoring_setup(crm_export, tmp_path_factory)


@pytest.fixture(scope="session")
def weak(setup: Setup) -> LeadModel:
    """A model trained on the whole history without the strongest fields."""
    dataset = setup.export.tables.dataset(Target(), data_end=setup.export.data.end, drop=STRONG_FIELDS)
    return train_model(dataset, seed=0).model


def _window(dataset: LeadDataset) -> tuple[pd.DataFrame, np.ndarray]:
    """The recent window: labelled leads of the last six months with closed outcome windows."""
    recent = dataset.usable & (pd.to_datetime(dataset.as_of) >= pd.Timestamp("2026-03-01"))
    return dataset.X[recent], dataset.y[recent].astype(int).to_numpy()


def _registry_with(tmp_path: Path, model: LeadModel) -> ModelRegistry:
    registry = ModelRegistry(tmp_path / "registry")
    registry.register(model)
    registry.publish(model.version, actor="test")
    return registry


def test_gate_refuses_a_model_trained_on_shuffled_labels(setup: Setup, tmp_path: Path) -> None:
    registry = _registry_with(tmp_path, setup.model)
    rng = np.random.default_rng(0)
    dataset = setup.dataset
    shuffled_y = pd.Series(rng.permutation(dataset.y.to_numpy()), index=dataset.y.index).astype("Int64")
    worse = train_model(dataclasses.replace(dataset, y=shuffled_y.mask(dataset.y.isna())), seed=0).model
    X, y = _window(dataset)
    result = gate_and_publish(registry, worse, X, y, window={"start": "2026-03-01", "end": "2026-10-01"})
    assert not result.published and not result.decision.accepted
    assert registry.published_version(TARGET) == setup.model.version
    assert result.candidate_metrics["auc"] < 0.6 < result.previous_metrics["auc"]  # type: ignore[index]
    assert any(r.startswith("Discrimination failed") for r in result.decision.reasons)
    lines = result.summary_lines()
    assert lines[0].startswith(f"Not published: {worse.version}")
    assert f"{len(y):,} leads" in lines[1]
    # the candidate is kept in the registry for the record, unpublished
    assert worse.version in {e.version for e in registry.versions() if not e.published}


def test_gate_accepts_a_better_model_and_rollback_restores_decisions(
    setup: Setup, weak: LeadModel, tmp_path: Path
) -> None:
    registry = _registry_with(tmp_path, weak)
    fixed = setup.dataset.X.iloc[-300:]
    before = weak.predict_proba(fixed)
    result = retrain(setup.export.folder, registry_dir=registry.root, seed=1)
    assert result.ran and result.gate is not None
    gate = result.gate
    assert gate.published, gate.summary_lines()
    assert gate.previous_version == weak.version
    assert gate.candidate_metrics["auc"] > gate.previous_metrics["auc"] + 0.02  # type: ignore[index]
    assert gate.window["n"] == gate.candidate_metrics["n"] == gate.previous_metrics["n"]  # type: ignore[index]
    assert registry.published_version(TARGET) == gate.candidate_version
    # the fields the weak model never saw are among the reasons whose influence moved most
    moved = {c.feature for c in gate.reason_changes}
    assert moved & set(STRONG_FIELDS), moved
    assert any("Reasons whose influence moved most" in line for line in result.summary_lines())

    candidate = registry.published(TARGET)
    assert candidate is not None
    after = candidate.predict_proba(fixed)
    assert not np.allclose(after, before)
    assert registry.rollback(TARGET, actor="test") == weak.version
    restored = registry.published(TARGET)
    assert restored is not None and restored.version == weak.version
    np.testing.assert_array_equal(restored.predict_proba(fixed), before)
    np.testing.assert_array_equal(
        restored.tiers.assign(restored.predict_proba(fixed)), weak.tiers.assign(before)
    )


def test_first_model_is_gated_on_calibration_alone(setup: Setup, tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "empty")
    X, y = _window(setup.dataset)
    result = gate_and_publish(registry, setup.model, X, y, settings=MonitorSettings(gate_max_ece=0.5))
    assert result.published and result.previous_version is None
    assert any("No published model" in r for r in result.decision.reasons)
    strict = gate_and_publish(
        ModelRegistry(tmp_path / "strict"), setup.model, X, y, settings=MonitorSettings(gate_max_ece=0.0)
    )
    assert not strict.published
    assert any(r.startswith("Calibration failed") for r in strict.decision.reasons)


def test_retrain_triggers(setup: Setup, tmp_path: Path) -> None:
    shutil.copytree(setup.registry, tmp_path / "registry")
    registry = tmp_path / "registry"
    trained_at = datetime.fromisoformat(setup.model.card["trained_at"])
    soon = retrain(
        setup.export.folder, registry_dir=registry, trigger="schedule", now=trained_at + timedelta(days=10)
    )
    assert not soon.ran and "within the schedule of 90 days" in soon.why
    # the pre-launch model on the drifted export: monitoring says act, so drift retrains (dry run)
    drift = retrain(setup.export.folder, registry_dir=registry, trigger="drift", publish=False)
    assert drift.ran and drift.why.startswith("Retraining because monitoring says act")
    assert drift.gate is not None and not drift.gate.published
    assert ModelRegistry(registry).published_version(TARGET) == setup.model.version
    json.dumps(drift.to_dict(), allow_nan=False)


def test_feedback_rows_only_for_open_outcomes(setup: Setup) -> None:
    dataset = setup.dataset
    ids = dataset.lead_id.astype(str).to_numpy()
    open_ids = ids[dataset.censored.to_numpy()][:5]
    closed_ids = ids[dataset.usable.to_numpy()][:3]
    table = pd.DataFrame(
        {
            "lead_id": [*open_ids, *closed_ids, "L9999999", open_ids[0]],
            "label": ["scheduled", "not_a_fit", "1", "0", "follow_later", "1", "1", "1", "1", "unreachable"],
        }
    )
    notes: list[str] = []
    rows = feedback_rows(table, dataset, notes)
    assert rows is not None
    X, y = rows
    # open_ids[0]: the later label wins (unreachable -> 0); follow_later says nothing about conversion
    assert len(X) == len(y) == 4
    assert sorted(y.tolist()) == [0, 0, 0, 1]
    assert list(X.columns) == list(dataset.X.columns)
    text = " ".join(notes)
    assert "1 feedback row(s) skipped: labels" in text
    assert "1 feedback row(s) skipped: lead id not in the export" in text
    assert "3 feedback row(s) on leads whose outcome is known" in text
    with pytest.raises(InputError, match="lead_id and label"):
        feedback_rows(pd.DataFrame({"id": ["x"]}), dataset)


def test_reason_changes_and_window_metrics(setup: Setup, weak: LeadModel) -> None:
    changes = reason_changes(weak.card, setup.model.card, top=3)
    assert len(changes) == 3
    assert all(isinstance(c, ReasonChange) for c in changes)
    assert abs(changes[0].change) >= abs(changes[-1].change)
    assert "of importance" in changes[0].describe()
    X, y = _window(setup.dataset)
    metrics = evaluate_on_window(setup.model, X, y)
    assert metrics["n"] == len(y) and 0.5 < metrics["auc"] < 1
    with pytest.raises(InputError, match="known 0/1"):
        evaluate_on_window(setup.model, X, np.full(len(y), np.nan))


def test_cli_retrain(setup: Setup, tmp_path: Path) -> None:
    shutil.copytree(setup.registry, tmp_path / "registry")
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "retrain.json"
    result = runner.invoke(
        app,
        [
            "retrain",
            str(setup.export.folder),
            "--registry",
            str(tmp_path / "registry"),
            "--if",
            "schedule",
            "--json",
            str(out),
        ],
        env={"CARELEADS_MONITOR_RETRAIN_AFTER_DAYS": "100000"},
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No retraining")
    assert json.loads(out.read_text())["ran"] is False
    helped = runner.invoke(app, ["retrain", "--help"])
    for option in ("--if", "--registry", "--feedback-file", "--dry-run"):
        assert option in helped.output
