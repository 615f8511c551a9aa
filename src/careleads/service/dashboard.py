"""The manager dashboard's figures, from the operational store, through the monitoring use cases.

One row per lead created in the window (default the last 90 days), with what was decided when it arrived
(the first ledger entry: probability, tier, manual review, overrides) and what happened since:

- converted: known only once the lead's outcome window has fully passed (:meth:`Target.matured`, the rule
  labels and monitoring use too), converted or not, so early converters never count before the leads that
  will not convert; then converted when the target outcome (e.g. ``appointment_scheduled`` within 30 days)
  was recorded in the window or a reviewer labelled the lead ``scheduled``, not converted otherwise; open
  (left out of conversion rates) before. A tier with fewer than ``monitor.min_matured_leads`` matured
  leads gets no rate: "too early", with how many more leads mature and when;
- hours to first contact: from receipt to the first reviewer feedback or the first contact outcome
  (``intake_call_completed``);
- SLA breached: the review task was closed (or is still open) after its SLA due time.

The figures are :func:`careleads.stats.business_outcomes`,
:func:`~careleads.stats.calibration_by_tier` (by period) and
:func:`~careleads.stats.drift_report` (the last 30 days against the rest of the window).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careleads.dictionary import FLAGS_KEY
from careleads.features import Target
from careleads.monitoring import pilot_results
from careleads.service._records import utcnow
from careleads.service.context import ServiceContext
from careleads.stats import (
    business_outcomes,
    calibration_by_tier,
    calibration_curve_points,
    drift_report,
    expected_calibration_error,
)
from careleads.store import Feedback, Lead, Outcome, ReviewTask, ScoreEntry

__all__ = [
    "CONTACT_OUTCOMES",
    "GETTING_STARTED",
    "Dashboard",
    "MIN_DRIFT_LEADS",
    "dashboard",
    "dashboard_stamp",
]

CONTACT_OUTCOMES: tuple[str, ...] = ("intake_call_completed",)
#: each drift window needs this many leads before a status is given (PSI over 10 buckets is noisy below)
MIN_DRIFT_LEADS = 200
RECENT_DAYS = 30
_NO_TIER = "none"
#: what an empty store shows instead of blank charts: the real commands that fill it
GETTING_STARTED: tuple[dict[str, str], ...] = (
    {"step": "Try the whole loop on synthetic data", "command": "careleads demo --out demo"},
    {"step": "Or simulate a CRM export", "command": "careleads generate --out export --leads 5000"},
    {"step": "Train the rule baseline and a calibrated model", "command": "careleads train export"},
    {"step": "Publish the model that should score leads", "command": "careleads models publish VERSION"},
    {"step": "Send leads: POST /v1/leads from the CRM or web forms", "command": "careleads sync hubspot"},
)


@dataclass
class Dashboard:
    """The JSON-ready figures (``data``) and the frames the charts are drawn from."""

    data: dict[str, Any]
    tiers: list[str]
    conversion: pd.DataFrame
    scores: np.ndarray
    capacity: list[dict[str, Any]]
    by_tier: list[dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _target(ctx: ServiceContext) -> Target:
    model = ctx.scorer.model()
    if model is not None:
        return Target(outcome=str(model.target.outcome), window_days=int(model.target.window_days))
    match = re.fullmatch(r"(.+)_(\d+)d", ctx.settings.target)
    if match is None:
        return Target(outcome=ctx.settings.target, window_days=30)
    return Target(outcome=match.group(1), window_days=int(match.group(2)))


def _tiers(ctx: ServiceContext, found: pd.Series) -> list[str]:
    model = ctx.scorer.model()
    names = [str(t) for t in model.tiers.names] if model is not None else ["A", "B", "C", "D"]
    extra = sorted(set(found.astype(str)) - set(names))
    return names + extra


def _lead_frame(session: Session, *, since: datetime, now: datetime, target: Target) -> pd.DataFrame:
    first = (
        select(
            ScoreEntry.lead_id,
            func.min(ScoreEntry.id).label("first_id"),
            func.max(ScoreEntry.id).label("last_id"),
        )
        .group_by(ScoreEntry.lead_id)
        .subquery()
    )
    rows = session.execute(
        select(Lead.id, Lead.created_at, Lead.received_at, Lead.fields, first.c.first_id, first.c.last_id)
        .join(first, first.c.lead_id == Lead.id)
        .where(Lead.created_at >= since)
        .order_by(Lead.id)
    ).all()
    if not rows:
        return pd.DataFrame()
    entry_ids = {r.first_id for r in rows} | {r.last_id for r in rows}
    # only the columns read below: the ledger's other JSON columns (reasons, route) are not decoded
    wanted = (
        ScoreEntry.id,
        ScoreEntry.tier,
        ScoreEntry.probability,
        ScoreEntry.score,
        ScoreEntry.scored_by,
        ScoreEntry.review_required,
        ScoreEntry.overrides,
    )
    entries = {e.id: e for e in session.execute(select(*wanted).where(ScoreEntry.id.in_(entry_ids)))}
    lead_since = select(Lead.id).where(Lead.created_at >= since)
    outcomes = session.execute(
        select(Outcome.lead_id, Outcome.outcome, Outcome.occurred_at).where(Outcome.lead_id.in_(lead_since))
    ).all()
    feedback = session.execute(
        select(Feedback.lead_id, Feedback.label, Feedback.created_at)
        .where(Feedback.lead_id.in_(lead_since))
        .order_by(Feedback.id)
    ).all()
    tasks = session.execute(
        select(ReviewTask.lead_id, ReviewTask.sla_due, ReviewTask.closed_at, ReviewTask.status).where(
            ReviewTask.lead_id.in_(lead_since)
        )
    ).all()

    outcome = target.outcome
    target_at: dict[int, datetime] = {}
    contact_at: dict[int, datetime] = {}
    for o in outcomes:
        if o.outcome == outcome:
            target_at[o.lead_id] = min(target_at.get(o.lead_id, o.occurred_at), o.occurred_at)
        if o.outcome in CONTACT_OUTCOMES:
            contact_at[o.lead_id] = min(contact_at.get(o.lead_id, o.occurred_at), o.occurred_at)
    labels: dict[int, list[str]] = {}
    for f in feedback:
        labels.setdefault(f.lead_id, []).append(f.label)  # ordered by id: the latest label last
        contact_at[f.lead_id] = min(contact_at.get(f.lead_id, f.created_at), f.created_at)
    breached: dict[int, bool] = {}
    for t in tasks:
        if t.sla_due is None or t.status == "erased":
            continue
        end = t.closed_at if t.closed_at is not None else now
        breached[t.lead_id] = breached.get(t.lead_id, False) or end > t.sla_due

    window = timedelta(days=target.window_days)
    records = []
    for r in rows:
        first_entry, last_entry = entries[r.first_id], entries[r.last_id]
        reached = target_at.get(r.id)
        given = labels.get(r.id, [])
        latest = given[-1] if given else None
        if not target.matured(r.created_at, now):
            converted = math.nan
        elif (reached is not None and reached - r.created_at <= window) or "scheduled" in given:
            converted = 1.0
        else:
            converted = 0.0
        contact = contact_at.get(r.id)
        hours = (contact - r.received_at).total_seconds() / 3600 if contact is not None else math.nan
        records.append(
            {
                "lead_id": r.id,
                "created_at": r.created_at,
                "tier": first_entry.tier or _NO_TIER,
                "probability": float(first_entry.probability),
                "score": int(last_entry.score),
                "scored_by": first_entry.scored_by,
                "manual_review": bool(first_entry.review_required),
                "override": ";".join(str(o.get("rule", "")) for o in first_entry.overrides) or None,
                "feedback": latest,
                "feedback_labels": given,
                "converted": converted,
                "matures_at": target.matures_at(r.created_at),
                "hours_to_first_contact": hours if hours >= 0 else math.nan,
                "sla_breached": breached.get(r.id, False),
                **{f"field__{k}": v for k, v in (r.fields or {}).items() if k != FLAGS_KEY},
            }
        )
    return pd.DataFrame.from_records(records)


def _by_load(row: dict[str, Any]) -> tuple[float, str]:
    load = row["load"]
    return (-(float(load) if load is not None else 0.0), str(row["queue"]))


def _capacity(session: Session, ctx: ServiceContext, tiers: list[str]) -> list[dict[str, Any]]:
    """Open review tasks per staffed queue and tier, against the sum of the owners' capacities."""
    counts = session.execute(
        select(ReviewTask.queue, ReviewTask.tier, func.count())
        .where(ReviewTask.status == "open")
        .group_by(ReviewTask.queue, ReviewTask.tier)
    ).all()
    by_queue: dict[str, dict[str, int]] = {}
    for queue, tier, n in counts:
        key = str(tier) if str(tier) in tiers else "other"
        by_queue.setdefault(str(queue), {})
        by_queue[str(queue)][key] = by_queue[str(queue)].get(key, 0) + int(n)
    rows = []
    for name, spec in ctx.routing.queues.items():
        if not spec.owners:
            continue
        open_by_tier = by_queue.get(name, {})
        n_open = sum(open_by_tier.values())
        capacity = int(sum(spec.capacity[o] for o in spec.owners))
        rows.append(
            {
                "queue": name,
                "owners": list(spec.owners),
                "capacity": capacity,
                "n_open": n_open,
                "open_by_tier": open_by_tier,
                "load": n_open / capacity if capacity else None,
                "over_capacity": n_open > capacity,
            }
        )
    rows.sort(key=_by_load)
    return rows


def _drift(frame: pd.DataFrame, ctx: ServiceContext, now: datetime) -> dict[str, Any]:
    start = now - timedelta(days=RECENT_DAYS)
    created = pd.to_datetime(frame["created_at"])
    ref, cur = frame[created < start], frame[created >= start]
    window = {
        "reference": f"leads created before {start.date().isoformat()} in the window",
        "current": f"leads created in the last {RECENT_DAYS} days",
        "n_reference": len(ref),
        "n_current": len(cur),
    }
    if min(len(ref), len(cur)) < MIN_DRIFT_LEADS:
        return {
            **window,
            "status": "pending",
            "summary": [
                f"Drift needs {MIN_DRIFT_LEADS} leads in each window; there are {len(ref)} before and "
                f"{len(cur)} in the last {RECENT_DAYS} days. Run careleads monitor on an export for the "
                "full check."
            ],
            "columns": [],
        }
    model = ctx.scorer.model()
    features = set(model.features) if model is not None else set()
    columns = [c for c in frame.columns if c.startswith("field__") and c[len("field__") :] in features]
    renamed = {c: c[len("field__") :] for c in columns}
    report = drift_report(
        ref[[*columns, "probability"]].rename(columns=renamed),
        cur[[*columns, "probability"]].rename(columns=renamed),
        columns=list(renamed.values()),
        score_col="probability",
    )
    data = report.to_dict()
    return {
        **window,
        "status": report.status,
        "summary": report.summary_lines(),
        "columns": data.get("columns", []),
    }


def _calibration(frame: pd.DataFrame, needed: int) -> dict[str, Any]:
    """Predicted (on arrival) against observed conversion of the matured leads, in equal-count bins of at
    least `needed` leads each (at most 10); no points while fewer than `needed` leads have matured."""
    matured = frame[frame["converted"].notna()]
    n = len(matured)
    if n < max(needed, 1):
        return {"n_matured": n, "points": [], "ece": None}
    y = matured["converted"].to_numpy(dtype=float)
    p = matured["probability"].to_numpy(dtype=float)
    bins = max(1, min(10, n // max(needed, 1)))
    points = [
        {"predicted": pred, "observed": obs, "n": int(size)}
        for pred, obs, size in calibration_curve_points(y, p, n_bins=bins)
    ]
    return {"n_matured": n, "points": points, "ece": expected_calibration_error(y, p, n_bins=bins)}


def dashboard_stamp(session: Session) -> tuple[Any, ...]:
    """What the dashboard's figures are made of, in a few indexed lookups: the newest ledger entry, outcome,
    feedback and review task, how many tasks are open and when the last one closed. Equal stamps (within the
    same minute, for the figures that depend on the time) mean equal figures, so a page may reuse them."""
    return (
        session.scalar(select(func.max(ScoreEntry.id))),
        session.scalar(select(func.max(Outcome.id))),
        session.scalar(select(func.max(Feedback.id))),
        session.scalar(select(func.max(ReviewTask.id))),
        session.scalar(select(func.count()).select_from(ReviewTask).where(ReviewTask.status == "open")),
        session.scalar(select(func.max(ReviewTask.closed_at))),
        session.scalar(select(func.count()).select_from(Lead).where(Lead.erased.is_(True))),
    )


def _store_is_empty(session: Session) -> bool:
    return session.scalar(select(Lead.id).limit(1)) is None


def _too_early(result: dict[str, Any], frame: pd.DataFrame, needed: int) -> None:
    """For each tier with too few matured leads (no rate shown): how many more leads mature, and when the
    tier reaches `needed` matured leads (or, short of that, when its last open lead matures). The tier's
    summary line (the i-th, as :meth:`BusinessOutcomes.summary_lines` writes them) says so too."""
    for i, row in enumerate(result["by_tier"]):
        row["too_early"] = None
        if row["conversion_rate"] is not None or row["n_leads"] == 0:
            continue
        in_tier = frame[(frame["tier"] == row["tier"]) & frame["converted"].isna()]
        dates = sorted(pd.Timestamp(d) for d in in_tier["matures_at"])
        if not dates:
            continue
        short = max(needed - int(row["n_matured"]), 1)
        on = dates[min(short, len(dates)) - 1]
        n = sum(1 for d in dates if d <= on)
        text = f"Too early: {n} more lead{'s' if n != 1 else ''} mature by {on.strftime('%-d %b %Y')}"
        row["too_early"] = {"n": n, "on": on.isoformat(), "text": text}
        matured = f"{row['n_matured']} matured"
        result["summary"][i] = f"Tier {row['tier']}: {text[0].lower()}{text[1:]} ({matured})."


def _pilots(ctx: ServiceContext, now: datetime) -> list[dict[str, Any]]:
    """Each pilot's latest report (``careleads pilot report`` keeps it in the data folder), with its age:
    the arms' conversion and 95% intervals (random assignment) or the rankings' shares (shadow)."""
    shown = []
    for result in pilot_results(ctx.settings.data_dir / "pilots"):
        comparison = result.get("comparison") or {}
        if "treatment" in comparison and "control" in comparison:
            arms = [
                {
                    "arm": str(a["arm"]),
                    "n": a["n"],
                    "n_converted": a["n_converted"],
                    "conversion_rate": a["conversion_rate"],
                    "ci_low": a["conversion_ci"][0],
                    "ci_high": a["conversion_ci"][1],
                }
                for a in (comparison["treatment"], comparison["control"])
            ]
        else:
            arms = [
                {"arm": str(r["arm"]), "n": r.get("leads"), "conversion_rate": r.get("conversion_rate")}
                for r in result.get("conversion_by_arm") or []
            ]
        reported = datetime.fromisoformat(str(result["reported_at"])).astimezone(UTC).replace(tzinfo=None)
        shown.append(
            {
                "name": result["definition"]["name"],
                "mode": result["definition"].get("mode", "random"),
                "decision": result["decision"],
                "reported_at": reported.isoformat(timespec="minutes"),
                "days_old": max(0, (now - reported).days),
                "arms": arms,
            }
        )
    return shown


def dashboard(
    *, session: Session, ctx: ServiceContext, days: int = 90, now: datetime | None = None
) -> Dashboard:
    """Conversion by tier over time, score distribution, queue load against capacity, time to first contact,
    manual review and override rates, drift status, for the leads created in the last `days` days.

    Parameters
    ----------
    session : Session
        A session of the store (read only).
    ctx : ServiceContext
        Routing (queue capacities) and the published model (tiers, target, features).
    days : int, default 90
        The window, in days before `now`.
    now : datetime, optional
        Naive UTC; default now.

    Returns
    -------
    Dashboard
    """
    now = now or utcnow()
    since = now - timedelta(days=days)
    target = _target(ctx)
    outcome, window_days = target.outcome, target.window_days
    frame = _lead_frame(session, since=since, now=now, target=target)
    tiers = _tiers(ctx, frame["tier"] if len(frame) else pd.Series(dtype=str))
    capacity = _capacity(session, ctx, tiers)
    base: dict[str, Any] = {
        "window": {"days": days, "since": since.isoformat(), "until": now.isoformat()},
        "target": {"outcome": outcome, "window_days": window_days},
        "n_leads": len(frame),
        "tiers": tiers,
        "capacity": capacity,
        "min_matured_leads": ctx.settings.monitor.min_matured_leads,
        "getting_started": [],
        "pilots": _pilots(ctx, now),
    }
    if len(frame) == 0:
        base.update(
            {
                "summary": [f"No lead was created in the last {days} days."],
                "by_tier": [],
                "rates": {},
                "conversion_over_time": [],
                "score_histogram": {"edges": [], "counts": []},
                "tier_shares": [],
                "drift": {"status": "pending", "summary": ["No leads in the window."], "columns": []},
                "calibration": {"n_matured": 0, "points": [], "ece": None},
                "feedback_counts": {},
                "notes": [],
                "getting_started": list(GETTING_STARTED) if _store_is_empty(session) else [],
            }
        )
        return Dashboard(base, tiers, pd.DataFrame(), np.array([]), capacity, [])
    present = [t for t in tiers if (frame["tier"] == t).any()]
    business = business_outcomes(
        frame,
        tier_col="tier",
        converted_col="converted",
        prob_col="probability",
        hours_to_contact_col="hours_to_first_contact",
        manual_review_col="manual_review",
        override_col="override",
        feedback_col="feedback",
        sla_breach_col="sla_breached",
        period=f"the last {days} days",
        tier_order=present,
        min_matured=ctx.settings.monitor.min_matured_leads,
    )
    freq = "W-MON" if days <= 45 else "MS"
    conversion = calibration_by_tier(
        frame,
        tier_col="tier",
        prob_col="probability",
        label_col="converted",
        time_col="created_at",
        freq=freq,
        tier_order=present,
    )
    # a tier's period with fewer matured leads than a rate needs shows none (as the by-tier table)
    thin = conversion["n"] < ctx.settings.monitor.min_matured_leads if len(conversion) else None
    if thin is not None and bool(thin.any()):
        rates = [c for c in ("observed_rate", "ci_low", "ci_high", "difference") if c in conversion.columns]
        conversion = conversion.astype(dict.fromkeys(rates, float))
        conversion.loc[thin, rates] = math.nan
        conversion.loc[thin, "status"] = "pending"
    scores = frame["score"].to_numpy(dtype=float)
    counts, edges = np.histogram(scores, bins=np.arange(0, 105, 5))
    model = ctx.scorer.model()
    intended = dict(zip(model.tiers.names, model.tiers.shares, strict=True)) if model is not None else {}
    shares = [
        {
            "tier": t,
            "n_leads": int((frame["tier"] == t).sum()),
            "share": float((frame["tier"] == t).mean()),
            "intended_share": intended.get(t),
        }
        for t in tiers
    ]
    result = business.to_dict()
    _too_early(result, frame, ctx.settings.monitor.min_matured_leads)
    base.update(
        {
            "summary": result["summary"],
            "by_tier": result["by_tier"],
            "rates": {
                "manual_review_rate": result["manual_review_rate"],
                "override_rate": result["override_rate"],
                "sla_breach_rate": result["sla_breach_rate"],
                "median_hours_to_first_contact": result["median_hours_to_first_contact"],
                "scored_by_rules_rate": float((frame["scored_by"] == "rules").mean()),
            },
            # every label given, not only each lead's latest (business_outcomes counts those)
            "feedback_counts": dict(
                sorted(
                    pd.Series([x for g in frame["feedback_labels"] for x in g], dtype=object)
                    .value_counts()
                    .items()
                )
            ),
            "conversion_over_time": _records(conversion),
            "period_freq": freq,
            "score_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
            "tier_shares": shares,
            "drift": _drift(frame, ctx, now),
            "calibration": _calibration(frame, ctx.settings.monitor.min_matured_leads),
            "notes": result["notes"],
        }
    )
    return Dashboard(base, tiers, conversion, scores, capacity, result["by_tier"])
