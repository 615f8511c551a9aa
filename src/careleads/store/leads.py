"""Lead use cases on the operational store: create and score, record events and re-score, outcomes, views.

Each function works inside the caller's transaction (one per API request or CLI command) and takes
keyword-only arguments. What is stored follows the data dictionary's sensitivity classes:

- direct identifiers: encrypted (Fernet) in ``leads.identifiers``, nowhere else;
- sensitive free text: redacted (typed placeholders) in ``leads.texts`` and ``events.message_text``;
- the other dictionary fields in ``leads.fields``; columns the dictionary does not know are not stored
  (the response lists them as ignored).

The ledger (``scores``) gains an entry only when the score, the tier or the route changes; each new entry
adds a write-back record to the outbox. Every scoring, changed or not, goes to the analytics layer.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from careleads.decisions import AssignmentLookup, Decision, Routing, assign_owner, decide, decide_many
from careleads.dictionary import FieldType, Sensitivity, ingest_table
from careleads.dictionary._record import record_validator
from careleads.errors import InputError, NotFoundError
from careleads.privacy import PLACEHOLDERS, redact_texts
from careleads.store._engine import insert_row
from careleads.store._models import Event, Lead, Outcome, ReviewTask, ScoreEntry
from careleads.store.analytics import AnalyticsRow
from careleads.store.audit import append_audit
from careleads.store.context import ANALYTICS_KEY, ServiceContext
from careleads.store.outbox import enqueue_change

__all__ = [
    "PRESENT",
    "EventResult",
    "LeadErasedError",
    "LeadResult",
    "LeadValidationError",
    "create_lead",
    "current_entry",
    "get_lead",
    "ledger",
    "lead_view",
    "record_event",
    "record_outcome",
    "score_records",
]

log = logging.getLogger("careleads.store")
PRESENT = "[present]"  # stands in for a direct identifier when only its presence matters


def utcnow() -> datetime:
    """Now as naive UTC (the store's time convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


class LeadValidationError(InputError):
    """Input that the data dictionary rejects; ``problems`` lists ``{"field", "message"}`` per problem."""

    def __init__(self, message: str, problems: Sequence[Mapping[str, str]]) -> None:
        super().__init__(message)
        self.problems = [dict(p) for p in problems]


class LeadErasedError(NotFoundError):
    """The lead was erased; only its tombstone remains."""


@dataclass
class LeadResult:
    """The stored lead, its current ledger entry, whether it was created now, and the decision."""

    lead: Lead
    entry: ScoreEntry
    created: bool
    ignored_fields: list[str] = field(default_factory=list)


@dataclass
class EventResult:
    """The lead, its current entry, whether the event was new and whether the ledger changed."""

    lead: Lead
    entry: ScoreEntry
    event_created: bool
    ledger_changed: bool


# ------------------------------------------------------------------------------------------ conversion


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: Timestamps as ISO text, missing as None, numpy scalars as Python values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _raw_text(value: Any) -> str:
    """A JSON value as the text ingest reads (missing as an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _problems(quarantine: pd.DataFrame, known: Sequence[str]) -> list[dict[str, str]]:
    """Field-level problems from ingest's quarantine rows (``_field`` and ``_reason`` joined by '; ')."""
    out: list[dict[str, str]] = []
    for _, row in quarantine.iterrows():
        fields = [f for f in str(row["_field"]).split("; ") if f]
        current: dict[str, str] | None = None
        for piece in str(row["_reason"]).split("; "):
            name = next((f for f in (*fields, *known) if piece.startswith(f"{f}:")), None)
            if name is not None:
                current = {"field": name, "message": piece[len(name) + 1 :].strip()}
                out.append(current)
            elif current is not None:
                current["message"] += "; " + piece
            else:
                out.append({"field": fields[0] if fields else "", "message": piece})
    return out


_WORD = re.compile(r"[\w.'+-]+@[\w.-]+|\w[\w'-]*\w", re.UNICODE)


def redact_known(texts: Sequence[str | None], identifiers: Mapping[str, str]) -> list[str | None]:
    """Redact free texts: the library's detectors, then the lead's own identifiers wherever they appear.

    The detectors cannot know every name; the lead's own name, e-mail and phone are known, so each of
    their words (three characters or more) is replaced as a whole word, case-insensitively.
    """
    redacted = redact_texts(list(texts))
    replacement: dict[str, str] = {}  # lower-cased word -> placeholder
    for value in identifiers.values():
        placeholder = (
            PLACEHOLDERS["EMAIL"]
            if "@" in value
            else PLACEHOLDERS["PHONE"]
            if sum(c.isdigit() for c in value) >= 7
            else PLACEHOLDERS["NAME"]
        )
        if placeholder == PLACEHOLDERS["NAME"]:
            words = [w for w in _WORD.findall(value) if len(w) >= 3]
        else:
            words = [value.strip()] if placeholder == PLACEHOLDERS["EMAIL"] else []
        for word in words:
            replacement.setdefault(word.lower(), placeholder)
    if not replacement or all(text is None for text in redacted):
        return redacted
    # one pattern for all of the lead's words, longest first (an e-mail before the name inside it)
    alternatives = "|".join(re.escape(w) for w in sorted(replacement, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def placeholder_of(match: re.Match[str]) -> str:
        # a case variant whose lower form differs (rare Unicode) is still redacted, as a name
        return replacement.get(match.group(0).lower(), PLACEHOLDERS["NAME"])

    return [pattern.sub(placeholder_of, text) if text is not None else None for text in redacted]


def validate_table(
    ctx: ServiceContext, records: Sequence[Mapping[str, Any]], table: str
) -> tuple[pd.DataFrame, list[str]]:
    """Check records against the dictionary exactly as files are checked (:func:`ingest_table`).

    Returns
    -------
    (DataFrame, list of str)
        The clean rows and the input fields the dictionary does not know (not stored).

    Raises
    ------
    LeadValidationError
        When any record is rejected; ``problems`` names each field and what is wrong.
    """
    frame = pd.DataFrame([{str(k): _raw_text(v) for k, v in r.items()} for r in records])
    try:
        result = ingest_table(frame, ctx.dictionary, table, source="request")
    except InputError as exc:
        raise LeadValidationError(str(exc), [{"field": "", "message": str(exc)}]) from None
    if len(result.quarantine):
        names = ctx.dictionary.table(table).names
        problems = _problems(result.quarantine, names)
        if len(records) > 1:
            for problem, row in zip(problems, result.quarantine["_row"], strict=False):
                problem["row"] = str(int(row) - 2)
        raise LeadValidationError(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "the input was rejected", problems
        )
    return result.clean, list(result.summary.unknown_columns)


def validate_one(
    ctx: ServiceContext, record: Mapping[str, Any], table: str
) -> tuple[dict[str, Any], list[str]]:
    """Check one record against the dictionary: :func:`validate_table` without frames, the same answers.

    Returns
    -------
    (dict, list of str)
        The clean record (every field of the table, None where missing) and the input fields the
        dictionary does not know (not stored).

    Raises
    ------
    LeadValidationError
        When the record is rejected; ``problems`` names each field and what is wrong.
    """
    validator = record_validator(ctx.dictionary, table)
    try:
        clean, found = validator.validate(record, source="request")
    except InputError as exc:
        raise LeadValidationError(str(exc), [{"field": "", "message": str(exc)}]) from None
    if found:
        problems = [{"field": p.field, "message": p.detail} for p in found]
        raise LeadValidationError("; ".join(f"{p['field']}: {p['message']}" for p in problems), problems)
    names = set(validator.table.names)
    return clean, [name for name in clean if name not in names]


# ------------------------------------------------------------------------------------------ storing


def _split_fields(
    ctx: ServiceContext, row: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """(direct identifiers, redacted free texts, other fields) of one clean lead row."""
    table = ctx.dictionary.table("leads")
    identifiers: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    fields: dict[str, Any] = {}
    for spec in table.fields:
        if spec.name in (table.key, table.time_column) or spec.name not in row:
            continue
        value = _plain(row[spec.name])
        if spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            if value is not None and str(value).strip():
                identifiers[spec.name] = str(value)
        elif spec.type is FieldType.TEXT and spec.sensitivity is Sensitivity.SENSITIVE:
            texts[spec.name] = None if value is None else str(value)
        else:
            fields[spec.name] = value
    names = list(texts)
    redacted = redact_known([texts[n] for n in names], identifiers)
    return identifiers, {n: t for n, t in zip(names, redacted, strict=True) if t is not None}, fields


def _lead_record(ctx: ServiceContext, lead: Lead, present: Sequence[str]) -> dict[str, Any]:
    """The lead as scoring and decisions see it: fields, redacted texts, identifiers only as presence."""
    table = ctx.dictionary.table("leads")
    record: dict[str, Any] = dict(lead.fields or {})
    record.update(lead.texts or {})
    for name in present:
        record[name] = PRESENT
    record[str(table.key)] = str(lead.id)
    record[str(table.time_column)] = pd.Timestamp(lead.created_at)
    return record


def identifier_names(lead: Lead) -> list[str]:
    """Which direct identifiers the lead has (names only; the values stay encrypted)."""
    return sorted(str(n) for n in (lead.identifier_fields or []))


def decrypt_identifiers(ctx: ServiceContext, lead: Lead) -> dict[str, str]:
    """The lead's direct identifiers in clear (for the roles allowed to see them)."""
    if not lead.identifiers:
        return {}
    data: dict[str, str] = json.loads(ctx.cipher.decrypt(lead.identifiers))
    return data


def _events_list(session: Session, lead: Lead) -> list[dict[str, Any]]:
    """The lead's events as scoring reads them (one query, no frame)."""
    rows = session.execute(
        select(Event.occurred_at, Event.event_type, Event.page).where(Event.lead_id == lead.id)
    ).all()
    return [{"occurred_at": r.occurred_at, "event_type": r.event_type, "page": r.page} for r in rows]


_OPEN_PER_OWNER = (
    select(ReviewTask.owner, func.count())
    .where(ReviewTask.owner.in_(bindparam("owners", expanding=True)), ReviewTask.status == "open")
    .group_by(ReviewTask.owner)
)
_LAST_OWNER = (
    select(ScoreEntry.owner)
    .where(ScoreEntry.queue == bindparam("queue"), ScoreEntry.owner.is_not(None))
    .order_by(ScoreEntry.id.desc())
    .limit(1)
)


def _assignment_lookup(session: Session, routing: Routing) -> AssignmentLookup:
    """Open review tasks per owner and the owner assigned last, for just the staffed queues a decision needs.

    Two indexed lookups (``review_tasks(owner, status)``, ``scores(queue, id)``), whatever the size of the
    ledger and the queues.
    """

    def lookup(queues: frozenset[str]) -> tuple[dict[str, int], dict[str, str]]:
        connection = session.connection()
        owners = sorted({owner for queue in queues for owner in routing.queues[queue].owners})
        counts: dict[str, int] = {}
        if owners:
            counts = {
                str(owner): int(n) for owner, n in connection.execute(_OPEN_PER_OWNER, {"owners": owners})
            }
        last: dict[str, str] = {}
        for queue in sorted(queues):
            owner = connection.execute(_LAST_OWNER, {"queue": queue}).scalar_one_or_none()
            if owner is not None:
                last[queue] = str(owner)
        return counts, last

    return lookup


@dataclass(frozen=True)
class _Scored:
    decision: Decision
    scored: dict[str, Any]
    fallback: bool


def _leads_frame(ctx: ServiceContext, records: list[dict[str, Any]]) -> pd.DataFrame:
    leads = pd.DataFrame(records)
    time_column = str(ctx.spec.time_column)
    leads[time_column] = pd.to_datetime(leads[time_column])
    return leads


def _score_and_decide(
    *,
    session: Session | None,
    ctx: ServiceContext,
    records: list[dict[str, Any]],
    events: pd.DataFrame | None,
    as_of: pd.Series,
    now: datetime,
) -> list[_Scored]:
    leads = _leads_frame(ctx, records)
    result = ctx.scorer.score(leads, events, as_of)
    decisions = decide_many(
        leads,
        result.scored,
        hard_rules=ctx.hard_rules,
        routing=ctx.routing,
        assignments=_assignment_lookup(session, ctx.routing) if session is not None else None,
        now=pd.Timestamp(now),
    )
    rows = result.scored.to_dict("records")
    return [
        _Scored(decision=d, scored={str(k): _plain(v) for k, v in r.items()}, fallback=bool(r["fallback"]))
        for d, r in zip(decisions, rows, strict=True)
    ]


def _decide_one(
    *,
    session: Session | None,
    ctx: ServiceContext,
    record: dict[str, Any],
    scored: Mapping[str, Any],
    now: datetime,
) -> _Scored:
    """Decide one scored lead with :func:`careleads.decisions.decide` (the twin of ``decide_many``).

    Without a session, owners are picked as if every queue were empty: call
    :func:`careleads.decisions.assign_owner` inside the transaction.
    """
    time_column = str(ctx.spec.time_column)
    lead = {**record, time_column: pd.Timestamp(record[time_column])}
    decision = decide(
        lead,
        scored,
        hard_rules=ctx.hard_rules,
        routing=ctx.routing,
        assignments=_assignment_lookup(session, ctx.routing) if session is not None else None,
        now=pd.Timestamp(now),
    )
    return _Scored(
        decision=decision,
        scored={str(k): _plain(v) for k, v in scored.items()},
        fallback=bool(scored["fallback"]),
    )


def _route_dict(decision: Decision) -> dict[str, Any]:
    route = decision.route.to_dict()
    route["action"] = decision.action
    route["notes"] = list(decision.notes)
    route["rules_version"] = decision.rules_version
    route["routing_version"] = decision.routing_version
    return route


def _reasons(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


_TIER_RANK_MISSING = 99


def _tier_rank(ctx: ServiceContext, tier: str | None) -> int:
    names: tuple[str, ...] = ("A", "B", "C", "D")
    model = ctx.scorer.model()
    if model is not None:
        names = tuple(model.tiers.names)
    return names.index(tier) if tier in names else _TIER_RANK_MISSING


def _new_entry(
    *, session: Session, lead: Lead, scored: _Scored, route: dict[str, Any], reason: str, now: datetime
) -> ScoreEntry:
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
    enqueue_change(session=session, lead=lead, entry=entry, now=now)
    return entry


def _sync_review(
    *, session: Session, ctx: ServiceContext, lead: Lead, entry: ScoreEntry, now: datetime, new: bool = False
) -> None:
    """Open, update or cancel the lead's review task to match its current entry (`new`: no task yet)."""
    task = (
        None
        if new
        else session.scalar(
            select(ReviewTask).where(ReviewTask.lead_id == lead.id, ReviewTask.status == "open")
        )
    )
    due_text = entry.route.get("sla_due")
    due = pd.Timestamp(due_text).to_pydatetime().replace(tzinfo=None) if due_text else None
    if due is None and entry.review_required:
        due = now + pd.Timedelta(hours=ctx.settings.review_sla_hours).to_pytimedelta()
    if entry.review_required:
        fresh = task is None
        if task is None:
            task = ReviewTask(lead_id=lead.id, status="open", created_at=now, closed_at=None)
        task.queue = str(entry.route.get("queue") or "review")
        task.owner = entry.route.get("owner")
        task.tier = entry.tier
        task.tier_rank = _tier_rank(ctx, entry.tier)
        task.sla_due = due
        if fresh:
            insert_row(session, task)
    elif task is not None:
        task.status = "cancelled"
        task.closed_at = now


def _analytics(
    session: Session,
    ctx: ServiceContext,
    lead: Lead,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    scored: _Scored,
    as_of: pd.Timestamp,
) -> None:
    """Queue the scoring for the analytics layer; written after the transaction commits."""
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
        },
    )
    session.info.setdefault(ANALYTICS_KEY, []).append(row)


# ------------------------------------------------------------------------------------------ use cases


def get_lead(*, session: Session, lead_id: int, allow_erased: bool = False) -> Lead:
    """The lead with internal id `lead_id`.

    Raises
    ------
    NotFoundError
        If there is no such lead.
    LeadErasedError
        If it was erased (unless `allow_erased`).
    """
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead with id {lead_id}; use the id returned when the lead was created")
    if lead.erased and not allow_erased:
        raise LeadErasedError(f"lead {lead_id} was erased; only its tombstone remains")
    return lead


def current_entry(*, session: Session, lead: Lead) -> ScoreEntry:
    """The lead's latest ledger entry."""
    entry = session.scalar(
        select(ScoreEntry).where(ScoreEntry.lead_id == lead.id).order_by(ScoreEntry.id.desc()).limit(1)
    )
    if entry is None:
        raise NotFoundError(f"lead {lead.id} has no score yet")
    return entry


def ledger(*, session: Session, lead: Lead) -> list[ScoreEntry]:
    """Every ledger entry of the lead, oldest first."""
    return list(
        session.scalars(select(ScoreEntry).where(ScoreEntry.lead_id == lead.id).order_by(ScoreEntry.id))
    )


def create_lead(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_in: Mapping[str, Any],
    actor: str,
    role: str,
    now: datetime | None = None,
) -> LeadResult:
    """Check a lead against the dictionary, store it and score it at once; idempotent on its external id.

    Parameters
    ----------
    session : Session
        The request's transaction.
    ctx : ServiceContext
        Dictionary, scorer, rules, routing, keys.
    lead_in : mapping
        Field name (canonical or alias) -> value; must hold the dictionary's key (the external id).
    actor, role : str
        Who asks, for the audit log.
    now : datetime, optional
        Decision time (naive UTC); default now. A lead without a creation time is created now.

    Returns
    -------
    LeadResult
        ``created`` is False when a lead with this external id exists; then nothing changes.

    Raises
    ------
    LeadValidationError
        If the dictionary rejects the lead (field-level problems).
    LeadErasedError
        If a lead with this external id was erased.
    """
    now = now or utcnow()
    table = ctx.dictionary.table("leads")
    key, time_column = str(table.key), str(table.time_column)
    record_in = dict(lead_in)
    if not record_in.get(time_column):
        record_in[time_column] = now.isoformat()
    row, ignored = validate_one(ctx, record_in, "leads")
    external_id = str(row[key]).strip()
    pseudonym = ctx.pseudonymiser.pseudonymise(external_id, kind="text")
    identifiers, texts, fields = _split_fields(ctx, row)
    created_at = pd.Timestamp(row[time_column]).to_pydatetime().replace(tzinfo=None)
    # score and decide before the first statement: on SQLite the transaction, and with it the write lock,
    # starts there; rules, routing and triage need no store, only the owner is picked inside
    record = _lead_record(
        ctx, Lead(id=0, fields=fields, texts=texts or None, created_at=created_at), sorted(identifiers)
    )
    as_of = pd.Timestamp(created_at)
    prescored = ctx.scorer.score_record(record, None, as_of)
    early = _decide_one(session=None, ctx=ctx, record=record, scored=prescored, now=now)
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
        assignments=_assignment_lookup(session, ctx.routing),
    )
    scored = replace(early, decision=decision)
    entry = _new_entry(
        session=session,
        lead=lead,
        scored=scored,
        route=_route_dict(scored.decision),
        reason="created",
        now=now,
    )
    _sync_review(session=session, ctx=ctx, lead=lead, entry=entry, now=now, new=True)
    _analytics(session, ctx, lead, record, [], scored, as_of)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.create",
        subject=f"lead:{lead.id}",
        details={"score_id": entry.id, "tier": entry.tier, "scored_by": entry.scored_by},
    )
    log.info("lead %s created: tier %s, route %s", lead.id, entry.tier, entry.route.get("name"))
    return LeadResult(lead=lead, entry=entry, created=True, ignored_fields=ignored)


def _existing(*, session: Session, lead: Lead, actor: str, role: str, ignored: list[str]) -> LeadResult:
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


def _same(entry: ScoreEntry, scored: _Scored, route: Mapping[str, Any]) -> bool:
    d = scored.decision
    return (
        entry.score == (int(d.score) if d.score is not None else 0)
        and entry.tier == (str(d.tier) if d.tier is not None else "")
        and entry.route.get("name") == route.get("name")
        and entry.route.get("queue") == route.get("queue")
        and entry.route.get("owner") == route.get("owner")
        and entry.route.get("nurture_track") == route.get("nurture_track")
    )


def rescore_lead(
    *, session: Session, ctx: ServiceContext, lead: Lead, reason: str, now: datetime
) -> tuple[ScoreEntry, bool]:
    """Score the lead again on everything known now; add a ledger entry only if score, tier or route changed.

    The owner stays when the queue stays (a re-score does not pass the lead around), and so does the SLA.
    """
    current = current_entry(session=session, lead=lead)
    record = _lead_record(ctx, lead, identifier_names(lead))
    events = _events_list(session, lead)
    stamps = [pd.Timestamp(e["occurred_at"]) for e in events if e["occurred_at"] is not None]
    as_of = max([pd.Timestamp(lead.created_at), *stamps])
    scored = _decide_one(
        session=session,
        ctx=ctx,
        record=record,
        scored=ctx.scorer.score_record(record, events, as_of),
        now=now,
    )
    _analytics(session, ctx, lead, record, events, scored, as_of)
    route = _route_dict(scored.decision)
    if route.get("queue") == current.route.get("queue") and current.route.get("owner"):
        route["owner"] = current.route.get("owner")
        route["assignment"] = current.route.get("assignment")
        route["sla_due"] = current.route.get("sla_due")
    if _same(current, scored, route):
        return current, False
    entry = _new_entry(session=session, lead=lead, scored=scored, route=route, reason=reason, now=now)
    _sync_review(session=session, ctx=ctx, lead=lead, entry=entry, now=now)
    log.info("lead %s re-scored: tier %s -> %s", lead.id, current.tier, entry.tier)
    return entry, True


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
    lead = get_lead(session=session, lead_id=lead_id)
    table = ctx.dictionary.table("events")
    record_in = {**dict(event_in), "lead_id": str(lead.id)}
    row, _ignored = validate_one(ctx, record_in, "events")
    event_id = str(row[str(table.key)])
    text = _plain(row.get("message_text"))
    event = Event(
        lead_id=lead.id,
        event_id=event_id,
        occurred_at=pd.Timestamp(row["occurred_at"]).to_pydatetime().replace(tzinfo=None),
        event_type=str(_plain(row["event_type"])),
        page=_plain(row.get("page")),
        message_text=redact_known([text], decrypt_identifiers(ctx, lead))[0] if text else None,
        received_at=now,
    )
    if insert_row(session, event, unless_exists=("lead_id", "event_id")) is None:  # a repeat
        return EventResult(
            lead=lead,
            entry=current_entry(session=session, lead=lead),
            event_created=False,
            ledger_changed=False,
        )
    entry, changed = rescore_lead(
        session=session, ctx=ctx, lead=lead, reason=f"event {event.id} ({event.event_type})", now=now
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
        },
    )
    return EventResult(lead=lead, entry=entry, event_created=True, ledger_changed=changed)


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
    row, _ignored = validate_one(ctx, {**dict(outcome_in), "lead_id": str(lead.id)}, "outcomes")
    outcome = Outcome(
        lead_id=lead.id,
        outcome=str(_plain(row["outcome"])),
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
        One decision per record (``Decision.to_dict()`` plus ``fallback`` and ``ignored_fields``).
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
    clean, ignored = validate_table(ctx, prepared, "leads")
    keys = clean[key].astype("string")
    if keys.duplicated().any():
        raise LeadValidationError(
            "lead ids repeat in the request", [{"field": key, "message": "every lead needs its own id"}]
        )
    records_out = []
    for _, row in clean.iterrows():
        identifiers, texts, fields = _split_fields(ctx, {str(k): v for k, v in row.to_dict().items()})
        record = {**fields, **texts, **dict.fromkeys(identifiers, PRESENT)}
        record[key] = str(row[key])
        record[time_column] = pd.Timestamp(row[time_column])
        records_out.append(record)
    as_of = pd.Series(pd.to_datetime([r[time_column] for r in records_out]))
    scored = _score_and_decide(session=None, ctx=ctx, records=records_out, events=None, as_of=as_of, now=now)
    out = []
    for item in scored:
        d: dict[str, Any] = item.decision.to_dict()
        d["route"]["owner"] = None
        d["fallback"] = item.fallback
        d["ignored_fields"] = ignored
        out.append(d)
    return out


def lead_view(
    *,
    ctx: ServiceContext,
    lead: Lead,
    show_identifiers: bool,
    show_external_id: bool,
    show_texts: bool,
) -> dict[str, Any]:
    """The lead as a role may see it: tombstone, ids, fields, current decision and ledger."""
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
        "has_identifiers": identifier_names(lead),
    }
    if not show_external_id:
        # quasi-identifiers and sensitive attributes stay out of the pseudonymised view
        table = ctx.dictionary.table("leads")
        hidden = {
            f.name
            for f in table.fields
            if f.sensitivity in (Sensitivity.QUASI_IDENTIFIER, Sensitivity.SENSITIVE)
        }
        view["fields"] = {k: v for k, v in view["fields"].items() if k not in hidden}
    return view
