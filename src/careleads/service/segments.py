"""Scoring returning and partnership leads in the running service: checked, scored and decided, not stored.

Records are checked against the segment's own dictionary tables (partnership leads against
``partnership_leads`` and ``partnership_events``; returning leads against ``leads`` and ``events``), scored by
the segment's published model or, when none is published, by its rule baseline (and the answer says so),
and decided by the service's hard rules and routing through :func:`careleads.segments.decide_segment`, the
code batch files use. A stored lead whose new event is a return is scored by the returning segment too
(:func:`score_if_returning`, called when the lead is re-scored).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careleads.models import DEFAULT_SEGMENT
from careleads.segments import decide_segment, first_returns, get_segment, score_returning, score_segment
from careleads.service._records import LeadValidationError, utcnow, validate_table
from careleads.service.context import ServiceContext
from careleads.store import Lead, Outcome

__all__ = ["baseline_note", "score_if_returning", "score_segment_records"]

log = logging.getLogger("careleads.service")


def baseline_note(segment: str) -> str:
    """The note of a lead scored by its segment's rule baseline."""
    return (
        f"no published {segment} model: scored by the {segment} rule baseline (uncalibrated points); "
        f"train one with `careleads train --segment {segment}` and publish it"
    )


def _events_of(
    ctx: ServiceContext, events: Sequence[Mapping[str, Any]], table: str, lead_ids: set[str]
) -> pd.DataFrame | None:
    if not events:
        return None
    unknown = sorted({str(e.get("lead_id")) for e in events} - lead_ids)
    if unknown:
        raise LeadValidationError(
            f"events of leads not in the request: {unknown[:5]}",
            [
                {
                    "field": "lead_id",
                    "message": f"every event needs the lead_id of a lead in the request: {unknown[:5]}",
                }
            ],
        )
    clean, _ignored, _flags = validate_table(ctx, events, table)
    frame: pd.DataFrame = clean
    return frame


def score_segment_records(
    *,
    ctx: ServiceContext,
    segment: str,
    records: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Check, score and decide returning or partnership leads without storing them (no owner is assigned).

    Parameters
    ----------
    segment : {"returning", "partnership"}
        Which leads these are.
    records : sequence of mappings
        The leads, in the segment's dictionary field names (or aliases).
    events : sequence of mappings
        Their events, each with the ``lead_id`` of a lead in `records`. Returning leads need them: a return
        is the first activity after at least 60 quiet days, and is scored 24 hours after it began.

    Returns
    -------
    list of dict
        One decision per scored lead (``Decision.to_dict()`` plus ``segment``, ``fallback``,
        ``ignored_fields``, ``flagged_fields`` (values kept as written and scored as unknown) and, for
        returning leads, ``quiet_days``).

    Raises
    ------
    LeadValidationError
        When the dictionary rejects a lead or an event, ids repeat, or (returning) a lead has no return.
    """
    chosen = get_segment(segment)
    if segment == DEFAULT_SEGMENT:
        raise LeadValidationError(
            "new patient leads are scored without a segment",
            [{"field": "segment", "message": "leave out segment for new patient leads"}],
        )
    now = now or utcnow()
    table = ctx.dictionary.table(chosen.leads_table)
    key, time_column = str(table.key), str(table.time_column)
    prepared = [{**r, time_column: r.get(time_column) or now.isoformat()} for r in records]
    clean, ignored, flags = validate_table(ctx, prepared, chosen.leads_table)
    ids = clean[key].astype("string")
    flags_of = dict(zip(ids.tolist(), flags, strict=True))  # a row per record: none was refused
    if ids.duplicated().any():
        raise LeadValidationError(
            "lead ids repeat in the request", [{"field": key, "message": "every lead needs its own id"}]
        )
    clean_events = _events_of(ctx, events, chosen.events_table, set(ids.tolist()))
    scorer, fallback = ctx.segments.current(segment)
    if segment == "returning" and clean_events is None:
        raise LeadValidationError(
            "returning leads need their events",
            [{"field": "events", "message": "give each returning lead's events (a return is found in them)"}],
        )
    scored = score_segment(segment, scorer, clean, clean_events).reset_index(drop=True)
    missing = sorted(set(ids.tolist()) - set(scored["lead_id"].astype(str)))
    if missing:
        message = (
            "no return in these leads' events (no activity after 60 quiet days, or the lead converted "
            f"first): {missing[:5]}; score them as new leads, without a segment"
        )
        raise LeadValidationError(message, [{"field": "events", "message": message}])
    decisions = decide_segment(
        segment, clean, scored, routing=ctx.routing, hard_rules=ctx.hard_rules, now=pd.Timestamp(now)
    )
    out = []
    for row, decision in zip(scored.to_dict("records"), decisions, strict=True):
        d: dict[str, Any] = decision.to_dict()
        d["route"]["owner"] = None
        d["segment"] = segment
        d["fallback"] = fallback
        if fallback:
            d["notes"] = [*d["notes"], baseline_note(segment)]
        d["ignored_fields"] = ignored
        d["flagged_fields"] = [f.to_dict() for f in flags_of.get(str(row["lead_id"]), [])]
        if "quiet_days" in row:
            d["quiet_days"] = float(row["quiet_days"])
        out.append(d)
    log.info("scored %d %s leads (fallback %s)", len(out), segment, fallback)
    return out


def score_if_returning(
    *,
    session: Session,
    ctx: ServiceContext,
    lead: Lead,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Any], str] | None:
    """A stored lead's score as a returning lead, when its events show a return; else None.

    The return is found by the rule of batch files and training (:func:`careleads.segments.first_returns`:
    the first activity after 60 quiet days or more, later than the lead's first scoring moment), unless the
    lead reached the target outcome before it. The returning segment's published model scores it at the
    return's scoring moment, or its rule baseline when none is published.

    Returns
    -------
    (dict, str) or None
        The scored row (``DECISION_COLUMNS`` plus ``fallback``) and the note that says how it was scored.
    """
    stamps = sorted(pd.Timestamp(e["occurred_at"]) for e in events if e.get("occurred_at") is not None)
    if not stamps:
        return None
    scorer, fallback = ctx.segments.current("returning")
    hours = scorer.target.as_of_hours or get_segment("returning").target.as_of_hours
    at = np.array(stamps, dtype="datetime64[ns]")
    born = np.full(len(at), pd.Timestamp(lead.created_at).to_datetime64()).astype("datetime64[ns]")
    rows, previous, gap = first_returns(np.zeros(len(at), dtype=np.intp), at, born, as_of_hours=hours)
    if not len(rows):
        return None
    returned_at = pd.Timestamp(at[rows[0]])
    converted = session.scalar(
        select(func.min(Outcome.occurred_at)).where(
            Outcome.lead_id == lead.id, Outcome.outcome == scorer.target.outcome
        )
    )
    if converted is not None and pd.Timestamp(converted) <= returned_at:
        return None
    key, time_column = str(ctx.spec.key), str(ctx.spec.time_column)
    leads = pd.DataFrame([{**record, time_column: pd.Timestamp(record[time_column])}])
    frame = pd.DataFrame(
        {
            "lead_id": pd.Series([str(record[key])] * len(events), dtype="string"),
            "occurred_at": pd.to_datetime(pd.Series([e.get("occurred_at") for e in events])),
            "event_type": pd.Series([e.get("event_type") for e in events], dtype="string"),
            "page": pd.Series([e.get("page") for e in events], dtype="string"),
        }
    )
    returns = pd.DataFrame(
        {
            "lead_id": [str(record[key])],
            "last_contact_at": [pd.Timestamp(previous[0])],
            "returned_at": [returned_at],
            "as_of": [returned_at + pd.Timedelta(hours=hours)],
            "quiet_days": [float(gap[0])],
        }
    )
    row = score_returning(scorer, leads, frame, returns).iloc[0].to_dict()
    scored = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items() if k != "quiet_days"}
    scored["fallback"] = fallback
    by = (
        "the returning rule baseline (no published returning model)"
        if fallback
        else f"the returning model {scorer.version}"
    )
    note = f"returning lead: back after {float(gap[0]):.0f} quiet days, scored at its return by {by}"
    log.info("lead %s scored as returning (fallback %s)", lead.id, fallback)
    return scored, note
