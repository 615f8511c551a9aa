"""Decisions: tiers, hard rules (overrides), routing, owner assignment, SLA and the decision engine."""

from __future__ import annotations

from careleads.decisions._engine import (
    AssignmentLookup,
    Decision,
    Override,
    Route,
    assign_owner,
    decide,
    decide_many,
    decisions_frame,
)
from careleads.decisions._overrides import (
    Condition,
    HardRule,
    HardRules,
    load_hard_rules,
    parse_hard_rules,
    validate_rules_text,
)
from careleads.decisions._routing import (
    BusinessHours,
    QueueSpec,
    RouteSpec,
    Routing,
    RoutingRule,
    load_routing,
    parse_routing,
    pick_owner,
    sla_due,
    validate_routing_text,
)
from careleads.stats._tiers import DEFAULT_ACTIONS, DEFAULT_TIERS, TierScheme, conversion_by_tier

__all__ = [
    "AssignmentLookup",
    "DEFAULT_ACTIONS",
    "DEFAULT_TIERS",
    "BusinessHours",
    "Condition",
    "Decision",
    "HardRule",
    "HardRules",
    "Override",
    "QueueSpec",
    "Route",
    "RouteSpec",
    "Routing",
    "RoutingRule",
    "TierScheme",
    "conversion_by_tier",
    "assign_owner",
    "decide",
    "decide_many",
    "decisions_frame",
    "load_hard_rules",
    "load_routing",
    "parse_hard_rules",
    "parse_routing",
    "pick_owner",
    "sla_due",
    "validate_routing_text",
    "validate_rules_text",
]
