"""Erasure of a lead: identifiers and free text out of the store, the analytics layer and the outbox.

The one path for the API and the CLI alike. The lead's analytics rows waiting in the store are deleted in the
erasure's transaction, so no running server can write them to a part afterwards; after the commit the
store's files are made to forget the old values (SQLite: ``secure_delete`` and a WAL checkpoint).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from careleads.errors import InputError, NotFoundError
from careleads.service._records import get_lead, utcnow
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.store import CrmRecord, Event, Feedback, Lead, OutboxRecord, clear_wal, close_open_tasks

__all__ = ["ErasureReport", "erase_lead", "find_lead_id"]

log = logging.getLogger("careleads.service")


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed."""

    lead_id: int
    n_events_scrubbed: int
    n_feedback_scrubbed: int
    n_outbox_scrubbed: int
    n_analytics_rows: int

    def to_dict(self) -> dict[str, int]:
        return {
            "lead_id": self.lead_id,
            "n_events_scrubbed": self.n_events_scrubbed,
            "n_feedback_scrubbed": self.n_feedback_scrubbed,
            "n_outbox_scrubbed": self.n_outbox_scrubbed,
            "n_analytics_rows": self.n_analytics_rows,
        }


REFERENCE_HELP = (
    "pass the lead's id in careleads (a number), its CRM id as written in the export, "
    "or id:N / external:CRM-ID to say which one it is"
)


def find_lead_id(*, session: Session, ctx: ServiceContext, reference: str) -> int:
    """The internal id of the lead that `reference` names: its internal id, or its external (CRM) id.

    ``id:N`` and ``external:CRM-ID`` say which one `reference` is; a bare reference is looked up as both.
    The external id is found by its keyed pseudonym, so an erased lead (whose external id is gone) is found
    too.

    Raises
    ------
    InputError
        If a bare number is the internal id of one lead and the external id of another.
    NotFoundError
        If no lead has this id or external id.
    """
    text = reference.strip()
    kind, _, rest = text.partition(":")
    if kind in ("id", "external") and rest.strip():
        text = rest.strip()
    else:
        kind = ""
    internal: int | None = None
    if kind in ("", "id") and text.isdigit() and 1 <= int(text) <= 2**31 - 1:
        internal = session.scalar(select(Lead.id).where(Lead.id == int(text)))
    external: int | None = None
    if kind in ("", "external"):
        pseudonym = ctx.pseudonymiser.pseudonymise(text, kind="text")
        external = session.scalar(select(Lead.id).where(Lead.pseudonym == pseudonym))
    if internal is not None and external is not None and internal != external:
        raise InputError(
            f"{text} is the id of lead {internal} and the external id of lead {external}; "
            f"pass id:{text} or external:{text}"
        )
    found = internal if internal is not None else external
    if found is None:
        what = {"id": "id", "external": "external id"}.get(kind, "id or external id")
        raise NotFoundError(f"no lead with {what} {text!r}; {REFERENCE_HELP}")
    return found


def erase_lead(
    *,
    session: Session,
    ctx: ServiceContext,
    actor: str,
    role: str,
    lead_id: int | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> ErasureReport:
    """Remove a lead's identifiers and free text from the store, the analytics layer and the outbox.

    The lead is given by its internal `lead_id` or by a `reference`: its internal id or its external (CRM)
    id, as :func:`find_lead_id` reads it.

    The lead's analytics rows are deleted from ``analytics_outbox`` (in this transaction) and from the
    Parquet parts. When the transaction commits through a session factory the service context is bound to
    the store's files forget the old values once it commits: on SQLite, deleted content is overwritten
    (``secure_delete``) and the WAL is checkpointed and emptied (:func:`careleads.store.clear_wal`).

    A tombstone stays: the internal id, the keyed pseudonym of the external id (so the same lead is not
    created again from a CRM sync), ``erased_at`` and the ledger of scores (which holds no identifiers).
    The erasure is written to the audit log.

    Raises
    ------
    NotFoundError
        Unknown lead. Erasing an erased lead again is allowed and removes nothing new.
    InputError
        If neither or both of `lead_id` and `reference` are given, or the reference is ambiguous.
    """
    if reference is not None and lead_id is not None:
        raise InputError("give the lead's id or a reference to it, not both")
    if reference is not None:
        lead_id = find_lead_id(session=session, ctx=ctx, reference=reference)
    if lead_id is None:
        raise InputError(f"say which lead to erase: {REFERENCE_HELP}")
    now = now or utcnow()
    lead = get_lead(session=session, lead_id=lead_id, allow_erased=True)
    lead.identifiers = None
    lead.identifier_fields = []
    lead.texts = None
    lead.external_id = None
    lead.fields = {}
    lead.erased = True
    lead.erased_at = now
    n_events = 0
    for event in session.scalars(
        select(Event).where(Event.lead_id == lead.id, Event.message_text.is_not(None))
    ):
        event.message_text = None
        n_events += 1
    n_feedback = 0
    for item in session.scalars(
        select(Feedback).where(Feedback.lead_id == lead.id, Feedback.note.is_not(None))
    ):
        item.note = None
        n_feedback += 1
    n_outbox = 0
    for record in session.scalars(select(OutboxRecord).where(OutboxRecord.lead_id == lead.id)):
        record.payload = {"lead_id": lead.id, "erased": True}
        if record.status == "pending":
            record.status = "erased"
        n_outbox += 1
    # the CRM record's link goes too: a later pull meets the tombstone (the pseudonym) and skips the record
    session.execute(delete(CrmRecord).where(CrmRecord.lead_id == lead.id))
    session.flush()
    close_open_tasks(session, lead_id=lead.id, status="erased", now=now)
    n_rows = ctx.analytics.erase(session, lead.pseudonym)
    report = ErasureReport(
        lead_id=lead.id,
        n_events_scrubbed=n_events,
        n_feedback_scrubbed=n_feedback,
        n_outbox_scrubbed=n_outbox,
        n_analytics_rows=n_rows,
    )
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="lead.erase",
        subject=f"lead:{lead.id}",
        details=report.to_dict(),
    )
    erased_id = lead.id

    def clear_logs(committed: Session) -> None:
        # the overwritten values (zeroed by secure_delete) are still in SQLite's write-ahead log until it
        # is checkpointed and emptied: do that as soon as the erasure is committed
        if not clear_wal(committed.get_bind().engine):
            log.warning(
                "lead %s erased; the database log was busy and keeps old values until the next checkpoint",
                erased_id,
            )

    sa_event.listen(session, "after_commit", clear_logs, once=True)
    log.info("lead %s erased", lead.id)
    return report
