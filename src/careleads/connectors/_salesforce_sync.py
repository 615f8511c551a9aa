"""The Salesforce sync: pull changed Lead records into careleads leads, write scores back onto them.

:func:`pull_leads` reads the Lead records changed since the stored cursor (SOQL on ``SystemModstamp``,
oldest first, page by page through ``nextRecordsUrl``) and hands them to the CRM-neutral pull
(:mod:`careleads.connectors._crm`: a lead created once per record id, outcomes recorded once, the cursor
committed with each page; external ids ``salesforce-<Id>``).

:func:`write_lead_scores` writes each linked lead's current score, tier, top reasons, intent, route and
``OwnerId`` (a Salesforce User Id looked up by the owner's e-mail, never a name) through Bulk API 2.0
upserts, and marks a record written only when the job's ``successfulResults`` list it; each record in
``failedResults`` is reported and tried again by the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from careleads.connectors._crm import (
    N_PREVIEW,
    CrmRecordIn,
    PullReport,
    WriteReport,
    confirm_writes,
    crm_external_id,
    naive_utc,
    pending_writes,
    pull_records,
    stored_cursor,
    write_back_values,
)
from careleads.connectors._mapping import SalesforceMapping
from careleads.connectors._salesforce import SalesforceApi, SalesforceRecord, soql_moment
from careleads.service import ServiceContext

__all__ = ["SALESFORCE", "lead_query", "pull_leads", "write_lead_scores"]

SALESFORCE = "salesforce"


def lead_query(mapping: SalesforceMapping, since: datetime | None) -> str:
    """The SOQL query of the Lead records changed at or after `since` (all without it), oldest first.

    Examples
    --------
    >>> lead_query(SalesforceMapping(), datetime(2025, 3, 1, tzinfo=UTC))
    'SELECT CreatedDate, Id, IsConverted, Status, SystemModstamp FROM Lead WHERE SystemModstamp >= 2025-03-01T00:00:00Z ORDER BY SystemModstamp, Id'
    """  # noqa: E501 - a doctest's output is one line
    where = "" if since is None else f" WHERE SystemModstamp >= {soql_moment(since)}"
    return f"SELECT {', '.join(mapping.fields_to_read())} FROM Lead{where} ORDER BY SystemModstamp, Id"


def _record(lead: SalesforceRecord, mapping: SalesforceMapping) -> CrmRecordIn:
    assert lead.updated_at is not None  # the query selects SystemModstamp
    lead_in: dict[str, object] = {}
    for name, api_name in mapping.lead_fields.items():
        value = lead.fields.get(api_name)
        if value not in (None, ""):
            lead_in[name] = value if isinstance(value, str) else str(value).lower()
    created = lead.fields.get("CreatedDate")
    if "created_at" not in lead_in and created:
        lead_in["created_at"] = created
    if "created_at" in lead_in:  # Salesforce writes UTC with an offset; the store keeps naive UTC
        lead_in["created_at"] = naive_utc(str(lead_in["created_at"]))
    outcomes = []
    status = lead.fields.get(mapping.outcomes.field)
    if status is not None and str(status) in mapping.outcomes.values:
        outcomes.append(mapping.outcomes.values[str(status)])
    converted = mapping.outcomes.converted
    if lead.fields.get("IsConverted") is True and converted and converted not in outcomes:
        outcomes.append(converted)
    return CrmRecordIn(lead.record_id, lead.updated_at, lead_in, tuple(outcomes))


def _pages(
    api: SalesforceApi, mapping: SalesforceMapping, since: datetime | None, page_size: int
) -> Iterator[list[CrmRecordIn]]:
    soql = lead_query(mapping, since)
    next_url: str | None = None
    while True:
        page = api.query_page(soql, next_url=next_url, batch_size=page_size)
        yield [_record(r, mapping) for r in page.records]
        if page.next_url is None:
            return
        next_url = page.next_url


def pull_leads(
    *,
    sessions: sessionmaker[Session],
    ctx: ServiceContext | None,
    api: SalesforceApi,
    mapping: SalesforceMapping,
    since: datetime | None = None,
    dry_run: bool = False,
    page_size: int = 2000,
) -> PullReport:
    """Create or update careleads leads from the Salesforce Lead records changed since the stored cursor.

    Parameters
    ----------
    sessions : sessionmaker
        The store; each page is committed in its own transaction with the cursor it reached.
    ctx : ServiceContext or None
        What lead creation needs; None only for a dry run.
    api : SalesforceApi
        Salesforce.
    mapping : SalesforceMapping
        Lead fields -> dictionary fields, Status values and conversion -> outcomes.
    since : datetime, optional
        Start here instead of the stored cursor (aware, or naive UTC).
    dry_run : bool
        Read Salesforce and the store only: count and preview what would change, write nothing.
    page_size : int
        Records per query page (Salesforce's ``batchSize``: 200 to 2,000).

    Raises
    ------
    SalesforceError
        If Salesforce keeps failing (pages committed so far stay; the next run goes on from them) or refuses
        the session.
    """
    with sessions() as session:
        start = since if since is not None else stored_cursor(session, SALESFORCE)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    pages = _pages(api, mapping, start, page_size)
    return pull_records(sessions=sessions, ctx=ctx, source=SALESFORCE, pages=pages, dry_run=dry_run)


def write_lead_scores(
    *,
    sessions: sessionmaker[Session],
    api: SalesforceApi,
    mapping: SalesforceMapping,
    dry_run: bool = False,
    job_size: int = 10_000,
) -> WriteReport:
    """Write each linked lead's current score, tier, top reasons, intent, route and OwnerId to Salesforce.

    Only records whose current ledger entry was not written yet are sent, in Bulk API 2.0 upsert jobs of at
    most `job_size` records; each is marked written when its job's ``successfulResults`` list it, job by
    job, so a run stopped anywhere is finished by the next one and no record is written twice for one entry.

    Returns
    -------
    WriteReport
        ``errors`` lists each record in a job's ``failedResults``, with its error code and message.

    Raises
    ------
    SalesforceError
        If Salesforce keeps failing or refuses the session (jobs confirmed so far stay marked).
    """
    report = WriteReport(dry_run=dry_run)
    pending = pending_writes(sessions, SALESFORCE)
    report.n_pending = len(pending)
    if not pending:
        return report
    owner_ids = api.user_ids()
    key = mapping.external_id_field

    def key_of(record_id: str) -> str:
        return record_id if key == "Id" else crm_external_id(SALESFORCE, record_id)

    rows: list[dict[str, str]] = []
    for item in pending:
        values, known = write_back_values(item.entry, mapping.owner_emails(), owner_ids)
        report.n_without_owner_id += not known
        # every row has every column; an empty OwnerId leaves the owner as it is (a name is never sent)
        row = {key: key_of(item.record_id)}
        row.update({api_name: values.get(name, "") for name, api_name in mapping.write_back.items()})
        rows.append(row)
    if dry_run:
        report.preview = [
            {"record_id": p.record_id, "lead_id": p.lead_id, **r} for p, r in zip(pending, rows, strict=True)
        ][:N_PREVIEW]
        return report
    job_size = max(1, job_size)
    for start in range(0, len(pending), job_size):
        batch = pending[start : start + job_size]
        outcome = api.upsert("Lead", external_id_field=key, rows=rows[start : start + job_size])
        report.n_batches += 1
        by_key = {key_of(p.record_id): p.record_id for p in batch}
        confirmed = {by_key[k] for k in outcome.succeeded if k in by_key} - {
            by_key[k] for k in outcome.errors if k in by_key
        }
        errors = {by_key[k]: v for k, v in outcome.errors.items() if k in by_key}
        confirm_writes(
            sessions=sessions,
            source=SALESFORCE,
            batch=batch,
            confirmed=confirmed,
            errors=errors,
            report=report,
        )
    return report
