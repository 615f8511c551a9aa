"""The audit log as a page: entries filtered by actor, action, lead and date, newest first, a page at a time.

Reading it is itself audited (``export.audit``, with the filters and how many entries were shown), as the
API's ``GET /v1/audit`` is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from careleads.service.audit import append_audit
from careleads.store import AuditEntry

__all__ = ["AUDIT_PAGE_SIZE", "AuditFilters", "AuditPage", "search_audit_log"]

#: entries on one page
AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    """What to show: all given filters apply together; ``lead_id`` matches entries about the lead and reads
    that listed it (a queue page, an export); ``upto`` (an entry number) keeps the pages of one reading
    steady while the log grows: the first page fixes it and the page links carry it."""

    actor: str | None = None
    action: str | None = None
    lead_id: int | None = None
    since: date | None = None
    until: date | None = None
    upto: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": self.action,
            "lead_id": self.lead_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "upto": self.upto,
        }


@dataclass(frozen=True)
class AuditPage:
    """One page of matching entries (newest first), how many match in all, and the choices of the filters."""

    entries: list[dict[str, Any]]
    upto: int | None
    total: int
    page: int
    pages: int
    actions: list[str]
    actors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.entries,
            "count": len(self.entries),
            "upto": self.upto,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "actions": self.actions,
            "actors": self.actors,
        }


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "subject": entry.subject,
        "details": json.loads(entry.details) if entry.details else {},
    }


def _about(row: dict[str, Any], lead_id: int) -> bool:
    details = row["details"]
    listed = details.get("lead_ids") if isinstance(details, dict) else None
    return (
        row["subject"] == f"lead:{lead_id}"
        or (isinstance(details, dict) and details.get("lead_id") == lead_id)
        or (isinstance(listed, list) and lead_id in listed)
    )


def _where(query: Select[Any], filters: AuditFilters) -> Select[Any]:
    if filters.upto is not None:
        query = query.where(AuditEntry.id <= filters.upto)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since:
        query = query.where(AuditEntry.at >= datetime.combine(filters.since, time()).isoformat())
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time())
        query = query.where(AuditEntry.at < end.isoformat())
    if filters.lead_id is not None:
        # narrowed in SQL, decided exactly on the parsed entry (see _about)
        query = query.where(
            or_(
                AuditEntry.subject == f"lead:{filters.lead_id}",
                AuditEntry.details.contains(str(filters.lead_id)),
            )
        )
    return query


def search_audit_log(
    *, session: Session, actor: str, role: str, filters: AuditFilters, page: int = 1
) -> AuditPage:
    """Entries matching `filters`, newest first, page `page` (from 1) of ``AUDIT_PAGE_SIZE``; audited.

    Parameters
    ----------
    session : Session
        A session of the store; the read is appended to the log in it.
    actor, role : str
        Who reads (already authorised for the audit log).
    filters : AuditFilters
        Actor, action, lead id, first and last day (UTC, both included).
    page : int, default 1
        Which page; past the last one, the last one.
    """
    upto = filters.upto if filters.upto is not None else session.scalar(select(func.max(AuditEntry.id)))
    filters = replace(filters, upto=upto)
    query = _where(select(AuditEntry), filters).order_by(AuditEntry.id.desc())
    if filters.lead_id is None:
        total = int(session.scalar(_where(select(func.count()).select_from(AuditEntry), filters)) or 0)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        page = min(max(page, 1), pages)
        window = query.offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)
        rows = [_row(e) for e in session.scalars(window)]
    else:
        lead_id = filters.lead_id
        matching = [row for row in (_row(e) for e in session.scalars(query)) if _about(row, lead_id)]
        total = len(matching)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = matching[(page - 1) * AUDIT_PAGE_SIZE : page * AUDIT_PAGE_SIZE]
    actions = [
        str(a) for a in session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    ]
    actors = [str(a) for a in session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor))]
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="export.audit",
        subject="audit_log",
        details={"n": len(rows), "since": None, "via": "web", "filters": filters.to_dict(), "page": page},
    )
    return AuditPage(
        entries=rows, upto=upto, total=total, page=page, pages=pages, actions=actions, actors=actors
    )
