"""The append-only, hash-chained audit log in the store: append, read, verify, export.

Appends are serialised through the single ``audit_head`` row: updating it first takes a row lock on
PostgreSQL and the write lock on SQLite, so two requests can never chain onto the same previous entry.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from careleads.errors import InputError
from careleads.privacy import VerifyResult, canonical_json, chain_hash, verify_chain
from careleads.store import AuditEntry, AuditHead, insert_row
from careleads.types import PathLikeStr

__all__ = [
    "append_audit",
    "audit_entries",
    "export_audit",
    "export_audit_log",
    "read_audit_log",
    "verify_audit",
]


# built once: SQLAlchemy then computes their cache keys once, not on every append
_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.hash)
)
_SET_HASH = update(AuditHead).where(AuditHead.id == 1).values(hash=bindparam("digest"))


def _now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def append_audit(
    *,
    session: Session,
    actor: str,
    role: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log inside the caller's transaction.

    Parameters
    ----------
    session : Session
        The request's session; the entry commits or rolls back with the rest of the request.
    actor, role : str
        Who did it (user name) and in which role.
    action : str
        What was done, e.g. ``lead.read``, ``feedback.create``, ``model.publish``, ``lead.erase``.
    subject : str
        What it was done to, e.g. ``lead:42`` (internal ids only, never identifiers).
    details : mapping, optional
        JSON-able facts (counts, versions, before/after routes); never identifiers or free text.

    Returns
    -------
    AuditEntry
    """
    # one statement takes the lock, advances the sequence and reads the previous hash (not yet changed);
    # Core statements on the session's connection: the ORM's bulk-update machinery would triple the cost
    connection = session.connection()
    row = connection.execute(_ADVANCE).one_or_none()
    if row is None:
        raise InputError("the audit log has no head row; run `careleads db upgrade` on this database")
    head, prev_hash = row
    fields: dict[str, Any] = {
        "id": int(head),
        "at": _now_iso(),
        "actor": actor,
        "role": role,
        "action": action,
        "subject": subject,
        "details": canonical_json(dict(details or {})),
    }
    digest = chain_hash(prev_hash, fields)
    entry = AuditEntry(**fields, prev_hash=prev_hash, hash=digest)
    insert_row(session, entry)
    connection.execute(_SET_HASH, {"digest": digest})
    return entry


def _as_mapping(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def audit_entries(
    *, session: Session, since: datetime | None = None, limit: int | None = None, offset: int = 0
) -> Iterator[dict[str, Any]]:
    """Entries in log order (optionally from `since` on), as plain dicts with ``details`` parsed."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since.replace(tzinfo=None).isoformat())
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    for entry in session.scalars(query).yield_per(1000):
        row = _as_mapping(entry)
        row["details"] = json.loads(entry.details) if entry.details else {}
        yield row


def verify_audit(*, session: Session, expected_head: str | None = None) -> VerifyResult:
    """Check every link of the stored audit log; the result names the first broken entry.

    The entry id is the position in the chain, so a deleted entry shows up as a gap as well.
    """
    rows = (
        _as_mapping(e) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000)
    )
    result = verify_chain(rows, expected_head=expected_head)
    if result.ok:
        head = session.execute(select(AuditHead.hash, AuditHead.seq).where(AuditHead.id == 1)).one_or_none()
        if head is not None and result.n_entries and head.seq != result.n_entries:
            return VerifyResult(
                False,
                result.n_entries,
                result.n_entries - 1,
                None,
                "head mismatch",
                str(head.seq),
                str(result.n_entries),
                f"the log holds {result.n_entries} entries but {head.seq} were written: entries were "
                "removed at the end of the log",
            )
    return result


def export_audit(*, session: Session, out: PathLikeStr, since: datetime | None = None) -> int:
    """Write the audit log (from `since` on) as CSV for a privacy officer; returns the number of rows.

    The export itself is not audited here: callers audit it with who asked for it.
    """
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    columns = ("id", "at", "actor", "role", "action", "subject", "details", "prev_hash", "hash")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in audit_entries(session=session, since=since):
            writer.writerow({**row, "details": canonical_json(row["details"])})
            n += 1
    return n


def _audit_export(*, session: Session, actor: str, role: str, n: int, since: datetime | None) -> None:
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="export.audit",
        subject="audit_log",
        details={"n": n, "since": since.isoformat() if since else None},
    )


def read_audit_log(
    *,
    session: Session,
    actor: str,
    role: str,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries in log order (see :func:`audit_entries`); reading the log is itself audited, as an export."""
    rows = list(audit_entries(session=session, since=since, limit=limit, offset=offset))
    _audit_export(session=session, actor=actor, role=role, n=len(rows), since=since)
    return rows


def export_audit_log(*, session: Session, out: PathLikeStr, since: datetime, actor: str, role: str) -> int:
    """:func:`export_audit` to a CSV file, audited with who asked for it; returns the number of rows."""
    n = export_audit(session=session, out=out, since=since)
    _audit_export(session=session, actor=actor, role=role, n=n, since=since)
    return n
