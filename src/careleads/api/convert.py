"""Store rows to response schemas."""

from __future__ import annotations

from typing import Any

from careleads.api.schemas import DecisionPublic, OverridePublic, RoutePublic
from careleads.store._models import ScoreEntry

__all__ = ["decision_public", "route_public"]

_ROUTE_KEYS = frozenset(RoutePublic.model_fields)


def route_public(route: dict[str, Any]) -> RoutePublic:
    """The public part of a stored route."""
    return RoutePublic(**{k: v for k, v in route.items() if k in _ROUTE_KEYS})


def decision_public(entry: ScoreEntry) -> DecisionPublic:
    """A ledger entry as a decision."""
    return DecisionPublic(
        score_id=entry.id,
        scored_at=entry.at,
        probability=entry.probability,
        score=entry.score,
        tier=entry.tier,
        action=entry.route.get("action"),
        reasons=[str(r) for r in entry.reasons],
        scored_by=entry.scored_by,
        model_version=entry.model_version,
        fallback=entry.fallback,
        overrides=[OverridePublic(**o) for o in entry.overrides],
        route=route_public(entry.route),
        review_required=entry.review_required,
        change_reason=entry.change_reason,
    )
