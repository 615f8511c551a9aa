"""The lead page and its work loop: label (then, if asked, the next lead of the queue), undo, follow-up note.

The page (``/ui/leads/{id}``, JSON twin ``/ui/leads/{id}.json``) reads the lead as ``GET /v1/leads/{id}``
does and adds what a reviewer works with: the highlights header and the banners of the rules in force
(:mod:`careleads.web._lead_view`), the action bar, the route choices that fit the lead's type
(:func:`careleads.service.route_choices.route_choices`), the label the user may still undo and the leads
they worked lately (:mod:`careleads.service.worklist`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import ValidationError

from careleads import report as charts
from careleads.service import access
from careleads.service.feedback import FEEDBACK_LABELS, give_feedback
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.leads import lead_timeline, read_lead, utcnow
from careleads.service.review import open_review_task
from careleads.service.route_choices import route_choices
from careleads.service.schemas import FeedbackCreate, RouteChange
from careleads.service.scope import worked_lately
from careleads.service.worklist import (
    Undoable,
    add_follow_up_note,
    next_in_queue,
    recently_worked,
    undo_feedback,
    undoable_feedback,
)
from careleads.web._lead_view import action_text, alerts, highlights, plain_reasons, relative, score_path
from careleads.web._pages import PAGE_ROLES, CsrfForm, done_message, lead_id_of, redirect_to
from careleads.web._state import check_csrf, render, web_state, web_user

__all__ = ["build_lead_router"]

_MESSAGES = {
    "undone": "Label undone; the lead is back in the review queue.",
    "noted": "Follow-up note added.",
    "queue_empty": "Nothing left in your queue.",
}


def _message(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    lead = request.query_params.get("lead", "")
    if key in _MESSAGES:
        prefix = f"Lead {int(lead)}: " if lead.isdigit() else ""
        return prefix + _MESSAGES[key]
    return done_message(request)


def _undo_view(undo: Undoable | None, now: datetime) -> dict[str, Any] | None:
    return {**undo.to_dict(), "left": relative(undo.until, now)} if undo else None


def lead_page(request: Request, lead_ref: str, session: SessionDep, ctx: ContextDep) -> Response:
    """A lead as the user's role may see it (``GET /v1/leads/{id}``): highlights and banners, the action bar,
    reasons, route, contact, details, the score path and the timeline (newest first)."""
    user = web_user(request)
    access.authorize(user.role, PAGE_ROLES["lead"])
    lead_id = lead_id_of(lead_ref)
    now = utcnow()
    public = read_lead(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role)
    show_texts = user.role in ("admin", "reviewer")
    lead = public.model_dump(mode="json")
    # read_lead let a reviewer through only for a lead of a queue they work, or one they labelled lately
    may_label = user.role in PAGE_ROLES["feedback"] and not public.erased
    ids_and_decisions_only = user.role in access.OWN_LEADS_ONLY
    task = open_review_task(session=session, lead_id=lead_id)
    worked = worked_lately(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, now=now)
    undo = undoable_feedback(
        session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role, now=now
    )
    # the label just given on another lead ("save and next"), undoable from here
    worked_ref = request.query_params.get("lead", "")
    undo_other = None
    if may_label and worked_ref.isdigit() and int(worked_ref) != lead_id:
        undo_other = undoable_feedback(
            session=session, ctx=ctx, lead_id=int(worked_ref), actor=user.name, role=user.role, now=now
        )
    timeline = (
        []
        if ids_and_decisions_only
        else lead_timeline(session=session, lead_id=lead_id, show_texts=show_texts)[::-1]
    )
    decision = lead["decision"]
    data = {
        "lead": lead,
        "highlights": highlights(lead, task, worked, now),
        "alerts": alerts(decision),
        "action": action_text(decision["action"]) if decision else None,
        "reasons": plain_reasons(decision["reasons"] if decision else []),
        "score_path": score_path(lead["ledger"]),
        "review_task": task,
        "timeline": timeline,
        "may_give_feedback": may_label,
        "feedback_labels": list(FEEDBACK_LABELS) if may_label else [],
        "route_groups": route_choices(ctx=ctx, lead_type=lead["fields"].get("lead_type"))
        if may_label
        else [],
        "undo": _undo_view(undo, now),
        "undo_other": _undo_view(undo_other, now),
        "may_add_note": may_label and worked,
        "recently_worked": [
            {**r, "ago": relative(r["at"], now)} for r in recently_worked(session=session, actor=user.name)
        ]
        if may_label
        else [],
    }
    extra: dict[str, Any] = {"message": _message(request)}
    if not request.url.path.endswith(".json"):
        model = ctx.scorer.model()
        tiers = list(model.tiers.names) if model is not None else ["A", "B", "C", "D"]
        extra["ledger_chart"] = charts.data_url(charts.ledger_svg(lead["ledger"], tiers))
    return render(request, "lead.html", data, user=user, page="lead", extra=extra)


def feedback_submit(
    request: Request,
    lead_ref: str,
    session: SessionDep,
    ctx: ContextDep,
    label: Annotated[str, Form(max_length=30)],
    csrf: CsrfForm = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    route: Annotated[str, Form(max_length=250)] = "",
    then: Annotated[str, Form(pattern="^(stay|next)$")] = "stay",
) -> Response:
    """Label the lead (``POST /v1/leads/{id}/feedback``), optionally with a new queue and owner; then back
    to the lead (where the label can be undone) or, with ``then=next``, to the top lead of the user's
    queue."""
    user = web_user(request)
    check_csrf(request, csrf)
    access.authorize(user.role, PAGE_ROLES["feedback"])
    lead_id = lead_id_of(lead_ref)
    change: tuple[str, str | None] | None = None
    if route:
        queue, _, owner = route.partition("|")
        change = (queue, owner or None)
    try:
        body = FeedbackCreate(
            label=label,  # type: ignore[arg-type]  # checked by the model
            note=note.strip() or None,
            route=RouteChange(queue=change[0], owner=change[1]) if change else None,
        )
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="; ".join(str(e.get("msg", "")) for e in exc.errors()),
        ) from None
    result = give_feedback(
        session=session, ctx=ctx, lead_id=lead_id, feedback_in=body, actor=user.name, role=user.role
    )
    done = "route" if result.route_action == "changed" else "feedback"
    prefix = web_state(request).prefix
    if then == "next" and user.role in PAGE_ROLES["queue"]:
        following = next_in_queue(session=session, ctx=ctx, actor=user.name, role=user.role, skip=lead_id)
        if following is None:
            return redirect_to(f"{prefix}/queue?done={done}&lead={lead_id}")
        return redirect_to(f"{prefix}/leads/{following}?done={done}&lead={lead_id}")
    return redirect_to(f"{prefix}/leads/{lead_id}?done={done}")


def undo_submit(
    request: Request, lead_ref: str, session: SessionDep, ctx: ContextDep, csrf: CsrfForm = ""
) -> Response:
    """Undo the lead's latest label within ``feedback_undo_minutes`` (audited): the task reopens."""
    user = web_user(request)
    check_csrf(request, csrf)
    access.authorize(user.role, PAGE_ROLES["feedback"])
    lead_id = lead_id_of(lead_ref)
    undo_feedback(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role)
    return redirect_to(f"{web_state(request).prefix}/leads/{lead_id}?done=undone&lead={lead_id}")


def note_submit(
    request: Request,
    lead_ref: str,
    session: SessionDep,
    ctx: ContextDep,
    note: Annotated[str, Form(min_length=1, max_length=4000)],
    csrf: CsrfForm = "",
) -> Response:
    """Add a follow-up note to the user's latest label on the lead (redacted, triaged, audited)."""
    user = web_user(request)
    check_csrf(request, csrf)
    access.authorize(user.role, PAGE_ROLES["feedback"])
    lead_id = lead_id_of(lead_ref)
    add_follow_up_note(session=session, ctx=ctx, lead_id=lead_id, note=note, actor=user.name, role=user.role)
    return redirect_to(f"{web_state(request).prefix}/leads/{lead_id}?done=noted&lead={lead_id}")


def build_lead_router(prefix: str) -> APIRouter:
    """The lead page (and its JSON twin: ``/leads/{id}.json``) and its forms under `prefix`."""
    router = APIRouter(route_class=TransactionRoute, prefix=prefix)
    post: dict[str, Any] = {"methods": ["POST"], "include_in_schema": False}
    router.add_api_route(
        "/leads/{lead_ref}", lead_page, methods=["GET"], name="web_lead", include_in_schema=False
    )
    router.add_api_route("/leads/{lead_ref}/feedback", feedback_submit, name="web_feedback", **post)
    router.add_api_route("/leads/{lead_ref}/undo", undo_submit, name="web_undo", **post)
    router.add_api_route("/leads/{lead_ref}/note", note_submit, name="web_note", **post)
    return router
