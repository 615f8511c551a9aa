from __future__ import annotations

import json

import pytest

from careleads.errors import InputError
from careleads.monitoring import publish_gate
from careleads.settings import MonitorSettings


def test_candidate_within_margin_and_calibrated_is_accepted() -> None:
    decision = publish_gate(
        candidate={"auc": 0.781, "ece": 0.02, "n": 1200},
        published={"auc": 0.790, "ece": 0.025, "n": 1200},
        auc_margin=0.01,
    )
    assert decision.accepted
    assert decision.evidence["auc_difference"] == pytest.approx(-0.009)
    assert decision.evidence["candidate"]["auc"] == pytest.approx(0.781)
    assert any(r.startswith("Discrimination passed") for r in decision.reasons)
    assert decision.summary_lines()[0].startswith("Publish")
    json.dumps(decision.to_dict())


def test_candidate_worse_than_margin_is_rejected() -> None:
    decision = publish_gate(
        candidate={"auc": 0.770, "ece": 0.02, "n": 1200},
        published={"auc": 0.790, "ece": 0.02, "n": 1200},
    )
    assert not decision.accepted
    assert any(r.startswith("Discrimination failed") and "-0.0200" in r for r in decision.reasons)


def test_uncalibrated_candidate_is_rejected_even_if_better() -> None:
    decision = publish_gate(candidate={"auc": 0.85, "ece": 0.06}, published={"auc": 0.79, "ece": 0.02})
    assert not decision.accepted
    assert decision.reasons[0].startswith("Calibration failed: candidate ECE 0.0600 > the limit 0.0500")


def test_first_model_passes_if_calibrated() -> None:
    assert publish_gate(candidate={"auc": 0.70, "ece": 0.01}, published=None).accepted
    assert not publish_gate(candidate={"auc": 0.90, "ece": 0.06}, published=None).accepted


def test_the_default_limits_are_the_settings() -> None:
    # one definition: the function's defaults are the settings' (CARELEADS_MONITOR_GATE_*), at the boundary
    limit = MonitorSettings().gate_max_ece
    assert publish_gate(candidate={"auc": 0.8, "ece": limit}, published=None).accepted
    assert not publish_gate(candidate={"auc": 0.8, "ece": limit + 1e-6}, published=None).accepted
    margin = MonitorSettings().gate_auc_margin
    at_margin = publish_gate(candidate={"auc": 0.8 - margin, "ece": 0.0}, published={"auc": 0.8, "ece": 0.0})
    below = publish_gate(
        candidate={"auc": 0.8 - margin - 1e-6, "ece": 0.0}, published={"auc": 0.8, "ece": 0.0}
    )
    assert at_margin.accepted and not below.accepted


def test_different_windows_are_rejected() -> None:
    decision = publish_gate(
        candidate={"auc": 0.80, "ece": 0.02, "n": 1000}, published={"auc": 0.79, "ece": 0.02, "n": 900}
    )
    assert not decision.accepted
    assert any("Same window failed" in r for r in decision.reasons)


def test_missing_or_bad_metrics_raise() -> None:
    with pytest.raises(InputError, match="lack"):
        publish_gate(candidate={"auc": 0.8}, published=None)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        publish_gate(candidate={"auc": 80.0, "ece": 0.01}, published=None)
