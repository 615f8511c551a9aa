"""Re-scoring the open leads (every lead that is not erased and has no outcome yet) on what is known now.

The scheduled job ``rescore_open_leads`` calls :func:`rescore_open_leads`: each lead is scored again by
:func:`careleads.service._ledger.rescore_lead` (every text triaged again, the review task kept in step), in a
transaction of its own so a long run never holds the store's writer lock for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, false, select
from sqlalchemy.orm import Session, sessionmaker

from careleads.service._ledger import rescore_lead
from careleads.service.context import ServiceContext
from careleads.store import Lead, Outcome, session_scope

__all__ = ["RescoreReport", "open_lead_ids", "rescore_open_leads"]

log = logging.getLogger("careleads.service")

#: the ledger's change reason of a scheduled re-score
RESCORE_REASON = "scheduled re-score"


@dataclass(frozen=True)
class RescoreReport:
    """What one re-score of the open leads did."""

    n_leads: int
    n_changed: int
    n_failed: int

    def to_dict(self) -> dict[str, int]:
        return {"n_leads": self.n_leads, "n_changed": self.n_changed, "n_failed": self.n_failed}


def open_lead_ids(*, session: Session) -> list[int]:
    """Ids of the leads that are not erased and have no outcome recorded, oldest first."""
    has_outcome = exists(select(Outcome.id).where(Outcome.lead_id == Lead.id))
    statement = select(Lead.id).where(Lead.erased == false(), ~has_outcome).order_by(Lead.id)
    return list(session.scalars(statement))


def rescore_open_leads(
    *, sessions: sessionmaker[Session], ctx: ServiceContext, now: datetime
) -> RescoreReport:
    """Score every open lead again; a new ledger entry (and write-back record) only where something changed.

    A lead that fails to score is logged by id and counted in ``n_failed``; the others go on.
    """
    with sessions() as session:
        ids = open_lead_ids(session=session)
    n_changed = n_failed = 0
    for lead_id in ids:
        try:
            with session_scope(sessions) as session:
                lead = session.get(Lead, lead_id)
                if lead is None or lead.erased:  # erased since the list was read
                    continue
                _entry, changed = rescore_lead(
                    session=session, ctx=ctx, lead=lead, reason=RESCORE_REASON, now=now
                )
                n_changed += int(changed)
        except Exception as exc:  # one lead's failure must not stop the others being re-scored
            n_failed += 1
            log.warning("lead %s could not be re-scored: %s", lead_id, type(exc).__name__)
    return RescoreReport(n_leads=len(ids), n_changed=n_changed, n_failed=n_failed)
