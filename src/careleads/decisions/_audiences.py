"""Which team reads a lead: partnership (business-to-business) leads and patient leads never swap queues.

The routing file's ``partnerships`` section names the lead types that are partnership leads, the queues
business development works, the queues either team may see (the clinical-triage line, data completion,
discard review, hold: safety and data work, not outreach) and the routes a partnership lead takes when the
table or the consent step would send it elsewhere. Every queue not named there is a patient queue.

The rule, applied once per decision after hard rules, the routing table and the consent step:

- a partnership lead whose route is in a patient queue goes to the partnerships' ``default_route``; when
  the route was the consent step's answer to a nurture route (no marketing consent), it goes to the
  partnerships' ``no_marketing_route`` instead. Consent decides the outreach, never which team reads it.
- a patient lead whose route is in a business-development queue goes to the routing file's
  ``default_route``.

A routing file without the section has no partnership lead types, and the rule changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from careleads.decisions._fields import is_missing_value

__all__ = ["AUDIENCES", "Audience", "Audiences", "confinement_note"]

Audience = Literal["patient", "partnership", "shared"]
AUDIENCES: tuple[str, ...] = ("patient", "partnership", "shared")


@dataclass(frozen=True)
class Audiences:
    """The ``partnerships`` section of a routing file (empty: every lead and queue is a patient one)."""

    lead_types: frozenset[str] = field(default_factory=frozenset)
    queues: frozenset[str] = field(default_factory=frozenset)
    shared_queues: frozenset[str] = field(default_factory=frozenset)
    default_route: str | None = None
    no_marketing_route: str | None = None

    def is_partnership(self, lead_type: Any) -> bool:
        """Whether a lead of this (canonical) lead type is a partnership lead; a missing type is a patient."""
        if is_missing_value(lead_type):
            return False
        return str(lead_type).strip().lower() in self.lead_types

    def audience(self, queue: str) -> Audience:
        """Who works `queue`: business development, patient teams, or either (shared)."""
        if queue in self.shared_queues:
            return "shared"
        return "partnership" if queue in self.queues else "patient"

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_types": sorted(self.lead_types),
            "queues": sorted(self.queues),
            "shared_queues": sorted(self.shared_queues),
            "default_route": self.default_route,
            "no_marketing_route": self.no_marketing_route,
        }


def confinement_note(partnership: bool, route: str, instead_of: str) -> str:
    """The note of a decision whose route the audience rule changed."""
    if partnership:
        return f"partnership lead: {route} (business development) instead of the patient route {instead_of}"
    return f"patient lead: {route} instead of the business-development route {instead_of}"
