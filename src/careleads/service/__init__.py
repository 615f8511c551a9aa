"""The use cases of the running system, between the store and the adapters (API, web pages, CLI).

One function per use case, with keyword-only arguments, working inside the caller's transaction:

==============================  ===================================================================
module                          use cases
==============================  ===================================================================
:mod:`~.leads`                  create a lead (and score it), record an event (re-score), record an
                                outcome, score without storing, read a lead as a role may see it
:mod:`~.review`                 the review queue (with contact details, audited)
:mod:`~.feedback`               a reviewer's label and route change; labels as training rows
:mod:`~.erasure`                erase a lead (store, analytics layer, outbox)
:mod:`~.batches`                score an uploaded file in the background, download the decisions
:mod:`~.outbox`                 CRM write-back: enqueue, deliver (signed, retried), export as CSV
:mod:`~.crm_mapping`            CRM field names for the write-back (typed YAML)
:mod:`~.users`                  users, roles and API tokens
:mod:`~.audit`                  the hash-chained audit log: append, read, verify, export
:mod:`~.publishing`             list, publish and roll back models
:mod:`~.dashboard`              the manager dashboard's figures
:mod:`~.rule_edits`             hard rules and routing edited in the web pages
:mod:`~.access`                 roles, the roles each use case admits, the caller
:mod:`~.context`                what every use case needs besides the session (``ServiceContext``)
:mod:`~.analytics`              the analytics layer (pseudonymised Parquet)
:mod:`~.http`                   what the HTTP adapters share: request dependencies, error -> status
==============================  ===================================================================
"""

from __future__ import annotations

from careleads.service.access import ROLES, PermissionDenied, Principal
from careleads.service.audit import append_audit, audit_entries, export_audit, verify_audit
from careleads.service.context import ServiceContext, open_store
from careleads.service.crm_mapping import FieldMapping, load_field_mapping
from careleads.service.erasure import ErasureReport, erase_lead
from careleads.service.feedback import FEEDBACK_LABELS, add_feedback, feedback_training_rows, give_feedback
from careleads.service.leads import (
    PRESENT,
    EventResult,
    LeadErasedError,
    LeadResult,
    LeadValidationError,
    create_lead,
    get_lead,
    ledger,
    read_lead,
    record_event,
    record_outcome,
    score_records,
    utcnow,
)
from careleads.service.review import in_review_queue, read_review_queue, review_queue
from careleads.service.users import authenticate, create_token, create_user, list_users

__all__ = [
    "FEEDBACK_LABELS",
    "PRESENT",
    "ROLES",
    "ErasureReport",
    "EventResult",
    "FieldMapping",
    "LeadErasedError",
    "LeadResult",
    "LeadValidationError",
    "PermissionDenied",
    "Principal",
    "ServiceContext",
    "add_feedback",
    "append_audit",
    "audit_entries",
    "authenticate",
    "create_lead",
    "create_token",
    "create_user",
    "erase_lead",
    "export_audit",
    "feedback_training_rows",
    "get_lead",
    "give_feedback",
    "in_review_queue",
    "ledger",
    "list_users",
    "load_field_mapping",
    "open_store",
    "read_lead",
    "read_review_queue",
    "record_event",
    "record_outcome",
    "review_queue",
    "score_records",
    "utcnow",
    "verify_audit",
]
