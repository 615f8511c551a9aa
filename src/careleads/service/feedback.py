"""Reviewer feedback on a lead (label, redacted note, route kept or changed); feedback as training data."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.dictionary import Dictionary, load_dictionary
from careleads.errors import InputError
from careleads.features import FeatureSpec, Target, build_features
from careleads.service._ledger import rescore_for_text
from careleads.service._records import (
    PRESENT,
    LeadValidationError,
    current_entry,
    decrypt_identifiers,
    get_lead,
    identifier_names,
    lead_fields,
    redact_known,
    utcnow,
)
from careleads.service.access import FEEDBACK_CREATE, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.service.outbox import enqueue_change
from careleads.service.route_choices import queue_fits
from careleads.service.schemas import FEEDBACK_LABELS, FeedbackCreate, FeedbackPublic, decision_public
from careleads.service.scope import check_lead_scope
from careleads.store import Event, Feedback, Lead, ScoreEntry, close_open_tasks
from careleads.text import default_detector

__all__ = [
    "FEEDBACK_LABELS",
    "LABEL_TARGETS",
    "add_feedback",
    "feedback_training_rows",
    "give_feedback",
]

log = logging.getLogger("careleads.service")
#: label -> training target (1 converted, 0 did not); labels not listed say nothing about conversion
LABEL_TARGETS: dict[str, int] = {"scheduled": 1, "not_a_fit": 0, "unreachable": 0}


def add_feedback(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_id: int,
    label: str,
    note: str | None,
    reviewer: str,
    role: str,
    route_change: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Feedback, ScoreEntry]:
    """Store a reviewer's label and (redacted) note, confirm or change the route, close the review task.

    Parameters
    ----------
    route_change : dict, optional
        New ``queue`` (required) and optionally ``owner``; None confirms the current route. A change adds
        a ledger entry and a write-back record.

    Returns
    -------
    (Feedback, ScoreEntry)
        The feedback and the lead's current ledger entry afterwards.

    Raises
    ------
    InputError
        For an unknown label; a :class:`LeadValidationError` naming ``route.queue`` or ``route.owner`` for
        an unknown queue or an owner who is not one of the queue's owners.
    """
    now = now or utcnow()
    if label not in FEEDBACK_LABELS:
        raise InputError(f"unknown feedback label {label!r}; use one of {', '.join(FEEDBACK_LABELS)}")
    lead = get_lead(session=session, lead_id=lead_id)
    entry = current_entry(session=session, lead=lead)
    before = dict(entry.route)
    action = "confirmed"
    if route_change:
        queue = str(route_change.get("queue") or "")
        _check_route_change(ctx, queue, route_change.get("owner"), (lead.fields or {}).get("lead_type"))
        after = {**before, "queue": queue, "owner": route_change.get("owner"), "name": f"reviewer:{queue}"}
        after["assignment"] = "assigned" if after["owner"] else "waiting"
        if after != before:
            action = "changed"
            new = ScoreEntry(
                lead_id=lead.id,
                at=now,
                scored_by=entry.scored_by,
                model_version=entry.model_version,
                probability=entry.probability,
                score=entry.score,
                tier=entry.tier,
                queue=queue,
                owner=after["owner"],
                reasons=list(entry.reasons),
                route=after,
                overrides=list(entry.overrides),
                review_required=False,
                fallback=entry.fallback,
                change_reason=f"reviewer {reviewer} changed the route",
            )
            session.add(new)
            session.flush()
            enqueue_change(session=session, lead=lead, entry=new, now=now)
            entry = new
    text = redact_known([note], decrypt_identifiers(ctx, lead))[0] if note else None
    feedback = Feedback(
        lead_id=lead.id,
        label=label,
        note=text,
        reviewer=reviewer,
        route_action=action,
        route_before=before,
        route_after=dict(entry.route),
        created_at=now,
    )
    session.add(feedback)
    session.flush()
    close_open_tasks(session, lead_id=lead.id, status="done", now=now)
    level = "none"
    if text is not None and default_detector().detect(text).level != "none":
        # a note that may describe an emergency re-routes the lead like any message: triaged with every
        # other text, a new ledger entry and review task at the top of the queue (the task just closed)
        entry, _changed, level = rescore_for_text(
            session=session,
            ctx=ctx,
            lead=lead,
            reason=f"feedback {feedback.id} note",
            now=now,
            source=f"feedback:{feedback.id}",
        )
    append_audit(
        session=session,
        actor=reviewer,
        role=role,
        action="feedback.create",
        subject=f"lead:{lead.id}",
        details={
            "feedback_id": feedback.id,
            "label": label,
            "route_action": action,
            "route_before": {"queue": before.get("queue"), "owner": before.get("owner")},
            "route_after": {"queue": entry.route.get("queue"), "owner": entry.route.get("owner")},
            "triage": level,
        },
    )
    log.info("lead %s feedback %s (%s)", lead.id, label, action)
    return feedback, entry


def _check_route_change(ctx: ServiceContext, queue: str, owner: Any, lead_type: Any) -> None:
    """Pass when `queue` is a queue of the routing that fits the lead's type (:func:`queue_fits`: patient
    leads never go to business development, nor partnership leads to patient teams) and `owner` (if any) one
    of its owners.

    Raises
    ------
    LeadValidationError
        Naming the field (``route.queue`` or ``route.owner``).
    """
    spec = ctx.routing.queues.get(queue)
    if spec is None:
        message = f"unknown queue {queue!r}; known queues: {', '.join(sorted(ctx.routing.queues))}"
        raise LeadValidationError(message, [{"field": "route.queue", "message": message}])
    if not queue_fits(ctx=ctx, lead_type=lead_type, queue=queue):
        kind = "a partnership" if ctx.routing.audiences.is_partnership(lead_type) else "a patient"
        message = f"the queue {queue!r} does not take {kind} lead; choose a queue the lead page offers"
        raise LeadValidationError(message, [{"field": "route.queue", "message": message}])
    if owner is not None and owner not in spec.owners:
        owners = ", ".join(spec.owners) or "none: the queue is worked automatically"
        message = f"route.owner {owner!r} is not an owner of the queue {queue!r}; its owners: {owners}"
        raise LeadValidationError(message, [{"field": "route.owner", "message": message}])


def feedback_training_rows(
    *,
    session: Session,
    dictionary: Dictionary | None = None,
    target: Target | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Reviewer labels as extra training rows for ``train_model(..., extra_training=...)``.

    The latest label per lead counts: ``scheduled`` -> 1, ``not_a_fit`` and ``unreachable`` -> 0; the other
    labels say nothing about conversion and are skipped, as are erased leads. Features are built as of each
    lead's scoring moment (creation plus ``target.as_of_hours``), from the stored fields and the events
    known then, with the same feature code as training; identifiers enter only as presence.

    Parameters
    ----------
    session : Session
        A session of the store.
    dictionary : Dictionary, optional
        Default: the shipped dictionary.
    target : Target, optional
        Default: appointment_scheduled within 30 days, scored 24 hours after creation.

    Returns
    -------
    (DataFrame, Series)
        Features (the columns of a training data set) and 0/1 labels (int64).
    """
    dictionary = dictionary or load_dictionary()
    target = target or Target()
    spec = FeatureSpec.from_table(dictionary.table("leads"))
    latest = (
        select(Feedback.lead_id, Feedback.label, Feedback.id)
        .join(Lead, Lead.id == Feedback.lead_id)
        .where(Lead.erased.is_(False))
        .order_by(Feedback.lead_id, Feedback.id)
    )
    labels: dict[int, str] = {}
    for lead_id, label, _id in session.execute(latest).all():
        labels[int(lead_id)] = str(label)
    chosen = {lead_id: LABEL_TARGETS[label] for lead_id, label in labels.items() if label in LABEL_TARGETS}
    key, time_column = str(spec.key), str(spec.time_column)
    if not chosen:
        empty = build_features(
            pd.DataFrame({key: pd.Series(dtype="string"), time_column: pd.Series(dtype="datetime64[ns]")}),
            pd.DataFrame(
                {
                    "lead_id": pd.Series(dtype="string"),
                    "occurred_at": pd.Series(dtype="datetime64[ns]"),
                    "event_type": pd.Series(dtype="string"),
                    "page": pd.Series(dtype="string"),
                }
            ),
            pd.Series(dtype="datetime64[ns]"),
            spec,
        )
        return empty, pd.Series(dtype="int64")
    leads = list(session.scalars(select(Lead).where(Lead.id.in_(chosen)).order_by(Lead.id)))
    frame = pd.DataFrame([_training_record(lead, spec) for lead in leads])
    frame[time_column] = pd.to_datetime(frame[time_column])
    event_rows = session.execute(
        select(Event.lead_id, Event.occurred_at, Event.event_type, Event.page).where(
            Event.lead_id.in_(chosen)
        )
    ).all()
    events = pd.DataFrame(
        {
            "lead_id": pd.Series([str(r.lead_id) for r in event_rows], dtype="string"),
            "occurred_at": pd.Series([r.occurred_at for r in event_rows], dtype="datetime64[ns]"),
            "event_type": pd.Series([r.event_type for r in event_rows], dtype="string"),
            "page": pd.Series([r.page for r in event_rows], dtype="string"),
        }
    )
    as_of = frame[time_column] + target.as_of_offset
    X = build_features(frame, events, as_of, spec)
    y = pd.Series([chosen[lead.id] for lead in leads], dtype="int64", name="y")
    return X.reset_index(drop=True), y


def _training_record(lead: Lead, spec: FeatureSpec) -> dict[str, Any]:
    record: dict[str, Any] = {**lead_fields(lead), **dict(lead.texts or {})}
    present = set(identifier_names(lead))
    for name in spec.presence:
        # identifiers stay encrypted: features only use whether each one exists
        record[name] = PRESENT if name in present else None
    record[str(spec.key)] = str(lead.id)
    record[str(spec.time_column)] = lead.created_at
    return record


def give_feedback(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_id: int,
    feedback_in: FeedbackCreate,
    actor: str,
    role: str,
    now: datetime | None = None,
) -> FeedbackPublic:
    """:func:`add_feedback` for a caller: reviewers may label only the leads in the review queue of a queue
    they work (owner or member).

    Raises
    ------
    NotFoundError, LeadErasedError
        Unknown or erased lead.
    PermissionDenied
        For a role that does not give feedback, or a reviewer and a lead outside the queues they work.
    LeadValidationError
        For a route change to an unknown queue, or to an owner who is not one of that queue's owners.
    """
    authorize(role, FEEDBACK_CREATE)
    lead = get_lead(session=session, lead_id=lead_id)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    feedback, entry = add_feedback(
        session=session,
        ctx=ctx,
        lead_id=lead_id,
        label=feedback_in.label,
        note=feedback_in.note,
        reviewer=actor,
        role=role,
        route_change=feedback_in.route.model_dump() if feedback_in.route else None,
        now=now,
    )
    return FeedbackPublic(
        id=feedback.id,
        lead_id=feedback.lead_id,
        label=feedback.label,
        note=feedback.note,
        reviewer=feedback.reviewer,
        route_action=feedback.route_action,
        created_at=feedback.created_at,
        decision=decision_public(entry),
    )
