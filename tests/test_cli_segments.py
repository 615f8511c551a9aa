"""`careleads train/score --segment` and `generate --returning-share/--partnerships`: what each says in its
help, and the mistakes it refuses (the whole flow runs in tests/test_docs_snippets.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import careleads.cli
from careleads.cli import app
from careleads.models import ModelRegistry
from careleads.segments import SEGMENT_NAMES

RUNNER = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    if not app.registered_commands and not app.registered_groups:
        careleads.cli._register()


@pytest.mark.parametrize("command", ["train", "score"])
def test_the_help_explains_every_segment(command: str) -> None:
    result = RUNNER.invoke(app, [command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in SEGMENT_NAMES:
        assert name in text
    assert "quiet" in text and "business development" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--out", "x", "--partnerships", "50"], "at least 100 partnership leads"),
        (["train", "export", "--segment", "returning", "--with-feedback"], "new patient leads only"),
    ],
)
def test_mistakes_are_refused_with_what_to_do(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = RUNNER.invoke(app, args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())


def test_a_model_scores_only_its_own_segment(tmp_path: Path) -> None:
    """A folder of models without one of the segment, and a model of another segment, are refused."""
    from careleads.synth import generate_partnerships

    data = tmp_path / "export"
    generate_partnerships(1500, seed=3).write(data)
    models = tmp_path / "models"
    result = RUNNER.invoke(app, ["train", str(data), "--segment", "partnership", "--out", str(models)])
    assert result.exit_code == 0, result.output
    version = ModelRegistry(models).latest("partnership")
    leads = str(data / "partnership_leads.csv")
    for model, segment, message in [
        (str(models), "returning", "holds no returning model"),
        (str(models / version), "inbound", "trained for partnership leads"),
    ]:
        args = ["score", leads, "--model", model, "--out", str(tmp_path / "o.csv"), "--segment", segment]
        result = RUNNER.invoke(app, args)
        assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
    args = [
        "score",
        leads,
        "--model",
        str(models),
        "--segment",
        "partnership",
        "--out",
        str(tmp_path / "o.csv"),
    ]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "partnership leads: 1,500 scored" in " ".join(result.stdout.split())


def test_generate_returning_share_writes_returning_leads(tmp_path: Path) -> None:
    """`generate --returning-share` simulates leads that come back, with their truth in returns."""
    none = RUNNER.invoke(app, ["generate", "--out", str(tmp_path / "none"), "--leads", "600", "--seed", "2"])
    assert none.exit_code == 0, none.output
    assert not (tmp_path / "none" / "returns.csv").exists()
    out = tmp_path / "some"
    args = ["generate", "--out", str(out), "--leads", "600", "--seed", "2", "--returning-share", "0.5"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert str(out / "returns.csv") in result.output.replace("\n", "")
    assert len(pd.read_csv(out / "returns.csv")) > 0


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_generate_refuses_a_returning_share_outside_0_and_1(tmp_path: Path, share: str) -> None:
    result = RUNNER.invoke(app, ["generate", "--out", str(tmp_path / "x"), "--returning-share", share])
    assert result.exit_code == 2
    assert "--returning-share" in result.output and not (tmp_path / "x").exists()
