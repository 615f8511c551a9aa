"""Which queues a reviewer may send a lead to: the queues of the lead's audience, grouped by queue.

A patient lead never goes to a business-development (partnership) queue and a partnership lead never to a
patient one; the shared queues (triage line, data completion, spam, ...) fit both. The routing file's
``partnerships`` section says which lead types are partnership leads and which queues are whose
(:class:`careleads.decisions.Routing`'s ``audiences``). The lead page's choices and the check of a route
change (``POST /v1/leads/{id}/feedback``) both call :func:`queue_fits`.
"""

from __future__ import annotations

from typing import Any

from careleads.service.context import ServiceContext

__all__ = ["queue_fits", "route_choices"]


def queue_fits(*, ctx: ServiceContext, lead_type: Any, queue: str) -> bool:
    """Whether a lead of `lead_type` may be sent to `queue` (its audience's queues and the shared ones)."""
    audiences = ctx.routing.audiences
    audience = audiences.audience(queue)
    if audience == "shared":
        return True
    return audience == ("partnership" if audiences.is_partnership(lead_type) else "patient")


def route_choices(*, ctx: ServiceContext, lead_type: Any) -> list[dict[str, Any]]:
    """The queues a lead of `lead_type` fits, by name, each with its choices: no owner yet, or one owner.

    Each choice's ``value`` is what the route-change form sends: ``queue`` or ``queue|owner``.
    """
    groups = []
    for name, spec in sorted(ctx.routing.queues.items()):
        if not queue_fits(ctx=ctx, lead_type=lead_type, queue=name):
            continue
        options = [{"value": name, "label": "no owner yet"}]
        options += [{"value": f"{name}|{owner}", "label": f"owner {owner}"} for owner in spec.owners]
        groups.append({"queue": name, "options": options})
    return groups
