"""Batch decisions as columns: what a batch file records of the decision policy, without per-lead objects.

:func:`decide_many` returns one :class:`Decision` object per lead, which costs far more than the policy itself
at a million leads. A batch file does not carry owners (they are assigned when leads enter the work queue),
so everything it records is the policy's answer (:func:`careleads.decisions._policy.apply_policy`), written
as columns: each distinct value once, spread over the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from careleads.columns import categories_by_code, text_by_code
from careleads.decisions._fields import LeadFields, join_scores
from careleads.decisions._intent import (
    INTENT,
    INTENT_PROBABILITY,
    IntentModel,
    checked_intent_model,
    frame_with_intent,
)
from careleads.decisions._overrides import HardRules
from careleads.decisions._policy import apply_policy, decision_time, policy_for
from careleads.decisions._routing import Routing
from careleads.decisions._triage import LEVEL_NAMES, TextFields, UrgentDetector, later_texts_of_events

#: the columns of :func:`decisions_frame` that depend on the lead alone (not on the work queue's owners)
BATCH_DECISION_COLUMNS: tuple[str, ...] = (
    "action",
    "review_required",
    "urgent_review",
    "triage",
    "notes",
    "rules_version",
    "routing_version",
    "overrides",
    "route_name",
    "route_kind",
    "route_queue",
    "route_call_script",
    "route_intake_form",
    "route_sla_hours",
    "route_sla_due",
    "route_nurture_track",
    "route_channels",
    "intent",
    "intent_probability",
)


def decide_columns(
    leads_frame: pd.DataFrame,
    scored_frame: pd.DataFrame,
    *,
    hard_rules: HardRules | None = None,
    routing: Routing | None = None,
    now: pd.Timestamp | str | None = None,
    urgent_detector: UrgentDetector | None = None,
    key: str = "lead_id",
    categorical: bool = False,
    intent_model: IntentModel | None = None,
    events: pd.DataFrame | None = None,
    text_fields: TextFields | None = None,
) -> pd.DataFrame:
    """The lead-level decision columns of every scored lead, as :func:`decisions_frame` would give them.

    Parameters
    ----------
    leads_frame, scored_frame, hard_rules, routing, now, urgent_detector, key, intent_model, events
        As for :func:`decide_many`: the texts of the events (messages) are triaged with the leads' own.
    text_fields : TextFields, optional
        As for :func:`decide_many`.
    categorical : bool
        Give the text columns as pandas categoricals (the same values): a batch file then writes each as a
        dictionary of its few distinct values without hashing every row's text.

    Returns
    -------
    DataFrame
        `BATCH_DECISION_COLUMNS` (action, overrides, notes, review flags, triage level, versions and the route
        fields except owner and assignment) and the intent with its probability, one row per row of
        `scored_frame`, in its order.

    Raises
    ------
    InputError
        As :func:`decide_many`.
    """
    policy = policy_for(hard_rules, routing)
    texts = categories_by_code if categorical else text_by_code
    frame = join_scores(leads_frame, scored_frame, key)
    n = len(frame)
    if n == 0:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in BATCH_DECISION_COLUMNS})
    model = checked_intent_model(intent_model, policy.routing, policy.hard_rules)
    frame = frame_with_intent(frame, model, policy.routing.intent_field)
    later = later_texts_of_events(frame[key], events, text_fields) if events is not None else None
    fields = LeadFields.of_frame(frame, urgent_detector, text_fields, later)
    verdicts = apply_policy(fields, policy, decision_time(now))
    routes, route = verdicts.routes, verdicts.route
    once = np.zeros(n, dtype=np.int64)
    due = [verdicts.due.get(code) for code in range(len(routes))]
    sla_hours = np.empty(len(routes), dtype=object)
    sla_hours[:] = [s.sla_hours for s in routes]
    columns = {
        "action": texts(verdicts.actions, verdicts.action),
        "review_required": verdicts.review.tolist(),
        "urgent_review": verdicts.urgent.tolist(),
        "triage": texts(list(LEVEL_NAMES), verdicts.level.astype(np.intp)),
        "notes": texts(["; ".join(notes) for notes in verdicts.notes], verdicts.note),
        "rules_version": texts([policy.hard_rules.label], once),
        "routing_version": texts([policy.routing.label], once),
        "overrides": texts([";".join(r.name for r in held) for held in verdicts.held], verdicts.pattern),
        "route_name": texts([s.name for s in routes], route),
        "route_kind": texts([s.kind for s in routes], route),
        "route_queue": texts([s.queue for s in routes], route),
        "route_call_script": texts([s.call_script for s in routes], route),
        "route_intake_form": texts([s.intake_form for s in routes], route),
        "route_sla_hours": sla_hours[route].tolist(),
        "route_sla_due": texts([d.isoformat() if d is not None else None for d in due], route),
        "route_nurture_track": texts(verdicts.tracks, verdicts.track),
        "route_channels": texts([",".join(c) for c in verdicts.channels], verdicts.channel),
    }
    intents = frame[INTENT].cat
    labels: list[str | None] = [*(str(c) for c in intents.categories), None]
    codes = intents.codes.to_numpy()
    columns[INTENT] = texts(labels, np.where(codes < 0, len(labels) - 1, codes))
    columns[INTENT_PROBABILITY] = frame[INTENT_PROBABILITY].to_numpy(dtype=np.float64)
    return pd.DataFrame(columns)
