"""The decision policy: from a scored lead's fields to its path (overrides, route, consent, channels, review).

Steps:

1. Hard rules are evaluated; safety rules (clinical triage) first. The first rule forcing a route (in
   precedence order) picks it; block-only rules send the lead to the routing file's ``blocked_route``. A
   do-not-contact rule (``block_all_outreach``) sends the lead there whatever other rules force, except a
   safety rule: a text that may describe an emergency still reaches a person (a clinical call-back is not
   marketing). Every matching rule is recorded with its reason.
2. Otherwise the routing table maps tier x service line x region (x lead type) to a route.
3. Consent: a nurture (marketing) route needs marketing consent, else the lead gets ``no_marketing_route``,
   which answers its own request without marketing content; tier A/B call routes are a direct answer to a
   request for care and stay. The ``sms`` channel needs SMS consent. A channel also needs its contact detail
   (phone for phone and sms, e-mail for email); the preferred channel comes first. A lead marked "do not
   profile" must have been scored by the rule baseline (``scored_by == "rules"``), and the decision says so.
4. ``review_required`` is true when the tier is one of the routing file's ``review_tiers`` (A and B by
   default), when a hard rule forced a route (clinical triage, data completion, discard review, ... all need
   a person), when the route itself is a clinical or review route, or when any text of the lead reached a
   triage level (urgent or possible). A block-only override does not by itself ask for review: it removes
   outreach, leaving nothing for a reviewer to act on; and a lead on a hold route (no outreach) is not put
   before a reviewer for its tier alone. The review is urgent (top of the queue) for a clinical route or a
   triage level (:func:`urgent_review`).
5. The SLA due time is computed on the business clock (or the calendar clock for the triage line), and a
   nurture route carries the nurture track of the lead's service line.

Each step is written once, as a method of :class:`Policy` taking one lead's situation (the rules it meets,
the route the table chose, its consents, contact details, ...). :func:`apply_policy` reads every lead's
situation column-wise and calls the method once per distinct situation, spreading the answer over the leads
in that situation: a chunk of a million leads costs a few hundred calls, and one lead is a batch of one
through the same code. Owners are not part of the policy's answer: they depend on the queue's state and on
the order leads are assigned in (see ``_engine``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from careleads.decisions._audiences import confinement_note
from careleads.decisions._fields import BoolArray, Codes, LeadFields, situations
from careleads.decisions._overrides import HardRule, HardRules
from careleads.decisions._routing import RouteSpec, Routing
from careleads.decisions._routing_file import load_routing
from careleads.decisions._rules_file import load_hard_rules
from careleads.decisions._triage import LEVEL_NAMES, NONE, Levels
from careleads.errors import ConfigError, InputError

NO_PROFILE_NOTE = "do not profile: scored by the rule baseline only, no model score"
NO_SMS_NOTE = "no SMS consent: the sms channel is not used"


def forced_action(rule: HardRule) -> str:
    """The action of a lead whose route a hard rule forced."""
    return f"override {rule.name}: route {rule.route}"


def blocked_action(rule: HardRule) -> str:
    """The action of a lead whose outreach a block-only hard rule held."""
    what = "no outreach of any kind" if rule.effect == "block_all_outreach" else "no score-based outreach"
    return f"override {rule.name}: {what}"


def urgent_review(route_kind: str | None, triage_level: str | None) -> bool:
    """Whether a lead's review goes to the top of the queue: a clinical route, or a text at a triage level
    (urgent or possible: a person reads it before anything else)."""
    return route_kind == "clinical" or (triage_level or "none") != "none"


def no_marketing_action(replacement: RouteSpec, route: RouteSpec) -> str:
    """The action of a lead without marketing consent whose nurture route was replaced."""
    return f"no marketing consent: {replacement.name} instead of {route.name}"


def no_marketing_note(replacement: RouteSpec, route: RouteSpec) -> str:
    """The note explaining that replacement."""
    return f"no marketing consent: {replacement.name} answers the lead's request instead of {route.name}"


@dataclass(frozen=True)
class Path:
    """Steps 1 to 3 for one situation: the route, the action when it is not the tier's, and why."""

    route: RouteSpec
    action: str | None  # None: the tier's action stands
    forced: bool  # a hard rule forced the route
    replaced: RouteSpec | None  # the nurture route replaced for want of marketing consent
    confined: RouteSpec | None = None  # the route in the other team's queue the audience rule replaced


class Policy:
    """The policy of one pair of hard rules and routing, one method per step (one lead's situation each)."""

    def __init__(self, hard_rules: HardRules, routing: Routing) -> None:
        self.hard_rules = hard_rules
        self.routing = routing
        self.blocked = routing.route(routing.blocked_route)
        self.replacement = routing.route(routing.no_marketing_route)
        partner_reply = routing.audiences.no_marketing_route
        self.partner_replacement = routing.route(partner_reply) if partner_reply else None
        self.review_tiers = frozenset(routing.review_tiers)
        self.safety = hard_rules.safety_rules(routing)
        # the route of each table rule, after the default route (table rule -1: none matched)
        self.by_table = [routing.routes[routing.default_route], *(rule.route for rule in routing.rules)]

    def path(
        self,
        held: Sequence[HardRule],
        table_route: RouteSpec,
        marketing_ok: bool,
        partner: bool = False,
        alarming: bool = False,
    ) -> Path:
        """The route of a lead meeting the rules `held` (in precedence order), whom the table sent to
        `table_route`: the first forcing rule's route, else the blocked route if any rule held, else the
        table's; then a nurture route is replaced when the lead has no marketing consent, or when a text of
        it may describe an emergency (`alarming`: whatever a clinic's own rules say, such a lead is never
        marketed to); then a route in the other team's queue is replaced (`partner`: a partnership lead, see
        ``_audiences``)."""
        contact = [rule for rule in held if rule.effect == "block_all_outreach"]
        forcing = [
            rule
            for rule in held
            if rule.effect == "force_route" and (not contact or rule.name in self.safety)
        ]
        action: str | None = None
        if forcing:
            route, action = self.routing.route(str(forcing[0].route)), forced_action(forcing[0])
        elif held:
            route, action = self.blocked, blocked_action((contact or list(held))[0])
        else:
            route = table_route
        if route.marketing and (alarming or not marketing_ok):
            replacement = (
                self.partner_replacement if partner and self.partner_replacement else self.replacement
            )
            if alarming:
                why = f"a text may describe an emergency: {replacement.name} instead of {route.name}"
                path = Path(replacement, why, bool(forcing), None)
            else:
                path = Path(replacement, no_marketing_action(replacement, route), bool(forcing), route)
        else:
            path = Path(route, action, bool(forcing), None)
        return self.confine(path, partner)

    def confine(self, path: Path, partner: bool) -> Path:
        """The audience rule: a partnership lead never in a patient queue, a patient lead never in a
        business-development one (the one place it is applied, for a batch and for one lead)."""
        if path.route.kind in ("clinical", "hold"):
            return path  # a clinical handoff or a hold (no outreach at all) is never moved to another team
        audience = self.routing.audiences.audience(path.route.queue)
        if partner and audience == "patient":
            name = self.routing.audiences.default_route
            if path.replaced is not None and self.partner_replacement is not None:
                name = self.partner_replacement.name
            if name is None:
                return path
            target = self.routing.route(name)
        elif not partner and audience == "partnership":
            target = self.routing.route(self.routing.default_route)
        else:
            return path
        note = confinement_note(partner, target.name, path.route.name)
        action = f"{path.action}; {note}" if path.action else note
        return Path(target, action, path.forced, path.replaced, confined=path.route)

    @staticmethod
    def channels(
        route: RouteSpec, has_phone: bool, has_email: bool, sms_ok: bool, preferred: Any
    ) -> tuple[tuple[str, ...], bool]:
        """The route's channels the lead can be reached on and agreed to, the preferred one first; and
        whether SMS was left out for want of consent alone."""
        reachable = {"phone": has_phone, "email": has_email, "sms": has_phone and sms_ok}
        allowed = [channel for channel in route.channels if reachable[channel]]
        if isinstance(preferred, str) and preferred in allowed:
            allowed.remove(preferred)
            allowed.insert(0, preferred)
        return tuple(allowed), "sms" in route.channels and has_phone and not sms_ok

    def notes(
        self,
        no_profile: bool,
        replaced: RouteSpec | None,
        sms_withheld: bool,
        route: RouteSpec | None = None,
        confined: RouteSpec | None = None,
        partner: bool = False,
    ) -> tuple[str, ...]:
        """The notes of a decision, in this order: profiling, marketing consent, audience, SMS consent
        (`route`: the lead's final route; `confined`: the route the audience rule replaced)."""
        notes = [NO_PROFILE_NOTE] if no_profile else []
        if replaced is not None:
            reply = self.partner_replacement if partner and self.partner_replacement else self.replacement
            notes.append(no_marketing_note(reply, replaced))
        if confined is not None and route is not None:
            notes.append(confinement_note(partner, route.name, confined.name))
        if sms_withheld:
            notes.append(NO_SMS_NOTE)
        return tuple(notes)

    def review(self, tier: Any, forced: bool, route: RouteSpec, level: int = NONE) -> bool:
        """Whether a person reviews the lead: a forced route, a clinical or review route, a text at a triage
        level, or a review tier (unless the route holds all outreach)."""
        return (
            (tier is not None and str(tier) in self.review_tiers and route.kind != "hold")
            or forced
            or route.kind in ("clinical", "review")
            or level != NONE
        )

    def track(self, route: RouteSpec, service_line: Any) -> str | None:
        """The nurture track of a nurture route, by the lead's service line."""
        return self.routing.nurture_track(service_line) if route.nurture else None


@dataclass(slots=True)  # built once per call, read only: not frozen, which costs a call per field
class Verdicts:
    """The policy's answer for each lead, as codes into the few distinct values a batch meets.

    ``routes[route[i]]`` is lead i's route; likewise ``actions``/``action``, ``notes``/``note``,
    ``channels``/``channel``, ``tracks``/``track`` and ``held``/``pattern`` (the hard rules that held, in
    precedence order). ``due`` maps the code of each route a lead goes to to its SLA due time.
    """

    ordered: tuple[HardRule, ...]
    routes: list[RouteSpec]
    route: Codes
    forced: BoolArray
    actions: list[str]
    action: Codes
    notes: list[tuple[str, ...]]
    note: Codes
    channels: list[tuple[str, ...]]
    channel: Codes
    tracks: list[str | None]
    track: Codes
    held: list[tuple[HardRule, ...]]
    pattern: Codes
    review: BoolArray
    due: dict[int, pd.Timestamp | None]
    level: Levels  # each lead's triage level over all its texts (0 none, 1 possible, 2 urgent)
    urgent: BoolArray  # the review goes to the top of the queue (urgent_review)

    def __len__(self) -> int:
        return len(self.route)


class _Catalog:
    """Distinct routes met, numbered in order of first use (routes are compared by identity)."""

    def __init__(self) -> None:
        self.routes: list[RouteSpec] = []
        self._code: dict[int, int] = {}

    def code(self, route: RouteSpec) -> int:
        if id(route) not in self._code:
            self._code[id(route)] = len(self.routes)
            self.routes.append(route)
        return self._code[id(route)]


def decision_time(now: pd.Timestamp | str | None) -> pd.Timestamp:
    """The decision time: `now`, or the current local time."""
    return pd.Timestamp.now() if now is None else pd.Timestamp(now)


# policies of pairs of hard rules and routing met lately (kept with them, so their ids stay their own)
_POLICIES: OrderedDict[tuple[int, int], Policy] = OrderedDict()


def policy_for(hard_rules: HardRules | None, routing: Routing | None) -> Policy:
    """The policy of a pair of hard rules and routing (default: the shipped files); a custom pair is checked
    against each other first (forced routes exist, triage goes to a clinical route).

    Raises
    ------
    ConfigError
        When the pair does not fit together.
    """
    rules = hard_rules or load_hard_rules()
    table = routing or load_routing()
    key = (id(rules), id(table))
    policy = _POLICIES.get(key)
    if policy is None or policy.hard_rules is not rules or policy.routing is not table:
        if hard_rules is not None or routing is not None:  # the shipped pair is checked when loaded
            problems = rules.check_routes(table)
            if problems:
                raise ConfigError("\n".join(problems))
        policy = _POLICIES[key] = Policy(rules, table)
        while len(_POLICIES) > 16:
            _POLICIES.popitem(last=False)
    return policy


def apply_policy(fields: LeadFields, policy: Policy, when: pd.Timestamp) -> Verdicts:
    """The policy's answer for every lead of `fields` (leads with their scoring output), decided at `when`.

    Raises
    ------
    InputError
        When a lead marked "do not profile" carries a model score.
    """
    hard_rules, routing = policy.hard_rules, policy.routing
    no_profile = fields.flag("do_not_profile")
    if np.count_nonzero(no_profile):
        profiled = no_profile & fields.per_value("scored_by", lambda v: v != "rules")
        if profiled.any():
            ids = fields.values("lead_id")
            bad = [ids[i] for i in np.flatnonzero(profiled)[:5].tolist()]
            raise InputError(
                f"{int(profiled.sum())} leads marked 'do not profile' carry a model score, e.g. {bad}; "
                "score them with a model that has a rule fallback (see careleads.scoring.score_leads)"
            )
    ordered, matrix = hard_rules.evaluate(fields, routing=routing)
    if len(ordered):
        held, pattern = situations(
            list(matrix), lambda *bits: tuple(r for r, b in zip(ordered, bits, strict=True) if b)
        )
    else:
        held, pattern = [()], np.zeros(len(fields), dtype=np.intp)
    table = routing.matching_rules(fields) + 1  # 0: no rule matched
    marketing_ok = fields.flag("consent_marketing")
    audiences = routing.audiences
    partner = (
        fields.per_value("lead_type", audiences.is_partnership)
        if audiences.lead_types
        else np.zeros(len(fields), dtype=bool)
    )
    by_table = policy.by_table
    level = fields.triage_levels()
    paths, path_of = situations(
        [pattern, table, marketing_ok, partner, level != NONE],
        lambda p, t, m, b, a: policy.path(held[p], by_table[t], bool(m), bool(b), bool(a)),
    )
    catalog = _Catalog()
    route = np.array([catalog.code(p.route) for p in paths], dtype=np.intp)[path_of]
    replaced = np.array([catalog.code(p.replaced) + 1 if p.replaced else 0 for p in paths], dtype=np.intp)[
        path_of
    ]
    confined = np.array([catalog.code(p.confined) + 1 if p.confined else 0 for p in paths], dtype=np.intp)[
        path_of
    ]
    forced = np.array([p.forced for p in paths], dtype=bool)[path_of]
    routes = catalog.routes

    # actions: the tier's (the scoring output's) unless the path says otherwise
    action_codes, tier_actions = fields.distinct("action")
    actions = ["" if a is None else str(a) for a in tier_actions]
    path_action = np.array(
        [-1 if p.action is None else len(actions) + k for k, p in enumerate(paths)], dtype=np.intp
    )[path_of]
    actions.extend("" if p.action is None else p.action for p in paths)
    action = np.where(path_action >= 0, path_action, action_codes)

    preferred_codes, preferred = fields.distinct("preferred_contact")
    has_phone, sms_ok = ~fields.missing("phone"), fields.flag("consent_sms")
    channels, channel = situations(
        [route, has_phone, ~fields.missing("email"), sms_ok, preferred_codes],
        lambda r, ph, em, s, pr: policy.channels(routes[r], bool(ph), bool(em), bool(s), preferred[pr]),
    )
    withheld = np.array([c[1] for c in channels], dtype=bool)[channel]
    notes, note = situations(
        [no_profile, replaced, withheld, route, confined, partner],
        lambda p, r, w, rt, c, b: policy.notes(
            bool(p), routes[r - 1] if r else None, bool(w), routes[rt], routes[c - 1] if c else None, bool(b)
        ),
    )
    tier_codes, tiers = fields.distinct("tier")
    reviews, review_of = situations(
        [tier_codes, forced, route, level],
        lambda t, f, r, v: policy.review(tiers[t], bool(f), routes[r], v),
    )
    urgents, urgent_of = situations(
        [route, level], lambda r, v: urgent_review(routes[r].kind, LEVEL_NAMES[v])
    )
    service_codes, services = fields.distinct("service_line")
    tracks, track = situations([route, service_codes], lambda r, s: policy.track(routes[r], services[s]))
    return Verdicts(
        ordered=ordered,
        routes=routes,
        route=route,
        forced=forced,
        actions=actions,
        action=action.astype(np.intp),
        notes=notes,
        note=note,
        channels=[c[0] for c in channels],
        channel=channel,
        tracks=tracks,
        track=track,
        held=held,
        pattern=pattern,
        review=np.array(reviews, dtype=bool)[review_of],
        due={code: routing.due(routes[code], when) for code in {catalog.code(p.route) for p in paths}},
        level=level,
        urgent=np.array(urgents, dtype=bool)[urgent_of],
    )
