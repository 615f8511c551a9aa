from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careleads.cli import _register, app
from careleads.errors import InputError
from careleads.features import LeadDataset
from careleads.models import TrainingResult
from careleads.monitoring import fairness_of_model, sensitive_columns
from conftest import Export


def test_sensitive_columns_come_from_the_dictionary(acceptance_export: Export) -> None:
    assert set(sensitive_columns(acceptance_export.tables.dictionary)) == {"age", "sex"}


def test_fairness_groups_cover_every_labelled_test_lead(
    acceptance_export: Export, acceptance_dataset: LeadDataset, acceptance_training: TrainingResult
) -> None:
    model = acceptance_training.model
    assert not {"age", "sex"} & set(model.features)  # groups are joined back, never features
    report = fairness_of_model(
        model,
        acceptance_dataset,
        acceptance_export.tables.leads,
        dictionary=acceptance_export.tables.dictionary,
        rows=acceptance_training.split.test,
    )
    n_test = int((acceptance_training.split.test & acceptance_dataset.usable).sum())
    assert report.n_rows == n_test
    for attribute in report.attributes:
        assert sum(g.n for g in attribute.groups) == n_test
    sex = {g.group: g for g in report.attribute("sex").groups}
    assert {"female", "male"} <= set(sex)
    # the simulator's truth ignores sex, so selection of female and male leads should be close
    assert abs(sex["female"].selection_rate - sex["male"].selection_rate) < 0.1


def test_fairness_refuses_data_without_sensitive_attributes(
    acceptance_export: Export, acceptance_dataset: LeadDataset, acceptance_training: TrainingResult
) -> None:
    leads = acceptance_export.tables.leads.drop(columns=["age", "sex"])
    with pytest.raises(InputError, match="sensitive"):
        fairness_of_model(
            acceptance_training.model,
            acceptance_dataset,
            leads,
            dictionary=acceptance_export.tables.dictionary,
        )


def test_fairness_command_writes_json_and_report(
    tmp_path: Path, acceptance_export: Export, acceptance_training: TrainingResult
) -> None:
    model_dir = acceptance_training.model.save(tmp_path / "model")
    _register()
    result = CliRunner().invoke(
        app,
        [
            "fairness",
            str(acceptance_export.folder),
            "--model",
            str(model_dir),
            "--json",
            str(tmp_path / "f.json"),
            "--report",
            str(tmp_path / "f.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "f.json").read_text())
    assert {a["column"] for a in figures["attributes"]} == {"age", "sex"}
    assert "Fairness" in (tmp_path / "f.html").read_text()
