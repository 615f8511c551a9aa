"""Decisions: one decision policy for one lead and for a batch (hard rules, routing, consent, owners, SLA).

Modules, one concern each:

- ``_fields``: lead fields read column-wise (a table, or one lead as a batch of one); what "missing", "a
  number" and "recorded true" mean;
- ``_overrides``: hard rules (conditions, precedence); ``_rules_file``: the hard-rules file (typed model,
  loading);
- ``_intent``: the intent of a lead's message (label and probability), read alike for one lead and a table;
- ``_routing``: the routing table and owner pools; ``_routing_file``: the routing file (typed model,
  loading); ``_clock``: business hours and SLA due times; ``_documents``: YAML reading, line numbers and the
  one error format of both files;
- ``_triage``: the clinical triage of every text of a lead (free-text fields, later messages and notes):
  levels, and the words that made them;
- ``_policy``: the decision policy (overrides, route, consent, channels, notes, review, nurture track);
- ``_engine``: :class:`Decision` objects and owner assignment (:func:`decide`, :func:`decide_many`);
  ``_batch``: the policy's answer as the columns of a batch file (:func:`decide_columns`).
"""

from __future__ import annotations

from careleads.decisions._batch import BATCH_DECISION_COLUMNS, decide_columns
from careleads.decisions._clock import BusinessHours, sla_due
from careleads.decisions._engine import (
    AssignmentLookup,
    Decision,
    Override,
    Route,
    assign_owner,
    decide,
    decide_many,
    decisions_frame,
    pick_owner,
)
from careleads.decisions._fields import SCORED_KEYS, LeadFields, is_missing_value
from careleads.decisions._intent import (
    INTENT,
    INTENT_KEYS,
    INTENT_PROBABILITY,
    NO_MESSAGE,
    IntentModel,
    checked_intent_model,
    default_intent_model,
    intent_model_for,
    read_intents,
)
from careleads.decisions._overrides import Condition, HardRule, HardRules
from careleads.decisions._policy import urgent_review
from careleads.decisions._routing import QueueSpec, RouteSpec, Routing, RoutingRule
from careleads.decisions._routing_file import load_routing, parse_routing, validate_routing_text
from careleads.decisions._rules_file import load_hard_rules, parse_hard_rules, validate_rules_text
from careleads.decisions._triage import NO_TRIAGE, Finding, TextFields, Triage, clean_spans
from careleads.stats import DEFAULT_ACTIONS, DEFAULT_TIERS, TierScheme, conversion_by_tier

__all__ = [
    "BATCH_DECISION_COLUMNS",
    "DEFAULT_ACTIONS",
    "DEFAULT_TIERS",
    "INTENT",
    "INTENT_KEYS",
    "INTENT_PROBABILITY",
    "NO_MESSAGE",
    "NO_TRIAGE",
    "SCORED_KEYS",
    "AssignmentLookup",
    "BusinessHours",
    "Condition",
    "Decision",
    "Finding",
    "HardRule",
    "HardRules",
    "IntentModel",
    "LeadFields",
    "Override",
    "QueueSpec",
    "Route",
    "RouteSpec",
    "Routing",
    "RoutingRule",
    "TextFields",
    "TierScheme",
    "Triage",
    "assign_owner",
    "checked_intent_model",
    "clean_spans",
    "conversion_by_tier",
    "decide",
    "decide_columns",
    "decide_many",
    "decisions_frame",
    "default_intent_model",
    "intent_model_for",
    "is_missing_value",
    "load_hard_rules",
    "load_routing",
    "parse_hard_rules",
    "parse_routing",
    "pick_owner",
    "read_intents",
    "sla_due",
    "urgent_review",
    "validate_routing_text",
    "validate_rules_text",
]
