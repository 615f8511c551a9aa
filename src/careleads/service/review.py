"""The review queue: clinical triage first, then by SLA due time, then tier; contact details for reviewers.

The queue filters by the intent of the lead's message (``intent``: a label such as ``spam``, or
:data:`NO_INTENT` for the leads without a message), in the store, so paging works on the filtered queue. A
reviewer's queue holds only the tasks of the queues the routing names them in, as owner or member
(:func:`careleads.service.scope.queues_for`); an admin's holds every task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from careleads.scoring import reason_raises
from careleads.service._records import current_entry, decrypt_identifiers, utcnow
from careleads.service.access import REVIEW_QUEUE_READ, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.service.schemas import ReviewItemPublic, ReviewQueuePublic, decision_public
from careleads.service.scope import queues_for
from careleads.store import Event, Lead, ReviewTask, ScoreEntry

__all__ = [
    "NO_INTENT",
    "QUEUE_SORTS",
    "QUEUE_VIEWS",
    "QueueQuery",
    "in_review_queue",
    "open_review_task",
    "queue_listing",
    "read_review_queue",
    "record_queue_read",
    "review_queue",
]

_SNIPPET_CHARS = 160
#: the intent filter's value for leads without a message (no intent)
NO_INTENT = "none"


def _intent_is(intent: str | None) -> list[ColumnElement[bool]]:
    """The filter on the intent of the lead's message (none: every task)."""
    if intent is None:
        return []
    return [ReviewTask.intent.is_(None) if intent == NO_INTENT else ReviewTask.intent == intent]


def review_queue(
    *,
    session: Session,
    limit: int | None = 100,
    offset: int = 0,
    intent: str | None = None,
    queues: frozenset[str] | None = None,
) -> list[tuple[ReviewTask, Lead]]:
    """Open review tasks: clinical triage first (whatever its tier: a patient who may need a clinician
    must never wait behind a good sales lead), then the earliest SLA due time (tasks without one last),
    then the best tier. `intent` keeps the tasks of leads whose message has that intent (:data:`NO_INTENT`:
    no message); `queues`, when given, the tasks of those queues only; `limit` None: every open task."""
    if queues is not None and not queues:
        return []
    in_queues = [] if queues is None else [ReviewTask.queue.in_(sorted(queues))]
    no_due = case((ReviewTask.sla_due.is_(None), 1), else_=0)
    rows = session.execute(
        select(ReviewTask, Lead)
        .join(Lead, Lead.id == ReviewTask.lead_id)
        .where(ReviewTask.status == "open", Lead.erased.is_(False), *_intent_is(intent), *in_queues)
        .order_by(ReviewTask.urgent.desc(), no_due, ReviewTask.sla_due, ReviewTask.tier_rank, ReviewTask.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(task, lead) for task, lead in rows]


def in_review_queue(*, session: Session, lead_id: int) -> bool:
    """Whether the lead has an open review task."""
    found = session.scalar(
        select(ReviewTask.id).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open").limit(1)
    )
    return found is not None


def open_review_task(*, session: Session, lead_id: int) -> dict[str, Any] | None:
    """The lead's open review task (queue, owner, tier, SLA due time), or None."""
    task = session.scalar(
        select(ReviewTask).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open").limit(1)
    )
    if task is None:
        return None
    return {"queue": task.queue, "owner": task.owner, "tier": task.tier, "sla_due": task.sla_due}


def record_queue_read(
    *, session: Session, actor: str, role: str, lead_ids: list[int], via: str | None = None
) -> None:
    """Audit a read of the review queue: who saw which leads (``via`` names a surface other than the API)."""
    details: dict[str, Any] = {"lead_ids": lead_ids}
    if via is not None:
        details["via"] = via
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="review_queue.read",
        subject="review_queue",
        details=details,
    )


def read_review_queue(
    *,
    session: Session,
    ctx: ServiceContext,
    actor: str,
    role: str,
    limit: int = 100,
    offset: int = 0,
    intent: str | None = None,
) -> ReviewQueuePublic:
    """Open review tasks with each lead's decision, contact details and redacted texts; the read is audited.

    `intent` keeps the leads whose message has that intent (:data:`NO_INTENT`: leads without a message).

    A reviewer gets the tasks of the queues they work (owner or member) only.

    Raises
    ------
    PermissionDenied
        For a role that does not work the queue.
    """
    authorize(role, REVIEW_QUEUE_READ)
    items = []
    queues = queues_for(ctx=ctx, actor=actor, role=role)
    tasks = review_queue(session=session, limit=limit, offset=offset, intent=intent, queues=queues)
    entries = _latest_entries(session, [lead.id for _task, lead in tasks])  # one query for the page
    for task, lead in tasks:
        entry = decision_public(entries.get(lead.id) or current_entry(session=session, lead=lead))
        items.append(
            ReviewItemPublic(
                task_id=task.id,
                lead_id=lead.id,
                queue=task.queue,
                owner=task.owner,
                tier=task.tier,
                sla_due=task.sla_due,
                score=entry.score,
                route=entry.route.name,
                action=entry.action,
                reasons=entry.reasons,
                overrides=entry.overrides,
                contact=decrypt_identifiers(ctx, lead),
                texts=dict(lead.texts or {}),
                intent=entry.intent,
                intent_probability=entry.intent_probability,
            )
        )
    record_queue_read(session=session, actor=actor, role=role, lead_ids=[i.lead_id for i in items])
    return ReviewQueuePublic(data=items, count=len(items))


def _latest_entries(session: Session, lead_ids: list[int]) -> dict[int, ScoreEntry]:
    if not lead_ids:
        return {}
    latest = (
        select(func.max(ScoreEntry.id)).where(ScoreEntry.lead_id.in_(lead_ids)).group_by(ScoreEntry.lead_id)
    )
    return {e.lead_id: e for e in session.scalars(select(ScoreEntry).where(ScoreEntry.id.in_(latest)))}


def _snippet(texts: dict[str, Any] | None) -> str | None:
    for value in (texts or {}).values():
        if value:
            text = " ".join(str(value).split())
            return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "\u2026"
    return None


#: the orders the queue page offers after its pinned band: SLA due time (then score), score, age, name
QUEUE_SORTS = ("due", "score", "age", "name")
#: the saved views of the queue page: the signed-in user's leads, due today, overdue, clinical triage
QUEUE_VIEWS = ("mine", "due_today", "overdue", "urgent")
_FIELD_FILTERS = ("service_line", "region")
_TASK_FILTERS = ("tier", "owner", "intent")


@dataclass(frozen=True)
class QueueQuery:
    """What a queue page asks for: filters, a saved view, a search, an order and a page."""

    service_line: str | None = None
    region: str | None = None
    tier: str | None = None
    owner: str | None = None
    intent: str | None = None
    view: str | None = None
    search: str | None = None
    sort: str = "due"
    page: int = 1
    page_size: int = 50

    def filters(self) -> dict[str, str]:
        """The filters that are set, by name."""
        given = {k: getattr(self, k) for k in (*_FIELD_FILTERS, *_TASK_FILTERS, "view", "search")}
        return {k: str(v) for k, v in given.items() if v}


@dataclass
class _Open:
    """One open task with what ordering, filtering and counting it needs."""

    task: ReviewTask
    lead: Lead
    entry: ScoreEntry | None
    overdue: bool
    contact: dict[str, str] | None = None

    @property
    def score(self) -> int:
        return self.entry.score if self.entry is not None else -1

    def due_key(self) -> tuple[bool, datetime]:
        return (self.task.sla_due is None, self.task.sla_due or datetime.max)

    def value(self, key: str) -> str:
        """What a filter matches: no owner is "unassigned", no intent (no message) NO_INTENT."""
        if key in _FIELD_FILTERS:
            return str((self.lead.fields or {}).get(key) or "")
        blank = {"owner": "unassigned", "intent": NO_INTENT}.get(key, "")
        return str(getattr(self.task, key) or blank)


def _contact(ctx: ServiceContext, item: _Open) -> dict[str, str]:
    if item.contact is None:
        item.contact = decrypt_identifiers(ctx, item.lead)
    return item.contact


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _matches(ctx: ServiceContext, item: _Open, search: str, *, with_contact: bool) -> bool:
    """The lead's CRM id or (`with_contact`) its name, e-mail or phone (digits only, at least 3 typed)
    holds `search`."""
    needle = search.casefold()
    if needle in str(item.lead.external_id or "").casefold():
        return True
    if not with_contact:
        return False
    contact = _contact(ctx, item)
    if any(needle in str(contact.get(k) or "").casefold() for k in ("full_name", "email")):
        return True
    typed = _digits(search)
    return len(typed) >= 3 and typed in _digits(str(contact.get("phone") or ""))


def _in_view(item: _Open, view: str | None, *, actor: str, today_ends: datetime) -> bool:
    if view == "mine":
        return item.task.owner == actor
    if view == "due_today":
        return not item.overdue and item.task.sla_due is not None and item.task.sla_due < today_ends
    if view == "overdue":
        return item.overdue
    if view == "urgent":
        return bool(item.task.urgent)
    return True


def _pinned_key(item: _Open) -> tuple[Any, ...]:
    """Clinical triage first, then overdue, each by SLA due time, then the best score."""
    return (not item.task.urgent, *item.due_key(), -item.score, item.task.id)


def _sort_key(ctx: ServiceContext, sort: str) -> Any:
    if sort == "score":
        return lambda i: (-i.score, *i.due_key(), i.task.id)
    if sort == "age":  # the longest waiting first
        return lambda i: (i.lead.created_at, i.task.id)
    if sort == "name":
        return lambda i: (str(_contact(ctx, i).get("full_name") or "\uffff").casefold(), i.task.id)
    return lambda i: (*i.due_key(), -i.score, i.task.id)


def _today_ends(now: datetime, tz: ZoneInfo) -> datetime:
    """The end of the clinic's day holding `now`, as naive UTC."""
    local = now.replace(tzinfo=UTC).astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=tz)
    return midnight.astimezone(UTC).replace(tzinfo=None)


def _counts(items: list[_Open], *, actor: str, today_ends: datetime) -> dict[str, Any]:
    by_tier: dict[str, int] = {}
    by_owner: dict[str, int] = {}
    by_intent: dict[str, int] = {}
    for i in items:
        by_tier[str(i.task.tier)] = by_tier.get(str(i.task.tier), 0) + 1
        by_intent[i.value("intent")] = by_intent.get(i.value("intent"), 0) + 1
        owner = i.task.owner or "unassigned"
        by_owner[owner] = by_owner.get(owner, 0) + 1
    return {
        "total": len(items),
        "urgent": sum(1 for i in items if i.task.urgent),
        "overdue": sum(1 for i in items if i.overdue),
        "due_today": sum(1 for i in items if _in_view(i, "due_today", actor=actor, today_ends=today_ends)),
        "mine": sum(1 for i in items if i.task.owner == actor),
        "by_tier": dict(sorted(by_tier.items())),
        "by_owner": dict(sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_intent": dict(sorted(by_intent.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _activity(session: Session, lead_ids: list[int]) -> dict[int, tuple[int, datetime | None]]:
    """Per lead: how many events it has, and when the last one happened."""
    if not lead_ids:
        return {}
    rows = session.execute(
        select(Event.lead_id, func.count(Event.id), func.max(Event.occurred_at))
        .where(Event.lead_id.in_(lead_ids))
        .group_by(Event.lead_id)
    ).all()
    return {lead_id: (int(n), last) for lead_id, n, last in rows}


def _minutes(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds() / 60


def _row(
    ctx: ServiceContext,
    item: _Open,
    *,
    now: datetime,
    pinned: bool,
    activity: tuple[int, datetime | None],
    show_texts: bool,
) -> dict[str, Any]:
    task, lead, entry = item.task, item.lead, item.entry
    fields = dict(lead.fields or {})
    contact = _contact(ctx, item) if show_texts else {}
    n_events, last_event = activity
    return {
        "task_id": task.id,
        "lead_id": lead.id,
        "pinned": pinned,
        "urgent": bool(task.urgent),
        "tier": task.tier,
        "score": entry.score if entry else None,
        "lead_type": fields.get("lead_type"),
        "service_line": fields.get("service_line"),
        "region": fields.get("region"),
        "queue": task.queue,
        "owner": task.owner,
        "sla_due": task.sla_due,
        "sla_due_minutes": _minutes(task.sla_due, now),
        "overdue": item.overdue,
        "received_at": lead.created_at,
        "age_minutes": _minutes(now, lead.created_at),
        "last_activity": last_event,
        "n_events": n_events,
        "name": contact.get("full_name"),
        "phone": contact.get("phone"),
        "email": contact.get("email"),
        "preferred_channel": fields.get("preferred_contact"),
        "consent_sms": fields.get("consent_sms"),
        "consent_marketing": fields.get("consent_marketing"),
        "do_not_contact": bool(fields.get("do_not_contact")),
        "route": entry.route.get("name") if entry else None,
        "action": entry.route.get("action") if entry else None,
        # the strongest reason that raised the score: a lowering reason never heads a row of leads to call
        "top_reason": next((str(r) for r in (entry.reasons if entry else []) if reason_raises(str(r))), None),
        "overrides": [str(o.get("rule")) for o in entry.overrides] if entry else [],
        "intent": task.intent,
        "intent_probability": entry.route.get("intent_probability") if entry else None,
        "question": _snippet(lead.texts) if show_texts else None,
    }


def queue_listing(
    *,
    session: Session,
    ctx: ServiceContext,
    actor: str,
    role: str,
    query: QueueQuery,
    now: datetime | None = None,
    via: str | None = None,
) -> dict[str, Any]:
    """One page of the review queue, as the queue page shows it; the read is audited (the rows shown).

    Every open task of the user's queues is read (no cap): clinical-triage tasks (whatever the filters,
    view or search) and overdue tasks that pass the filters form a band pinned at the top of the first
    page, all of them whatever their number, in the
    order clinical triage first, then SLA due time, then score (best first). The other tasks follow, in
    `query.sort` order (:data:`QUEUE_SORTS`), `query.page_size` per page. Counts are over the whole queue.

    A search (`query.search`) matches the CRM id, or the name, e-mail or phone digits; these are stored
    encrypted without a blind index, so a search or a sort by name decrypts the contact details of the
    open tasks of the user's queues, in this process (fine for thousands of open tasks, not millions).
    Names, phones and questions are given to the roles that see texts (admin, reviewer) only.

    Raises
    ------
    PermissionDenied
        For a role that does not work the queue.
    """
    authorize(role, REVIEW_QUEUE_READ)
    now = now or utcnow()
    today_ends = _today_ends(now, ctx.settings.clinic_tz)
    queues = queues_for(ctx=ctx, actor=actor, role=role)
    pairs = review_queue(session=session, limit=None, queues=queues)
    entries = _latest_entries(session, [lead.id for _, lead in pairs])
    items = [
        _Open(task, lead, entries.get(lead.id), task.sla_due is not None and task.sla_due < now)
        for task, lead in pairs
    ]
    show_texts = role in ("admin", "reviewer")
    field_filters = {k: getattr(query, k) for k in (*_FIELD_FILTERS, *_TASK_FILTERS) if getattr(query, k)}
    search = (query.search or "").strip()
    shown = [
        i
        for i in items
        if all(i.value(k) == v for k, v in field_filters.items())
        and _in_view(i, query.view, actor=actor, today_ends=today_ends)
        and (not search or _matches(ctx, i, search, with_contact=show_texts))
    ]
    # a message that may describe an emergency is on the first page of every view, filter and search: a
    # filter chosen for other work never hides it
    urgent = [i for i in items if i.task.urgent]
    pinned = sorted(urgent + [i for i in shown if i.overdue and not i.task.urgent], key=_pinned_key)
    sort = query.sort if query.sort in QUEUE_SORTS else "due"
    rest = sorted((i for i in shown if not (i.task.urgent or i.overdue)), key=_sort_key(ctx, sort))
    size = max(1, query.page_size)
    n_pages = max(1, -(-len(rest) // size))
    page = min(max(1, query.page), n_pages)
    on_page = [(i, True) for i in pinned] if page == 1 else []
    on_page += [(i, False) for i in rest[(page - 1) * size : page * size]]
    activity = _activity(session, [i.lead.id for i, _ in on_page])
    rows = [
        _row(ctx, i, now=now, pinned=p, activity=activity.get(i.lead.id, (0, None)), show_texts=show_texts)
        for i, p in on_page
    ]
    record_queue_read(session=session, actor=actor, role=role, lead_ids=[r["lead_id"] for r in rows], via=via)
    options: dict[str, list[str]] = {
        key: sorted({i.value(key) for i in items if i.value(key)}) for key in (*_FIELD_FILTERS, "tier")
    }
    options["owner"] = sorted({i.value("owner") for i in items})
    named = sorted({str(i.task.intent) for i in items if i.task.intent})
    options["intent"] = named + ([NO_INTENT] if any(not i.task.intent for i in items) else [])
    return {
        "filters": query.filters(),
        "sort": sort,
        "page": page,
        "n_pages": n_pages,
        "page_size": size,
        "n_pinned": len(pinned),
        "n_matching": len(shown),
        "n_shown": len(rows),
        "options": options,
        "counts": _counts(items, actor=actor, today_ends=today_ends),
        "counts_shown": {"total": len(shown), "overdue": sum(1 for i in shown if i.overdue)},
        "timezone": ctx.settings.clinic_timezone,
        "now": now,
        "items": rows,
    }
