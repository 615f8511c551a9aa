"""Batch decision columns: the policy's answer written as the columns decisions_frame gives (owners aside)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.decisions import (
    BATCH_DECISION_COLUMNS,
    SCORED_KEYS,
    decide_columns,
    decide_many,
    decisions_frame,
    load_hard_rules,
    load_routing,
)
from careleads.errors import InputError
from conftest import Export
from test_engine import NOW, _scores_for
from test_triage import NOT_TRIGGERING, TRIGGERING


def _with_texts(leads: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The leads with a third of their questions replaced by symptom phrasings (plain, negated, typo'd)."""
    rng = np.random.default_rng(seed)
    phrases = [t for t, _ in TRIGGERING] + NOT_TRIGGERING
    out = leads.copy()
    rows = rng.choice(len(out), size=len(out) // 3, replace=False)
    picked = [phrases[k] for k in rng.integers(0, len(phrases), len(rows))]
    texts = out["question"].astype(object).to_numpy().copy()
    texts[rows] = [p.upper() if k % 5 == 0 else p for k, p in enumerate(picked)]
    out["question"] = pd.array(texts, dtype="string")
    return out


def _expected(leads: pd.DataFrame, scored: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    table = decisions_frame(decide_many(leads, scored, now=NOW, **kwargs))  # type: ignore[arg-type]
    return table[list(BATCH_DECISION_COLUMNS)]


def test_columns_render_the_decisions_of_a_simulated_export(small_export: Export) -> None:
    leads = _with_texts(small_export.tables.leads, seed=3)
    scored = _scores_for(leads, seed=4)
    got = decide_columns(leads, scored, now=NOW)
    want = _expected(leads, scored)
    assert list(got.columns) == list(BATCH_DECISION_COLUMNS)
    pd.testing.assert_frame_equal(got, want)
    # as categoricals (for a batch file): the same values, and every text column is one
    categorical = decide_columns(leads, scored, now=NOW, categorical=True)
    texts = [name for name in got.columns if got[name].dtype == want["action"].dtype]
    assert len(texts) == 15
    for name in got.columns:
        assert isinstance(categorical[name].dtype, pd.CategoricalDtype) is (name in texts), name
        pd.testing.assert_series_equal(categorical[name].astype(got[name].dtype), got[name])
    # every kind of decision was met, so the comparison covered each branch
    assert got["overrides"].str.contains("urgent_clinical_symptoms").any()
    assert got["notes"].str.contains("do not profile").any()
    assert got["notes"].str.contains("no marketing consent").any()
    assert got["notes"].str.contains("; ").any()
    assert got["route_nurture_track"].notna().any()
    # the batch file records every lead-level field decisions_frame has (owners belong to the work queue)
    every = set(decisions_frame(decide_many(leads.iloc[:5], scored.iloc[:5], now=NOW)).columns)
    assert every - set(BATCH_DECISION_COLUMNS) - set(scored.columns) == {"route_owner", "route_assignment"}


def test_columns_follow_the_scored_order_and_custom_detector(small_export: Export) -> None:
    leads = small_export.tables.leads.iloc[:800]
    scored = _scores_for(leads, seed=5).iloc[::-1].reset_index(drop=True)
    detector = lambda text: "knee" in text.lower()  # noqa: E731 - a custom detector is any callable
    got = decide_columns(leads, scored, now=NOW, urgent_detector=detector)
    pd.testing.assert_frame_equal(got, _expected(leads, scored, urgent_detector=detector))


def test_columns_with_custom_rules_and_no_rules(small_export: Export) -> None:
    leads = small_export.tables.leads.iloc[:600]
    scored = _scores_for(leads, seed=6)
    routing = load_routing()
    empty = load_hard_rules().__class__(name="none", version="0", rules=())
    got = decide_columns(leads, scored, now=NOW, hard_rules=empty, routing=routing)
    pd.testing.assert_frame_equal(got, _expected(leads, scored, hard_rules=empty, routing=routing))
    assert (got["overrides"] == "").all()


def test_empty_and_unprofiled_model_scores() -> None:
    empty = decide_columns(
        pd.DataFrame({"lead_id": pd.Series([], dtype="string")}),
        pd.DataFrame({k: [] for k in SCORED_KEYS}),
        now=NOW,
    )
    assert list(empty.columns) == list(BATCH_DECISION_COLUMNS) and len(empty) == 0
    leads = pd.DataFrame({"lead_id": ["L1"], "do_not_profile": [True]})
    scored = pd.DataFrame(
        {
            "lead_id": ["L1"],
            "probability": [0.5],
            "score": [50],
            "tier": ["B"],
            "action": ["call"],
            "reasons": [""],
            "scored_by": ["model"],
            "model_version": ["m1"],
        }
    )
    with pytest.raises(InputError, match="do not profile"):
        decide_columns(leads, scored, now=NOW)
