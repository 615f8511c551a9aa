"""``careleads sync hubspot`` and ``careleads sync salesforce``: the pull, then the write-back, on the
configured store and CRM account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from careleads.connectors._client import HubSpotApi
from careleads.connectors._crm import PullReport, WriteReport
from careleads.connectors._mapping import load_hubspot_mapping, load_salesforce_mapping
from careleads.connectors._salesforce import SalesforceApi
from careleads.connectors._salesforce_sync import pull_leads, write_lead_scores
from careleads.connectors._sync import pull_contacts, write_scores
from careleads.service import ServiceContext, open_store
from careleads.settings import Settings
from careleads.store import make_sessionmaker
from careleads.types import PathLikeStr

__all__ = ["SyncReport", "sync_hubspot", "sync_salesforce"]


@dataclass
class SyncReport:
    """A sync's pull and write-back reports."""

    pull: PullReport
    write: WriteReport

    def to_dict(self) -> dict[str, Any]:
        """The reports as JSON-ready data."""
        return {"pull": self.pull.to_dict(), "write": self.write.to_dict()}


def sync_hubspot(
    *,
    settings: Settings,
    since: datetime | None = None,
    mapping_path: PathLikeStr | None = None,
    dry_run: bool = False,
    api: HubSpotApi | None = None,
) -> SyncReport:
    """Pull the contacts changed since the stored cursor (or `since`), then write scores back.

    Parameters
    ----------
    settings : Settings
        The store, ``hubspot_token``, ``hubspot_base_url``, ``hubspot_mapping_file`` and the retry bounds.
    since : datetime, optional
        Pull from this moment instead of the stored cursor.
    mapping_path : path, optional
        The mapping YAML (default: ``hubspot_mapping_file``, else the shipped one).
    dry_run : bool
        Read only: what would be created, updated and written; nothing is written in careleads or HubSpot.
    api : HubSpotApi, optional
        HubSpot (default: built from the settings).

    Raises
    ------
    HubSpotError
        If HubSpot refuses the token or keeps failing; what was done before stays (the next run goes on).
    ConfigError
        If the mapping file is wrong or the database has no careleads tables.
    """
    mapping = load_hubspot_mapping(mapping_path or settings.hubspot_mapping_file)
    api = api or HubSpotApi(
        access_token=settings.hubspot_token,
        base_url=settings.hubspot_base_url,
        max_attempts=settings.hubspot_max_attempts,
        backoff_seconds=settings.hubspot_backoff_seconds,
    )
    hubspot = api

    def run(sessions: sessionmaker[Session], ctx: ServiceContext | None) -> SyncReport:
        pull = pull_contacts(
            sessions=sessions, ctx=ctx, api=hubspot, mapping=mapping, since=since, dry_run=dry_run
        )
        write = write_scores(sessions=sessions, api=hubspot, mapping=mapping, dry_run=dry_run)
        return SyncReport(pull=pull, write=write)

    return _on_the_store(settings, dry_run=dry_run, run=run)


def sync_salesforce(
    *,
    settings: Settings,
    since: datetime | None = None,
    mapping_path: PathLikeStr | None = None,
    dry_run: bool = False,
    api: SalesforceApi | None = None,
) -> SyncReport:
    """Pull the Salesforce Lead records changed since the stored cursor (or `since`), then write scores back.

    Parameters
    ----------
    settings : Settings
        The store, the ``salesforce_*`` credentials, ``salesforce_mapping_file`` and the retry bounds.
    since : datetime, optional
        Pull from this moment instead of the stored cursor.
    mapping_path : path, optional
        The mapping YAML (default: ``salesforce_mapping_file``, else the shipped one).
    dry_run : bool
        Read only: what would be created, updated and written; nothing is written in careleads or Salesforce.
    api : SalesforceApi, optional
        Salesforce (default: built from the settings).

    Raises
    ------
    SalesforceError
        If Salesforce refuses the credentials or session, or keeps failing; what was done before stays (the
        next run goes on).
    ConfigError
        If the mapping file is wrong or the database has no careleads tables.
    """
    mapping = load_salesforce_mapping(mapping_path or settings.salesforce_mapping_file)
    api = api or SalesforceApi(
        instance_url=settings.salesforce_instance_url,
        session_id=settings.salesforce_session_id,
        username=settings.salesforce_username,
        password=settings.salesforce_password,
        security_token=settings.salesforce_security_token,
        domain=settings.salesforce_domain,
        max_attempts=settings.salesforce_max_attempts,
        backoff_seconds=settings.salesforce_backoff_seconds,
    )
    salesforce = api

    def run(sessions: sessionmaker[Session], ctx: ServiceContext | None) -> SyncReport:
        pull = pull_leads(
            sessions=sessions, ctx=ctx, api=salesforce, mapping=mapping, since=since, dry_run=dry_run
        )
        write = write_lead_scores(sessions=sessions, api=salesforce, mapping=mapping, dry_run=dry_run)
        return SyncReport(pull=pull, write=write)

    return _on_the_store(settings, dry_run=dry_run, run=run)


def _on_the_store(
    settings: Settings,
    *,
    dry_run: bool,
    run: Callable[[sessionmaker[Session], ServiceContext | None], SyncReport],
) -> SyncReport:
    """`run` a sync on the settings' store: with the service context that creates leads, or without one for a
    dry run (it creates no lead, and so no key file or analytics folder either); closed whatever happens."""
    engine = open_store(settings)
    ctx: ServiceContext | None = None
    try:
        sessions = make_sessionmaker(engine)
        if not dry_run:
            ctx = ServiceContext.from_settings(settings)
            ctx.bind(sessions)
        return run(sessions, ctx)
    finally:
        if ctx is not None:
            ctx.analytics.close()  # the leads' analytics rows written before the command ends
        engine.dispose()
