"""CRM connectors: careleads leads from a CRM's records, and scores written back onto them.

HubSpot (CRM v3, through the official ``hubspot-api-client``, the ``crm`` extra):

=================================  ======================================================================
name                               what it does
=================================  ======================================================================
:func:`pull_contacts`              contacts changed since the stored cursor -> leads (idempotent by record
                                   id), stages -> outcomes
:func:`write_scores`               score, tier, top reasons, intent, route and owner id onto the contacts,
                                   in batches of at most 100
:func:`sync_hubspot`               both, as ``careleads sync hubspot`` runs them
:class:`HubSpotApi`                HubSpot through the official client, with bounded retries (429, 5xx)
:class:`HubSpotMapping`            the editable mapping YAML (shipped: ``data/hubspot_connector.yaml``)
=================================  ======================================================================

Salesforce (REST and Bulk API 2.0, through ``simple-salesforce``, the ``crm`` extra):

=================================  ======================================================================
:func:`pull_leads`                 Lead records changed since the stored cursor (SOQL, ``nextRecordsUrl``)
                                   -> leads, Status values and conversion -> outcomes
:func:`write_lead_scores`          score, tier, top reasons, intent, route and OwnerId through Bulk API 2.0
                                   upserts; marked written only when a job's results confirm it
:func:`sync_salesforce`            both, as ``careleads sync salesforce`` runs them
:class:`SalesforceApi`             Salesforce through ``simple-salesforce``, with bounded retries
:class:`SalesforceMapping`         the editable mapping YAML (shipped: ``data/salesforce_connector.yaml``)
=================================  ======================================================================

What both share (records linked to leads, the cursor, confirmed write-backs) is in ``_crm``.
"""

from __future__ import annotations

from careleads.connectors._client import (
    DEFAULT_BASE_URL,
    BatchOutcome,
    Contact,
    ContactPage,
    HubSpotApi,
    HubSpotAuthError,
    HubSpotError,
    PropertySpec,
)
from careleads.connectors._crm import PullReport, RecordError, WriteReport
from careleads.connectors._mapping import (
    HubSpotMapping,
    SalesforceMapping,
    load_hubspot_mapping,
    load_salesforce_mapping,
)
from careleads.connectors._run import SyncReport, sync_hubspot, sync_salesforce
from careleads.connectors._salesforce import (
    SalesforceApi,
    SalesforceAuthError,
    SalesforceError,
    UpsertOutcome,
)
from careleads.connectors._salesforce_sync import lead_query, pull_leads, write_lead_scores
from careleads.connectors._sync import external_id, pull_contacts, write_scores

__all__ = [
    "DEFAULT_BASE_URL",
    "BatchOutcome",
    "Contact",
    "ContactPage",
    "HubSpotApi",
    "HubSpotAuthError",
    "HubSpotError",
    "HubSpotMapping",
    "PropertySpec",
    "PullReport",
    "RecordError",
    "SalesforceApi",
    "SalesforceAuthError",
    "SalesforceError",
    "SalesforceMapping",
    "SyncReport",
    "UpsertOutcome",
    "WriteReport",
    "external_id",
    "lead_query",
    "load_hubspot_mapping",
    "load_salesforce_mapping",
    "pull_contacts",
    "pull_leads",
    "sync_hubspot",
    "sync_salesforce",
    "write_lead_scores",
    "write_scores",
]
