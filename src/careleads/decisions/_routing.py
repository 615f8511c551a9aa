"""Routing: tier x service line x region (x lead type, x the message's intent) -> a route (queue, call
script, intake form, SLA, nurture track), and the owner pools of the queues.

A :class:`Routing` is built from a routing file (:func:`careleads.decisions.load_routing`; the file's
format is described in ``_routing_file``). Its rules are matched column-wise on :class:`LeadFields`, so a
batch of leads and one lead (a batch of one) go through the same code: each rule's patterns are matched once
per distinct value of a field, first match wins. A rule's minimum intent probability is matched per band of
probabilities between the thresholds the rules name, so it too costs one test per distinct situation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import translate
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.decisions._audiences import Audiences
from careleads.decisions._clock import BusinessHours, sla_due
from careleads.decisions._fields import LeadFields, is_missing_value, situations, to_number
from careleads.errors import NotFoundError

ROUTE_KINDS: tuple[str, ...] = ("intake", "nurture", "service", "clinical", "review", "hold")
CHANNELS: tuple[str, ...] = ("phone", "email", "sms")
MATCH_FIELDS: tuple[str, ...] = ("tier", "service_line", "region", "lead_type", "intent")
#: the field holding the probability of the lead's intent (see ``_intent``)
INTENT_PROBABILITY_FIELD = "intent_probability"
ROUTE_FIELDS: tuple[str, ...] = ("queue", "call_script", "intake_form", "sla_hours")
SHIPPED_ROUTING = "careleads/data/routing.yaml"


@dataclass(frozen=True)
class RouteSpec:
    """A named path as configured: where the lead goes and how it is worked."""

    name: str
    kind: str
    queue: str
    call_script: str | None = None
    intake_form: str | None = None
    sla_hours: float | None = None
    sla_clock: str = "business"
    same_business_day: bool = False
    channels: tuple[str, ...] = ()
    nurture: bool = False

    @property
    def marketing(self) -> bool:
        """True for nurture routes: marketing content, which needs marketing consent."""
        return self.kind == "nurture"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "queue": self.queue,
            "call_script": self.call_script,
            "intake_form": self.intake_form,
            "sla_hours": self.sla_hours,
            "sla_clock": self.sla_clock,
            "same_business_day": self.same_business_day,
            "channels": list(self.channels),
            "nurture": self.nurture,
        }


@dataclass(frozen=True)
class RoutingRule:
    """One line of the routing table: patterns per match field (None = any), the least probability of the
    lead's intent (None = any, else a lead without intent never matches), and the route it resolves to."""

    index: int
    patterns: Mapping[str, tuple[str, ...]]
    route: RouteSpec
    intent_min_probability: float | None = None

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether one lead's values match every pattern of this rule (a field left out is missing)."""
        if self.intent_min_probability is not None:
            chance = to_number(values.get(INTENT_PROBABILITY_FIELD))
            if not chance >= self.intent_min_probability:  # NaN (no intent) never reaches it
                return False
        return all(matches_any(values.get(name), patterns) for name, patterns in self.patterns.items())


@lru_cache(maxsize=1024)
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One expression matching any of the shell-style patterns (``fnmatchcase`` of each, in one search)."""
    return re.compile("|".join(translate(p) for p in patterns))


def matches_any(value: Any, patterns: tuple[str, ...]) -> bool:
    """Whether a field's value matches one of the shell-style patterns; a missing value only matches "*"."""
    if is_missing_value(value):
        return "*" in patterns
    return _pattern(patterns).match(str(value)) is not None


@dataclass(frozen=True)
class QueueSpec:
    """A queue's owner pool, in round-robin order, with each owner's capacity (max open leads), and its other
    members (reviewers who read and label its leads but are assigned none)."""

    name: str
    owners: tuple[str, ...] = ()
    capacity: Mapping[str, int] = field(default_factory=dict)
    members: tuple[str, ...] = ()

    def works(self, name: str) -> bool:
        """Whether `name` is one of the queue's owners or members (and so reviews its leads)."""
        return name in self.owners or name in self.members

    def pick_owner(self, open_counts: Mapping[str, int], last_assigned: str | None) -> str | None:
        """The next owner after `last_assigned` (round-robin) who is under capacity; None if all are full."""
        if not self.owners:
            return None
        start = self.owners.index(last_assigned) + 1 if last_assigned in self.owners else 0
        for step in range(len(self.owners)):
            owner = self.owners[(start + step) % len(self.owners)]
            if int(open_counts.get(owner, 0)) < self.capacity[owner]:
                return owner
        return None


def _queue_dict(queue: QueueSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"owners": {o: queue.capacity[o] for o in queue.owners}}
    if queue.members:
        out["members"] = list(queue.members)
    return out


@dataclass(frozen=True)
class Routing:
    """A validated routing file. Build it with :func:`load_routing` or :func:`parse_routing`."""

    name: str
    version: str
    rules: tuple[RoutingRule, ...]
    routes: Mapping[str, RouteSpec]
    queues: Mapping[str, QueueSpec]
    nurture_tracks: tuple[tuple[str, str], ...]
    default_route: str
    blocked_route: str
    no_marketing_route: str
    review_tiers: tuple[str, ...] = ("A", "B")
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    source: str = SHIPPED_ROUTING
    intent_field: str | None = None  # the free text the lead's intent is read from (None: no intent)
    audiences: Audiences = field(default_factory=Audiences)  # partnership leads and their queues

    @property
    def label(self) -> str:
        """``name@version``, recorded with every decision."""
        return f"{self.name}@{self.version}"

    def route(self, name: str) -> RouteSpec:
        """The route called `name`."""
        try:
            return self.routes[name]
        except KeyError:
            raise NotFoundError(
                f"route {name!r} is not in the routing {self.label}; known routes: {sorted(self.routes)}"
            ) from None

    def match(self, values: Mapping[str, Any]) -> RouteSpec:
        """The route of the first rule matching one lead's `values` (tier, service line, region, type)."""
        chosen = int(self.matching_rules(LeadFields.of_record(values))[0])
        return self.rules[chosen].route if chosen >= 0 else self.routes[self.default_route]

    @cached_property
    def _match_names(self) -> tuple[str, ...]:
        """The fields the rules match on."""
        return tuple(name for name in MATCH_FIELDS if any(name in rule.patterns for rule in self.rules))

    def first_rule(self, values: Mapping[str, Any]) -> int:
        """The index of the first rule one lead's values match (-1: none, the default route applies)."""
        for rule in self.rules:
            if rule.matches(values):
                return rule.index
        return -1

    @cached_property
    def _thresholds(self) -> npt.NDArray[np.float64]:
        """The distinct least intent probabilities the rules name, ascending."""
        named = {rule.intent_min_probability for rule in self.rules}
        return np.array(sorted(t for t in named if t is not None), dtype=np.float64)

    def matching_rules(self, fields: LeadFields | pd.DataFrame) -> npt.NDArray[np.int64]:
        """:meth:`first_rule` of each lead, once per distinct combination of the fields the rules match on
        (and of the band of the intent's probability between the rules' thresholds)."""
        if isinstance(fields, pd.DataFrame):
            fields = LeadFields.of_frame(fields)
        names = self._match_names
        thresholds = self._thresholds
        if not names and not len(thresholds):
            return np.full(len(fields), self.first_rule({}), dtype=np.int64)
        read = [fields.distinct(name) for name in names]
        columns = [codes for codes, _ in read]
        # band k: at least the k-th threshold and below the next; a threshold stands for its band (0: none)
        stands_for = np.array([np.nan, *thresholds.tolist()], dtype=np.float64)
        if len(thresholds):
            chances = fields.numbers(INTENT_PROBABILITY_FIELD)
            band = np.searchsorted(thresholds, np.nan_to_num(chances, nan=-np.inf), side="right")
            columns.append(band.astype(np.intp))

        def first(*key: int) -> int:
            values = {n: read[k][1][key[k]] for k, n in enumerate(names)}
            if len(thresholds):
                values[INTENT_PROBABILITY_FIELD] = stands_for[key[-1]]
            return self.first_rule(values)

        chosen, index = situations(columns, first)
        return np.asarray(chosen, dtype=np.int64)[index]

    def match_many(self, frame: pd.DataFrame) -> list[RouteSpec]:
        """:meth:`match` for every row of `frame`, evaluated rule by rule on whole columns."""
        fallback = self.routes[self.default_route]
        return [self.rules[i].route if i >= 0 else fallback for i in self.matching_rules(frame).tolist()]

    def nurture_track(self, service_line: Any) -> str | None:
        """The educational track for a service interest (first matching pattern), or None."""
        for pattern, track in self.nurture_tracks:
            if matches_any(service_line, (pattern,)):
                return track
        return None

    def pick_owner(self, queue: str, open_counts: Mapping[str, int], last_assigned: str | None) -> str | None:
        """See :func:`pick_owner`."""
        try:
            spec = self.queues[queue]
        except KeyError:
            raise NotFoundError(
                f"queue {queue!r} is not in the routing {self.label}; known: {sorted(self.queues)}"
            ) from None
        return spec.pick_owner(open_counts, last_assigned)

    def due(self, route: RouteSpec, now: pd.Timestamp) -> pd.Timestamp | None:
        """The SLA due time of `route` for a decision made at `now`."""
        hours = self.business_hours if route.sla_clock == "business" else None
        return sla_due(now, route.sla_hours, hours, same_business_day=route.same_business_day)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "business_hours": self.business_hours.to_dict(),
            "review_tiers": list(self.review_tiers),
            "intent_field": self.intent_field,
            "default_route": self.default_route,
            "blocked_route": self.blocked_route,
            "no_marketing_route": self.no_marketing_route,
            "routes": {name: spec.to_dict() for name, spec in self.routes.items()},
            "queues": {name: _queue_dict(q) for name, q in self.queues.items()},
            "nurture_tracks": dict(self.nurture_tracks),
            "partnerships": self.audiences.to_dict(),
        }
