"""Several targets served together: each lead's scores for the targets besides the one that routes it.

The target of the settings (``target``) alone sets the lead's tier, route and review task (the ledger,
``scores``). Every other served target (``served_targets``; by default every target with a published model)
scores the lead at the same moments, with the same scoring path (:func:`careleads.scoring.score_record`), and
its score is kept in ``target_scores`` when it changed.

A target may also have cohort models, published for the leads of one site or service line
(``TARGET@FIELD=VALUE``, see :class:`careleads.models.Cohort`): a lead whose field holds that value is scored
by the cohort model, any other lead by the target's model of every lead. Each stored score names the model
version and the cohort that made it. A target with no published model for a lead is not scored for it (it
has no rule baseline: the shipped points table is calibrated on no outcome).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from careleads.features import Cohort
from careleads.models import LeadModel, ModelRegistry
from careleads.scoring import score_record
from careleads.store import Lead, TargetScoreEntry, insert_row

log = logging.getLogger("careleads.service")

__all__ = [
    "TargetScore",
    "TargetScorers",
    "current_target_scores",
    "current_target_scores_of",
    "record_target_scores",
    "split_reasons",
]


def split_reasons(text: str) -> list[str]:
    """The reasons of a scored row (``"+ a; - b"``) as a list, as the ledger keeps them."""
    return [part.strip() for part in text.split(";") if part.strip()]


@dataclass(frozen=True)
class TargetScore:
    """One target's score of a lead and the model that made it (``cohort`` None: the model of every lead)."""

    target: str
    probability: float
    score: int
    tier: str
    reasons: list[str]
    model_version: str
    cohort: str | None
    scored_by: str = "model"

    @classmethod
    def of_entry(cls, entry: TargetScoreEntry) -> TargetScore:
        return cls(
            target=entry.target,
            probability=float(entry.probability),
            score=int(entry.score),
            tier=entry.tier,
            reasons=[str(r) for r in entry.reasons or []],
            model_version=entry.model_version,
            cohort=entry.cohort,
            scored_by=entry.scored_by,
        )

    def same_as(self, entry: TargetScoreEntry) -> bool:
        """Whether `entry` already holds this score (same model, score and tier)."""
        return (
            entry.model_version == self.model_version
            and entry.cohort == self.cohort
            and entry.score == self.score
            and entry.tier == self.tier
        )


class TargetScorers:
    """The published models of the served targets other than `primary`, and their cohort models.

    Parameters
    ----------
    registry : ModelRegistry
        Where published models are.
    primary : str
        The target that routes leads (scored by :class:`careleads.service._scoring.LeadScorer`).
    served : sequence of str
        The other targets to score; empty: every target of new patient leads with a published model.
    """

    def __init__(self, *, registry: ModelRegistry, primary: str, served: Sequence[str] = ()) -> None:
        self.registry = registry
        self.primary = primary
        self.served = tuple(served)
        self._models: dict[str, LeadModel] = {}
        self._lock = threading.Lock()

    def _published(self) -> dict[str, list[tuple[Cohort | None, str]]]:
        """Target -> its published (cohort, version) pairs, cohorts first, for new patient leads."""
        found: dict[str, list[tuple[Cohort | None, str]]] = {}
        for key in self.registry.published_keys():
            if "/" in key:  # returning and partnership leads have their own scorers
                continue
            target, _sep, cohort_text = key.partition("@")
            version = self.registry.published_version(key)
            if version is None:
                continue
            cohort = Cohort.parse(cohort_text) if cohort_text else None
            found.setdefault(target, []).append((cohort, version))
        for pairs in found.values():
            pairs.sort(key=lambda p: (p[0] is None, str(p[0])))  # cohort models first, in key order
        return found

    def targets(self) -> list[str]:
        """The targets scored besides the primary one, in order."""
        return self._targets(self._published())

    def _targets(self, published: Mapping[str, Any]) -> list[str]:
        names = self.served or tuple(sorted(published))
        return [t for t in names if t != self.primary and t in published]

    def model_for(self, target: str, record: Mapping[str, Any]) -> tuple[LeadModel, Cohort | None] | None:
        """The model that scores `record` for `target`: the first cohort model whose field holds the lead's
        value, else the target's model of every lead; None when neither is published."""
        return self._model_for(self._published().get(target, []), record)

    def _model_for(
        self, pairs: Sequence[tuple[Cohort | None, str]], record: Mapping[str, Any]
    ) -> tuple[LeadModel, Cohort | None] | None:
        for cohort, version in pairs:
            if cohort is None or _plain_text(record.get(cohort.field)) == cohort.value:
                return self._load(version), cohort
        return None

    def _load(self, version: str) -> LeadModel:
        with self._lock:
            if version not in self._models:
                self._models[version] = self.registry.load(version)
            return self._models[version]

    def score_record(
        self, record: Mapping[str, Any], events: Sequence[Mapping[str, Any]] | None, as_of: pd.Timestamp
    ) -> list[TargetScore]:
        """Score one clean lead at `as_of` for every served target besides the primary one.

        A target whose model cannot be read or cannot score the lead is left out (logged with its name):
        the lead is still stored, routed and reviewed through its routing target.
        """
        out = []
        published = self._published()  # the registry read once per lead
        for target in self._targets(published):
            try:
                found = self._model_for(published[target], record)
                if found is None:
                    continue
                model, cohort = found
                row = score_record(model, record, events or [], as_of=as_of, with_pages=True)
            except Exception as exc:  # never let another target keep a lead from a person
                # the lead is stored, routed and reviewed by its routing target whatever happens here
                log.warning("target %s not scored: %s", target, type(exc).__name__)
                continue
            out.append(
                TargetScore(
                    target=target,
                    probability=float(row["probability"]),
                    score=int(row["score"]),
                    tier=str(row["tier"]),
                    reasons=split_reasons(str(row["reasons"] or "")),
                    model_version=str(row["model_version"]),
                    cohort=None if cohort is None else str(cohort),
                    scored_by=str(row["scored_by"]),
                )
            )
        return out


def _plain_text(value: Any) -> str | None:
    return None if value is None else str(value)


def current_target_scores(*, session: Session, lead_id: int) -> list[TargetScoreEntry]:
    """The latest stored score of each target of the lead, by target name."""
    return current_target_scores_of(session=session, lead_ids=[lead_id])[lead_id]


#: leads whose target scores one query reads
_LEADS_PER_QUERY = 1000
#: built once: every lead read (the API answers each create and read with the lead's scores) runs it
_TARGET_SCORES_OF = (
    select(TargetScoreEntry)
    .where(TargetScoreEntry.lead_id.in_(bindparam("lead_ids", expanding=True)))
    .order_by(TargetScoreEntry.id)
)


def current_target_scores_of(
    *, session: Session, lead_ids: Sequence[int]
) -> dict[int, list[TargetScoreEntry]]:
    """:func:`current_target_scores` of several leads, a query per thousand leads."""
    latest: dict[int, dict[str, TargetScoreEntry]] = {lead_id: {} for lead_id in lead_ids}
    unique = sorted(latest)
    for start in range(0, len(unique), _LEADS_PER_QUERY):
        rows = session.scalars(_TARGET_SCORES_OF, {"lead_ids": unique[start : start + _LEADS_PER_QUERY]})
        for row in rows:
            latest[row.lead_id][row.target] = row
    return {lead_id: [by[t] for t in sorted(by)] for lead_id, by in latest.items()}


def record_target_scores(
    *,
    session: Session,
    lead: Lead,
    scores: Sequence[TargetScore],
    reason: str,
    now: datetime,
    new: bool = False,
) -> list[TargetScoreEntry]:
    """Store each target's score that differs from the one stored last; returns the entries stored.

    `new`: the lead was stored in this transaction, so it has no score stored yet (nothing is read).
    """
    if not scores:  # no other target is served: nothing to compare, no query
        return []
    latest = (
        {} if new else {row.target: row for row in current_target_scores(session=session, lead_id=lead.id)}
    )
    stored = []
    for s in scores:
        before = latest.get(s.target)
        if before is not None and s.same_as(before):
            continue
        entry = TargetScoreEntry(
            lead_id=lead.id,
            at=now,
            target=s.target,
            scored_by=s.scored_by,
            model_version=s.model_version,
            cohort=s.cohort,
            probability=s.probability,
            score=s.score,
            tier=s.tier,
            reasons=list(s.reasons),
            change_reason=reason[:200],
        )
        insert_row(session, entry)
        stored.append(entry)
    return stored
