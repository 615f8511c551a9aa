"""The leakage-audit benchmark: the generator plants each kind of leak and decoy, and one small run works."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from _benchmarks_support import load_benchmark

bench_audit = load_benchmark("bench_audit")

SEEDS = range(6)
ROWS = 2_000


def _by_kind(key: dict[str, object]) -> dict[str, str]:
    columns = key["columns"]
    assert isinstance(columns, dict)
    return {entry["kind"]: name for name, entry in columns.items()}


def _column(file: object, name: str) -> pd.Series:
    frame = file.frame  # type: ignore[attr-defined]
    if name == "Unnamed: 0":
        return pd.Series(frame.index, index=frame.index)
    column: pd.Series = frame[name]
    return column


@pytest.mark.parametrize("seed", SEEDS)
def test_every_kind_is_planted_with_its_role(seed: int) -> None:
    file = bench_audit.generate_file(seed, ROWS)
    kinds = _by_kind(file.key)
    planted = {"status", "outcome_date", "post_contact", "planned_date", "lead_time", "identifier", "index"}
    assert planted | {"strong_honest"} <= set(kinds)
    assert "age" in kinds or "condition" in kinds
    roles = {entry["kind"]: entry["role"] for entry in file.key["columns"].values()}
    assert {roles[k] for k in ("status", "outcome_date", "post_contact")} == {"leak"}
    assert {roles[k] for k in ("planned_date", "lead_time", "strong_honest")} == {"keep"}
    assert {roles[k] for k in ("identifier", "index")} == {"never"}
    assert roles.get("age", roles.get("condition")) == "never"
    # every column of the file has a role, except the label and the time column
    run = file.key["run"]
    written = set(file.frame.columns) | ({"Unnamed: 0"} if file.unnamed_index else set())
    assert written - set(file.key["columns"]) == {run["label"], run["time_column"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_leaks_and_decoys_behave_as_their_kind(seed: int) -> None:
    file = bench_audit.generate_file(seed, ROWS)
    kinds, run = _by_kind(file.key), file.key["run"]
    y = file.frame[run["label"]].to_numpy()
    moment = pd.to_datetime(file.frame[run["time_column"]])
    assert 0.15 < y.mean() < 0.5

    planned = pd.to_datetime(_column(file, kinds["planned_date"]), format="%Y-%m-%d")
    assert planned.notna().all() and (planned > moment).all()
    lead_days = _column(file, kinds["lead_time"]).to_numpy()
    assert np.array_equal((planned - moment.dt.normalize()).dt.days.to_numpy(), lead_days)
    assert 0.5 < roc_auc_score(y, -lead_days) < 0.65  # weakly predictive: later plans convert less

    post = _column(file, kinds["post_contact"]).fillna(0.0)
    assert 0.8 <= roc_auc_score(y, post) <= 0.9
    assert (post[y == 0] == 0).mean() > 0.4 > (post[y == 1] == 0).mean()
    assert 0.7 <= roc_auc_score(y, _column(file, kinds["strong_honest"])) <= 0.8

    status = _column(file, kinds["status"])
    assert status[y == 1].isin(status[y == 1].value_counts().index[:3]).mean() > 0.8
    outcome = pd.to_datetime(_column(file, kinds["outcome_date"]).replace("", None))
    assert (outcome.dropna() > moment[outcome.notna()]).all()  # after the scoring moment

    assert _column(file, kinds["identifier"]).is_unique
    index = np.sort(_column(file, kinds["index"]).to_numpy())
    assert index[0] in (0, 1) and np.array_equal(np.diff(index), np.ones(len(index) - 1))


def test_names_are_random_across_seeds() -> None:
    names: dict[str, set[str]] = {
        kind: set() for kind in ("status", "outcome_date", "post_contact", "planned_date", "lead_time")
    }
    for seed in SEEDS:
        kinds = _by_kind(bench_audit.generate_file(seed, 200).key)
        for kind in names:
            names[kind].add(kinds[kind])
    assert all(len(seen) >= 4 for seen in names.values()), names


def test_the_same_seed_gives_the_same_file() -> None:
    first, second = bench_audit.generate_file(7, 300), bench_audit.generate_file(7, 300)
    assert first.key == second.key
    pd.testing.assert_frame_equal(first.frame, second.frame)


def test_score_audit_counts_against_the_key() -> None:
    key = {
        "columns": {
            "a": {"role": "leak", "kind": "status"},
            "b": {"role": "leak", "kind": "post_contact"},
            "c": {"role": "keep", "kind": "planned_date"},
            "d": {"role": "keep", "kind": "honest"},
            "e": {"role": "never", "kind": "identifier"},
            "f": {"role": "suspect", "kind": "post_booking"},
        }
    }
    excluded = [{"column": "a", "reason": "leakage suspect"}, {"column": "c", "reason": "leakage suspect"}]
    scored = bench_audit.score_audit(["b", "d", "e", "f"], excluded, key)
    assert scored["caught"] == 1 and scored["leaks"] == 2 and scored["missed"] == ["b"]
    assert scored["false_positives"] == {"c": "leakage suspect"} and scored["planned_excluded"] == ["c"]
    assert scored["never_used"] == ["e"] and (scored["suspects"], scored["suspects_caught"]) == (1, 0)


def test_real_files_are_skipped_with_the_reason_when_absent(tmp_path: Path) -> None:
    figures = bench_audit.run(
        n_synthetic=0,
        rows=0,
        seed=0,
        only=[],
        data=tmp_path / "absent",
        keys=bench_audit.KEYS,
        write_dir=None,
        say=lambda _message: None,
    )
    assert figures["files"] == []
    assert set(figures["skipped"]) == {"x_education", "olist_funnel", "hotel_bookings", "kickstarter"}
    assert all("absent" in reason for reason in figures["skipped"].values())


def test_a_small_run_returns_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit.json"
    argv = ["--no-real", "--synthetic", "1", "--rows", "1500", "--seed", "3", "--json", str(out)]
    assert bench_audit.main(argv) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    (file,) = figures["files"]
    assert file["file"] == "synthetic_3" and file["origin"] == "synthetic" and file["split"] == "time"
    assert file["same_split"] is True
    assert file["audit"]["leaks"] == 3 and 0 <= file["audit"]["caught"] <= 3
    for figure in ("test_auc", "logistic_auc", "ece", "auc_before_calibration", "auc_after_calibration"):
        assert 0 <= file["careleads"][figure] <= 1, figure
    assert 0.5 < file["plain"]["lightgbm_auc"] <= 1 and 0.5 < file["plain"]["logistic_auc"] <= 1
    assert {file["base_rate"]["planted_drift"], file["base_rate"]["warned"]} <= {True, False}
    synthetic = figures["totals"]["synthetic"]
    assert synthetic["files"] == 1 and synthetic["leaks"] == 3
    printed = capsys.readouterr().out
    assert "synthetic_3" in printed and "precision, recall" in printed
