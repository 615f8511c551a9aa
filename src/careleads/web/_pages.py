"""The pages: sign-in, review queue, lead, dashboard, models, rules and routing, audit log.

Each page gathers one JSON-ready dict with the service functions its API equivalent calls (so permissions,
audit entries and answers are the same) and renders it as HTML or, at the same URL plus ``.json``, as JSON.
Forms post back with the session's CSRF token and redirect (303) to a page that shows the result.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from careleads import report as charts
from careleads.errors import ConfigError, InputError
from careleads.service import access, publishing
from careleads.service.access import Principal, authorize
from careleads.service.audit import append_audit
from careleads.service.audit_view import AuditFilters, search_audit_log
from careleads.service.context import ServiceContext
from careleads.service.dashboard import Dashboard, dashboard, dashboard_stamp
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.leads import utcnow
from careleads.service.review import (
    NO_INTENT,
    QUEUE_SORTS,
    QUEUE_VIEWS,
    QueueQuery,
    queue_listing,
)
from careleads.service.rule_edits import (
    CONFIG_KINDS,
    config_file,
    config_history,
    save_config,
)
from careleads.service.rule_impact import rule_impact, with_version_bump
from careleads.service.unknowns import map_unknown_value, unknown_values
from careleads.service.users import end_web_session
from careleads.store import session_scope
from careleads.web._jobs import JOBS_ROLES, jobs_page
from careleads.web._security import COOKIE_NAME, WebSession, principal_of, set_cookie, sign_in
from careleads.web._state import check_csrf, render, web_state, web_user

__all__ = ["PAGE_ROLES", "CsrfForm", "build_router"]

log = logging.getLogger("careleads.web")

#: who may open each page: the role sets of the API endpoints they stand for
PAGE_ROLES: dict[str, frozenset[str]] = {
    "queue": access.REVIEW_QUEUE_READ,
    "lead": access.LEAD_READ,
    "feedback": access.FEEDBACK_CREATE,
    "models": access.MODELS_READ,
    "dashboard": access.DASHBOARD_READ,
    "rules": access.RULES_READ,
    "publish": access.MODELS_PUBLISH,
    "edit_rules": access.RULES_EDIT,
    "unknowns": access.ADMIN_ONLY,
    "jobs": JOBS_ROLES,
    "audit": access.AUDIT_READ,
}

_DONE = {
    "feedback": "Feedback saved.",
    "route": "Route changed.",
    "published": "Model published.",
    "rolled_back": "Rolled back to the previous model.",
    "hard_rules": "Hard rules saved and in force.",
    "routing": "Routing saved and in force.",
    "signed_out": "Signed out.",
    "mapped": "Value mapped; later leads are read with it.",
}

CsrfForm = Annotated[str, Form(alias="csrf_token")]


def done_message(request: Request) -> str | None:
    key = request.query_params.get("done")
    message = _DONE.get(key or "")
    lead = request.query_params.get("lead", "")
    if message and lead.isdigit():
        message = f"Lead {int(lead)}: {message[0].lower()}{message[1:]}"
    return message


def redirect_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _home_for(prefix: str, user: Principal) -> str:
    for page in ("queue", "dashboard", "models", "audit"):
        if user.role in PAGE_ROLES[page]:
            return f"{prefix}/{page}"
    return f"{prefix}/account"


def _safe_next(prefix: str, target: str | None) -> str | None:
    if target and target.startswith(prefix + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def lead_id_of(ref: str) -> int:
    match = re.fullmatch(r"([1-9][0-9]{0,9})(\.json)?", ref)
    if match is None or int(match.group(1)) > 2**31 - 1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no lead {ref!r}; lead ids are whole numbers")
    return int(match.group(1))


# --------------------------------------------------------------------------------------------- sign-in


def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:  # noqa: A002
    """The sign-in form; starts an anonymous session that carries the form's CSRF token."""
    state = web_state(request)
    web = state.codec.loads(request.cookies.get(COOKIE_NAME))
    if web is None or web.signed_in:
        web = WebSession.anonymous()
    request.state.web_session = web
    data = {"next": _safe_next(state.prefix, next), "message": done_message(request), "error": None}
    response = render(request, "login.html", data, user=None, page="login")
    set_cookie(response, request, state.codec, web, state.prefix)
    return response


def login_submit(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    csrf: CsrfForm = "",
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    """Check the token; on success a new signed-in session (new CSRF token) and a redirect."""
    state = web_state(request)
    check_csrf(request, csrf)
    with session_scope(request.app.state.sessions) as session:
        found = sign_in(session=session, token=token)
        if found is not None:
            web, user = found
            append_audit(
                session=session,
                actor=user.name,
                role=user.role,
                action="web.sign_in",
                subject=f"user:{user.id}",
                details={},
            )
    if found is None:
        anonymous = WebSession.anonymous()
        request.state.web_session = anonymous
        data = {
            "next": _safe_next(state.prefix, next),
            "message": None,
            "error": "That token is unknown, revoked or mistyped. Ask an admin for a token "
            "(careleads tokens create).",
        }
        response = render(request, "login.html", data, user=None, page="login", status_code=401)
        set_cookie(response, request, state.codec, anonymous, state.prefix)
        return response
    response = redirect_to(_safe_next(state.prefix, next) or _home_for(state.prefix, user))
    set_cookie(response, request, state.codec, web, state.prefix)
    log.info("web sign-in of user %s", user.id)
    return response


def logout_submit(request: Request, csrf: CsrfForm = "") -> Response:
    """End the session on the server (the API token stays valid) and show the sign-in form."""
    state = web_state(request)
    web = check_csrf(request, csrf)
    if web.signed_in:
        with session_scope(request.app.state.sessions) as session:
            user = principal_of(session=session, web=web)
            if web.session_id is not None:  # ended on the server: a copy of the cookie stops working too
                end_web_session(session=session, session_id=web.session_id)
            if user is not None:
                append_audit(
                    session=session,
                    actor=user.name,
                    role=user.role,
                    action="web.sign_out",
                    subject=f"user:{user.id}",
                    details={},
                )
    response = redirect_to(f"{state.prefix}/login?done=signed_out")
    response.delete_cookie(COOKIE_NAME, path=state.prefix, httponly=True, samesite="lax")
    return response


def home(request: Request) -> Response:
    """The first page of the user's role."""
    user = web_user(request)
    return redirect_to(_home_for(web_state(request).prefix, user))


def account(request: Request) -> Response:
    """Who is signed in, and which pages and API endpoints the role has."""
    user = web_user(request)
    pages = sorted(name for name, roles in PAGE_ROLES.items() if user.role in roles)
    data = {"user": {"name": user.name, "role": user.role}, "pages": pages}
    return render(request, "account.html", data, user=user, page="account")


# --------------------------------------------------------------------------------------------- queue


def _queue_links(prefix: str, data: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """Links of the queue page that keep its filters: pages, orders, saved views and tier chips."""

    def url(**changes: str | int | None) -> str:
        merged = dict(params)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        kept = {k: v for k, v in merged.items() if v}
        return f"{prefix}/queue" + (f"?{urlencode(kept)}" if kept else "")

    page, n_pages = data["page"], data["n_pages"]
    return {
        "first": url(page=1) if page > 1 else None,
        "prev": url(page=page - 1) if page > 1 else None,
        "next": url(page=page + 1) if page < n_pages else None,
        "last": url(page=n_pages) if page < n_pages else None,
        "sort": {s: url(sort=s, page=None) for s in QUEUE_SORTS},
        "view": {v: url(view=v, page=None) for v in QUEUE_VIEWS},
        "tier": {t: url(tier=t, page=None) for t in data["counts"]["by_tier"]},
        "intent": {i: url(intent=i, page=None) for i in data["counts"]["by_intent"]},
        "all": f"{prefix}/queue",
    }


def queue_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    service_line: Annotated[str | None, Query(max_length=120)] = None,
    region: Annotated[str | None, Query(max_length=120)] = None,
    tier: Annotated[str | None, Query(max_length=20)] = None,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    overdue: Annotated[bool, Query()] = False,
    intent: Annotated[str | None, Query(max_length=60)] = None,
    view: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=120)] = None,
    sort: Annotated[str, Query(max_length=20)] = "due",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    """Open review tasks: clinical triage and overdue leads pinned at the top of the first page, then the
    rest by SLA due time and score (or by ``sort``), ``page_size`` per page; filters (the message's intent
    among them, ``GET /v1/review-queue?intent=``), saved views, a search, counts and owners; a reviewer sees
    the queues they work only."""
    user = web_user(request)
    chosen_view = "overdue" if overdue and not view else view
    query = QueueQuery(
        service_line=service_line,
        region=region,
        tier=tier,
        owner=owner,
        intent=intent,
        view=chosen_view if chosen_view in QUEUE_VIEWS else None,
        search=q,
        sort=sort,
        page=page,
        page_size=page_size or ctx.settings.review_page_size,
    )
    data = queue_listing(session=session, ctx=ctx, actor=user.name, role=user.role, query=query, via="web")
    data["no_intent"] = NO_INTENT
    data["views"] = list(QUEUE_VIEWS)
    params = {k: v for k, v in request.query_params.items() if k not in ("done", "lead", "overdue")}
    if query.view:
        params["view"] = query.view
    extra = {"message": done_message(request), "links": _queue_links(web_state(request).prefix, data, params)}
    return render(request, "queue.html", data, user=user, page="queue", extra=extra)


# --------------------------------------------------------------------------------------------- lead
# the lead page and its forms: careleads.web._lead_page


# --------------------------------------------------------------------------------------------- dashboard


def _dashboard_figures(board: Dashboard) -> list[dict[str, str]]:
    """The dashboard's charts, as data URLs of server-drawn SVG."""
    tier_rows = [
        {"tier": r["tier"], "leads": r["n_matured"], "conversion_rate": r["conversion_rate"]}
        for r in board.by_tier
        if r["conversion_rate"] is not None  # too early: no bar rather than a bar of nothing
    ]
    figures: list[dict[str, str] | None] = [
        {
            "title": "Conversion by tier over time",
            "alt": "Line chart of the conversion rate of each tier per period",
            "url": charts.data_url(charts.conversion_over_time_svg(board.conversion, board.tiers)),
        },
        {
            "title": "Conversion by tier",
            "alt": "Bar chart of the conversion rate of each tier; numbers are matured leads",
            "url": charts.data_url(charts.tier_bars_svg({"window": tier_rows})),
        }
        if tier_rows
        else None,
        {
            "title": "Score distribution",
            "alt": "Histogram of the current scores of the leads in the window",
            "url": charts.data_url(
                charts.score_counts_svg(
                    board.data["score_histogram"]["edges"], board.data["score_histogram"]["counts"]
                )
            ),
        },
        {
            "title": "Queue load against team capacity",
            "alt": "Bars of open leads per staffed queue by tier, with each queue's capacity",
            "url": charts.data_url(charts.capacity_svg(board.capacity, board.tiers)),
        },
        {
            "title": "Time to first contact",
            "alt": "Bars of the median hours from receipt to first contact per tier",
            "url": charts.data_url(charts.hours_by_tier_svg(board.by_tier)),
        },
    ]
    calibration = board.data["calibration"]["points"]
    if calibration:
        figures.append(
            {
                "title": "Calibration on matured leads",
                "alt": "Reliability diagram: the probability given on arrival against the observed "
                "conversion of matured leads, in equal-count bins",
                "url": charts.data_url(
                    charts.calibration_points_svg(calibration, title="Calibration (matured leads)")
                ),
            }
        )
    for pilot in board.data["pilots"]:
        figures.append(
            {
                "title": f"Pilot {pilot['name']}: scoring against the prior routing",
                "alt": "Bars of the conversion of each arm of the pilot with 95% intervals; numbers are "
                f"leads with a known outcome (report of {pilot['reported_at']} UTC)",
                "url": charts.data_url(
                    charts.tier_bars_svg(
                        {"pilot": pilot["arms"]},
                        title="Conversion by arm, 95% intervals (numbers: leads)",
                        category="arm",
                        count="n",
                    )
                ),
            }
        )
    return [f for f in figures if f is not None]


def dashboard_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    days: Annotated[int, Query(ge=1, le=3650, description="Window in days")] = 90,
) -> Response:
    """Conversion by tier over time, scores, queue load against capacity, contact times, rates, drift.

    The figures and charts are kept for the app until the store changes (:func:`dashboard_stamp`) or the
    minute ends: the charts take most of the time of the page."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["dashboard"])
    now = utcnow()
    stamp = (days, now.replace(second=0, microsecond=0), dashboard_stamp(session))
    kept = getattr(request.app.state, "dashboard_kept", None)
    if kept is not None and kept[0] == stamp:
        board, figures = kept[1], kept[2]
    else:
        board, figures = dashboard(session=session, ctx=ctx, days=days, now=now), None
    extra: dict[str, Any] = {}
    if not request.url.path.endswith(".json") and not board.data["getting_started"]:
        figures = figures if figures is not None else _dashboard_figures(board)
        extra["figures"] = figures
    request.app.state.dashboard_kept = (stamp, board, figures)
    return render(request, "dashboard.html", board.data, user=user, page="dashboard", extra=extra)


# --------------------------------------------------------------------------------------------- models


def _card_summary(card: dict[str, Any]) -> dict[str, Any]:
    importance = card.get("feature_importance") or {}
    top = sorted(importance.items(), key=lambda kv: -float(kv[1]))[:10]
    return {
        "version": card.get("version"),
        "kind": card.get("kind"),
        "trained_at": card.get("trained_at"),
        "target": card.get("target", {}),
        "intended_use": card.get("intended_use"),
        "training_period": card.get("training_period", {}),
        "validation_period": card.get("validation_period", {}),
        "test_period": card.get("test_period", {}),
        "test_metrics": card.get("test_metrics", {}),
        "tiers": card.get("tiers", {}),
        "tier_conversion_test": card.get("tier_conversion_test", []),
        "calibration": card.get("calibration", {}),
        "calibration_curve": card.get("calibration_curve"),
        "top_features": [{"feature": k, "importance": float(v)} for k, v in top],
        "excluded_fields": card.get("excluded_fields", {}),
    }


def models_page(
    request: Request,
    ctx: ContextDep,
    version: Annotated[str | None, Query(max_length=120)] = None,
) -> Response:
    """Registered versions (``GET /v1/models``), one model card, its test figures and history."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["models"])
    listing = publishing.list_models(registry=ctx.registry, target=ctx.settings.target).model_dump(
        mode="json"
    )
    known = [m["version"] for m in listing["data"]]
    chosen = version if version in known else listing["published_version"] or (known[-1] if known else None)
    card = _card_summary(ctx.registry.card(chosen)) if chosen else None
    target = ctx.settings.target
    data = {
        **listing,
        "selected": chosen,
        "card": card,
        "history": ctx.registry.history(target),
        "rollback_to": ctx.registry.rollback_target(target),
        "may_publish": user.role in PAGE_ROLES["publish"],
    }
    extra: dict[str, Any] = {"message": done_message(request), "figures": []}
    if card and not request.url.path.endswith(".json"):
        if card["tier_conversion_test"]:
            extra["figures"].append(
                {
                    "title": "Conversion by tier on the test period",
                    "alt": "Bar chart of the test conversion rate of each tier",
                    "url": charts.data_url(charts.tier_bars_svg({"test": card["tier_conversion_test"]})),
                }
            )
        curve = card.get("calibration_curve")
        if isinstance(curve, list) and curve:
            extra["figures"].append(
                {
                    "title": "Calibration on the test period",
                    "alt": "Reliability diagram: predicted against observed conversion",
                    "url": charts.data_url(charts.calibration_points_svg(curve)),
                }
            )
    return render(request, "models.html", data, user=user, page="models", extra=extra)


def _version(ctx: ServiceContext, version: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,120}", version) or version not in {
        e.version for e in ctx.registry.versions()
    }:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"model version {version!r} is not in the registry"
        )
    return version


ReasonForm = Annotated[str, Form(max_length=2000)]


def _confirm(
    request: Request,
    user: Principal,
    data: dict[str, Any],
    *,
    problems: list[str] | None = None,
    reason: str = "",
) -> Response:
    data = {**data, "problems": problems or [], "reason": reason}
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if problems else status.HTTP_200_OK
    return render(request, "model_confirm.html", data, user=user, page="models", status_code=code)


def publish_confirm_page(request: Request, version: str, ctx: ContextDep) -> Response:
    """What publishing a version would change (the version scoring now, both models' test figures and the
    publish gate's checks) and the form that asks for a reason; the roles the API admits."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["publish"])
    version = _version(ctx, version)
    preview = publishing.publish_preview(registry=ctx.registry, version=version, monitor=ctx.settings.monitor)
    return _confirm(request, user, {"action": "publish", **preview})


def publish_submit(
    request: Request,
    version: str,
    session: SessionDep,
    ctx: ContextDep,
    csrf: CsrfForm = "",
    reason: ReasonForm = "",
) -> Response:
    """Publish a version (``POST /v1/models/{version}/publish``, audited with the reason given); the roles
    the API admits. Without a reason the confirmation page comes back with the problem."""
    user = web_user(request)
    check_csrf(request, csrf)
    authorize(user.role, PAGE_ROLES["publish"])
    version = _version(ctx, version)
    try:
        publishing.publish_model(
            session=session,
            registry=ctx.registry,
            version=version,
            actor=user.name,
            role=user.role,
            note=reason,
        )
    except InputError as exc:
        preview = publishing.publish_preview(
            registry=ctx.registry, version=version, monitor=ctx.settings.monitor
        )
        return _confirm(request, user, {"action": "publish", **preview}, problems=[str(exc)], reason=reason)
    return redirect_to(f"{web_state(request).prefix}/models?done=published&version={quote(version)}")


def rollback_confirm_page(request: Request, ctx: ContextDep) -> Response:
    """The version scoring now and the one a rollback returns to, with the form that asks for a reason."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["publish"])
    preview = publishing.rollback_preview(registry=ctx.registry, target=ctx.settings.target)
    return _confirm(request, user, {"action": "rollback", **preview})


def rollback_submit(
    request: Request, session: SessionDep, ctx: ContextDep, csrf: CsrfForm = "", reason: ReasonForm = ""
) -> Response:
    """Return to the previously published version (``POST /v1/models/rollback``, audited with the reason
    given); the roles the API admits."""
    user = web_user(request)
    check_csrf(request, csrf)
    authorize(user.role, PAGE_ROLES["publish"])
    try:
        publishing.rollback_model(
            session=session,
            registry=ctx.registry,
            target=ctx.settings.target,
            actor=user.name,
            role=user.role,
            note=reason,
        )
    except InputError as exc:
        preview = publishing.rollback_preview(registry=ctx.registry, target=ctx.settings.target)
        return _confirm(request, user, {"action": "rollback", **preview}, problems=[str(exc)], reason=reason)
    return redirect_to(f"{web_state(request).prefix}/models?done=rolled_back")


# --------------------------------------------------------------------------------------------- rules


def _rules_data(
    session: Session,
    ctx: ServiceContext,
    user: Principal,
    drafts: dict[str, tuple[str, list[str]]] | None = None,
    impact: dict[str, Any] | None = None,
) -> dict[str, Any]:
    files = []
    for kind in CONFIG_KINDS:
        current = config_file(ctx=ctx, kind=kind).to_dict()
        draft = (drafts or {}).get(kind)
        files.append(
            {
                **current,
                "shown_path": current["path"].removesuffix(f" ({current['source']})"),
                "draft": draft[0] if draft else None,
                "problems": draft[1] if draft else [],
                "checked": draft is not None,
                "impact": impact if impact is not None and impact["kind"] == kind else None,
                "history": config_history(session=session, kind=kind),
            }
        )
    return {"files": files, "may_edit": user.role in PAGE_ROLES["edit_rules"]}


def rules_page(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """Hard rules and routing in force, where each comes from, and their audited changes."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["rules"])
    data = _rules_data(session, ctx, user)
    return render(
        request, "rules.html", data, user=user, page="rules", extra={"message": done_message(request)}
    )


def rules_submit(
    request: Request,
    kind: str,
    session: SessionDep,
    ctx: ContextDep,
    text: Annotated[str, Form(max_length=200_000)],
    csrf: CsrfForm = "",
    intent: Annotated[str, Form(alias="action", pattern="^(validate|save)$")] = "validate",
) -> Response:
    """Validate edited YAML, or validate and save it (config folder, audited, in force at once); admins."""
    user = web_user(request)
    check_csrf(request, csrf)
    authorize(user.role, PAGE_ROLES["edit_rules"])
    if kind not in CONFIG_KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no configuration {kind!r}")
    text = with_version_bump(ctx=ctx, kind=kind, text=text.replace("\r\n", "\n"))
    impact: dict[str, Any] | None = None
    if intent == "save":
        try:
            save_config(session=session, ctx=ctx, kind=kind, text=text, actor=user.name, role=user.role)
        except ConfigError as exc:
            problems = str(exc).split("\n")
        else:
            return redirect_to(f"{web_state(request).prefix}/rules?done={kind}")
    else:
        try:
            impact = rule_impact(session=session, ctx=ctx, kind=kind, text=text).to_dict()
            problems = []
        except ConfigError as exc:
            problems = str(exc).split("\n")
    data = _rules_data(session, ctx, user, drafts={kind: (text, problems)}, impact=impact)
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if problems else status.HTTP_200_OK
    message = None if problems else "The text is valid; read the changes below, then save to put it in force."
    return render(
        request, "rules.html", data, user=user, page="rules", status_code=code, extra={"message": message}
    )


# --------------------------------------------------------------------------------------------- unknowns


def unknowns_page(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """Values stored leads hold that the dictionary does not know (``GET /v1/admin/unknown-values``), each
    with a one-click mapping to a known value or a new one; admins only."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["unknowns"])
    items = unknown_values(session=session, ctx=ctx, actor=user.name, role=user.role)
    data = {"data": [u.to_dict() for u in items], "count": len(items)}
    message = done_message(request)
    mapped = request.query_params.get("n")
    if message and mapped and mapped.isdigit():
        message += f" {int(mapped)} stored lead(s) read again and re-scored."
    return render(request, "unknowns.html", data, user=user, page="unknowns", extra={"message": message})


def unknowns_submit(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    field: Annotated[str, Form(min_length=1, max_length=120)],
    value: Annotated[str, Form(min_length=1, max_length=100)],
    to: Annotated[str, Form(max_length=100)] = "",
    new_value: Annotated[str, Form(alias="new", max_length=100)] = "",
    csrf: CsrfForm = "",
) -> Response:
    """Map a value (``POST /v1/admin/unknown-values/map``, audited): to a listed value, or to the new value
    typed in; the stored leads with it are read again and re-scored. Admins only."""
    user = web_user(request)
    check_csrf(request, csrf)
    authorize(user.role, PAGE_ROLES["unknowns"])
    result = map_unknown_value(
        session=session,
        ctx=ctx,
        field=field,
        value=value,
        to=new_value.strip() or to,
        actor=user.name,
        role=user.role,
    )
    return redirect_to(f"{web_state(request).prefix}/unknowns?done=mapped&n={result.n_renormalised}")


# --------------------------------------------------------------------------------------------- audit


def audit_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    lead: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Annotated[date | None, Query(description="First day (UTC), included")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), included")] = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    upto: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    """The audit log (``GET /v1/audit``) newest first, filtered by actor, action, lead and days, 50 entries a
    page; auditors and admins. Reading it is audited."""
    user = web_user(request)
    authorize(user.role, PAGE_ROLES["audit"])
    filters = AuditFilters(
        actor=actor or None, action=action or None, lead_id=lead, since=since, until=until, upto=upto
    )
    found = search_audit_log(session=session, actor=user.name, role=user.role, filters=filters, page=page)
    query = {k: v for k, v in filters.to_dict().items() if v is not None}
    query["upto"] = found.upto  # the page links show the log as it was at the first page
    if "lead_id" in query:
        query["lead"] = query.pop("lead_id")
    data = {**found.to_dict(), "filters": filters.to_dict(), "query": query}
    return render(request, "audit.html", data, user=user, page="audit")


# --------------------------------------------------------------------------------------------- router


def _twin(router: APIRouter, path: str, endpoint: Any, name: str) -> None:
    """A page at `path` and its JSON twin at `path`.json."""
    router.add_api_route(path, endpoint, methods=["GET"], name=name, include_in_schema=False)
    router.add_api_route(
        path + ".json", endpoint, methods=["GET"], name=name + "_json", include_in_schema=False
    )


def build_router(prefix: str) -> APIRouter:
    """Every page and form under `prefix` (not in the OpenAPI schema: the API documents the same data)."""
    router = APIRouter(route_class=TransactionRoute, prefix=prefix)
    post: dict[str, Any] = {"methods": ["POST"], "include_in_schema": False}
    router.add_api_route("/", home, methods=["GET"], name="web_home", include_in_schema=False)
    router.add_api_route("/login", login_page, methods=["GET"], name="web_login", include_in_schema=False)
    router.add_api_route("/login", login_submit, name="web_login_submit", **post)
    router.add_api_route("/logout", logout_submit, name="web_logout", **post)
    _twin(router, "/account", account, "web_account")
    _twin(router, "/queue", queue_page, "web_queue")
    _twin(router, "/dashboard", dashboard_page, "web_dashboard")
    _twin(router, "/models", models_page, "web_models")
    _twin(router, "/models/rollback", rollback_confirm_page, "web_rollback_confirm")
    router.add_api_route("/models/rollback", rollback_submit, name="web_rollback", **post)
    _twin(router, "/models/{version}/publish", publish_confirm_page, "web_publish_confirm")
    router.add_api_route("/models/{version}/publish", publish_submit, name="web_publish", **post)
    _twin(router, "/rules", rules_page, "web_rules")
    router.add_api_route("/rules/{kind}", rules_submit, name="web_rules_submit", **post)
    _twin(router, "/audit", audit_page, "web_audit")
    _twin(router, "/unknowns", unknowns_page, "web_unknowns")
    router.add_api_route("/unknowns/map", unknowns_submit, name="web_unknowns_map", **post)
    _twin(router, "/jobs", jobs_page, "web_jobs")
    return router
