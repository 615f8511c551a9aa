"""The append-only, hash-chained audit log in the store: append, read, verify, export.

Appends are serialised through the single ``audit_head`` row: updating it takes a row lock on PostgreSQL
(on SQLite the transaction holds the write lock already), so two requests can never chain onto the same
previous entry. Every transaction that writes to the log takes that one row, so it is taken as late as
possible: :func:`append_audit` gathers the transaction's entries in its Session, and a ``before_commit``
listener chains and writes them as the transaction's last statements, after the ORM's pending rows and
the owners' loads (:mod:`careleads.store._owner_load`). The row is then held for those statements and the
commit only, not while the rest of a request runs (its answer built, other statements sent), and a
transaction that holds it never waits for another lock. An entry's time is the moment it is chained. A
rollback (of the transaction or of a savepoint) drops the entries gathered in it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from careleads.errors import InputError
from careleads.privacy import GENESIS_HASH, VerifyResult, canonical_json, chain_hash, verify_chain
from careleads.store import AuditEntry, AuditHead, Gathered, insert_row
from careleads.types import PathLikeStr

__all__ = [
    "AuditAnchor",
    "append_audit",
    "pending_audit",
    "audit_entries",
    "naive_utc",
    "audit_head",
    "export_audit",
    "export_audit_log",
    "read_audit_log",
    "verify_audit",
    "write_audit_anchor",
]


# built once: SQLAlchemy then computes their cache keys once, not on every append
_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.hash)
)
_SET_HASH = update(AuditHead).where(AuditHead.id == 1).values(hash=bindparam("digest"))

#: the transaction's entries not written yet
_PENDING: Gathered[list[dict[str, Any]]] = Gathered("audit", empty=list, copy=list)


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
) -> None:
    """Add one entry to the audit log in the caller's transaction: chained and written when it commits (see
    the module), gone if it rolls back.

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
    """
    entry = {
        "actor": actor,
        "role": role,
        "action": action,
        "subject": subject,
        "details": canonical_json(dict(details or {})),
    }
    _PENDING.add_to(session).append(entry)


def pending_audit(session: Session) -> list[dict[str, Any]]:
    """The entries the session's transaction gathered and writes when it commits (a copy)."""
    return [dict(entry) for entry in _PENDING.peek(session) or ()]


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Chain and write the transaction's entries as its last statements (a savepoint's commit: kept).

    The ORM's pending rows are flushed first, so the head's row is the last lock the transaction takes.
    """
    if session.in_nested_transaction() or not _PENDING.peek(session):
        return
    session.flush()
    entries = _PENDING.take(session) or []
    connection = session.connection()
    for fields in entries:
        # one statement takes the lock, advances the sequence and reads the previous hash (not yet changed);
        # Core statements on the session's connection: the ORM's bulk-update machinery would triple the cost
        row = connection.execute(_ADVANCE).one_or_none()
        if row is None:
            raise InputError("the audit log has no head row; run `careleads db upgrade` on this database")
        head, prev_hash = row
        chained = {"id": int(head), "at": _now_iso(), **fields}
        digest = chain_hash(prev_hash, chained)
        insert_row(session, AuditEntry(**chained, prev_hash=prev_hash, hash=digest))
        connection.execute(_SET_HASH, {"digest": digest})


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


def naive_utc(moment: datetime) -> datetime:
    """`moment` as naive UTC, the store's times: converted when it has an offset, as given when naive.

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> naive_utc(datetime(2026, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=5))))
    datetime.datetime(2026, 1, 2, 5, 0)
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def audit_entries(
    *, session: Session, since: datetime | None = None, limit: int | None = None, offset: int = 0
) -> Iterator[dict[str, Any]]:
    """Entries in log order (optionally from `since` on), as plain dicts with ``details`` parsed.

    A `since` with a UTC offset is converted to UTC (the log's times are naive UTC); a naive one is UTC.
    """
    query = select(AuditEntry).order_by(AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= naive_utc(since).isoformat())
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    for entry in session.scalars(query).yield_per(1000):
        row = _as_mapping(entry)
        row["details"] = json.loads(entry.details) if entry.details else {}
        yield row


@dataclass(frozen=True)
class AuditAnchor:
    """The log's head as an operator keeps it elsewhere: how many entries there were and the last one's hash.

    A later verification checks that the log still holds that entry, unchanged, and at least that many
    entries: a log emptied or cut back, even with its head row rewritten to match, is caught.
    """

    entries: int
    head: str

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.head}

    @classmethod
    def read(cls, where: PathLikeStr) -> AuditAnchor:
        """Read an anchor written by :func:`write_audit_anchor`: a file, or an ``http(s)://`` URL (GET).

        Raises
        ------
        InputError
            When the file or URL cannot be read or holds no anchor, naming it (a URL by its host).
        """
        try:
            if is_url(where):
                answer = httpx.get(str(where), timeout=ANCHOR_TIMEOUT_SECONDS)
                answer.raise_for_status()
                text = answer.text
            else:
                text = Path(where).read_text(encoding="utf-8")
            data = json.loads(text)
            return cls(entries=int(data["entries"]), head=str(data["head"]))
        except (OSError, ValueError, KeyError, TypeError, httpx.HTTPError) as exc:
            raise InputError(
                f"{_shown(where)}: not an audit anchor ({type(exc).__name__}); write one with "
                "`careleads audit anchor --out FILE|URL`"
            ) from None


def audit_head(*, session: Session) -> AuditAnchor | None:
    """The head row: entries written and the last one's hash (None when the row is gone)."""
    head = session.execute(select(AuditHead.hash, AuditHead.seq).where(AuditHead.id == 1)).one_or_none()
    return None if head is None else AuditAnchor(entries=int(head.seq), head=str(head.hash))


def verify_audit(
    *, session: Session, expected_head: str | None = None, anchor: AuditAnchor | None = None
) -> VerifyResult:
    """Check every link of the stored audit log and its head; the result names the first broken entry.

    The entry id is the position in the chain, so a deleted entry shows up as a gap. The head row (entries
    written, last hash) is always checked against the log, so an emptied or cut-back log is broken; with
    `anchor` (a head kept elsewhere, :func:`write_audit_anchor`) the log must still hold that entry
    unchanged, which catches a log cut back together with its head row. `expected_head` is the last hash
    as recorded elsewhere.
    """
    head = audit_head(session=session)
    if head is None:
        return VerifyResult(
            False, 0, None, None, "head mismatch", None, None, "the audit log's head row is missing"
        )
    rows = (
        _as_mapping(e) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000)
    )
    result = verify_chain(rows, expected_head=expected_head)
    if not result.ok:
        return result
    n = result.n_entries
    if head.entries != n or not _holds_entry(session, n, head.head):
        return VerifyResult(
            False,
            n,
            n - 1 if n else None,
            None,
            "head mismatch",
            f"{head.entries} entries, last hash {head.head}",
            f"{n} entries",
            f"the log holds {n} entries but its head says {head.entries} were written, ending with "
            f"{head.head[:12]}: entries were removed or rewritten at the end of the log",
        )
    if anchor is not None and (anchor.entries > n or not _holds_entry(session, anchor.entries, anchor.head)):
        return VerifyResult(
            False,
            n,
            min(anchor.entries, n) - 1 if n else None,
            None,
            "anchor mismatch",
            f"entry {anchor.entries} with hash {anchor.head}",
            f"{n} entries",
            f"the log no longer holds entry {anchor.entries} as anchored (hash {anchor.head[:12]}): it was "
            "cut back or rewritten since the anchor was taken",
        )
    return VerifyResult(
        True, n, message=f"all {n} entries verified; head {head.head} ({head.entries} entries)"
    )


def _holds_entry(session: Session, entries: int, hash_: str) -> bool:
    """Whether the log's entry number `entries` has hash `hash_` (no entries: the genesis hash)."""
    if entries == 0:
        return hash_ == GENESIS_HASH
    stored = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == entries))
    return stored == hash_


#: how long writing or reading an anchor at a URL may take
ANCHOR_TIMEOUT_SECONDS = 10.0


def is_url(where: PathLikeStr) -> bool:
    """Whether an anchor's place is a URL (``http://`` or ``https://``) rather than a file."""
    return str(where).startswith(("http://", "https://"))


def _shown(where: PathLikeStr) -> str:
    """A place as messages name it: a file by its name, a URL by its host (never a path or a query that
    may carry a signature)."""
    if is_url(where):
        return f"the anchor URL at {httpx.URL(str(where)).host}"
    return Path(where).name


def write_audit_anchor(*, session: Session, out: PathLikeStr) -> AuditAnchor:
    """Write the log's current head (after verifying the log) to `out`, for the operator to keep elsewhere:
    a file, or an ``http(s)://`` URL (PUT, JSON; a storage bucket's signed URL or a small service the
    operator runs on another machine, read back by :meth:`AuditAnchor.read`).

    Raises
    ------
    InputError
        When the log does not verify (an anchor of a broken log would vouch for it), or the URL does not
        take the anchor (any answer but 2xx).
    """
    result = verify_audit(session=session)
    head = audit_head(session=session)
    if not result.ok or head is None:
        raise InputError(f"the audit log does not verify, no anchor written: {result.message}")
    body = json.dumps({**head.to_dict(), "at": datetime.now(UTC).isoformat()}) + "\n"
    if is_url(out):
        try:
            answer = httpx.put(
                str(out),
                content=body.encode("utf-8"),
                headers={"content-type": "application/json"},
                timeout=ANCHOR_TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise InputError(f"{_shown(out)} did not take the anchor ({type(exc).__name__})") from None
        return head
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return head


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
