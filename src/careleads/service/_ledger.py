"""The ledger of a lead's scores: score and decide, add an entry when something changed, keep the review
task and the analytics layer in step.

The ledger (``scores``) gains an entry only when the score, the tier, the route or the triage level changes;
each new entry adds a write-back record to the outbox. Every scoring, changed or not, goes to the analytics
layer. Every decision triages every text of the lead: its free-text fields, its events' messages and the
reviewers' notes (stored redacted; the highlighted words are offsets into those stored texts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from careleads.decisions import (
    AssignmentLookup,
    Decision,
    Routing,
    TextFields,
    decide,
    decide_many,
    intent_model_for,
    urgent_review,
)
from careleads.service._records import current_entry, identifier_names, lead_record, plain, utcnow
from careleads.service.analytics import AnalyticsRow, pending_row
from careleads.service.context import ANALYTICS_KEY, ServiceContext
from careleads.service.outbox import enqueue_change
from careleads.service.segments import score_if_returning
from careleads.service.targets import TargetScore, record_target_scores
from careleads.store import (
    OPEN,
    Event,
    Feedback,
    Lead,
    ReviewTask,
    ScoreEntry,
    insert_row,
    open_loads,
    shift_load,
)
from careleads.text import reading_once

__all__ = [
    "Scored",
    "assignment_lookup",
    "decide_one",
    "later_texts",
    "new_entry",
    "queue_analytics",
    "rescore_for_text",
    "rescore_lead",
    "route_dict",
    "score_and_decide",
    "sync_review",
]

log = logging.getLogger("careleads.service")


def events_list(session: Session, lead: Lead) -> list[dict[str, Any]]:
    """The lead's events as scoring reads them (one query, no frame)."""
    rows = session.execute(
        select(Event.occurred_at, Event.event_type, Event.page).where(Event.lead_id == lead.id)
    ).all()
    return [{"occurred_at": r.occurred_at, "event_type": r.event_type, "page": r.page} for r in rows]


def later_texts(session: Session, lead: Lead) -> list[tuple[str, str | None]]:
    """The texts that came after the lead, as ``(source, text)``: event messages (``event:<id>``) and
    reviewers' notes (``feedback:<id>``), oldest first; all are triaged with the lead's own texts."""
    events = session.execute(
        select(Event.id, Event.message_text)
        .where(Event.lead_id == lead.id, Event.message_text.is_not(None))
        .order_by(Event.id)
    ).all()
    notes = session.execute(
        select(Feedback.id, Feedback.note)
        .where(Feedback.lead_id == lead.id, Feedback.note.is_not(None))
        .order_by(Feedback.id)
    ).all()
    return [(f"event:{i}", text) for i, text in events] + [(f"feedback:{i}", text) for i, text in notes]


def text_fields(ctx: ServiceContext) -> TextFields:
    """The free-text fields of the context's dictionary."""
    return TextFields.of_dictionary(ctx.dictionary)


_LAST_OWNER = (
    select(ScoreEntry.owner)
    .where(ScoreEntry.queue == bindparam("queue"), ScoreEntry.owner.is_not(None))
    .order_by(ScoreEntry.id.desc())
    .limit(1)
)


def assignment_lookup(session: Session, routing: Routing) -> AssignmentLookup:
    """Open review tasks per owner and the owner assigned last, for just the staffed queues a decision needs.

    Two indexed lookups (the owners' loads, :func:`careleads.store.open_loads`, which adds the changes this
    transaction has made to them, and the ledger's entries with an owner by ``(queue, id)``), whatever the
    size of the ledger, the queues and their backlog.
    """

    def lookup(queues: frozenset[str]) -> tuple[dict[str, int], dict[str, str]]:
        connection = session.connection()
        counts = open_loads(session, (owner for queue in queues for owner in routing.queues[queue].owners))
        last: dict[str, str] = {}
        for queue in sorted(queues):
            owner = connection.execute(_LAST_OWNER, {"queue": queue}).scalar_one_or_none()
            if owner is not None:
                last[queue] = str(owner)
        return counts, last

    return lookup


@dataclass(frozen=True)
class Scored:
    decision: Decision
    scored: dict[str, Any]
    fallback: bool


def _leads_frame(ctx: ServiceContext, records: list[dict[str, Any]]) -> pd.DataFrame:
    leads = pd.DataFrame(records)
    time_column = str(ctx.spec.time_column)
    leads[time_column] = pd.to_datetime(leads[time_column])
    return leads


def score_and_decide(
    *,
    session: Session | None,
    ctx: ServiceContext,
    records: list[dict[str, Any]],
    events: pd.DataFrame | None,
    as_of: pd.Series,
    now: datetime,
) -> list[Scored]:
    leads = _leads_frame(ctx, records)
    with reading_once():  # the scores' text features and the decisions' intents read each message once
        result = ctx.scorer.score(leads, events, as_of)
        decisions = decide_many(leads, result.scored, **_policy_inputs(session, ctx, now))
    rows = result.scored.to_dict("records")
    return [
        Scored(decision=d, scored={str(k): plain(v) for k, v in r.items()}, fallback=bool(r["fallback"]))
        for d, r in zip(decisions, rows, strict=True)
    ]


def _policy_inputs(session: Session | None, ctx: ServiceContext, now: datetime) -> dict[str, Any]:
    """What `decide` and `decide_many` take from the service besides the leads: rules, routing, current
    queue assignments (none without a session), the decision time, the intent classifier, the text fields."""
    return {
        "hard_rules": ctx.hard_rules,
        "routing": ctx.routing,
        "assignments": assignment_lookup(session, ctx.routing) if session is not None else None,
        "now": pd.Timestamp(now),
        "intent_model": intent_model_for(ctx.scorer.current()),
        "text_fields": text_fields(ctx),
    }


def decide_one(
    *,
    session: Session | None,
    ctx: ServiceContext,
    record: dict[str, Any],
    scored: Mapping[str, Any],
    now: datetime,
    texts: list[tuple[str, str | None]] | None = None,
) -> Scored:
    """Decide one scored lead with :func:`careleads.decisions.decide` (the twin of ``decide_many``).

    Without a session, owners are picked as if every queue were empty: call
    :func:`careleads.decisions.assign_owner` inside the transaction. `texts` are the lead's later texts
    (:func:`later_texts`), triaged with its own.
    """
    time_column = str(ctx.spec.time_column)
    lead = {**record, time_column: pd.Timestamp(record[time_column])}
    decision = decide(lead, scored, **_policy_inputs(session, ctx, now), later_texts=texts or ())
    return Scored(
        decision=decision,
        scored={str(k): plain(v) for k, v in scored.items()},
        fallback=bool(scored["fallback"]),
    )


def route_dict(decision: Decision) -> dict[str, Any]:
    route = decision.route.to_dict()
    route["action"] = decision.action
    route["notes"] = list(decision.notes)
    route["rules_version"] = decision.rules_version
    route["routing_version"] = decision.routing_version
    # what the lead's message asks for: kept with the route it may have chosen (None: no message)
    route["intent"] = decision.intent
    route["intent_probability"] = decision.intent_probability
    route["urgent_review"] = decision.urgent_review
    if decision.triage.level != "none":  # the level and the words to highlight, by text
        route["triage"] = decision.triage.to_dict()
    return route


def triage_level(route: Mapping[str, Any]) -> str:
    """The triage level stored with a ledger entry's route (``none`` when it has none)."""
    triage = route.get("triage")
    return str(triage.get("level", "none")) if isinstance(triage, Mapping) else "none"


def _reasons(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


_TIER_RANK_MISSING = 99


def _tier_rank(ctx: ServiceContext, tier: str | None) -> int:
    names: tuple[str, ...] = ("A", "B", "C", "D")
    model = ctx.scorer.model()
    if model is not None:
        names = tuple(model.tiers.names)
    return names.index(tier) if tier in names else _TIER_RANK_MISSING


def new_entry(
    *,
    session: Session,
    lead: Lead,
    scored: Scored,
    route: dict[str, Any],
    reason: str,
    now: datetime,
    targets: Sequence[TargetScore] = (),
) -> ScoreEntry:
    """Add a ledger entry and its write-back record (with the lead's current scores of other `targets`)."""
    d = scored.decision
    entry = ScoreEntry(
        lead_id=lead.id,
        at=now,
        scored_by=d.scored_by,
        model_version=d.model_version,
        probability=float(d.probability) if d.probability is not None else 0.0,
        score=int(d.score) if d.score is not None else 0,
        tier=str(d.tier) if d.tier is not None else "",
        reasons=_reasons(d.reasons),
        route=route,
        overrides=[o.to_dict() for o in d.overrides],
        review_required=d.review_required,
        fallback=scored.fallback,
        change_reason=reason[:200],
        queue=route.get("queue"),
        owner=route.get("owner"),
    )
    insert_row(session, entry)  # written once, never changed: no unit of work needed
    enqueue_change(session=session, lead=lead, entry=entry, now=now, targets=targets)
    return entry


def sync_review(
    *, session: Session, ctx: ServiceContext, lead: Lead, entry: ScoreEntry, now: datetime, new: bool = False
) -> None:
    """Open, update or cancel the lead's review task to match its current entry (`new`: no task yet)."""
    # read as committed and locked until the commit (PostgreSQL), so a concurrent close waits, then finds
    # no open task: each change of the task is counted once in its owner's load
    task = (
        None
        if new
        else session.scalar(
            select(ReviewTask)
            .where(ReviewTask.lead_id == lead.id, ReviewTask.status == OPEN)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    due_text = entry.route.get("sla_due")
    due = pd.Timestamp(due_text).to_pydatetime().replace(tzinfo=None) if due_text else None
    if due is None and entry.review_required:
        due = now + pd.Timedelta(hours=ctx.settings.review_sla_hours).to_pytimedelta()
    before = None if task is None else (task.status, task.owner)
    if entry.review_required:
        fresh = task is None
        if task is None:
            task = ReviewTask(lead_id=lead.id, status=OPEN, created_at=now, closed_at=None)
        task.queue = str(entry.route.get("queue") or "review")
        task.owner = entry.route.get("owner")
        task.tier = entry.tier
        task.tier_rank = _tier_rank(ctx, entry.tier)
        task.urgent = urgent_review(entry.route.get("kind"), triage_level(entry.route))
        task.intent = entry.route.get("intent")
        task.sla_due = due
        if fresh:
            insert_row(session, task)
        shift_load(session, before=before, after=(task.status, task.owner))
    elif task is not None:
        task.status = "cancelled"
        task.closed_at = now
        shift_load(session, before=before, after=(task.status, task.owner))


def queue_analytics(
    session: Session,
    ctx: ServiceContext,
    lead: Lead,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    scored: Scored,
    as_of: pd.Timestamp,
    targets: Sequence[TargetScore] = (),
) -> None:
    """Write the scoring's analytics row to ``analytics_outbox`` in this transaction; the analytics writer
    puts it in a Parquet part after the commit.

    The routing target's outputs keep their names; each other served target's are suffixed with it
    (``probability_<TARGET>``, ``score_``, ``tier_``, ``model_version_``, and ``cohort_``: the cohort
    model's FIELD=VALUE, empty for the target's model of every lead), so a cohort model's rows are told apart.
    """
    table = ctx.dictionary.table("leads")
    inputs = {k: v for k, v in record.items() if k not in (lead.texts or {})}
    inputs[str(table.time_column)] = pd.Timestamp(lead.created_at)
    d = scored.decision
    row = AnalyticsRow(
        lead_key=lead.pseudonym,
        lead_fields=inputs,
        events=[{k: e.get(k) for k in ("occurred_at", "event_type", "page")} for e in events],
        as_of=pd.Timestamp(as_of).to_pydatetime(),
        outputs={
            "scored_at": utcnow(),
            "probability": d.probability,
            "score": d.score,
            "tier": d.tier,
            "scored_by": d.scored_by,
            "model_version": d.model_version,
            "fallback": scored.fallback,
            "route": d.route.name,
            "queue": d.route.queue,
            "overrides": ";".join(o.rule for o in d.overrides),
            "review_required": d.review_required,
            **{
                f"{name}_{t.target}": value
                for t in targets
                for name, value in (
                    ("probability", t.probability),
                    ("score", t.score),
                    ("tier", t.tier),
                    ("model_version", t.model_version),
                    ("cohort", t.cohort or ""),
                )
            },
        },
    )
    insert_row(session, pending_row(row, utcnow()))
    session.info[ANALYTICS_KEY] = session.info.get(ANALYTICS_KEY, 0) + 1


def _same(entry: ScoreEntry, scored: Scored, route: Mapping[str, Any]) -> bool:
    d = scored.decision
    return (
        entry.score == (int(d.score) if d.score is not None else 0)
        and entry.tier == (str(d.tier) if d.tier is not None else "")
        and entry.route.get("name") == route.get("name")
        and entry.route.get("queue") == route.get("queue")
        and entry.route.get("owner") == route.get("owner")
        and entry.route.get("nurture_track") == route.get("nurture_track")
        and triage_level(entry.route) == triage_level(route)
    )


def rescore_lead(
    *, session: Session, ctx: ServiceContext, lead: Lead, reason: str, now: datetime
) -> tuple[ScoreEntry, bool]:
    """Score the lead again on everything known now (every text triaged again); add a ledger entry only if
    score, tier, route or triage level changed.

    The owner stays when the queue stays (a re-score does not pass the lead around), and so does the SLA.
    """
    entry, changed, _level = rescore_for_text(
        session=session, ctx=ctx, lead=lead, reason=reason, now=now, source=None
    )
    return entry, changed


def rescore_for_text(
    *, session: Session, ctx: ServiceContext, lead: Lead, reason: str, now: datetime, source: str | None
) -> tuple[ScoreEntry, bool, str]:
    """:func:`rescore_lead` after a text arrived (`source`: ``event:12``, ``feedback:3``); when that text
    reached a triage level, the change reason says so.

    Returns
    -------
    (ScoreEntry, bool, str)
        The current entry, whether it is new, and the triage level of the text of `source` (``none``).
    """
    current = current_entry(session=session, lead=lead)
    record = lead_record(ctx, lead, identifier_names(lead))
    events = events_list(session, lead)
    stamps = [pd.Timestamp(e["occurred_at"]) for e in events if e["occurred_at"] is not None]
    as_of = max([pd.Timestamp(lead.created_at), *stamps])
    # a lead back after a quiet period is scored as a returning lead (service.segments)
    with reading_once():  # the score's text features and the decision's intent read each message once
        returned = score_if_returning(session=session, ctx=ctx, lead=lead, record=record, events=events)
        scored = decide_one(
            session=session,
            ctx=ctx,
            record=record,
            scored=returned[0] if returned else ctx.scorer.score_record(record, events, as_of),
            now=now,
            texts=later_texts(session, lead),
        )
        # the other served targets' models score new patient leads only; a returning lead keeps its last ones
        targets = [] if returned else ctx.targets.score_record(record, events, as_of)
    level = scored.decision.triage.source_level(source) if source else "none"
    if level != "none":
        reason = f"{reason}: {level} triage words in this text"
    if returned:
        notes = (*scored.decision.notes, returned[1])
        scored = replace(scored, decision=replace(scored.decision, notes=notes))
    queue_analytics(session, ctx, lead, record, events, scored, as_of, targets)
    targets_changed = bool(
        record_target_scores(session=session, lead=lead, scores=targets, reason=reason, now=now)
    )
    route = route_dict(scored.decision)
    if route.get("queue") == current.route.get("queue") and current.route.get("owner"):
        route["owner"] = current.route.get("owner")
        route["assignment"] = current.route.get("assignment")
        route["sla_due"] = current.route.get("sla_due")
    if _same(current, scored, route):
        if targets_changed:  # the CRM gets the other targets' new scores with the unchanged entry
            enqueue_change(session=session, lead=lead, entry=current, now=now, targets=targets)
        return current, False, level
    entry = new_entry(
        session=session, lead=lead, scored=scored, route=route, reason=reason, now=now, targets=targets
    )
    sync_review(session=session, ctx=ctx, lead=lead, entry=entry, now=now)
    log.info(
        "lead %s re-scored: tier %s -> %s, triage %s", lead.id, current.tier, entry.tier, triage_level(route)
    )
    return entry, True, level
