"""The start-up benchmark: its lead is valid through the dictionary, and one short run prints both codes."""

from __future__ import annotations

from typing import Any

import pytest

from _benchmarks_support import load_benchmark
from careleads.dictionary import KnownAt, load_dictionary, validate_record

bench_startup = load_benchmark("bench_startup")


def test_the_timed_lead_holds_only_fields_known_at_creation_and_is_valid() -> None:
    dictionary = load_dictionary()
    known = {f.name for f in dictionary.table("leads").fields if f.known is KnownAt.CREATION}
    lead: dict[str, Any] = bench_startup.lead(3)
    assert set(lead) <= known and lead["question"]
    _clean, problems = validate_record(lead, dictionary, "leads")
    assert not problems


def test_one_short_run_measures_this_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        bench_startup.main(["--reference", "", "--repeats", "1", "--leads", "1500", "--n-texts", "600"]) == 0
    )
    printed = capsys.readouterr().out
    figures: dict[str, Any] = bench_startup.json.loads(printed[: printed.index("\n}\n") + 2])
    this = figures["this"]
    assert 0 < this["listening_s_median"] <= this["startup_s_median"]
    assert this["first_after_publish_s_median"] > 0 and this["publish_s_median"] > 0
    assert "reference" not in figures and "start-up to first scored lead" in printed
