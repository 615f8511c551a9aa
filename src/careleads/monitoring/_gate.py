"""Publish gate: a candidate model replaces the published one only if it is not worse and is calibrated.

Both models must have been evaluated on the same recent window; the gate compares their metrics dicts
(``auc``, ``ece`` and, when known, ``n``, the number of leads in the window) and shows the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from careleads.errors import InputError
from careleads.settings import MonitorSettings
from careleads.types import JSONDict

# the gate's limits are settings (CARELEADS_MONITOR_GATE_*): their defaults are defined there, once
_DEFAULTS = MonitorSettings()


@dataclass(frozen=True)
class GateDecision:
    """Whether to publish, one reason per check (passed or failed), and the numbers behind them."""

    accepted: bool
    reasons: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict."""
        return {"accepted": self.accepted, "reasons": list(self.reasons), "evidence": dict(self.evidence)}

    def summary_lines(self) -> list[str]:
        """The verdict, then the reasons."""
        verdict = "Publish: the candidate passes the gate." if self.accepted else "Do not publish."
        return [verdict, *self.reasons]


def publish_gate(
    *,
    candidate: Mapping[str, Any],
    published: Mapping[str, Any] | None,
    auc_margin: float = _DEFAULTS.gate_auc_margin,
    max_ece: float = _DEFAULTS.gate_max_ece,
) -> GateDecision:
    """Decide whether a candidate model may be published.

    Checks, each reported as a reason whether it passed or failed:

    - calibration: the candidate's expected calibration error is at most ``max_ece``;
    - discrimination: the candidate's AUC is at least the published model's AUC minus ``auc_margin``;
    - same window: when both dicts carry ``n``, they must match (the comparison needs the same leads).

    With no published model (``published=None``) the calibration check alone decides.

    Parameters
    ----------
    candidate : mapping
        The candidate's metrics on the recent window: ``auc`` and ``ece`` (required), ``n`` (optional).
    published : mapping or None
        The published model's metrics on the same window, or None for the first model.
    auc_margin : float, default ``MonitorSettings().gate_auc_margin`` (0.01)
        How much lower the candidate's AUC may be.
    max_ece : float, default ``MonitorSettings().gate_max_ece`` (0.05)
        Largest acceptable expected calibration error.

    Returns
    -------
    GateDecision
        ``accepted``, ``reasons`` and ``evidence`` (both metric sets, the AUC difference and the limits).

    Examples
    --------
    >>> d = publish_gate(candidate={"auc": 0.78, "ece": 0.02, "n": 900},
    ...                  published={"auc": 0.785, "ece": 0.02, "n": 900})
    >>> d.accepted
    True
    >>> publish_gate(candidate={"auc": 0.70, "ece": 0.02}, published={"auc": 0.75, "ece": 0.02}).accepted
    False
    """
    if auc_margin < 0 or max_ece < 0:
        raise InputError(
            f"publish_gate: auc_margin and max_ece must be >= 0, got {auc_margin} and {max_ece}."
        )
    cand = _metrics(candidate, "candidate")
    pub = _metrics(published, "published") if published is not None else None
    reasons: list[str] = []
    evidence: dict[str, Any] = {
        "candidate": cand,
        "published": pub,
        "auc_margin": auc_margin,
        "max_ece": max_ece,
    }
    checks: list[bool] = []

    calibrated = cand["ece"] <= max_ece
    checks.append(calibrated)
    reasons.append(
        f"Calibration {'passed' if calibrated else 'failed'}: candidate ECE {cand['ece']:.4f} "
        f"{'<=' if calibrated else '>'} the limit {max_ece:.4f}."
    )

    if pub is None:
        reasons.append("No published model to compare with: the calibration check decides.")
    else:
        diff = cand["auc"] - pub["auc"]
        evidence["auc_difference"] = diff
        not_worse = diff >= -auc_margin - 1e-12
        checks.append(not_worse)
        reasons.append(
            f"Discrimination {'passed' if not_worse else 'failed'}: candidate AUC {cand['auc']:.4f} against "
            f"published {pub['auc']:.4f} ({diff:+.4f}; allowed down to -{auc_margin:.4f})."
        )
        if "n" in cand and "n" in pub:
            same = cand["n"] == pub["n"]
            checks.append(same)
            if not same:
                reasons.append(
                    f"Same window failed: candidate evaluated on {cand['n']:.0f} leads, published on "
                    f"{pub['n']:.0f}; evaluate both on the same recent window."
                )
            else:
                reasons.append(f"Same window passed: both evaluated on {cand['n']:.0f} leads.")
        else:
            reasons.append(
                "Window size not given for both models: make sure they were evaluated on the same leads."
            )
    return GateDecision(accepted=all(checks), reasons=reasons, evidence=evidence)


def _metrics(metrics: Mapping[str, Any], name: str) -> dict[str, float]:
    missing = [k for k in ("auc", "ece") if k not in metrics or metrics[k] is None]
    if missing:
        raise InputError(
            f"publish_gate: the {name} metrics lack {missing}; evaluate the model on the recent window first."
        )
    out: dict[str, float] = {}
    for key in ("auc", "ece", "n"):
        if key in metrics and metrics[key] is not None:
            try:
                value = float(metrics[key])
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"publish_gate: {name} {key} must be a number, got {metrics[key]!r}."
                ) from exc
            if math.isnan(value) or (key != "n" and not 0 <= value <= 1):
                raise InputError(f"publish_gate: {name} {key} must be in [0, 1], got {metrics[key]!r}.")
            out[key] = value
    return out
