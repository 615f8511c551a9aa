"""The HubSpot sync: pull changed contacts into careleads leads, write scores back onto the contacts.

:func:`pull_contacts` reads contacts changed since the stored cursor, page by page; each page is one
transaction with the cursor it reached, so a sync stopped anywhere goes on from its last page. A contact is
linked to its lead by HubSpot's record id (``crm_records``): the first pull creates the lead through
:func:`careleads.service.create_lead` (checked, scored and decided like any lead; its external id is
``hubspot-<record id>``), a later version records only the outcomes its stage now means (once each, through
:func:`careleads.service.record_outcome`). Fields changed after arrival are not copied: careleads scores a
lead as it arrived, and values filled in later (after an outcome) would leak the label.

:func:`write_scores` writes each linked lead's current score, tier, top reasons, intent, route and owner (a
HubSpot owner id, looked up by the owner's e-mail, never a name), and its score for each other served target
(``careleads_score_<TARGET>``, created when absent like the others; a change of one of those alone writes
the contact again), in batch updates of at most 100 contacts,
and marks a record written only when HubSpot confirms it; records HubSpot refuses are reported one by one and
tried again by the next run. Logs carry lead ids only (a HubSpot record id is an external identifier).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careleads.connectors._client import (
    BATCH_LIMIT,
    SEARCH_RESULTS_LIMIT,
    Contact,
    HubSpotApi,
    PropertySpec,
)
from careleads.connectors._mapping import HUBSPOT_OWNER_PROPERTY, HubSpotMapping
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
    "ACTOR",
    "SOURCE",
    "PullReport",
    "RecordError",
    "WriteReport",
    "external_id",
    "pull_contacts",
    "write_scores",
]

log = logging.getLogger("careleads.connectors")

SOURCE = "hubspot"
#: who the sync is in the audit log; an integration, so it reads only the leads it created
ACTOR, ROLE = "hubspot-sync", "integration"
N_PREVIEW = 10
#: how each write-back field is created when absent
_PROPERTY_TYPES: dict[str, tuple[str, str, str]] = {
    "score": ("careleads score (0-100)", "number", "number"),
    "tier": ("careleads tier", "string", "text"),
    "reasons": ("careleads top reasons", "string", "textarea"),
    "intent": ("careleads intent", "string", "text"),
    "route": ("careleads route", "string", "text"),
    "owner": ("careleads owner", "string", "text"),
}


def external_id(record_id: str) -> str:
    """The careleads external id of a HubSpot contact.

    Examples
    --------
    >>> external_id("1501")
    'hubspot-1501'
    """
    return f"hubspot-{record_id}"


def _iso(moment: datetime) -> str:
    # fixed width, so text order is time order (the stored version compares as text)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class RecordError:
    """A record the sync could not take or write: HubSpot record id, lead id (if any), status, message."""

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


def _stored_cursor(session: Session) -> datetime | None:
    row = session.get(CrmCursor, SOURCE)
    return None if row is None else datetime.fromisoformat(row.cursor.replace("Z", "+00:00"))


def _save_cursor(session: Session, cursor: str, now: datetime) -> None:
    row = session.get(CrmCursor, SOURCE)
    if row is None:
        session.add(CrmCursor(source=SOURCE, cursor=cursor, updated_at=now))
    elif cursor > row.cursor:
        row.cursor, row.updated_at = cursor, now


def _lead_in(contact: Contact, mapping: HubSpotMapping) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for name, prop in mapping.contact_fields.items():
        value = contact.properties.get(prop)
        if value not in (None, ""):
            lead[name] = value
    if "created_at" not in lead and contact.created_at is not None:
        lead["created_at"] = contact.created_at.isoformat()
    if "created_at" in lead:  # HubSpot writes UTC with a Z; the store keeps naive UTC
        moment = datetime.fromisoformat(str(lead["created_at"]).replace("Z", "+00:00"))
        lead["created_at"] = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    lead["lead_id"] = external_id(contact.record_id)
    return lead


def _pages(
    api: HubSpotApi, mapping: HubSpotMapping, since: datetime | None, page_size: int
) -> Iterator[list[Contact]]:
    properties = mapping.properties_to_read()
    after: str | None = None
    start = since
    while True:
        page = api.search_contacts(since=start, properties=properties, after=after, limit=page_size)
        yield page.contacts
        if page.after is None:
            return
        if int(page.after) + page_size > SEARCH_RESULTS_LIMIT and page.contacts:
            # the search stops at 10,000 results a query: ask again from the last change seen (records at
            # that very moment come again and are found unchanged)
            start, after = page.contacts[-1].updated_at, None
        else:
            after = page.after


def pull_contacts(
    *,
    sessions: sessionmaker[Session],
    ctx: ServiceContext | None,
    api: HubSpotApi,
    mapping: HubSpotMapping,
    since: datetime | None = None,
    dry_run: bool = False,
    page_size: int = 100,
) -> PullReport:
    """Create or update careleads leads from the HubSpot contacts changed since the stored cursor.

    Parameters
    ----------
    sessions : sessionmaker
        The store; each page is committed in its own transaction with the cursor it reached.
    ctx : ServiceContext or None
        What lead creation needs (dictionary, scorer, rules, routing, keys); None only for a dry run.
    api : HubSpotApi
        HubSpot.
    mapping : HubSpotMapping
        Contact properties -> dictionary fields, stages -> outcomes.
    since : datetime, optional
        Start here instead of the stored cursor (aware, or naive UTC).
    dry_run : bool
        Read HubSpot and the store only: count and preview what would change, write nothing.
    page_size : int
        Contacts per search page (HubSpot allows up to 200).

    Returns
    -------
    PullReport

    Raises
    ------
    HubSpotError
        If HubSpot keeps failing (pages committed so far stay; the next run goes on from them) or refuses
        the token.
    """
    if ctx is None and not dry_run:
        raise ValueError("pull_contacts needs a ServiceContext unless dry_run")
    report = PullReport(dry_run=dry_run)
    with sessions() as session:
        start = since if since is not None else _stored_cursor(session)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    seen: set[str] = set()  # within a dry run, a record met twice (at a query restart) counts once
    for contacts in _pages(api, mapping, start, page_size):
        report.n_pages += 1
        if dry_run:
            with sessions() as session:
                for contact in contacts:
                    if contact.record_id not in seen:
                        seen.add(contact.record_id)
                        _preview_contact(session, contact, mapping, report)
                session.rollback()
            continue
        assert ctx is not None
        with session_scope(sessions) as session:
            for contact in contacts:
                _take_contact(session, ctx, contact, mapping, report)
            if contacts:
                cursor = _iso(max(c.updated_at for c in contacts))
                _save_cursor(session, cursor, datetime.now(UTC).replace(tzinfo=None))
                report.cursor = cursor
        log.info("hubspot page %d: %d contacts", report.n_pages, len(contacts))
    return report


def _link(session: Session, record_id: str) -> CrmRecord | None:
    return session.scalars(
        select(CrmRecord).where(CrmRecord.source == SOURCE, CrmRecord.record_id == record_id)
    ).one_or_none()


def _outcome_of(contact: Contact, mapping: HubSpotMapping) -> str | None:
    stage = contact.properties.get(mapping.outcomes.property)
    return None if stage is None else mapping.outcomes.values.get(stage)


def _preview_contact(session: Session, contact: Contact, mapping: HubSpotMapping, report: PullReport) -> None:
    report.n_seen += 1
    link = _link(session, contact.record_id)
    version = _iso(contact.updated_at)
    outcome = _outcome_of(contact, mapping)
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
    new_outcome = outcome if outcome and action != "unchanged" and outcome not in known else None
    report.n_outcomes += new_outcome is not None
    if len(report.preview) < N_PREVIEW:
        lead = _lead_in(contact, mapping)  # only fields that identify nobody go to the preview
        report.preview.append(
            {
                "record_id": contact.record_id,
                "action": action,
                "lead_id": None if link is None else link.lead_id,
                "service_line": lead.get("service_line"),
                "source": lead.get("source"),
                "outcome": new_outcome,
            }
        )


def _take_contact(
    session: Session, ctx: ServiceContext, contact: Contact, mapping: HubSpotMapping, report: PullReport
) -> None:
    report.n_seen += 1
    version = _iso(contact.updated_at)
    link = _link(session, contact.record_id)
    if link is not None and link.version >= version:
        report.n_unchanged += 1
        return
    if link is None:
        try:
            # both refusals come before create_lead writes anything, so the page's transaction goes on
            result = create_lead(
                session=session, ctx=ctx, lead_in=_lead_in(contact, mapping), actor=ACTOR, role=ROLE
            )
        except LeadErasedError:
            report.n_erased += 1  # erased in careleads: never created again
            return
        except LeadValidationError as exc:
            report.n_refused += 1
            report.errors.append(RecordError(contact.record_id, None, "refused", str(exc)[:300]))
            log.warning("a HubSpot contact refused by the dictionary (no lead created)")
            return
        link = CrmRecord(
            source=SOURCE, record_id=contact.record_id, lead_id=result.lead.id, version=version, outcomes=[]
        )
        session.add(link)
        report.n_created += 1
    else:
        link.version = version
        report.n_updated += 1
    outcome = _outcome_of(contact, mapping)
    if outcome is not None and outcome not in link.outcomes:
        record_outcome(
            session=session,
            ctx=ctx,
            lead_id=link.lead_id,
            outcome_in={"outcome": outcome, "occurred_at": version.removesuffix("Z")},
            actor=ACTOR,
            role=ROLE,
        )
        link.outcomes = [*link.outcomes, outcome]
        report.n_outcomes += 1
    session.flush()


def _specs(mapping: HubSpotMapping, targets: Sequence[str] = ()) -> list[PropertySpec]:
    out = []
    for key, name in mapping.write_back.items():
        if name == HUBSPOT_OWNER_PROPERTY:
            continue
        label, kind, field_type = _PROPERTY_TYPES[key]
        out.append(PropertySpec(name=name, label=label, type=kind, field_type=field_type))
    if "score" in mapping.write_back:
        out += [
            PropertySpec(
                name=_target_property(mapping, t),
                label=f"careleads score, {t.replace('_', ' ')} (0-100)",
                type="number",
                field_type="number",
            )
            for t in targets
        ]
    return out


def _target_property(mapping: HubSpotMapping, target: str) -> str:
    """The contact property of a served target's score besides the routing one: the score's property with
    the target after it (``careleads_score_appointment_scheduled_60d``)."""
    return f"{mapping.write_back['score']}_{target}"


def _other_targets(session: Session, lead_ids: Sequence[int]) -> dict[int, list[TargetScoreEntry]]:
    """The current scores of the other served targets of each lead (a query per thousand leads)."""
    return current_target_scores_of(session=session, lead_ids=lead_ids)


def _properties(
    entry: ScoreEntry,
    mapping: HubSpotMapping,
    owner_ids: Mapping[str, str],
    others: Sequence[TargetScoreEntry] = (),
) -> tuple[dict[str, str], bool]:
    """The contact properties of a ledger entry (with the lead's scores of the `others` targets), and whether
    its owner has a HubSpot id."""
    route = entry.route or {}
    values: dict[str, str] = {
        "score": str(entry.score),
        "tier": entry.tier,
        "reasons": "; ".join(str(r) for r in (entry.reasons or [])[:3]),
        "intent": str(route.get("intent") or ""),
        "route": str(route.get("name") or ""),
    }
    owner = entry.owner or route.get("owner")
    email = mapping.owner_emails().get(str(owner)) if owner else None
    owner_id = owner_ids.get(email) if email else None
    if owner_id is not None:
        values["owner"] = owner_id  # an id; a careleads owner HubSpot does not know is left out, not named
    props = {mapping.write_back[k]: v for k, v in values.items() if k in mapping.write_back}
    if "score" in mapping.write_back:
        props.update({_target_property(mapping, o.target): str(o.score) for o in others})
    return props, owner is None or owner_id is not None


def _pending(session: Session) -> list[tuple[CrmRecord, ScoreEntry]]:
    latest = (
        select(ScoreEntry.lead_id, func.max(ScoreEntry.id).label("score_id"))
        .group_by(ScoreEntry.lead_id)
        .subquery()
    )
    rows = session.execute(
        select(CrmRecord, ScoreEntry)
        .join(latest, latest.c.lead_id == CrmRecord.lead_id)
        .join(ScoreEntry, ScoreEntry.id == latest.c.score_id)
        .where(CrmRecord.source == SOURCE)
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
    return [(r, e) for r, e in rows]


def write_scores(
    *,
    sessions: sessionmaker[Session],
    api: HubSpotApi,
    mapping: HubSpotMapping,
    dry_run: bool = False,
    batch_size: int = BATCH_LIMIT,
) -> WriteReport:
    """Write the current score, tier, top reasons, intent, route and owner id of each linked lead to HubSpot.

    Only records whose current ledger entry was not written yet are sent; each is marked written when
    HubSpot confirms it, batch by batch, so a run stopped anywhere is finished by the next one and no record
    is written twice for one entry.

    Parameters
    ----------
    sessions : sessionmaker
        The store.
    api : HubSpotApi
        HubSpot.
    mapping : HubSpotMapping
        Property names, the property group, careleads owners' e-mails.
    dry_run : bool
        Count and preview what would be written and which properties created; write nothing.
    batch_size : int
        Records per batch update (at most 100).

    Returns
    -------
    WriteReport
        ``errors`` lists each record HubSpot refused, with its status and message.

    Raises
    ------
    HubSpotError
        If HubSpot keeps failing or refuses the token (batches confirmed so far stay marked).
    """
    report = WriteReport(dry_run=dry_run)
    batch_size = max(1, min(batch_size, BATCH_LIMIT))
    with sessions() as session:
        rows = _pending(session)
        pending = [(r.id, r.record_id, r.lead_id, e.id) for r, e in rows]
        entries = {e.id: e for _r, e in rows}
        others = _other_targets(session, [r.lead_id for r, _e in rows])
        session.expunge_all()  # the entries' loaded values are read after the session closes
    report.n_pending = len(pending)
    if not pending:
        return report
    specs = _specs(mapping, sorted({o.target for found in others.values() for o in found}))
    group_missing, missing = api.missing_properties(specs, group=mapping.group.name)
    report.properties_created = [s.name for s in missing]
    owner_ids = api.owner_ids()
    if dry_run:
        for _link_id, record_id, lead_id, score_id in pending:
            props, known = _properties(entries[score_id], mapping, owner_ids, others[lead_id])
            report.n_without_owner_id += not known
            if len(report.preview) < N_PREVIEW:
                report.preview.append({"record_id": record_id, "lead_id": lead_id, **props})
        return report
    if missing or group_missing:
        api.create_properties(
            missing, group=mapping.group.name, group_label=mapping.group.label, create_group=group_missing
        )
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        updates: dict[str, dict[str, str]] = {}
        for _link_id, record_id, lead_id, score_id in batch:
            props, known = _properties(entries[score_id], mapping, owner_ids, others[lead_id])
            report.n_without_owner_id += not known
            updates[record_id] = props
        outcome = api.update_contacts(updates)
        report.n_batches += 1
        confirmed = set(outcome.updated) - set(outcome.errors)
        now = datetime.now(UTC).replace(tzinfo=None)
        with session_scope(sessions) as session:
            for link_id, record_id, lead_id, score_id in batch:
                if record_id in confirmed:
                    link = session.get(CrmRecord, link_id)
                    if link is not None:  # erased meanwhile
                        link.written_score_id, link.written_at = score_id, now
                        link.written_target_score_id = max((o.id for o in others[lead_id]), default=None)
                    report.n_written += 1
                else:
                    status, message = outcome.errors.get(record_id, ("missing", "not in HubSpot's answer"))
                    report.n_failed += 1
                    report.errors.append(RecordError(record_id, lead_id, status, message[:300]))
                    log.warning("lead %s not written to HubSpot: %s", lead_id, status)
    return report
