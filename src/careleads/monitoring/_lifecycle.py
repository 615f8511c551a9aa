"""The model lifecycle: retrain on fresh data (with reviewer feedback), gate, publish, list reason changes.

:func:`retrain` trains a candidate on an export, evaluates it and the published model on the SAME recent
window (the candidate's untouched test window), and publishes only when :func:`publish_gate` accepts: the
candidate's AUC is not below the published model's by more than the margin, and its calibration error is
within the limit. The evidence is kept in :class:`GateResult`. Reason changes between versions are the
features whose importance moved most between the two model cards. Rollback is the registry's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from careleads.datasets import load_crm_folder
from careleads.dictionary import read_table
from careleads.errors import InputError, NotEnoughDataError
from careleads.features import LeadDataset, Target
from careleads.models import LeadModel, ModelRegistry, card_key, train_model
from careleads.monitoring._gate import GateDecision, publish_gate
from careleads.monitoring._monitor import monitor
from careleads.monitoring._sources import FolderSource
from careleads.settings import MonitorSettings
from careleads.stats import binary_metrics
from careleads.types import JSONDict, PathLikeStr

__all__ = [
    "FEEDBACK_LABELS",
    "GateResult",
    "ReasonChange",
    "RetrainResult",
    "Trigger",
    "evaluate_on_window",
    "feedback_rows",
    "gate_and_publish",
    "reason_changes",
    "retrain",
]

Trigger = Literal["always", "drift", "schedule"]

#: Reviewer labels that say whether a lead converted; other labels (follow_later, wrong_route, ...) do not.
FEEDBACK_LABELS: dict[str, int] = {
    "1": 1,
    "true": 1,
    "yes": 1,
    "scheduled": 1,
    "converted": 1,
    "0": 0,
    "false": 0,
    "no": 0,
    "not_a_fit": 0,
    "unreachable": 0,
}


@dataclass(frozen=True)
class ReasonChange:
    """How much one feature's share of the model's importance moved between two versions."""

    feature: str
    before: float
    after: float

    @property
    def change(self) -> float:
        """After minus before (shares of total importance)."""
        return self.after - self.before

    def describe(self) -> str:
        """'n_events: 12.8% -> 4.1% of importance (-8.7 points)'."""
        return (
            f"{self.feature}: {self.before * 100:.1f}% -> {self.after * 100:.1f}% of importance "
            f"({self.change * 100:+.1f} points)"
        )


def reason_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, top: int = 5
) -> list[ReasonChange]:
    """Features whose importance moved most between two model cards, largest move first.

    Cards list their top features' importance (shares); a feature missing from one card counts as 0 there.

    Examples
    --------
    >>> old = {"feature_importance": {"source": 0.3, "n_events": 0.2}}
    >>> new = {"feature_importance": {"source": 0.1, "inquiry_type": 0.25}}
    >>> for change in reason_changes(old, new, top=2):
    ...     print(change.describe())
    inquiry_type: 0.0% -> 25.0% of importance (+25.0 points)
    n_events: 20.0% -> 0.0% of importance (-20.0 points)
    """
    a = {str(k): float(v) for k, v in dict(before.get("feature_importance") or {}).items()}
    b = {str(k): float(v) for k, v in dict(after.get("feature_importance") or {}).items()}
    changes = [ReasonChange(f, a.get(f, 0.0), b.get(f, 0.0)) for f in sorted(set(a) | set(b))]
    changes.sort(key=lambda c: (-abs(c.change), c.feature))
    return [c for c in changes[:top] if c.change != 0]


def evaluate_on_window(model: LeadModel, X: pd.DataFrame, y: Any) -> dict[str, float]:
    """AUC, ECE, positive rate and ``n`` of ``model`` on one window of labelled leads."""
    labels = np.asarray(y, dtype=float)
    if np.isnan(labels).any():
        raise InputError("evaluate_on_window: every lead of the window needs a known 0/1 outcome.")
    metrics = binary_metrics(labels.astype(int), model.predict_proba(X)).to_dict()
    return {k: float(metrics[k]) for k in ("auc", "ece", "n", "positive_rate", "brier")}


@dataclass(frozen=True)
class GateResult:
    """The publish gate's verdict on a candidate, with the evidence and what happened."""

    candidate_version: str
    previous_version: str | None
    window: dict[str, Any]
    candidate_metrics: dict[str, float]
    previous_metrics: dict[str, float] | None
    decision: GateDecision
    published: bool
    reason_changes: list[ReasonChange] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """Verdict, evidence, then the reasons whose influence moved most."""
        w = self.window
        lines = [
            (
                f"Published {self.candidate_version}."
                if self.published
                else f"Not published: {self.candidate_version} stays a candidate"
                + (f"; {self.previous_version} keeps scoring." if self.previous_version else ".")
            ),
            f"Evaluation window (the same for both): {w['n']:,} leads scored {w['start']} to {w['end']}.",
            *self.decision.reasons,
        ]
        if self.reason_changes:
            lines.append(
                "Reasons whose influence moved most: "
                + "; ".join(c.describe() for c in self.reason_changes)
                + "."
            )
        return lines

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict."""
        return {
            "candidate_version": self.candidate_version,
            "previous_version": self.previous_version,
            "published": self.published,
            "window": dict(self.window),
            "candidate_metrics": dict(self.candidate_metrics),
            "previous_metrics": None if self.previous_metrics is None else dict(self.previous_metrics),
            "gate": self.decision.to_dict(),
            "reason_changes": [
                {"feature": c.feature, "before": c.before, "after": c.after, "change": c.change}
                for c in self.reason_changes
            ],
            "summary": self.summary_lines(),
        }


def gate_and_publish(
    registry: ModelRegistry,
    candidate: LeadModel,
    X_window: pd.DataFrame,
    y_window: Any,
    *,
    window: Mapping[str, Any] | None = None,
    settings: MonitorSettings | None = None,
    actor: str = "retrain",
    publish: bool = True,
) -> GateResult:
    """Register ``candidate``, evaluate it and the published model on one window; publish through the gate.

    Parameters
    ----------
    registry : ModelRegistry
        Where the candidate is registered and, when accepted, published.
    candidate : LeadModel
        The newly trained model.
    X_window, y_window
        Features and 0/1 outcomes of the recent window both models are evaluated on.
    window : mapping, optional
        ``start`` and ``end`` of the window, for the evidence.
    settings : MonitorSettings, optional
        ``gate_auc_margin`` and ``gate_max_ece``.
    actor : str
        Who publishes, for the registry history.
    publish : bool
        False to evaluate only (a dry run).
    """
    cfg = settings or MonitorSettings()
    # the model the candidate would replace: of its target, segment and cohort; a cohort's first model
    # must beat the target's model of every lead, which scores the cohort's leads until then
    key = card_key(candidate.card)
    previous = registry.published(key) or registry.published(key.partition("@")[0])
    registry.register(candidate)
    cand = evaluate_on_window(candidate, X_window, y_window)
    prev = evaluate_on_window(previous, X_window, y_window) if previous is not None else None
    decision = publish_gate(
        candidate=cand, published=prev, auc_margin=cfg.gate_auc_margin, max_ece=cfg.gate_max_ece
    )
    published = False
    if decision.accepted and publish:
        registry.publish(
            candidate.version,
            actor=actor,
            note=f"publish gate: AUC {cand['auc']:.4f}, ECE {cand['ece']:.4f} on {int(cand['n'])} leads",
        )
        published = True
    info = {"n": int(cand["n"]), **{k: str(v) for k, v in dict(window or {}).items()}}
    info.setdefault("start", "?")
    info.setdefault("end", "?")
    return GateResult(
        candidate_version=candidate.version,
        previous_version=None if previous is None else previous.version,
        window=info,
        candidate_metrics=cand,
        previous_metrics=prev,
        decision=decision,
        published=published,
        reason_changes=reason_changes(previous.card, candidate.card) if previous is not None else [],
    )


def feedback_rows(
    feedback: pd.DataFrame | PathLikeStr, dataset: LeadDataset, notes: list[str] | None = None
) -> tuple[pd.DataFrame, pd.Series] | None:
    """Reviewer labels (``lead_id, label``) as extra training rows for leads whose outcome is not known yet.

    Labels: 1/0, true/false, yes/no, or reviewer words (``scheduled`` = 1; ``not_a_fit``, ``unreachable`` =
    0); other labels say nothing about conversion and are skipped. Leads already labelled by their outcome
    keep that label (and stay out of training when they fall in the evaluation window). Every row left out
    is counted in ``notes``.
    """
    said = notes if notes is not None else []
    table = feedback if isinstance(feedback, pd.DataFrame) else read_table(Path(feedback))
    missing = [c for c in ("lead_id", "label") if c not in table.columns]
    if missing:
        raise InputError(f"the feedback file needs columns lead_id and label; {missing} not found.")
    words = table["label"].astype("string").str.strip().str.lower()
    y = words.map(FEEDBACK_LABELS)
    known = y.notna()
    if int((~known).sum()):
        said.append(
            f"{int((~known).sum())} feedback row(s) skipped: labels that do not say whether a lead converted."
        )
    rows = pd.DataFrame({"lead_id": table.loc[known, "lead_id"].astype(str), "y": y[known].astype(int)})
    rows = rows.drop_duplicates("lead_id", keep="last")
    index = pd.Series(np.arange(len(dataset.lead_id)), index=dataset.lead_id.astype(str).to_numpy())
    index = index[~index.index.duplicated()]
    position = rows["lead_id"].map(index)
    if int(position.isna().sum()):
        said.append(f"{int(position.isna().sum())} feedback row(s) skipped: lead id not in the export.")
    rows = rows[position.notna()].assign(pos=position.dropna().astype(int))
    labelled = dataset.y.notna().to_numpy()[rows["pos"].to_numpy()]
    if int(labelled.sum()):
        said.append(
            f"{int(labelled.sum())} feedback row(s) on leads whose outcome is known: the outcome is kept."
        )
    rows = rows[~labelled]
    if rows.empty:
        return None
    said.append(f"{len(rows)} reviewer label(s) added to training for leads whose outcome is still open.")
    X = dataset.X.iloc[rows["pos"].to_numpy()].reset_index(drop=True)
    return X, pd.Series(rows["y"].to_numpy(dtype=np.int64))


@dataclass(frozen=True)
class RetrainResult:
    """Whether retraining ran, why, and the gate's result when it did."""

    trigger: Trigger
    ran: bool
    why: str
    gate: GateResult | None = None
    notes: tuple[str, ...] = ()

    def summary_lines(self) -> list[str]:
        """Why it ran (or not), then the gate's evidence."""
        lines = [self.why]
        if self.gate is not None:
            lines.extend(self.gate.summary_lines())
        lines.extend(self.notes)
        return lines

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict."""
        return {
            "trigger": self.trigger,
            "ran": self.ran,
            "why": self.why,
            "gate": None if self.gate is None else self.gate.to_dict(),
            "notes": list(self.notes),
            "summary": self.summary_lines(),
        }


def retrain(
    data_dir: PathLikeStr,
    *,
    registry_dir: PathLikeStr,
    target: Target | None = None,
    trigger: Trigger = "always",
    feedback: pd.DataFrame | PathLikeStr | None = None,
    drop: Sequence[str] = (),
    settings: MonitorSettings | None = None,
    seed: int = 0,
    now: datetime | None = None,
    data_end: pd.Timestamp | None = None,
    publish: bool = True,
) -> RetrainResult:
    """Retrain on an export and publish through the gate, if the trigger says so.

    Parameters
    ----------
    data_dir : path
        Export folder with leads, events and outcomes.
    registry_dir : path
        Model registry folder.
    target : Target, optional
        Default: the published model's target, else appointment_scheduled within 30 days.
    trigger : {"always", "drift", "schedule"}
        ``drift``: only when monitoring the published model says ``act``; ``schedule``: only when the
        published model is older than ``retrain_after_days``; ``always``: now.
    feedback : DataFrame or path, optional
        Reviewer labels (``lead_id, label``) added to training (see :func:`feedback_rows`).
    drop : sequence of str
        Lead fields to leave out of the features.
    settings : MonitorSettings, optional
        Gate, drift and schedule settings.
    seed : int
        Seed of training.
    now : datetime, optional
        The current time, for the schedule (default now, UTC).
    data_end : Timestamp, optional
        When the export was taken (default: its latest timestamp).
    publish : bool
        False to evaluate without publishing.
    """
    cfg = settings or MonitorSettings()
    registry = ModelRegistry(registry_dir)
    published = _published_model(registry, target)
    goal = target or (published.target if published is not None else Target())
    if published is not None and published.target.name != goal.name:
        published = registry.published(goal.name)
    notes: list[str] = []
    if trigger == "schedule" and published is not None:
        trained_at = datetime.fromisoformat(str(published.card.get("trained_at")))
        if trained_at.tzinfo is None:
            trained_at = trained_at.replace(tzinfo=UTC)
        age_days = ((now or datetime.now(UTC)) - trained_at).total_seconds() / 86400
        if age_days <= cfg.retrain_after_days:
            return RetrainResult(
                trigger,
                False,
                f"No retraining: the published model {published.version} is {age_days:.0f} days old, "
                f"within the schedule of {cfg.retrain_after_days} days.",
            )
        why = (
            f"Retraining on schedule: the published model is {age_days:.0f} days old "
            f"(limit {cfg.retrain_after_days})."
        )
    elif trigger == "drift" and published is not None:
        report = monitor(
            FolderSource(Path(data_dir), Path(registry_dir), version=published.version, data_end=data_end),
            settings=cfg,
        )
        if report.status != "act":
            return RetrainResult(
                trigger,
                False,
                f"No retraining: monitoring says {report.status}, not act.",
                notes=tuple(report.summary_lines()[:1]),
            )
        why = "Retraining because monitoring says act: " + report.advice()
        notes.extend(line for line in report.drift.summary_lines()[:1])
    elif trigger in ("drift", "schedule"):
        why = f"Retraining ({trigger}): no model is published yet for {goal.name}."
    elif trigger == "always":
        why = "Retraining on request."
    else:
        raise InputError(f"unknown retrain trigger {trigger!r}; use always, drift or schedule.")

    tables = load_crm_folder(data_dir)
    dataset = tables.dataset(goal, data_end=data_end, drop=drop)
    extra = feedback_rows(feedback, dataset, notes) if feedback is not None else None
    training = train_model(dataset, seed=seed, extra_training=extra)
    test = training.split.test
    if int(test.sum()) == 0:
        raise NotEnoughDataError("the export has no recent labelled leads to evaluate the candidate on.")
    as_of = pd.to_datetime(dataset.as_of[test])
    gate = gate_and_publish(
        registry,
        training.model,
        dataset.X[test],
        dataset.y[test].astype(int).to_numpy(),
        window={"start": as_of.min().date().isoformat(), "end": as_of.max().date().isoformat()},
        settings=cfg,
        publish=publish,
    )
    return RetrainResult(trigger, True, why, gate=gate, notes=tuple(notes))


def _published_model(registry: ModelRegistry, target: Target | None) -> LeadModel | None:
    if target is not None:
        return registry.published(target.name)
    targets = sorted({e.target for e in registry.versions() if e.published})
    if len(targets) > 1:
        raise InputError(f"the registry publishes models for {targets}; pass the target to retrain.")
    return registry.published(targets[0]) if targets else None
