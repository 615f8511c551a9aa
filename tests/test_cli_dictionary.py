"""`careleads dictionary infer|check`, run through a Typer app of the test's own."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from careleads.cli._dictionary import register
from careleads.dictionary import FieldType, load_dictionary


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()

    @application.callback()
    def main() -> None:
        """careleads"""

    register(application)
    return application


def write_leads(folder: Path) -> Path:
    file = folder / "leads.csv"
    file.write_text(
        "Lead ID,Created Date,Specialty,Browser\n"
        "L1,2025-03-04T10:00:00,Ortho,firefox\n"
        "L2,2025-13-45,Derm,safari\n"
        "L3,2025-03-05,Dentistry,\n",
        encoding="utf-8",
    )
    return file


def test_infer_prints_yaml_that_loads(app: typer.Typer, tmp_path: Path) -> None:
    data = tmp_path / "crm.csv"
    pd.DataFrame({"Deal ID": [f"D{i}" for i in range(30)], "Won": ["yes", "no", "no"] * 10}).to_csv(
        data, index=False
    )
    result = CliRunner().invoke(app, ["dictionary", "infer", str(data), "--label", "Won"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "printed.yaml"
    out.write_text(result.stdout, encoding="utf-8")
    dictionary = load_dictionary(out)
    assert dictionary.name == "crm" and dictionary.table("data").field("deal_id").type is FieldType.IDENTIFIER
    assert dictionary.label is not None and dictionary.label.positive == ("yes",)


def test_infer_writes_a_file_with_out(app: typer.Typer, tmp_path: Path) -> None:
    data = write_leads(tmp_path)
    target = tmp_path / "dicts" / "leads.yaml"
    result = CliRunner().invoke(app, ["dictionary", "infer", str(data), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert load_dictionary(target).table("data").names[0] == "lead_id"
    assert result.stdout == ""


def test_check_prints_the_summary_and_writes_the_quarantine(app: typer.Typer, tmp_path: Path) -> None:
    quarantine, flagged = tmp_path / "bad.csv", tmp_path / "flagged.csv"
    result = CliRunner().invoke(
        app,
        [
            "dictionary",
            "check",
            str(write_leads(tmp_path)),
            "--quarantine",
            str(quarantine),
            "--flagged",
            str(flagged),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in ("rows read", "rows quarantined", "created_at: unparsable_datetime", "Browser"):
        assert text in result.stdout
    assert "service_line: unknown_category" in result.stdout  # a flagged value, its row kept
    assert pd.read_csv(quarantine)["_row"].tolist() == [3]
    listed = pd.read_csv(flagged, dtype=str)
    assert listed[["_row", "_field", "_value"]].values.tolist() == [["4", "service_line", "Dentistry"]]


def test_check_json_and_strict(app: typer.Typer, tmp_path: Path) -> None:
    data = write_leads(tmp_path)
    result = CliRunner().invoke(app, ["dictionary", "check", str(data), "--json", "--strict"])
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert (summary["n_read"], summary["n_stored"], summary["n_quarantined"], summary["n_flagged"]) == (
        3,
        2,
        1,
        1,
    )
    assert summary["unknown_columns"] == ["Browser"]


def test_errors_are_one_clean_line(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["dictionary", "check", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 1
    assert missing.stderr.strip().startswith("error: ") and "no such file" in missing.stderr
    assert "Traceback" not in missing.output and missing.stderr.count("\n") == 1
    (tmp_path / "blob.csv").write_bytes(bytes(range(256)))
    binary = runner.invoke(app, ["dictionary", "infer", str(tmp_path / "blob.csv")])
    assert binary.exit_code == 1 and "binary" in binary.stderr
    wrong_table = runner.invoke(app, ["dictionary", "check", str(write_leads(tmp_path)), "--table", "deals"])
    assert wrong_table.exit_code == 1 and "no table 'deals'" in wrong_table.stderr
    bad_dictionary = tmp_path / "d.yaml"
    bad_dictionary.write_text("name: x\n", encoding="utf-8")
    broken = runner.invoke(
        app, ["dictionary", "check", str(write_leads(tmp_path)), "--dictionary", str(bad_dictionary)]
    )
    assert broken.exit_code == 1 and "key 'tables'" in broken.stderr
