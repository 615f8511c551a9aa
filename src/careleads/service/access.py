"""Who may do what: the roles, the roles each use case admits, and the caller of a request.

The API and the web pages check the same sets (``LEAD_READ``, ``FEEDBACK_CREATE``, ...), so a page and its
API equivalent can never admit different roles. Admin is in every set: it may do everything.

Some roles that pass a set see only part of the leads (:mod:`careleads.service.scope` checks it, for every
surface): integrations the leads they created, and of those only ids and decisions (``OWN_LEADS_ONLY``);
reviewers the leads of the queues the routing names them in, as owner or member (``QUEUE_LEADS_ONLY``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from careleads.errors import CareleadsError

__all__ = [
    "ADMIN_ONLY",
    "AUDIT_READ",
    "BATCHES",
    "DASHBOARD_READ",
    "EVENT_CREATE",
    "FEEDBACK_CREATE",
    "LEAD_CREATE",
    "LEAD_ERASE",
    "LEAD_READ",
    "MODELS_PUBLISH",
    "MODELS_READ",
    "OUTCOME_CREATE",
    "OWN_LEADS_ONLY",
    "QUEUE_LEADS_ONLY",
    "REVIEW_QUEUE_READ",
    "ROLES",
    "Role",
    "RULES_EDIT",
    "RULES_READ",
    "SCORE",
    "PermissionDenied",
    "Principal",
    "allowed",
    "authorize",
]

Role = Literal["admin", "analyst", "reviewer", "auditor", "integration"]
ROLES: tuple[str, ...] = get_args(Role)


class PermissionDenied(CareleadsError):
    """The caller's role may not do this (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: user id, name and role."""

    id: int
    name: str
    role: str


def allowed(*roles: str) -> frozenset[str]:
    """The set of `roles` plus admin.

    Examples
    --------
    >>> sorted(allowed("analyst"))
    ['admin', 'analyst']
    """
    return frozenset(("admin", *roles))


LEAD_CREATE = allowed("integration")
EVENT_CREATE = allowed("integration")
OUTCOME_CREATE = allowed("integration")
LEAD_READ = allowed("integration", "analyst", "reviewer")
LEAD_ERASE = ADMIN_ONLY = allowed()
FEEDBACK_CREATE = allowed("reviewer")
SCORE = allowed("integration", "analyst")
BATCHES = allowed("integration", "analyst")
REVIEW_QUEUE_READ = allowed("reviewer")
MODELS_READ = allowed("analyst")
#: publishing and rolling back a model, through the API and the models page alike
MODELS_PUBLISH = allowed("analyst")
AUDIT_READ = allowed("auditor")
DASHBOARD_READ = allowed("analyst", "reviewer")
RULES_READ = allowed("analyst")
RULES_EDIT = allowed()

#: roles that see only the leads they created, and of those only ids and decisions
OWN_LEADS_ONLY = frozenset({"integration"})
#: roles that see only the leads whose open review task is in a queue they work (owner or member)
QUEUE_LEADS_ONLY = frozenset({"reviewer"})


def authorize(role: str, roles: Iterable[str]) -> None:
    """Pass when `role` is one of `roles`.

    Raises
    ------
    PermissionDenied
        Otherwise, naming the roles that may.
    """
    admitted = frozenset(roles)
    if role not in admitted:
        raise PermissionDenied(f"the role {role!r} may not do this; allowed: {', '.join(sorted(admitted))}")
