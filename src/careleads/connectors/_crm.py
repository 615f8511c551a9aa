"""What every CRM connector shares: records linked to leads, the pull cursor, and confirmed write-backs.

A connector turns its CRM's answers into :class:`CrmRecordIn` pages (record id, last change, the lead's
fields, the outcome its stage means) and hands them to :func:`pull_records`; each page is one transaction with
the cursor it reached, so a sync stopped anywhere goes on from its last page. A record is linked to its lead
by the CRM's record id (``crm_records``): the first pull creates the lead through
:func:`careleads.service.create_lead` (checked, scored and decided like any lead; its external id is
``<source>-<record id>``), a later version records only the outcomes its stage now means (once each, through
:func:`careleads.service.record_outcome`). Fields changed after arrival are not copied: careleads scores a
lead as it arrived, and values filled in later (after an outcome) would leak the label.

For the write-back, :func:`pending_writes` lists each linked lead whose current ledger entry was not written
yet, :func:`write_back_values` gives the CRM-neutral values (score, tier, top reasons, intent, route, owner id
looked up by the owner's e-mail, never a name) and :func:`confirm_writes` marks written only the records the
CRM confirmed, reporting the others one by one (they are tried again by the next run). Logs carry lead ids
only (a CRM record id is an external identifier).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careleads.service import (
    LeadErasedError,
    LeadValidationError,
    ServiceContext,
    create_lead,
    record_outcome,
)
from careleads.service.targets import current_target_scores_of
from careleads.store import CrmCursor, CrmRecord, ScoreEntry, TargetScoreEntry, session_scope

__all__ = [
    "N_PREVIEW",
    "ROLE",
    "CrmRecordIn",
    "PendingWrite",
    "PullReport",
    "RecordError",
    "WriteReport",
    "confirm_writes",
    "crm_external_id",
    "iso",
    "naive_utc",
    "pending_writes",
    "pull_records",
    "write_back_values",
]

log = logging.getLogger("careleads.connectors")

#: an integration's role in the audit log: it reads only the leads it created
ROLE = "integration"
N_PREVIEW = 10


def crm_external_id(source: str, record_id: str) -> str:
    """The careleads external id of a CRM record.

    Examples
    --------
    >>> crm_external_id("salesforce", "00Q5e000001AbCd")
    'salesforce-00Q5e000001AbCd'
    """
    return f"{source}-{record_id}"


def iso(moment: datetime) -> str:
    """A moment as fixed-width ISO 8601 UTC text, so text order is time order (versions compare as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def naive_utc(value: str) -> str:
    """A CRM's ISO moment (``Z``, an offset, or none) as the naive UTC text the store keeps."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


@dataclass(frozen=True)
class CrmRecordIn:
    """A CRM record as a pull takes it: id, last change (aware UTC), the lead's fields, its outcome."""

    record_id: str
    updated_at: datetime
    lead_in: dict[str, Any]
    outcomes: tuple[str, ...] = ()


@dataclass
class RecordError:
    """A record the sync could not take or write: CRM record id, lead id (if any), status, message."""

    record_id: str
    lead_id: int | None
    status: str
    message: str


@dataclass
class PullReport:
    """What a pull did (or, dry, would do): counts, the cursor reached, the first records' actions."""

    dry_run: bool
    n_seen: int = 0
    n_created: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_outcomes: int = 0
    n_erased: int = 0
    n_refused: int = 0
    n_pages: int = 0
    cursor: str | None = None
    errors: list[RecordError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)


@dataclass
class WriteReport:
    """What a write-back did (or, dry, would do): records written, refused, calls, properties created."""

    dry_run: bool
    n_pending: int = 0
    n_written: int = 0
    n_failed: int = 0
    n_batches: int = 0
    n_without_owner_id: int = 0
    properties_created: list[str] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)


def stored_cursor(session: Session, source: str) -> datetime | None:
    """The moment the last pull of `source` reached (aware UTC), or None before the first."""
    row = session.get(CrmCursor, source)
    return None if row is None else datetime.fromisoformat(row.cursor.replace("Z", "+00:00"))


def _save_cursor(session: Session, source: str, cursor: str, now: datetime) -> None:
    row = session.get(CrmCursor, source)
    if row is None:
        session.add(CrmCursor(source=source, cursor=cursor, updated_at=now))
    elif cursor > row.cursor:
        row.cursor, row.updated_at = cursor, now


def _link(session: Session, source: str, record_id: str) -> CrmRecord | None:
    return session.scalars(
        select(CrmRecord).where(CrmRecord.source == source, CrmRecord.record_id == record_id)
    ).one_or_none()


def pull_records(
    *,
    sessions: sessionmaker[Session],
    ctx: ServiceContext | None,
    source: str,
    pages: Iterable[list[CrmRecordIn]],
    dry_run: bool,
) -> PullReport:
    """Take the pages of a CRM's changed records: leads created once, outcomes recorded once, cursor per page.

    Parameters
    ----------
    sessions : sessionmaker
        The store; each page is committed in its own transaction with the cursor it reached.
    ctx : ServiceContext or None
        What lead creation needs; None only for a dry run.
    source : str
        The CRM (``hubspot``, ``salesforce``): the cursor's key, the links' source, the external ids' prefix.
    pages : iterable of lists of CrmRecordIn
        The changed records, oldest change first, page by page (read lazily: a failure mid-way keeps the
        pages taken before it).
    dry_run : bool
        Read the store only: count and preview what would change, write nothing.
    """
    if ctx is None and not dry_run:
        raise ValueError("a pull needs a ServiceContext unless dry_run")
    report = PullReport(dry_run=dry_run)
    seen: set[str] = set()  # within a dry run, a record met twice (at a query restart) counts once
    for records in pages:
        report.n_pages += 1
        if dry_run:
            with sessions() as session:
                for record in records:
                    if record.record_id not in seen:
                        seen.add(record.record_id)
                        _preview(session, source, record, report)
                session.rollback()
            continue
        assert ctx is not None
        with session_scope(sessions) as session:
            for record in records:
                _take(session, ctx, source, record, report)
            if records:
                cursor = iso(max(r.updated_at for r in records))
                _save_cursor(session, source, cursor, datetime.now(UTC).replace(tzinfo=None))
                report.cursor = cursor
        log.info("%s page %d: %d records", source, report.n_pages, len(records))
    return report


def _preview(session: Session, source: str, record: CrmRecordIn, report: PullReport) -> None:
    report.n_seen += 1
    link = _link(session, source, record.record_id)
    version = iso(record.updated_at)
    if link is None:
        action = "create"
        report.n_created += 1
    elif link.version >= version:
        action = "unchanged"
        report.n_unchanged += 1
    else:
        action = "update"
        report.n_updated += 1
    known = [] if link is None else link.outcomes
    new = [o for o in record.outcomes if o not in known] if action != "unchanged" else []
    report.n_outcomes += len(new)
    if len(report.preview) < N_PREVIEW:
        report.preview.append(  # only fields that identify nobody go to the preview
            {
                "record_id": record.record_id,
                "action": action,
                "lead_id": None if link is None else link.lead_id,
                "service_line": record.lead_in.get("service_line"),
                "source": record.lead_in.get("source"),
                "outcome": ", ".join(new) or None,
            }
        )


def _take(
    session: Session, ctx: ServiceContext, source: str, record: CrmRecordIn, report: PullReport
) -> None:
    report.n_seen += 1
    version = iso(record.updated_at)
    link = _link(session, source, record.record_id)
    if link is not None and link.version >= version:
        report.n_unchanged += 1
        return
    actor = f"{source}-sync"
    if link is None:
        lead_in = {**record.lead_in, "lead_id": crm_external_id(source, record.record_id)}
        try:
            # both refusals come before create_lead writes anything, so the page's transaction goes on
            result = create_lead(session=session, ctx=ctx, lead_in=lead_in, actor=actor, role=ROLE)
        except LeadErasedError:
            report.n_erased += 1  # erased in careleads: never created again
            return
        except LeadValidationError as exc:
            report.n_refused += 1
            report.errors.append(RecordError(record.record_id, None, "refused", str(exc)[:300]))
            log.warning("a %s record refused by the dictionary (no lead created)", source)
            return
        link = CrmRecord(
            source=source, record_id=record.record_id, lead_id=result.lead.id, version=version, outcomes=[]
        )
        session.add(link)
        report.n_created += 1
    else:
        link.version = version
        report.n_updated += 1
    for outcome in record.outcomes:
        if outcome in link.outcomes:
            continue
        record_outcome(
            session=session,
            ctx=ctx,
            lead_id=link.lead_id,
            outcome_in={"outcome": outcome, "occurred_at": version.removesuffix("Z")},
            actor=actor,
            role=ROLE,
        )
        link.outcomes = [*link.outcomes, outcome]
        report.n_outcomes += 1
    session.flush()


@dataclass(frozen=True)
class PendingWrite:
    """A linked record whose lead's current ledger entry is not written to the CRM yet."""

    link_id: int
    record_id: str
    lead_id: int
    score_id: int
    entry: ScoreEntry
    #: the lead's current scores of the other served targets (each written as ``score_<target>``)
    others: tuple[TargetScoreEntry, ...] = ()


def pending_writes(sessions: sessionmaker[Session], source: str) -> list[PendingWrite]:
    """The records of `source` whose lead's latest ledger entry, or one of its other served targets' scores,
    was not written back, oldest link first."""
    latest = (
        select(ScoreEntry.lead_id, func.max(ScoreEntry.id).label("score_id"))
        .group_by(ScoreEntry.lead_id)
        .subquery()
    )
    with sessions() as session:
        rows = session.execute(
            select(CrmRecord, ScoreEntry)
            .join(latest, latest.c.lead_id == CrmRecord.lead_id)
            .join(ScoreEntry, ScoreEntry.id == latest.c.score_id)
            .where(CrmRecord.source == source)
            .where(
                (CrmRecord.written_score_id.is_(None))
                | (CrmRecord.written_score_id != ScoreEntry.id)
                # another served target's score changed since the last write, the ledger did not
                | select(TargetScoreEntry.id)
                .where(
                    TargetScoreEntry.lead_id == CrmRecord.lead_id,
                    TargetScoreEntry.id > func.coalesce(CrmRecord.written_target_score_id, 0),
                )
                .exists()
            )
            .order_by(CrmRecord.id)
        ).all()
        others = current_target_scores_of(session=session, lead_ids=[r.lead_id for r, _e in rows])
        out = [
            PendingWrite(r.id, r.record_id, r.lead_id, e.id, e, tuple(others.get(r.lead_id, ())))
            for r, e in rows
        ]
        session.expunge_all()  # the entries' loaded values are read after the session closes
    return out


def write_back_values(
    entry: ScoreEntry,
    owner_emails: Mapping[str, str],
    owner_ids: Mapping[str, str],
    others: Iterable[TargetScoreEntry] = (),
) -> tuple[dict[str, str], bool]:
    """A ledger entry's write-back values by careleads name, and whether its owner has an id in the CRM.

    ``owner`` is the CRM's id of the user whose e-mail the mapping gives the careleads owner; an owner the CRM
    does not know is left out, never named. Each of `others` (the lead's scores of the other served targets)
    is ``score_<target>``.
    """
    route = entry.route or {}
    values: dict[str, str] = {
        "score": str(entry.score),
        "tier": entry.tier,
        "reasons": "; ".join(str(r) for r in (entry.reasons or [])[:3]),
        "intent": str(route.get("intent") or ""),
        "route": str(route.get("name") or ""),
    }
    owner = entry.owner or route.get("owner")
    email = owner_emails.get(str(owner)) if owner else None
    owner_id = owner_ids.get(email) if email else None
    if owner_id is not None:
        values["owner"] = owner_id
    values.update({f"score_{o.target}": str(o.score) for o in others})
    return values, owner is None or owner_id is not None


def confirm_writes(
    *,
    sessions: sessionmaker[Session],
    source: str,
    batch: Iterable[PendingWrite],
    confirmed: set[str],
    errors: Mapping[str, tuple[str, str]],
    report: WriteReport,
) -> None:
    """Mark written the records of `batch` the CRM confirmed; report each other one (tried again next run)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(sessions) as session:
        for item in batch:
            if item.record_id in confirmed:
                link = session.get(CrmRecord, item.link_id)
                if link is not None:  # erased meanwhile
                    link.written_score_id, link.written_at = item.score_id, now
                    link.written_target_score_id = max((o.id for o in item.others), default=None)
                report.n_written += 1
            else:
                status, message = errors.get(item.record_id, ("missing", f"not in {source}'s answer"))
                report.n_failed += 1
                report.errors.append(RecordError(item.record_id, item.lead_id, status, message[:300]))
                log.warning("lead %s not written to %s: %s", item.lead_id, source, status)
