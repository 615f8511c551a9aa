"""The text-classifier benchmark: held-out simulator texts and hand-written sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from _benchmarks_support import load_benchmark

bench_text = load_benchmark("bench_text")

DATA = Path(__file__).parent / "data"
FRESH = DATA / "intent_messages_fresh.csv"


def test_measure_reports_both_sets(capsys: pytest.CaptureFixture[str]) -> None:
    scores = bench_text.measure_text_classifiers(n_texts=4000, handwritten=[FRESH])
    assert scores.n_train + scores.n_heldout == 4000 and scores.n_heldout == 1000
    assert scores.intent_f1_heldout > 0.9
    assert scores.triage_recall_heldout == 1.0
    assert scores.handwritten[0].n_messages == 84
    assert bench_text.main(["--n-texts", "3000", "--handwritten", str(FRESH), str(DATA / "missing.csv")]) == 0
    printed = capsys.readouterr().out
    assert "intent macro F1" in printed and "missing.csv not found" in printed
    assert "(84 messages)" in printed and "(750 texts, trained on 2250)" in printed


def test_the_default_sets_are_this_checkouts() -> None:
    assert all(path.is_file() for path in bench_text.DEFAULT_HANDWRITTEN)
