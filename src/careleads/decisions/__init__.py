"""Decisions: tiers, hard rules, routing, review and feedback."""

from __future__ import annotations

from careleads.decisions._tiers import DEFAULT_ACTIONS, DEFAULT_TIERS, TierScheme, conversion_by_tier

__all__ = ["DEFAULT_ACTIONS", "DEFAULT_TIERS", "TierScheme", "conversion_by_tier"]
