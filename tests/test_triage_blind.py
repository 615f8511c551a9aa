"""Acceptance of the clinical-triage detector on the blind set (``tests/data/triage_blind.csv``).

The set was written after the detector was frozen, by a writer who had not seen the detector, its lexicon,
its development set or its tests (``tests/data/TRIAGE_BLIND.md``). The figures are computed by the
benchmark's :func:`blind_figures` (``python benchmarks/bench_triage.py`` prints them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _benchmarks_support import load_benchmark
from careleads.text.triage import default_detector

bench_triage = load_benchmark("bench_triage")


@pytest.fixture(scope="module")
def figures() -> dict[str, object]:
    return bench_triage.blind_figures(default_detector())


def test_blind_set_is_large_enough(figures: dict[str, object]) -> None:
    assert figures["n_urgent"] >= 300
    assert figures["n_symptom"] >= 300
    assert figures["n_scheduling"] >= 300


def test_urgent_messages_reach_a_human(figures: dict[str, object]) -> None:
    assert figures["recall"] >= 0.95, figures["missed"]


def test_false_alarms_on_non_urgent_symptoms(figures: dict[str, object]) -> None:
    assert figures["false_alarms_symptom"] <= 0.10


def test_false_alarms_on_scheduling(figures: dict[str, object]) -> None:
    assert figures["false_alarms_scheduling"] <= 0.02


def test_an_unknown_group_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("text,group,topic\nhello,elsewhere,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown group"):
        bench_triage.blind_figures(default_detector(), path)
