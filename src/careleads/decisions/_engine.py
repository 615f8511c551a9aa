"""Decisions: a scored lead in, its path out (overrides, route, owner, SLA, consent, review).

:func:`decide` (one lead, as the API decides each new lead and event) and :func:`decide_many` (a table) build
:class:`Decision` objects from the decision policy's answer (:func:`careleads.decisions._policy.apply_policy`,
the same code for both: one lead is a batch of one) and assign owners, the one step that depends on the
queues' state and on order:

Owners are assigned round-robin within the route's queue up to each owner's capacity; when everyone is full
the lead waits unassigned (``assignment == "waiting"``). In a batch, leads are assigned in priority order:
clinical triage first, then by score, so scarce capacity goes to the leads that need it most.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from careleads.decisions._fields import LeadFields, join_score, join_scores
from careleads.decisions._intent import (
    INTENT,
    INTENT_PROBABILITY,
    IntentModel,
    checked_intent_model,
    frame_with_intent,
    record_with_intent,
)
from careleads.decisions._overrides import HardRule, HardRules
from careleads.decisions._policy import Policy, Verdicts, apply_policy, decision_time, policy_for
from careleads.decisions._routing import Routing
from careleads.decisions._routing_file import load_routing
from careleads.decisions._triage import (
    LEVEL_NAMES,
    NO_TRIAGE,
    LaterTexts,
    TextFields,
    Triage,
    UrgentDetector,
    later_texts_of_events,
)

#: ``assignments(queues) -> (open tasks per owner, queue -> owner assigned last)`` for the staffed queues
AssignmentLookup = Callable[[frozenset[str]], tuple[Mapping[str, int], Mapping[str, str]]]
WAITING = "waiting"
ASSIGNED = "assigned"
NOT_STAFFED = "not_staffed"


@dataclass(frozen=True)
class Override:
    """A hard rule that held for a lead: its name, effect (and forced route) and the reason in plain words."""

    rule: str
    effect: str
    reason: str
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "effect": self.effect, "reason": self.reason, "route": self.route}


@dataclass(frozen=True)
class Route:
    """Where a lead goes next and how it is worked.

    ``assignment`` says how the owner was found: ``assigned``, ``waiting`` (every owner of the queue is at
    capacity: the lead waits in the unassigned queue) or ``not_staffed`` (an automated queue, no owner).
    """

    name: str
    kind: str
    queue: str
    owner: str | None
    assignment: str
    call_script: str | None
    intake_form: str | None
    sla_hours: float | None
    sla_due: pd.Timestamp | None
    nurture_track: str | None
    channels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the due time as ISO 8601 text."""
        return {
            "name": self.name,
            "kind": self.kind,
            "queue": self.queue,
            "owner": self.owner,
            "assignment": self.assignment,
            "call_script": self.call_script,
            "intake_form": self.intake_form,
            "sla_hours": self.sla_hours,
            "sla_due": self.sla_due.isoformat() if self.sla_due is not None else None,
            "nurture_track": self.nurture_track,
            "channels": list(self.channels),
        }


@dataclass(frozen=True)
class Decision:
    """Everything decided for one lead: its score, the overrides that held, its route and whether to review.

    ``action`` is the tier's action path, unless an override or the consent rules changed the path; then it
    says what happens instead. ``notes`` explain consent and profiling choices in plain words. ``intent``
    is what the lead's message asks for, with its probability (both None for a lead without a message).
    ``triage`` holds the lead's triage level over all its texts and the words that made it;
    ``urgent_review`` puts its review at the top of the queue.
    """

    lead_id: str
    score: int | None
    probability: float | None
    tier: str | None
    action: str
    reasons: str
    scored_by: str
    model_version: str
    overrides: tuple[Override, ...]
    route: Route
    review_required: bool
    notes: tuple[str, ...] = ()
    rules_version: str = ""
    routing_version: str = ""
    intent: str | None = None
    intent_probability: float | None = None
    triage: Triage = NO_TRIAGE
    urgent_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the decision."""
        return {
            "lead_id": self.lead_id,
            "score": self.score,
            "probability": self.probability,
            "tier": self.tier,
            "action": self.action,
            "reasons": self.reasons,
            "scored_by": self.scored_by,
            "model_version": self.model_version,
            "overrides": [o.to_dict() for o in self.overrides],
            "route": self.route.to_dict(),
            "review_required": self.review_required,
            "notes": list(self.notes),
            "rules_version": self.rules_version,
            "routing_version": self.routing_version,
            "intent": self.intent,
            "intent_probability": self.intent_probability,
            "triage": self.triage.to_dict(),
            "urgent_review": self.urgent_review,
        }


def decide(
    lead: Mapping[str, Any],
    scored: Mapping[str, Any],
    *,
    hard_rules: HardRules | None = None,
    routing: Routing | None = None,
    open_counts: Mapping[str, int] | None = None,
    last_assigned: str | Mapping[str, str] | None = None,
    now: pd.Timestamp | str | None = None,
    urgent_detector: UrgentDetector | None = None,
    assignments: AssignmentLookup | None = None,
    intent_model: IntentModel | None = None,
    text_fields: TextFields | None = None,
    later_texts: Sequence[tuple[str, str | None]] = (),
) -> Decision:
    """Decide one lead's path: the policy of :func:`decide_many` on a batch of one, without a DataFrame.

    Parameters
    ----------
    lead : mapping
        The lead's clean fields (as after ingest).
    scored : mapping
        The lead's row of :func:`careleads.scoring.score_leads` (lead_id, probability, score, tier, action,
        reasons, scored_by, model_version).
    hard_rules, routing : optional
        Default: the shipped ``hard_rules.yaml`` and ``routing.yaml``.
    open_counts : mapping, optional
        Open leads per owner now; the caller keeps these (the mapping is not changed).
    last_assigned : str or mapping, optional
        The owner assigned last (or queue -> owner assigned last), for round-robin.
    assignments : callable, optional
        ``assignments(queues) -> (open_counts, last_assigned)`` for the staffed queues the decisions need,
        called once, only when a lead goes to a staffed queue (a store looks up just those queues); its
        answers add to `open_counts` and `last_assigned`.
    now : Timestamp or str, optional
        The decision time for SLA due times (default: now, local time).
    urgent_detector : callable, optional
        ``text -> bool`` or ``text -> TriageResult``; default the clinical-triage detector
        (:func:`careleads.text.default_detector`).
    intent_model : IntentModel, optional
        The intent classifier (default :func:`careleads.decisions.default_intent_model`); the lead's
        intent is read from the routing file's ``intent_field``.
    text_fields : TextFields, optional
        Which lead fields hold free text (default: the shipped dictionary's); each is triaged.
    later_texts : sequence of (source, text)
        Texts that arrived after the lead (messages, notes), each named by its source (``event:12``); they
        are triaged with the lead's own texts.

    Returns
    -------
    Decision

    Raises
    ------
    InputError
        When the score is not a score_leads row, belongs to another lead, or is a model score for a lead
        marked "do not profile".

    Examples
    --------
    >>> lead = {"lead_id": "L1", "service_line": "cardiology", "region": "north", "phone": "555-0100",
    ...         "email": None, "consent_marketing": True, "consent_sms": False,
    ...         "question": "Crushing chest pain since this morning"}
    >>> scored = {"lead_id": "L1", "probability": 0.1, "score": 10, "tier": "D",
    ...           "action": "nurture track only", "reasons": "", "scored_by": "model", "model_version": "m1"}
    >>> d = decide(lead, scored, now="2025-03-07 10:00")
    >>> d.route.name, d.route.channels, [o.rule for o in d.overrides]
    ('clinical_triage', ('phone',), ['urgent_clinical_symptoms'])
    """
    policy = policy_for(hard_rules, routing)
    model = checked_intent_model(intent_model, policy.routing, policy.hard_rules)
    record = record_with_intent(join_score(lead, scored), model, policy.routing.intent_field)
    later = LaterTexts.of_record(later_texts) if later_texts else None
    fields = LeadFields.of_record(record, urgent_detector, text_fields, later)
    verdicts = apply_policy(fields, policy, decision_time(now))
    return _decisions(fields, verdicts, policy, open_counts, last_assigned, assignments)[0]


def decide_many(
    leads_frame: pd.DataFrame,
    scored_frame: pd.DataFrame,
    *,
    hard_rules: HardRules | None = None,
    routing: Routing | None = None,
    open_counts: Mapping[str, int] | None = None,
    last_assigned: str | Mapping[str, str] | None = None,
    now: pd.Timestamp | str | None = None,
    urgent_detector: UrgentDetector | None = None,
    assignments: AssignmentLookup | None = None,
    key: str = "lead_id",
    intent_model: IntentModel | None = None,
    events: pd.DataFrame | None = None,
    text_fields: TextFields | None = None,
) -> list[Decision]:
    """Decide the path of every scored lead; the policy reads the leads column by column.

    Parameters
    ----------
    leads_frame : DataFrame
        Clean lead fields, one row per lead (may hold more leads than were scored).
    scored_frame : DataFrame
        The output of :func:`careleads.scoring.score_leads`; one decision per row, in its order.
    hard_rules, routing, open_counts, last_assigned, now, urgent_detector, assignments, intent_model
        As for :func:`decide`. Owner counts grow as the batch assigns leads (a copy; the caller's mapping is
        not changed), and the round-robin turn carries over from lead to lead within each queue.
    key : str
        The lead id column of both tables.
    events : DataFrame, optional
        The leads' events; the texts of their text fields (messages) are triaged with the leads' own.
    text_fields : TextFields, optional
        Which fields of leads and events hold free text (default: the shipped dictionary's).

    Returns
    -------
    list of Decision

    Raises
    ------
    InputError
        When a scored lead is not in the leads table, ids repeat, or a lead marked "do not profile" was
        scored by a model.
    """
    policy = policy_for(hard_rules, routing)
    frame = join_scores(leads_frame, scored_frame, key)
    if len(frame) == 0:
        return []
    model = checked_intent_model(intent_model, policy.routing, policy.hard_rules)
    frame = frame_with_intent(frame, model, policy.routing.intent_field)
    later = later_texts_of_events(frame[key], events, text_fields) if events is not None else None
    fields = LeadFields.of_frame(frame, urgent_detector, text_fields, later)
    verdicts = apply_policy(fields, policy, decision_time(now))
    return _decisions(fields, verdicts, policy, open_counts, last_assigned, assignments)


def assign_owner(
    decision: Decision,
    *,
    routing: Routing | None = None,
    open_counts: Mapping[str, int] | None = None,
    last_assigned: Mapping[str, str] | None = None,
    assignments: AssignmentLookup | None = None,
) -> Decision:
    """Pick the owner of one decided lead again, from the queue's current state (round-robin, capacity).

    A service decides a lead before its transaction (rules, routing, triage: no store needed) and then,
    inside the transaction, only picks the owner; the result equals :func:`decide` given the same state.

    Parameters
    ----------
    decision : Decision
        The lead's decision.
    routing : Routing, optional
        The routing it was decided with (default: the shipped ``routing.yaml``).
    open_counts, last_assigned, assignments : optional
        As for :func:`decide`; `assignments` is asked about the decision's queue only when it is staffed.

    Returns
    -------
    Decision
        The same decision with the route's owner and assignment set (unchanged for an unstaffed queue).
    """
    routing = routing or load_routing()
    queue = decision.route.queue
    pool = routing.queues[queue]
    if not pool.owners:
        return decision
    counts = {str(k): int(v) for k, v in (open_counts or {}).items()}
    last = {str(k): str(v) for k, v in (last_assigned or {}).items()}
    if assignments is not None:
        looked_counts, looked_last = assignments(frozenset({queue}))
        counts.update({str(k): int(v) for k, v in looked_counts.items()})
        last.update({str(k): str(v) for k, v in looked_last.items()})
    owner = pool.pick_owner(counts, last.get(queue))
    route = replace(decision.route, owner=owner, assignment=ASSIGNED if owner is not None else WAITING)
    return replace(decision, route=route)


def _decisions(
    fields: LeadFields,
    verdicts: Verdicts,
    policy: Policy,
    open_counts: Mapping[str, int] | None,
    last_assigned: str | Mapping[str, str] | None,
    assignments: AssignmentLookup | None,
) -> list[Decision]:
    """Decision objects from the policy's answer, with owners assigned in priority order."""
    routes = verdicts.routes
    owners, assignment = _owners(fields, verdicts, policy.routing, open_counts, last_assigned, assignments)
    overrides = [tuple(_override(rule) for rule in held) for held in verdicts.held]
    scored = {name: fields.values(name) for name in ("lead_id", "score", "probability", "tier", "reasons")}
    scored_by, model_version = fields.values("scored_by"), fields.values("model_version")
    intent_of, chance_of = fields.values(INTENT), fields.numbers(INTENT_PROBABILITY).tolist()
    route_of, track_of, channel_of = (
        verdicts.route.tolist(),
        verdicts.track.tolist(),
        verdicts.channel.tolist(),
    )
    action_of, note_of, pattern_of = (
        verdicts.action.tolist(),
        verdicts.note.tolist(),
        verdicts.pattern.tolist(),
    )
    review, urgent = verdicts.review.tolist(), verdicts.urgent.tolist()
    found = fields.findings()
    levels = verdicts.level.tolist()
    rules_label, routing_label = policy.hard_rules.label, policy.routing.label
    # Routes are immutable and most leads share one with others: build each distinct one once
    cache: dict[tuple[Any, ...], Route] = {}
    decisions: list[Decision] = []
    # Many small acyclic objects: the cyclic garbage collector would rescan them again and again (a third
    # of the time of a 100k batch), so it pauses while they are built.
    collecting = gc.isenabled() and len(verdicts) > 1
    if collecting:
        gc.disable()
    try:
        for i in range(len(verdicts)):
            code = route_of[i]
            route_key = (code, owners[i], assignment[i], track_of[i], channel_of[i])
            route = cache.get(route_key)
            if route is None:
                spec = routes[code]
                route = cache[route_key] = Route(
                    name=spec.name,
                    kind=spec.kind,
                    queue=spec.queue,
                    owner=owners[i],
                    assignment=assignment[i],
                    call_script=spec.call_script,
                    intake_form=spec.intake_form,
                    sla_hours=spec.sla_hours,
                    sla_due=verdicts.due[code],
                    nurture_track=verdicts.tracks[track_of[i]],
                    channels=verdicts.channels[channel_of[i]],
                )
            tier, score, probability = scored["tier"][i], scored["score"][i], scored["probability"][i]
            decisions.append(
                Decision(
                    lead_id=str(scored["lead_id"][i]),
                    score=int(score) if score is not None else None,
                    probability=float(probability) if probability is not None else None,
                    tier=str(tier) if tier is not None else None,
                    action=verdicts.actions[action_of[i]],
                    reasons=str(scored["reasons"][i] or ""),
                    scored_by=str(scored_by[i]),
                    model_version=str(model_version[i] or ""),
                    overrides=overrides[pattern_of[i]],
                    route=route,
                    review_required=review[i],
                    notes=verdicts.notes[note_of[i]],
                    rules_version=rules_label,
                    routing_version=routing_label,
                    intent=None if intent_of[i] is None else str(intent_of[i]),
                    intent_probability=None if math.isnan(chance_of[i]) else chance_of[i],
                    triage=Triage(LEVEL_NAMES[levels[i]], found[i]) if i in found else NO_TRIAGE,
                    urgent_review=urgent[i],
                )
            )
    finally:
        if collecting:
            gc.enable()
    return decisions


def _owners(
    fields: LeadFields,
    verdicts: Verdicts,
    routing: Routing,
    open_counts: Mapping[str, int] | None,
    last_assigned: str | Mapping[str, str] | None,
    assignments: AssignmentLookup | None,
) -> tuple[list[str | None], list[str]]:
    """Each lead's owner and how it was found, in priority order: clinical first, then by score (scarce
    capacity goes where it matters most); counts grow and the turn passes as leads are assigned."""
    routes, route_of = verdicts.routes, verdicts.route
    counts = {str(k): int(v) for k, v in (open_counts or {}).items()}
    last: dict[str, str | None] = {}
    default_last = last_assigned if isinstance(last_assigned, str) else None
    if isinstance(last_assigned, Mapping):
        last.update({str(k): str(v) for k, v in last_assigned.items()})
    staffed = [bool(routing.queues[spec.queue].owners) for spec in routes]
    if assignments is not None:
        queues = frozenset(routes[c].queue for c in set(route_of.tolist()) if staffed[c])
        if queues:
            looked_counts, looked_last = assignments(queues)
            counts.update({str(k): int(v) for k, v in looked_counts.items()})
            last.update({str(k): str(v) for k, v in looked_last.items()})
    n = len(verdicts)
    owners: list[str | None] = [None] * n
    assignment = [NOT_STAFFED] * n
    if not any(staffed):
        return owners, assignment
    order = [0]
    if n > 1:
        clinical = np.array([spec.kind == "clinical" for spec in routes], dtype=bool)[route_of]
        scores = np.array([s if s is not None else -1 for s in fields.values("score")], dtype=np.float64)
        order = np.lexsort((-scores, ~clinical)).tolist()
    for i in order:
        queue = routes[int(route_of[i])].queue
        pool = routing.queues[queue]
        if not pool.owners:
            continue
        owner = pool.pick_owner(counts, last.get(queue, default_last))
        if owner is None:
            assignment[i] = WAITING
            continue
        owners[i], assignment[i] = owner, ASSIGNED
        counts[owner] = counts.get(owner, 0) + 1
        last[queue] = owner
    return owners, assignment


def _override(rule: HardRule) -> Override:
    return Override(rule=rule.name, effect=rule.effect, reason=rule.reason, route=rule.route)


def pick_owner(
    queue: str,
    open_counts: Mapping[str, int],
    last_assigned: str | None,
    *,
    routing: Routing | None = None,
) -> str | None:
    """Round-robin owner assignment within a queue, respecting each owner's capacity.

    Parameters
    ----------
    queue : str
        The queue's name in the routing file.
    open_counts : mapping
        Open leads per owner now (owners not listed have none).
    last_assigned : str or None
        The owner this queue assigned last; the turn passes to the next one in the pool.
    routing : Routing, optional
        Default: the shipped routing file.

    Returns
    -------
    str or None
        The owner, or None when every owner is at capacity (the lead waits unassigned) or the queue has
        no owner pool (worked automatically).

    Examples
    --------
    >>> pick_owner("clinical_triage_line", {"nurse_ali": 0}, "nurse_ali")
    'nurse_bea'
    """
    return (routing or load_routing()).pick_owner(queue, open_counts, last_assigned)


def decisions_frame(decisions: list[Decision]) -> pd.DataFrame:
    """Decisions as a flat table (route fields prefixed ``route_``, overrides as rule names joined by ';')."""
    rows = []
    for d in decisions:
        row = {k: v for k, v in d.to_dict().items() if k not in ("route", "overrides", "notes")}
        row["triage"] = d.triage.level
        row["overrides"] = ";".join(o.rule for o in d.overrides)
        row["notes"] = "; ".join(d.notes)
        route = d.route.to_dict()
        route["channels"] = ",".join(route["channels"])
        row.update({f"route_{k}": v for k, v in route.items()})
        rows.append(row)
    return pd.DataFrame(rows)
