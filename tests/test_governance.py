from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careleads.cli import _register, app
from careleads.errors import InputError
from careleads.features import LeadDataset
from careleads.models import TrainingResult
from careleads.monitoring import FAIRNESS_COLUMNS, fairness_columns, fairness_of_model, sensitive_columns
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
    assert {a["column"] for a in figures["attributes"]} == {"age", "sex", "insurance"}
    assert "Fairness" in (tmp_path / "f.html").read_text()
    assert "insurance: parity difference" in result.output


def test_fairness_covers_the_payer_with_the_same_statistics(
    acceptance_export: Export, acceptance_dataset: LeadDataset, acceptance_training: TrainingResult
) -> None:
    """Finding: fairness covered age and sex only, though insurance (the payer) is a feature and a reason."""
    assert FAIRNESS_COLUMNS == ("insurance",)
    assert "insurance" in acceptance_training.model.features
    report = fairness_of_model(
        acceptance_training.model,
        acceptance_dataset,
        acceptance_export.tables.leads,
        dictionary=acceptance_export.tables.dictionary,
        rows=acceptance_training.split.test,
        by=FAIRNESS_COLUMNS,
    )
    assert [a.column for a in report.attributes] == ["age", "sex", "insurance"]
    figures = {a["column"]: a for a in report.to_dict()["attributes"]}
    payer, sex = figures["insurance"], figures["sex"]
    assert set(payer) == set(sex)
    assert set(payer["groups"][0]) == set(sex["groups"][0])
    assert sum(g.n for g in report.attribute("insurance").groups) == report.n_rows
    assert len(report.attribute("insurance").groups) >= 3


def test_fairness_by_a_named_numeric_column_bands_it_at_its_quartiles(
    acceptance_export: Export, acceptance_dataset: LeadDataset, acceptance_training: TrainingResult
) -> None:
    report = fairness_of_model(
        acceptance_training.model,
        acceptance_dataset,
        acceptance_export.tables.leads,
        dictionary=acceptance_export.tables.dictionary,
        by=["distance_km", "service_line"],
    )
    assert [a.column for a in report.attributes] == ["age", "sex", "distance_km", "service_line"]
    distance = report.attribute("distance_km")
    assert 3 <= len([g for g in distance.groups if g.group != "missing"]) <= 4
    assert sum(g.n for g in distance.groups) == report.n_rows
    assert "18-34" in {g.group for g in report.attribute("age").groups}  # age keeps its bands


@pytest.mark.parametrize(
    ("column", "message"), [("payer_type", "no column 'payer_type'"), ("email", "group of each lead")]
)
def test_fairness_refuses_a_column_that_cannot_form_groups(
    acceptance_export: Export, column: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        fairness_columns(acceptance_export.tables.dictionary, [column])


def test_fairness_command_compares_the_columns_named_with_by(
    tmp_path: Path, acceptance_export: Export, acceptance_training: TrainingResult
) -> None:
    model_dir = acceptance_training.model.save(tmp_path / "model")
    _register()
    args = [
        "fairness",
        str(acceptance_export.folder),
        "--model",
        str(model_dir),
        "--json",
        str(tmp_path / "f.json"),
    ]
    result = CliRunner().invoke(app, [*args, "--by", "service_line", "--by", "source"])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "f.json").read_text())
    assert [a["column"] for a in figures["attributes"]] == ["age", "sex", "service_line", "source"]
    unknown = CliRunner().invoke(app, [*args, "--by", "payer_type"])
    assert unknown.exit_code == 2 and "no column 'payer_type'" in unknown.output
