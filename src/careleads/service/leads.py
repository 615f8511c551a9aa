"""Lead use cases: create and score, record events and re-score, outcomes, stateless scoring, reading a lead.

Each function works inside the caller's transaction (one per API request or CLI command) and takes
keyword-only arguments. What is stored, and how, is described in :mod:`careleads.service._records`; the
ledger of scores in :mod:`careleads.service._ledger`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.decisions import assign_owner
from careleads.dictionary import FLAGS_KEY, FlaggedValue, Sensitivity
from careleads.errors import CareleadsError
from careleads.segments import get_segment
from careleads.service._ledger import (
    assignment_lookup,
    decide_one,
    new_entry,
    queue_analytics,
    rescore_for_text,
    route_dict,
    score_and_decide,
    sync_review,
)
from careleads.service._records import (
    PRESENT,
    LeadErasedError,
    LeadValidationError,
    check_event,
    check_lead,
    current_entry,
    decrypt_identifiers,
    flags_of,
    get_lead,
    identifier_names,
    lead_record,
    ledger,
    plain,
    redact_known,
    split_fields,
    utcnow,
    validate_one,
    validate_table,
)
from careleads.service.access import LEAD_READ, OWN_LEADS_ONLY, PermissionDenied, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.service.schemas import (
    LeadPublic,
    TargetScorePublic,
    decision_public,
    target_scores_public,
)
from careleads.service.scope import check_lead_scope
from careleads.service.segments import score_segment_records
from careleads.service.targets import current_target_scores, record_target_scores
from careleads.store import Event, Feedback, Lead, Outcome, ScoreEntry, TargetScoreEntry, insert_row
from careleads.text import reading_once

__all__ = [
    "BULK_CHUNK",
    "PRESENT",
    "BulkTimeoutError",
    "EventResult",
    "LeadErasedError",
    "LeadResult",
    "LeadValidationError",
    "create_lead",
    "current_entry",
    "get_lead",
    "lead_scores",
    "lead_timeline",
    "lead_view",
    "ledger",
    "read_lead",
    "record_event",
    "record_outcome",
    "score_records",
    "score_without_storing",
    "utcnow",
]

log = logging.getLogger("careleads.service")


@dataclass
class LeadResult:
    """The stored lead, its current ledger entry, whether it was created now, and the decision."""

    lead: Lead
    entry: ScoreEntry
    created: bool
    ignored_fields: list[str] = field(default_factory=list)
    flagged_fields: list[FlaggedValue] = field(default_factory=list)
    unidentified: bool = False
    #: the other targets' stored scores when known without a read (a lead stored now); None: read them
    other_scores: list[TargetScoreEntry] | None = None


@dataclass
class EventResult:
    """The lead, its current entry, whether the event was new and whether the ledger changed."""

    lead: Lead
    entry: ScoreEntry
    event_created: bool
    ledger_changed: bool
    flagged_fields: list[FlaggedValue] = field(default_factory=list)


def create_lead(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_in: Any,
    actor: str,
    role: str,
    now: datetime | None = None,
) -> LeadResult:
    """Check a lead against the dictionary, store it and score it at once; idempotent on its external id.

    Clinical triage reads the record's texts first, and only a record that cannot be identified is
    refused; values the dictionary cannot read are kept and flagged (see :func:`check_lead`).

    Parameters
    ----------
    session : Session
        The request's transaction.
    ctx : ServiceContext
        Dictionary, scorer, rules, routing, keys.
    lead_in : any
        Field name (canonical or alias) -> value; must hold the dictionary's key (the external id),
        unless a text may describe an emergency (it is then kept as an unidentified lead).
    actor, role : str
        Who asks, for the audit log.
    now : datetime, optional
        Decision time (naive UTC); default now. A lead without a creation time is created now.

    Returns
    -------
    LeadResult
        ``created`` is False when a lead with this external id exists; then nothing changes.
        ``flagged_fields`` lists the values kept as written and read as missing.

    Raises
    ------
    LeadValidationError
        If the lead cannot be identified and no text may describe an emergency.
    LeadErasedError
        If a lead with this external id was erased.
    PermissionDenied
        If an integration repeats the external id of a lead another user created.
    """
    now = now or utcnow()
    table = ctx.dictionary.table("leads")
    key, time_column = str(table.key), str(table.time_column)
    # triage, redaction and the classifiers read each text once: the record's check, the score's text
    # features and the decision's intent all read the message
    with reading_once():
        checked = check_lead(ctx, lead_in, now=now)
        row, ignored = checked.row, checked.ignored
        external_id = str(row[key]).strip()
        pseudonym = ctx.pseudonymiser.pseudonymise(external_id, kind="text")
        identifiers, texts, fields = split_fields(ctx, row)
        if checked.flags:
            fields[FLAGS_KEY] = flags_of(checked.flags, identifiers)
        created_at = pd.Timestamp(row[time_column]).to_pydatetime().replace(tzinfo=None)
        # score and decide before the first statement: on SQLite the transaction, and with it the write
        # lock, starts there; rules, routing and triage need no store, only the owner is picked inside
        record = lead_record(
            ctx, Lead(id=0, fields=fields, texts=texts or None, created_at=created_at), sorted(identifiers)
        )
        as_of = pd.Timestamp(created_at)
        prescored = ctx.scorer.score_record(record, None, as_of)
        early = decide_one(session=None, ctx=ctx, record=record, scored=prescored, now=now)
        targets = ctx.targets.score_record(record, None, as_of)  # the other served targets, same moment
    if checked.unidentified:  # kept only for a human: always reviewed
        early = replace(early, decision=replace(early.decision, review_required=True))
    lead = Lead(
        pseudonym=pseudonym,
        external_id=external_id,
        identifiers=ctx.cipher.encrypt(json.dumps(identifiers, sort_keys=True)) if identifiers else None,
        identifier_fields=sorted(identifiers),
        texts=texts or None,
        fields=fields,
        created_at=created_at,
        received_at=now,
        erased=False,
        created_by=actor,
    )
    # one statement checks and inserts: a lead with this external id (stored earlier, or by a request
    # running at the same moment) makes it a no-op, and the existing lead answers
    if insert_row(session, lead, unless_exists=("pseudonym",)) is None:
        existing = session.scalars(select(Lead).where(Lead.pseudonym == pseudonym)).one()
        return _existing(session=session, lead=existing, actor=actor, role=role, ignored=ignored)
    record[key] = str(lead.id)
    decision = assign_owner(
        replace(early.decision, lead_id=str(lead.id)),
        routing=ctx.routing,
        assignments=assignment_lookup(session, ctx.routing),
    )
    scored = replace(early, decision=decision)
    entry = new_entry(
        session=session,
        lead=lead,
        scored=scored,
        route=route_dict(scored.decision),
        reason="created",
        now=now,
        targets=targets,
    )
    stored = record_target_scores(
        session=session, lead=lead, scores=targets, reason="created", now=now, new=True
    )
    sync_review(session=session, ctx=ctx, lead=lead, entry=entry, now=now, new=True)
    queue_analytics(session, ctx, lead, record, [], scored, as_of, targets)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.create",
        subject=f"lead:{lead.id}",
        details={
            "score_id": entry.id,
            "tier": entry.tier,
            "scored_by": entry.scored_by,
            "flagged_fields": sorted({f.field for f in checked.flags}),
            "unidentified": checked.unidentified,
            # hard rules that held (do not contact, clinical triage, ...) and the triage level, on the record
            "overrides": [str(o.get("rule")) for o in entry.overrides],
            "triage": scored.decision.triage.level,
        },
    )
    log.info("lead %s created: tier %s, route %s", lead.id, entry.tier, entry.route.get("name"))
    return LeadResult(
        lead=lead,
        entry=entry,
        created=True,
        ignored_fields=ignored,
        flagged_fields=checked.flags,
        unidentified=checked.unidentified,
        other_scores=sorted(stored, key=lambda row: row.target),
    )


def _existing(*, session: Session, lead: Lead, actor: str, role: str, ignored: list[str]) -> LeadResult:
    if role in OWN_LEADS_ONLY and lead.created_by != actor:
        # the repeat's answer is the lead's id and decision, which only the integration that created it sees
        raise PermissionDenied("a lead with this external id was created by another user; it is not shown")
    if lead.erased:
        raise LeadErasedError(f"lead {lead.id} with this external id was erased and is not created again")
    entry = current_entry(session=session, lead=lead)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.create_repeat",
        subject=f"lead:{lead.id}",
        details={"score_id": entry.id},
    )
    return LeadResult(lead=lead, entry=entry, created=False, ignored_fields=ignored)


def record_event(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_id: int,
    event_in: Mapping[str, Any],
    actor: str,
    role: str,
    now: datetime | None = None,
) -> EventResult:
    """Record an engagement event (idempotent on its event id) and re-score the lead.

    Raises
    ------
    NotFoundError, LeadErasedError
        Unknown or erased lead.
    LeadValidationError
        If the dictionary rejects the event.
    """
    now = now or utcnow()
    # the event's check (the dictionary, the triage of its texts) needs no store: it runs before the first
    # statement, so that on SQLite the write lock, taken there, is not held for it; a refusal is raised
    # only once the lead is found and the caller's scope checked (an unknown lead answers 404 first)
    refusal: LeadValidationError | None = None
    try:
        checked = check_event(ctx, {**dict(event_in), "lead_id": str(lead_id)}, now=now)
    except LeadValidationError as exc:
        refusal = exc
    lead = get_lead(session=session, lead_id=lead_id)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    if refusal is not None:
        raise refusal
    table = ctx.dictionary.table("events")
    row = checked.row
    event_id = str(row[str(table.key)])
    text = plain(row.get("message_text"))
    identifiers = decrypt_identifiers(ctx, lead)
    kind = plain(row.get("event_type")) or checked.raw.get("event_type") or "unknown"
    page = plain(row.get("page")) or checked.raw.get("page")
    event = Event(
        lead_id=lead.id,
        event_id=event_id,
        occurred_at=pd.Timestamp(row["occurred_at"]).to_pydatetime().replace(tzinfo=None),
        event_type=str(kind)[:60],  # a type the dictionary does not know is kept as written, and flagged
        page=None if page is None else str(page)[:60],
        message_text=redact_known([text], identifiers)[0] if text else None,
        received_at=now,
    )
    if insert_row(session, event, unless_exists=("lead_id", "event_id")) is None:  # a repeat
        return EventResult(
            lead=lead,
            entry=current_entry(session=session, lead=lead),
            event_created=False,
            ledger_changed=False,
        )
    if checked.flags:  # kept with the lead's own flags, for the admin's list of unknown values
        fields = dict(lead.fields or {})
        flagged = dict(fields.get(FLAGS_KEY) or {})
        stored = flags_of(checked.flags, identifiers)
        flagged.update({f"event {event_id}: {name}": value for name, value in stored.items()})
        lead.fields = {**fields, FLAGS_KEY: flagged}
    # every text is triaged again, this message with the others: an urgent or possible one re-routes the
    # lead (a new ledger entry, its outbox record, the review task at the top of the queue)
    entry, changed, level = rescore_for_text(
        session=session,
        ctx=ctx,
        lead=lead,
        reason=f"event {event.id} ({event.event_type})",
        now=now,
        source=f"event:{event.id}",
    )
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.event",
        subject=f"lead:{lead.id}",
        details={
            "event": event.id,
            "event_type": event.event_type,
            "ledger_changed": changed,
            "score_id": entry.id,
            "triage": level,
            "flagged_fields": sorted({f.field for f in checked.flags}),
        },
    )
    if level != "none":
        route = entry.route.get("name")
        log.warning("lead %s: %s triage words in event %s, route %s", lead.id, level, event.id, route)
    return EventResult(
        lead=lead, entry=entry, event_created=True, ledger_changed=changed, flagged_fields=checked.flags
    )


def record_outcome(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_id: int,
    outcome_in: Mapping[str, Any],
    actor: str,
    role: str,
    now: datetime | None = None,
) -> Outcome:
    """Record a funnel step the lead reached (checked against the dictionary's outcomes table)."""
    now = now or utcnow()
    lead = get_lead(session=session, lead_id=lead_id)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    row, _ignored = validate_one(ctx, {**dict(outcome_in), "lead_id": str(lead.id)}, "outcomes")
    outcome = Outcome(
        lead_id=lead.id,
        outcome=str(plain(row["outcome"])),
        occurred_at=pd.Timestamp(row["occurred_at"]).to_pydatetime().replace(tzinfo=None),
        received_at=now,
    )
    session.add(outcome)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.outcome",
        subject=f"lead:{lead.id}",
        details={"outcome": outcome.outcome},
    )
    return outcome


def score_records(
    *, ctx: ServiceContext, records: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Stateless scoring: check, score and decide leads without storing anything (no owner is assigned).

    Returns
    -------
    list of dict
        One decision per record (``Decision.to_dict()`` plus ``fallback``, ``ignored_fields`` and
        ``flagged_fields``, the values kept as written and scored as unknown).
    """
    now = now or utcnow()
    table = ctx.dictionary.table("leads")
    key, time_column = str(table.key), str(table.time_column)
    prepared = []
    for r in records:
        given = dict(r)
        if not given.get(time_column):
            given[time_column] = now.isoformat()
        prepared.append(given)
    clean, ignored, flags = validate_table(ctx, prepared, "leads")
    keys = clean[key].astype("string")
    if keys.duplicated().any():
        raise LeadValidationError(
            "lead ids repeat in the request", [{"field": key, "message": "every lead needs its own id"}]
        )
    records_out = []
    for _, row in clean.iterrows():
        identifiers, texts, fields = split_fields(ctx, {str(k): v for k, v in row.to_dict().items()})
        record = {**fields, **texts, **dict.fromkeys(identifiers, PRESENT)}
        record[key] = str(row[key])
        record[time_column] = pd.Timestamp(row[time_column])
        records_out.append(record)
    as_of = pd.Series(pd.to_datetime([r[time_column] for r in records_out]))
    scored = score_and_decide(session=None, ctx=ctx, records=records_out, events=None, as_of=as_of, now=now)
    out = []
    for item, flagged in zip(scored, flags, strict=True):
        d: dict[str, Any] = item.decision.to_dict()
        d["route"]["owner"] = None
        d["fallback"] = item.fallback
        d["ignored_fields"] = ignored
        d["flagged_fields"] = [f.to_dict() for f in flagged]
        out.append(d)
    return out


def lead_view(
    *,
    ctx: ServiceContext,
    lead: Lead,
    show_identifiers: bool,
    show_external_id: bool,
    show_texts: bool,
    show_fields: bool = True,
    show_sensitive: bool = True,
) -> dict[str, Any]:
    """The lead as a role may see it: tombstone, ids, fields, current decision and ledger.

    Without `show_fields` only ids and times remain (no fields, and not which identifiers the lead has);
    without `show_sensitive` the fields the dictionary marks sensitive (such as age and sex) are left out.
    """
    view: dict[str, Any] = {
        "id": lead.id,
        "pseudonym": lead.pseudonym,
        "external_id": lead.external_id if show_external_id else None,
        "created_at": lead.created_at,
        "received_at": lead.received_at,
        "erased": lead.erased,
        "erased_at": lead.erased_at,
        "fields": dict(lead.fields or {}),
        "texts": dict(lead.texts or {}) if show_texts else None,
        "contact": decrypt_identifiers(ctx, lead) if show_identifiers else None,
        "has_identifiers": identifier_names(lead) if show_fields else [],
    }
    if not show_fields:
        view["fields"] = {}
    if not show_external_id or not show_sensitive:
        # quasi-identifiers and sensitive attributes stay out of the pseudonymised view; sensitive attributes
        # out of a view that does not need them
        hidden_kinds = {Sensitivity.SENSITIVE}
        if not show_external_id:
            hidden_kinds.add(Sensitivity.QUASI_IDENTIFIER)
        table = ctx.dictionary.table("leads")
        hidden = {f.name for f in table.fields if f.sensitivity in hidden_kinds}
        view["fields"] = {k: v for k, v in view["fields"].items() if k not in hidden}
        if FLAGS_KEY in view["fields"]:
            flags = view["fields"][FLAGS_KEY]
            view["fields"][FLAGS_KEY] = {k: v for k, v in flags.items() if k not in hidden}
    return view


def read_lead(*, session: Session, ctx: ServiceContext, lead_id: int, actor: str, role: str) -> LeadPublic:
    """The lead as the caller's role may see it, with its decision and ledger; the read is audited.

    Analysts get the pseudonymised view of any lead; reviewers read only the leads in the review queue of a
    queue they work (or that they labelled lately), with contact details but without sensitive attributes;
    integrations read only the leads they created, and of those ids and decisions; admins everything (see
    :mod:`careleads.service.scope`).

    Raises
    ------
    NotFoundError
        If there is no such lead (an erased lead answers with its tombstone), or an integration did not
        create it.
    PermissionDenied
        For a role that may not read leads, or a reviewer and a lead outside the queues they work.
    """
    authorize(role, LEAD_READ)
    lead = get_lead(session=session, lead_id=lead_id, allow_erased=True)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    view = lead_view(
        ctx=ctx,
        lead=lead,
        show_identifiers=not lead.erased and role in ("admin", "reviewer"),
        show_external_id=role != "analyst",
        show_texts=role in ("admin", "reviewer"),
        show_fields=role not in OWN_LEADS_ONLY,
        show_sensitive=role == "admin",
    )
    entries = ledger(session=session, lead=lead)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.read",
        subject=f"lead:{lead.id}",
        details={"contact_shown": view["contact"] is not None, "n_ledger": len(entries)},
    )
    decisions = [decision_public(e) for e in entries]
    scores = lead_scores(session=session, ctx=ctx, lead=lead, entry=entries[-1] if entries else None)
    return LeadPublic(**view, decision=decisions[-1] if decisions else None, ledger=decisions, scores=scores)


def lead_scores(
    *,
    session: Session,
    ctx: ServiceContext,
    lead: Lead,
    entry: ScoreEntry | None,
    others: list[TargetScoreEntry] | None = None,
) -> list[TargetScorePublic]:
    """The lead's current score of every served target: the routing target's (its current ledger `entry`)
    first, then each other target's (:mod:`careleads.service.targets`; `others` when known, else read)."""
    if others is None:
        others = current_target_scores(session=session, lead_id=lead.id)
    return target_scores_public(primary=ctx.settings.target, entry=entry, others=others)


def lead_timeline(*, session: Session, lead_id: int, show_texts: bool) -> list[dict[str, Any]]:
    """The lead's events, outcomes and feedback in time order (redacted texts only when `show_texts`)."""
    items: list[dict[str, Any]] = []
    for e in session.scalars(select(Event).where(Event.lead_id == lead_id)):
        items.append(
            {
                "at": e.occurred_at,
                "kind": "event",
                "what": e.event_type,
                "detail": e.page,
                "text": e.message_text if show_texts else None,
                "source": f"event:{e.id}",  # as the triage names it (highlighted words)
            }
        )
    for o in session.scalars(select(Outcome).where(Outcome.lead_id == lead_id)):
        items.append(
            {
                "at": o.occurred_at,
                "kind": "outcome",
                "what": o.outcome,
                "detail": None,
                "text": None,
                "source": None,
            }
        )
    for f in session.scalars(select(Feedback).where(Feedback.lead_id == lead_id)):
        items.append(
            {
                "at": f.created_at,
                "kind": "feedback",
                "what": f.label,
                "detail": f"by {f.reviewer}, route {f.route_action}",
                "text": f.note if show_texts else None,
                "source": f"feedback:{f.id}",
            }
        )
    items.sort(key=lambda i: i["at"])
    return items


#: leads scored at once by :func:`score_without_storing`, between two checks of its time limit
BULK_CHUNK = 200


class BulkTimeoutError(CareleadsError):
    """A bulk scoring request ran past its time limit (``bulk_seconds``) and was stopped."""


def score_without_storing(
    *,
    session: Session,
    ctx: ServiceContext,
    records: Sequence[Mapping[str, Any]],
    actor: str,
    role: str,
    now: datetime | None = None,
    segment: str = "inbound",
    events: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """:func:`score_records` for a caller: only the audit log records that a scoring took place (and of how
    many leads). Returning and partnership leads (`segment`, with their `events`) are scored by
    :func:`careleads.service.segments.score_segment_records`.

    The leads are scored in chunks of :data:`BULK_CHUNK`; when the request has taken longer than the
    settings' ``bulk_seconds``, it stops between two chunks.

    Raises
    ------
    BulkTimeoutError
        When the time ran out: nothing is returned; send fewer leads per request.
    """
    now = now or utcnow()
    deadline = time.monotonic() + ctx.settings.bulk_seconds
    key = str(ctx.dictionary.table(get_segment(segment).leads_table).key)
    every = {str(r.get(key)) for r in records}
    decisions: list[dict[str, Any]] = []
    for start in range(0, len(records), BULK_CHUNK):
        if start and time.monotonic() > deadline:
            raise BulkTimeoutError(
                f"scoring stopped after {start} of {len(records)} leads: the request took longer than "
                f"{ctx.settings.bulk_seconds:g} s (bulk_seconds); send fewer leads per request"
            )
        chunk = records[start : start + BULK_CHUNK]
        if segment == "inbound":
            decisions += score_records(ctx=ctx, records=chunk, now=now)
        else:
            ids = {str(r.get(key)) for r in chunk}
            # an event of no lead in the request goes with the first chunk, whose check refuses it
            mine = [
                e
                for e in events
                if (e_id := str(e.get("lead_id"))) in ids or (not start and e_id not in every)
            ]
            decisions += score_segment_records(ctx=ctx, segment=segment, records=chunk, events=mine, now=now)
    answered = [str(d.get("lead_id")) for d in decisions]
    if len(set(answered)) < len(answered):  # each chunk checks its own; this checks across chunks
        raise LeadValidationError(
            "lead ids repeat in the request", [{"field": key, "message": "every lead needs its own id"}]
        )
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="score.stateless",
        subject="score",
        details={"n_leads": len(decisions), "segment": segment},
    )
    return decisions
