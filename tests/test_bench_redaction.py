"""The redaction benchmark prints the figures `measure_redaction` gives, for every kind."""

from __future__ import annotations

import pytest

from _benchmarks_support import load_benchmark
from careleads.privacy import make_pii_corpus, measure_redaction

bench_redaction = load_benchmark("bench_redaction")


def test_the_table_prints_the_measured_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_redaction.main(["--n", "60", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    expected = measure_redaction(make_pii_corpus(60, seed=1))
    for kind, row in expected["kinds"].items():
        assert f"| {kind} | {row['n_gold']} | {row['n_caught']} |" in out
    assert f"overlapping no identifier: {expected['n_false_positive_spans']}" in out
    assert "make_pii_corpus(n=60, seed=1)" in out and "Python loop" in out


def test_speed_is_counted_over_every_text() -> None:
    result = bench_redaction.measure(40, seed=3)
    assert result["n_texts"] == 40 and result["texts_per_second"] > 0
