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
from careleads.connectors._mapping import HubSpotMapping, load_hubspot_mapping
from careleads.connectors._run import SyncReport, sync_hubspot
from careleads.connectors._sync import (
    PullReport,
    RecordError,
    WriteReport,
    external_id,
    pull_contacts,
    write_scores,
)

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
    "SyncReport",
    "WriteReport",
    "external_id",
    "load_hubspot_mapping",
    "pull_contacts",
    "sync_hubspot",
    "write_scores",
]
