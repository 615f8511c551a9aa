"""The HubSpot sync: pull changed contacts into careleads leads, write scores back onto the contacts.

:func:`pull_contacts` reads contacts changed since the stored cursor, page by page, and hands them to the
CRM-neutral pull (:mod:`careleads.connectors._crm`: a lead created once per record id, outcomes recorded once,
the cursor committed with each page; external ids ``hubspot-<record id>``).

:func:`write_scores` writes each linked lead's current score, tier, top reasons, intent, route and owner (a
HubSpot owner id, looked up by the owner's e-mail, never a name) in batch updates of at most 100 contacts,
and marks a record written only when HubSpot confirms it; records HubSpot refuses are reported one by one and
tried again by the next run. Logs carry lead ids only (a HubSpot record id is an external identifier).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from careleads.connectors._client import (
    BATCH_LIMIT,
    SEARCH_RESULTS_LIMIT,
    Contact,
    HubSpotApi,
    PropertySpec,
)
from careleads.connectors._crm import (
    N_PREVIEW,
    CrmRecordIn,
    PendingWrite,
    PullReport,
    RecordError,
    WriteReport,
    confirm_writes,
    crm_external_id,
    naive_utc,
    pending_writes,
    pull_records,
    stored_cursor,
    write_back_values,
)
from careleads.connectors._mapping import HUBSPOT_OWNER_PROPERTY, HubSpotMapping
from careleads.service import ServiceContext

__all__ = [
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
    return crm_external_id(SOURCE, record_id)


def _lead_in(contact: Contact, mapping: HubSpotMapping) -> dict[str, object]:
    lead: dict[str, object] = {}
    for name, prop in mapping.contact_fields.items():
        value = contact.properties.get(prop)
        if value not in (None, ""):
            lead[name] = value
    if "created_at" not in lead and contact.created_at is not None:
        lead["created_at"] = contact.created_at.isoformat()
    if "created_at" in lead:  # HubSpot writes UTC with a Z; the store keeps naive UTC
        lead["created_at"] = naive_utc(str(lead["created_at"]))
    return lead


def _record(contact: Contact, mapping: HubSpotMapping) -> CrmRecordIn:
    stage = contact.properties.get(mapping.outcomes.property)
    outcome = None if stage is None else mapping.outcomes.values.get(stage)
    outcomes = () if outcome is None else (outcome,)
    return CrmRecordIn(contact.record_id, contact.updated_at, _lead_in(contact, mapping), outcomes)


def _pages(
    api: HubSpotApi, mapping: HubSpotMapping, since: datetime | None, page_size: int
) -> Iterator[list[CrmRecordIn]]:
    properties = mapping.properties_to_read()
    after: str | None = None
    start = since
    while True:
        page = api.search_contacts(since=start, properties=properties, after=after, limit=page_size)
        yield [_record(c, mapping) for c in page.contacts]
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
    with sessions() as session:
        start = since if since is not None else stored_cursor(session, SOURCE)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return pull_records(
        sessions=sessions,
        ctx=ctx,
        source=SOURCE,
        pages=_pages(api, mapping, start, page_size),
        dry_run=dry_run,
    )


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


def _properties(
    item: PendingWrite, mapping: HubSpotMapping, owner_ids: Mapping[str, str]
) -> tuple[dict[str, str], bool]:
    """The contact properties of a pending write (with the lead's other targets' scores), and whether its
    owner has a HubSpot id."""
    values, known = write_back_values(item.entry, mapping.owner_emails(), owner_ids, item.others)
    props = {mapping.write_back[k]: v for k, v in values.items() if k in mapping.write_back}
    if "score" in mapping.write_back:
        props.update({_target_property(mapping, o.target): str(o.score) for o in item.others})
    return props, known


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
    pending = pending_writes(sessions, SOURCE)
    report.n_pending = len(pending)
    if not pending:
        return report
    specs = _specs(mapping, sorted({o.target for item in pending for o in item.others}))
    group_missing, missing = api.missing_properties(specs, group=mapping.group.name)
    report.properties_created = [s.name for s in missing]
    owner_ids = api.owner_ids()
    if dry_run:
        for item in pending:
            props, known = _properties(item, mapping, owner_ids)
            report.n_without_owner_id += not known
            if len(report.preview) < N_PREVIEW:
                report.preview.append({"record_id": item.record_id, "lead_id": item.lead_id, **props})
        return report
    if missing or group_missing:
        api.create_properties(
            missing, group=mapping.group.name, group_label=mapping.group.label, create_group=group_missing
        )
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        updates: dict[str, dict[str, str]] = {}
        for item in batch:
            props, known = _properties(item, mapping, owner_ids)
            report.n_without_owner_id += not known
            updates[item.record_id] = props
        outcome = api.update_contacts(updates)
        report.n_batches += 1
        confirmed = set(outcome.updated) - set(outcome.errors)
        confirm_writes(
            sessions=sessions,
            source=SOURCE,
            batch=batch,
            confirmed=confirmed,
            errors=outcome.errors,
            report=report,
        )
    return report
