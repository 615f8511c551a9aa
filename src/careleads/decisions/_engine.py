"""The decision engine: a scored lead in, its path out (overrides, route, owner, SLA, consent, review).

Steps, the same for one lead (:func:`decide`) and for a batch (:func:`decide_many`, column-wise):

1. Hard rules (:mod:`._overrides`) are evaluated; clinical triage first. The first rule forcing a route picks
   it; block-only rules send the lead to the routing file's ``blocked_route``. Every matching rule is
   recorded with its reason.
2. Otherwise the routing table maps tier x service line x region (x lead type) to a route.
3. Consent: a nurture (marketing) route needs marketing consent, else the lead gets ``no_marketing_route``,
   which answers its own request without marketing content; tier A/B call routes are a direct answer to a
   request for care and stay. The ``sms`` channel needs SMS consent. A channel also needs its contact detail
   (phone for phone and sms, e-mail for email); the preferred channel comes first. A lead marked "do not
   profile" must have been scored by the rule baseline (``scored_by == "rules"``), and the decision says so.
4. Owners are assigned round-robin within the route's queue up to each owner's capacity; when everyone is
   full the lead waits unassigned (``assignment == "waiting"``). In a batch, leads are assigned in priority
   order: clinical triage first, then by score, so scarce capacity goes to the leads that need it most.
5. The SLA due time is computed on the business clock (or the calendar clock for the triage line).

``review_required`` is true when the tier is one of the routing file's ``review_tiers`` (A and B by default),
when a hard rule forced a route (clinical triage, data completion, discard review, ... all need a person),
or when the route itself is a clinical or review route. A block-only override does not by itself ask for
review: it removes outreach, leaving nothing for a reviewer to act on.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.decisions._overrides import (
    HardRule,
    HardRules,
    RuleInput,
    UrgentDetector,
    is_missing_value,
    load_hard_rules,
    missing_mask,
)
from careleads.decisions._routing import RouteSpec, Routing, load_routing
from careleads.errors import ConfigError, InputError

#: ``assignments(queues) -> (open tasks per owner, queue -> owner assigned last)`` for the staffed queues
AssignmentLookup = Callable[[frozenset[str]], tuple[Mapping[str, int], Mapping[str, str]]]
SCORED_KEYS: tuple[str, ...] = (
    "lead_id",
    "probability",
    "score",
    "tier",
    "action",
    "reasons",
    "scored_by",
    "model_version",
)
WAITING = "waiting"
ASSIGNED = "assigned"
NOT_STAFFED = "not_staffed"
_CONTACT_FIELD: Mapping[str, str] = {"phone": "phone", "sms": "phone", "email": "email"}


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
    says what happens instead. ``notes`` explain consent and profiling choices in plain words.
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
        }


@dataclass
class _Facts:
    """What the finishing step needs per lead, gathered column-wise (a batch) or from a mapping (one lead)."""

    scored: dict[str, list[Any]]  # SCORED_KEYS -> values, None for missing
    matrix: npt.NDArray[np.bool_]  # hard rules (precedence order) x leads
    routes: list[RouteSpec]  # from the routing table
    no_profile: npt.NDArray[np.bool_]
    marketing_ok: npt.NDArray[np.bool_]
    sms_ok: npt.NDArray[np.bool_]
    has_phone: npt.NDArray[np.bool_]
    has_email: npt.NDArray[np.bool_]
    preferred: list[Any]
    services: list[Any]


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
) -> Decision:
    """Decide one lead's path; the same rules and finishing code as :func:`decide_many`, without a DataFrame.

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
        ``text -> bool``; default :func:`careleads.text.detect_urgent_symptoms`.

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
    hard_rules, routing = _configuration(hard_rules, routing)
    missing = [k for k in SCORED_KEYS if k not in scored]
    if missing:
        raise InputError(f"the scored lead lacks {missing}; pass a row of careleads.scoring.score_leads")
    lead_id = lead.get("lead_id", scored["lead_id"])
    if str(lead_id) != str(scored["lead_id"]):
        raise InputError(f"lead {lead_id!r} came with the score of lead {scored['lead_id']!r}; pair them up")
    record = {**lead, **{k: scored[k] for k in SCORED_KEYS}}
    ordered, matrix = hard_rules.evaluate_one(record, routing=routing, detector=urgent_detector)

    def flag(name: str) -> npt.NDArray[np.bool_]:
        value = lead.get(name)
        return np.array([value is True or (isinstance(value, np.bool_) and bool(value))], dtype=bool)

    def present(name: str) -> npt.NDArray[np.bool_]:
        return np.array([not is_missing_value(lead.get(name))], dtype=bool)

    facts = _Facts(
        scored={k: [None if is_missing_value(scored[k]) else scored[k]] for k in SCORED_KEYS},
        matrix=matrix,
        routes=[routing.match(record)],
        no_profile=flag("do_not_profile"),
        marketing_ok=flag("consent_marketing"),
        sms_ok=flag("consent_sms"),
        has_phone=present("phone"),
        has_email=present("email"),
        preferred=[lead.get("preferred_contact")],
        services=[None if is_missing_value(lead.get("service_line")) else lead.get("service_line")],
    )
    return _finish(facts, ordered, hard_rules, routing, open_counts, last_assigned, now, assignments)[0]


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


def _configuration(hard_rules: HardRules | None, routing: Routing | None) -> tuple[HardRules, Routing]:
    """The rules and routing to use; a custom pair is checked against each other (forced routes exist)."""
    if hard_rules is None and routing is None:
        return load_hard_rules(), load_routing()  # the shipped pair, validated together when loaded
    rules = hard_rules or load_hard_rules()
    table = routing or load_routing()
    problems = rules.check_routes(table)
    if problems:
        raise ConfigError("\n".join(problems))
    return rules, table


def _align(leads: pd.DataFrame, scored: pd.DataFrame, key: str) -> pd.DataFrame:
    """Lead fields in the order of `scored`, with the scoring output columns added (they take precedence)."""
    for name, frame in (("leads", leads), ("scored", scored)):
        if key not in frame.columns:
            raise InputError(f"the {name} table has no {key!r} column; both tables need the lead id")
    missing = [k for k in SCORED_KEYS if k not in scored.columns]
    if missing:
        raise InputError(f"the scored table lacks columns {missing}; pass the output of score_leads")
    repeated = leads[key].duplicated()
    if repeated.any():
        examples = list(leads.loc[repeated.to_numpy(dtype=bool), key].unique()[:5])
        raise InputError(f"lead ids appear more than once in the leads table, e.g. {examples}; deduplicate")
    if len(leads) == len(scored) and _same_ids(leads[key], scored[key]):  # the usual case
        frame = leads.reset_index(drop=True)
        for column in SCORED_KEYS:
            frame[column] = scored[column].array  # row for row: an array, not a Series, is not aligned
        return frame
    ids = pd.Index(leads[key].astype("string"))
    scored_ids = pd.Index(scored[key].astype("string"))
    position = ids.get_indexer(scored_ids)
    if (position < 0).any():
        absent = list(scored_ids[position < 0][:5])
        n_absent = int((position < 0).sum())
        raise InputError(f"{n_absent} scored leads are not in the leads table, e.g. {absent}; pass all leads")
    frame = leads.take(position).reset_index(drop=True)
    for column in SCORED_KEYS:
        frame[column] = scored[column].to_numpy()
    return frame


def _same_ids(left: pd.Series, right: pd.Series) -> bool:
    """Whether two id columns hold the same values in the same order (compared as arrays when they can be)."""
    if left.reset_index(drop=True).equals(right.reset_index(drop=True)):
        return True
    return bool((left.to_numpy(dtype=object) == right.to_numpy(dtype=object)).all())


def _flag(frame: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    """True only where the field is recorded as true (missing, or anything but a boolean, counts as no)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = frame[column]
    if values.dtype == object:
        return np.array([v is True or (isinstance(v, np.bool_) and bool(v)) for v in values], dtype=bool)
    if values.dtype == bool or isinstance(values.dtype, pd.BooleanDtype):
        return np.asarray(values.astype("boolean").fillna(False).to_numpy(dtype=bool), dtype=bool)
    return np.zeros(len(frame), dtype=bool)


def _present(frame: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return ~missing_mask(frame[column])


def _values(column: pd.Series) -> list[Any]:
    """Column values as Python objects, None where missing."""
    values = column.astype(object)
    return values.where(values.notna(), None).tolist()


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
) -> list[Decision]:
    """Decide the path of every scored lead; conditions and routing rules are evaluated on whole columns.

    Parameters
    ----------
    leads_frame : DataFrame
        Clean lead fields, one row per lead (may hold more leads than were scored).
    scored_frame : DataFrame
        The output of :func:`careleads.scoring.score_leads`; one decision per row, in its order.
    hard_rules, routing, open_counts, last_assigned, now, urgent_detector, assignments
        As for :func:`decide`. Owner counts grow as the batch assigns leads (a copy; the caller's mapping is
        not changed), and the round-robin turn carries over from lead to lead within each queue.
    key : str
        The lead id column of both tables.

    Returns
    -------
    list of Decision

    Raises
    ------
    InputError
        When a scored lead is not in the leads table, ids repeat, or a lead marked "do not profile" was
        scored by a model.
    """
    hard_rules, routing = _configuration(hard_rules, routing)
    frame = _align(leads_frame, scored_frame, key)
    n = len(frame)
    if n == 0:
        return []
    ordered, matrix = hard_rules.evaluate(RuleInput(frame, urgent_detector), routing=routing)
    facts = _Facts(
        scored={k: _values(frame[k]) for k in SCORED_KEYS},
        matrix=matrix,
        routes=routing.match_many(frame),
        no_profile=_flag(frame, "do_not_profile"),
        marketing_ok=_flag(frame, "consent_marketing"),
        sms_ok=_flag(frame, "consent_sms"),
        has_phone=_present(frame, "phone"),
        has_email=_present(frame, "email"),
        preferred=_values(frame["preferred_contact"]) if "preferred_contact" in frame else [None] * n,
        services=_values(frame["service_line"]) if "service_line" in frame else [None] * n,
    )
    return _finish(facts, ordered, hard_rules, routing, open_counts, last_assigned, now, assignments)


def _finish(
    facts: _Facts,
    ordered: tuple[HardRule, ...],
    hard_rules: HardRules,
    routing: Routing,
    open_counts: Mapping[str, int] | None,
    last_assigned: str | Mapping[str, str] | None,
    now: pd.Timestamp | str | None,
    assignments: AssignmentLookup | None = None,
) -> list[Decision]:
    """Overrides, consent, channels, owners, SLA and review, from the facts of each lead (shared code)."""
    when = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    scored, matrix = facts.scored, facts.matrix
    n = len(facts.routes)
    scored_by = np.array(scored["scored_by"], dtype=object)
    profiled = facts.no_profile & (scored_by != "rules")
    if profiled.any():
        bad = [scored["lead_id"][i] for i in np.flatnonzero(profiled)[:5]]
        raise InputError(
            f"{int(profiled.sum())} leads marked 'do not profile' carry a model score, e.g. {bad}; "
            "score them with a model that has a rule fallback (see careleads.scoring.score_leads)"
        )

    # overrides: the first forcing rule in precedence order picks the route; block-only rules hold outreach
    forcing = np.array([r.effect == "force_route" for r in ordered], dtype=bool)
    forced_matrix = matrix & forcing[:, None]
    any_forced = forced_matrix.any(axis=0)
    first_forced = forced_matrix.argmax(axis=0) if len(ordered) else np.zeros(n, dtype=np.int64)
    blocked = matrix.any(axis=0) & ~any_forced
    routes = list(facts.routes)
    actions: list[str] = [str(a) if a is not None else "" for a in scored["action"]]
    for i in np.flatnonzero(any_forced).tolist():
        rule = ordered[int(first_forced[i])]
        routes[i] = routing.route(str(rule.route))
        actions[i] = f"override {rule.name}: route {rule.route}"
    blocked_spec = routing.route(routing.blocked_route)
    first_held = matrix.argmax(axis=0) if len(ordered) else np.zeros(n, dtype=np.int64)
    for i in np.flatnonzero(blocked).tolist():
        routes[i] = blocked_spec
        actions[i] = f"override {ordered[int(first_held[i])].name}: no score-based outreach"

    # consent: no marketing nurture without marketing consent; sms only with sms consent
    notes: dict[int, list[str]] = defaultdict(list)  # sparse: most leads have none
    for i in np.flatnonzero(facts.no_profile).tolist():
        notes[i].append("do not profile: scored by the rule baseline only, no model score")
    replacement = routing.route(routing.no_marketing_route)
    is_marketing = np.array([spec.marketing for spec in routes], dtype=bool)
    for i in np.flatnonzero(is_marketing & ~facts.marketing_ok).tolist():
        notes[i].append(
            f"no marketing consent: {replacement.name} answers the lead's request instead of {routes[i].name}"
        )
        actions[i] = f"no marketing consent: {replacement.name} instead of {routes[i].name}"
        routes[i] = replacement
    channel_ok = {
        "phone": facts.has_phone,
        "email": facts.has_email,
        "sms": facts.has_phone & facts.sms_ok,
    }
    channels: list[tuple[str, ...]] = []
    for i, spec in enumerate(routes):
        allowed = [c for c in spec.channels if channel_ok[c][i]]
        first = facts.preferred[i]
        if isinstance(first, str) and first in allowed:
            allowed.remove(first)
            allowed.insert(0, first)
        channels.append(tuple(allowed))
    offers_sms = np.array(["sms" in spec.channels for spec in routes], dtype=bool)
    for i in np.flatnonzero(offers_sms & facts.has_phone & ~facts.sms_ok).tolist():
        notes[i].append("no SMS consent: the sms channel is not used")

    # owners, in priority order: clinical first, then by score (scarce capacity goes where it matters most)
    counts = {str(k): int(v) for k, v in (open_counts or {}).items()}
    last: dict[str, str | None] = {}
    default_last = last_assigned if isinstance(last_assigned, str) else None
    if isinstance(last_assigned, Mapping):
        last.update({str(k): str(v) for k, v in last_assigned.items()})
    if assignments is not None:
        staffed = frozenset(spec.queue for spec in routes if routing.queues[spec.queue].owners)
        if staffed:
            looked_counts, looked_last = assignments(staffed)
            counts.update({str(k): int(v) for k, v in looked_counts.items()})
            last.update({str(k): str(v) for k, v in looked_last.items()})
    clinical = np.array([spec.kind == "clinical" for spec in routes], dtype=bool)
    scores = np.array([s if s is not None else -1 for s in scored["score"]], dtype=np.float64)
    owners: list[str | None] = [None] * n
    assignment = [NOT_STAFFED] * n
    for i in np.lexsort((-scores, ~clinical)).tolist():
        queue = routes[i].queue
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

    # SLA due times, nurture tracks and override lists: once per distinct route, service line, rule pattern
    due: dict[int, pd.Timestamp | None] = {}
    tracks: dict[Any, str | None] = {}
    review_tiers = set(routing.review_tiers)
    every_override = [_override(rule) for rule in ordered]
    bits = np.left_shift(np.ones(len(ordered), dtype=np.int64), np.arange(len(ordered), dtype=np.int64))
    patterns: list[int] = (bits @ matrix.astype(np.int64)).tolist() if len(ordered) else [0] * n
    overrides_by_pattern: dict[int, tuple[Override, ...]] = {}
    for code in set(patterns):
        overrides_by_pattern[code] = tuple(o for j, o in enumerate(every_override) if code >> j & 1)
    any_forced_list: list[bool] = np.asarray(any_forced, dtype=bool).tolist()
    # Routes are immutable and most leads share one with others: build each distinct one once
    route_cache: dict[tuple[Any, ...], Route] = {}
    rules_label, routing_label = hard_rules.label, routing.label
    decisions: list[Decision] = []
    # Many small acyclic objects: the cyclic garbage collector would rescan them again and again (a third
    # of the time of a 100k batch), so it pauses while they are built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for i, spec in enumerate(routes):
            if id(spec) not in due:
                due[id(spec)] = routing.due(spec, when)
            track = None
            if spec.nurture:
                service = facts.services[i]
                if service not in tracks:
                    tracks[service] = routing.nurture_track(service)
                track = tracks[service]
            route_key = (id(spec), owners[i], assignment[i], track, channels[i])
            route = route_cache.get(route_key)
            if route is None:
                route = route_cache[route_key] = Route(
                    name=spec.name,
                    kind=spec.kind,
                    queue=spec.queue,
                    owner=owners[i],
                    assignment=assignment[i],
                    call_script=spec.call_script,
                    intake_form=spec.intake_form,
                    sla_hours=spec.sla_hours,
                    sla_due=due[id(spec)],
                    nurture_track=track,
                    channels=channels[i],
                )
            tier = scored["tier"][i]
            score = scored["score"][i]
            probability = scored["probability"][i]
            review = (
                (tier is not None and str(tier) in review_tiers)
                or any_forced_list[i]
                or spec.kind in ("clinical", "review")
            )
            decisions.append(
                Decision(
                    lead_id=str(scored["lead_id"][i]),
                    score=int(score) if score is not None else None,
                    probability=float(probability) if probability is not None else None,
                    tier=str(tier) if tier is not None else None,
                    action=actions[i],
                    reasons=str(scored["reasons"][i] or ""),
                    scored_by=str(scored["scored_by"][i]),
                    model_version=str(scored["model_version"][i] or ""),
                    overrides=overrides_by_pattern[patterns[i]],
                    route=route,
                    review_required=review,
                    notes=tuple(notes[i]) if i in notes else (),
                    rules_version=rules_label,
                    routing_version=routing_label,
                )
            )
    finally:
        if collecting:
            gc.enable()
    return decisions


def _override(rule: HardRule) -> Override:
    return Override(rule=rule.name, effect=rule.effect, reason=rule.reason, route=rule.route)


def decisions_frame(decisions: list[Decision]) -> pd.DataFrame:
    """Decisions as a flat table (route fields prefixed ``route_``, overrides as rule names joined by ';')."""
    rows = []
    for d in decisions:
        row = {k: v for k, v in d.to_dict().items() if k not in ("route", "overrides", "notes")}
        row["overrides"] = ";".join(o.rule for o in d.overrides)
        row["notes"] = "; ".join(d.notes)
        route = d.route.to_dict()
        route["channels"] = ",".join(route["channels"])
        row.update({f"route_{k}": v for k, v in route.items()})
        rows.append(row)
    return pd.DataFrame(rows)
