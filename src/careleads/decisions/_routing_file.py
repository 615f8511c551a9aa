"""The routing file (YAML): its typed model, the checks between its parts, and loading.

The file (shipped default ``careleads/data/routing.yaml``) has

- ``routes``: named paths, each with a ``kind`` (``intake``, ``nurture``, ``service``, ``clinical``,
  ``review``, ``hold``), a ``queue``, optional ``call_script`` and ``intake_form``, ``sla_hours`` (or null),
  ``sla_clock`` (``business`` hours, the default, or ``calendar`` hours), ``same_business_day`` (the SLA
  never runs past the close of the business day the lead is first workable in), the contact ``channels``
  and ``nurture`` (the route carries a nurture track by service interest). ``nurture`` routes are marketing:
  they need marketing consent.
- ``rules``: first match wins. Each matches on ``tier``, ``service_line``, ``region``, ``lead_type`` and
  ``intent`` (a value, a list of values, or shell-style wildcards such as ``"*"``; a key left out matches
  anything; a missing value only matches ``"*"``), optionally ``intent_min_probability`` (the intent's
  probability is at least this; a lead without a message never matches), and names a ``route``; it may
  replace the route's ``queue``, ``call_script``, ``intake_form`` or ``sla_hours`` for that match.
- ``intent_field``: the free-text field whose intent the decisions read (default ``question``; null: no
  intent is read, and no rule may name one).
- ``queues``: the owner pool of each staffed queue and each owner's capacity (max open leads), and
  optionally the queue's other ``members`` (reviewers who read and label its leads but are assigned none).
  A queue without owners is worked automatically (nurture e-mail) and gets no owner. A reviewer sees the
  leads of the queues that name them as owner or member.
- ``nurture_tracks``: service-line pattern -> educational track, first match wins.
- ``partnerships`` (optional): the lead types that are partnership (B2B) leads, the ``queues`` business
  development works, the ``shared_queues`` either team may see, and the partnerships' ``default_route`` and
  ``no_marketing_route``; partnership and patient leads never swap queues (see ``_audiences``).
- ``business_hours`` for SLA due times (weekends and listed holidays skipped), ``review_tiers``, and the
  special routes ``default_route`` (no rule matched), ``blocked_route`` (a hard rule blocked score-based
  outreach) and ``no_marketing_route`` (a nurture route replaced for a lead without marketing consent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from careleads.config import ConfigLines, parse_yaml_lines, read_config_text
from careleads.decisions._audiences import Audiences
from careleads.decisions._clock import DAYS, SLA_CLOCKS, BusinessHours, sla_hours_problem
from careleads.decisions._documents import Document, Location, Problem, fail, text_keys, validated
from careleads.decisions._overrides import HUMAN_KINDS
from careleads.decisions._routing import (
    CHANNELS,
    MATCH_FIELDS,
    ROUTE_FIELDS,
    ROUTE_KINDS,
    SHIPPED_ROUTING,
    QueueSpec,
    RouteSpec,
    Routing,
    RoutingRule,
)
from careleads.errors import ConfigError
from careleads.types import PathLikeStr

_SHIPPED = SHIPPED_ROUTING.removeprefix("careleads/data/")
#: the free-text field the intent is read from when the file does not say
INTENT_TEXT_FIELD = "question"  # the file's name under careleads/data
_SPECIAL_ROUTES: tuple[str, ...] = ("default_route", "blocked_route", "no_marketing_route")


def _names(allowed: Sequence[str] | None = None) -> BeforeValidator:
    """A name or a list of names (text or numbers, read as text), each one of `allowed` when given."""

    def check(raw: Any) -> tuple[str, ...]:
        values = raw if isinstance(raw, list) else [raw]
        problems: list[Problem] = []
        out: list[str] = []
        for i, value in enumerate(values):
            at: Location = (i,) if isinstance(raw, list) else ()
            if (
                not isinstance(value, str | int | float)
                or isinstance(value, bool)
                or str(value).strip() == ""
            ):
                problems.append((at, f"expected a name or a list of names, got {value!r}"))
            elif allowed is not None and str(value) not in allowed:
                problems.append((at, f"{value!r} is not one of {list(allowed)}"))
            else:
                out.append(str(value))
        if problems:
            fail(*problems)
        return tuple(out)

    return BeforeValidator(check)


def _one_of(choices: Sequence[str]) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            fail(((), f"must be one of {list(choices)}, got {value!r}"))
        return value

    return BeforeValidator(check)


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        fail(((), f"must be true or false, got {value!r}"))
    return value


def _optional_name(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        fail(((), f"expected a name (text) or null, got {value!r}"))
    return value


def _probability(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) <= 1:
        fail(((), f"expected a probability above 0 and at most 1 (such as 0.6), got {value!r}"))
    return float(value)


Flag = Annotated[bool, BeforeValidator(_flag)]
OptionalName = Annotated[str | None, BeforeValidator(_optional_name)]
Names = Annotated[tuple[str, ...], _names()]


class RouteDoc(Document):
    """One entry under ``routes``."""

    not_a_mapping = "expected a mapping with kind, queue, sla_hours, channels, ..."
    expected = {"kind": f"must be one of {list(ROUTE_KINDS)}", "queue": "every route needs a queue name"}

    kind: Annotated[str, _one_of(ROUTE_KINDS)]
    queue: str
    call_script: OptionalName = None
    intake_form: OptionalName = None
    sla_clock: Annotated[str, _one_of(SLA_CLOCKS)] = "business"
    sla_hours: float | None = None
    same_business_day: Flag = False
    channels: Annotated[tuple[str, ...], _names(CHANNELS)] = ()
    nurture: Flag = False

    @field_validator("queue", mode="before")
    @classmethod
    def _queue(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail(((), f"every route needs a queue name, got {value!r}"))
        return value

    @field_validator("sla_hours", mode="before")
    @classmethod
    def _sla_hours(cls, value: Any, info: Any) -> Any:
        clock = info.data.get("sla_clock", "business")
        return _checked_sla_hours(value, clock)

    @model_validator(mode="after")
    def _consistent(self) -> RouteDoc:
        problems: list[Problem] = []
        if self.same_business_day and self.sla_clock != "business":
            problems.append((("same_business_day",), "needs sla_clock: business"))
        if self.kind == "clinical" and self.nurture:
            problems.append((("nurture",), "a clinical route never carries marketing nurture content"))
        if problems:
            fail(*problems)
        return self

    def spec(self, name: str) -> RouteSpec:
        return RouteSpec(
            name=name,
            kind=self.kind,
            queue=self.queue,
            call_script=self.call_script,
            intake_form=self.intake_form,
            sla_hours=self.sla_hours,
            sla_clock=self.sla_clock,
            same_business_day=self.same_business_day,
            channels=self.channels,
            nurture=self.nurture,
        )


def _sla_problem(value: Any, clock: str) -> str | None:
    """What is wrong with `sla_hours` on a route's clock, in the file's words (None when nothing is)."""
    if value is None:
        return None
    problem = sla_hours_problem(value, clock if clock in SLA_CLOCKS else "business")
    if problem is not None and "whole hours" in problem:
        return f"{problem}; use sla_clock: calendar"
    return problem


def _checked_sla_hours(value: Any, clock: str) -> float | None:
    problem = _sla_problem(value, clock)
    if problem is not None:
        fail(((), problem))
    return None if value is None else float(value)


class QueueDoc(Document):
    """One entry under ``queues``: owners in round-robin order, each with a capacity (max open leads), and
    the queue's other members (reviewers assigned no leads)."""

    not_a_mapping = "expected a mapping with 'owners' (a list, or owner -> capacity) and 'capacity'"

    owners: Any = Field(default_factory=list)
    capacity: Any = None
    members: Names = ()

    @model_validator(mode="after")
    def _owners(self) -> QueueDoc:
        self.pool()  # fails with every problem of the pool
        return self

    def pool(self) -> list[tuple[str, int]]:
        """(owner, capacity) in round-robin order."""
        pairs: list[tuple[Any, Any, Location]]  # owner, capacity, where in the file
        if isinstance(self.owners, Mapping):
            pairs = [(o, self.capacity if c is None else c, ("owners", o)) for o, c in self.owners.items()]
        elif isinstance(self.owners, list):
            pairs = [(o, self.capacity, ("owners", i)) for i, o in enumerate(self.owners)]
        else:
            fail((("owners",), f"expected a list of owners or owner -> capacity, got {self.owners!r}"))
        problems: list[Problem] = []
        out: dict[str, int] = {}
        for owner, capacity, at in pairs:
            if not isinstance(owner, str) or not owner.strip():
                problems.append((at, f"owner names must be text, got {owner!r}"))
            elif owner in out:
                problems.append((at, f"owner {owner!r} is listed twice"))
            elif isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
                must = "capacity (max open leads) must be a whole number >= 1"
                problems.append((at, f"owner {owner!r}: {must}, got {capacity!r}; set 'capacity'"))
            else:
                out[owner] = capacity
        if problems:
            fail(*problems)
        return list(out.items())

    def spec(self, name: str) -> QueueSpec:
        pool = self.pool()
        return QueueSpec(name, tuple(o for o, _ in pool), dict(pool), members=tuple(self.members))


class RuleDoc(Document):
    """One line under ``rules``: patterns per match field, the route, and what it replaces for the match."""

    not_a_mapping = "expected a mapping such as {tier: A, service_line: '*', route: call_priority}"
    unknown = (
        f"unknown key; match on {list(MATCH_FIELDS)} (and 'intent_min_probability'), name a 'route', "
        f"optionally replace {list(ROUTE_FIELDS)}"
    )

    tier: Names | None = None
    service_line: Names | None = None
    region: Names | None = None
    lead_type: Names | None = None
    intent: Names | None = None
    intent_min_probability: Annotated[float | None, BeforeValidator(_probability)] = None
    route: Any = None  # checked against the routes (see `_references`)
    queue: str | None = None
    call_script: OptionalName = None
    intake_form: OptionalName = None
    sla_hours: Any = None  # checked against the route's clock (see `_references`)

    @field_validator("queue", mode="before")
    @classmethod
    def _queue(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail(((), f"a rule may replace the queue, not remove it; expected a queue name, got {value!r}"))
        return value

    @model_validator(mode="after")
    def _intent_named(self) -> RuleDoc:
        if self.intent_min_probability is not None and self.intent is None:
            fail(
                (
                    ("intent_min_probability",),
                    "needs 'intent' (a label, a list, or \"*\" for any) on the same rule",
                )
            )
        return self

    def patterns(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, name) for name in MATCH_FIELDS if getattr(self, name) is not None}

    def changes(self) -> dict[str, Any]:
        """What this rule replaces in its route (the keys given, a null script or form removes it)."""
        out: dict[str, Any] = {
            k: getattr(self, k) for k in ("queue", "call_script", "intake_form") if k in self.model_fields_set
        }
        if "sla_hours" in self.model_fields_set:
            out["sla_hours"] = None if self.sla_hours is None else float(self.sla_hours)  # see `_references`
        return out


class PartnershipsDoc(Document):
    """``partnerships``: which leads business development reads, in which queues, by which routes."""

    not_a_mapping = (
        "expected a mapping with lead_types, queues, shared_queues, default_route and no_marketing_route"
    )

    lead_types: Names = Field(min_length=1)
    queues: Names = Field(min_length=1)
    shared_queues: Names = ()
    default_route: str
    no_marketing_route: str

    def audiences(self) -> Audiences:
        return Audiences(
            lead_types=frozenset(t.strip().lower() for t in self.lead_types),
            queues=frozenset(self.queues),
            shared_queues=frozenset(self.shared_queues),
            default_route=self.default_route,
            no_marketing_route=self.no_marketing_route,
        )


def _clock_time(default: time) -> BeforeValidator:
    def check(value: Any) -> Any:
        if value is None:
            return default
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            fail(((), f'expected a time as "HH:MM" (quoted), got {value!r}'))

    return BeforeValidator(check)


def _holidays(value: Any) -> Any:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    problems: list[Problem] = []
    out: list[date] = []
    for i, day in enumerate(values):
        try:
            out.append(day if isinstance(day, date) else date.fromisoformat(str(day)))
        except ValueError:
            problems.append(((i,), f"expected dates as YYYY-MM-DD, got {day!r}"))
    if problems:
        fail(*problems)
    return tuple(out)


class BusinessHoursDoc(Document):
    """``business_hours``: opening and closing time, working days and holidays."""

    not_a_mapping = "expected a mapping with start, end, days and holidays"

    start: Annotated[time, _clock_time(time(8, 0))] = time(8, 0)
    end: Annotated[time, _clock_time(time(18, 0))] = time(18, 0)
    days: Annotated[tuple[str, ...], _names(tuple(DAYS))] = ("mon", "tue", "wed", "thu", "fri")
    holidays: Annotated[tuple[date, ...], BeforeValidator(_holidays)] = ()

    @model_validator(mode="after")
    def _valid(self) -> BusinessHoursDoc:
        if not self.days:
            fail((("days",), "at least one business day is needed"))
        self.hours()
        return self

    def hours(self) -> BusinessHours:
        try:
            return BusinessHours(self.start, self.end, tuple(DAYS[d] for d in self.days), self.holidays)
        except ConfigError as exc:
            fail(((), str(exc)))


def _optional_mapping(value: Any) -> Any:
    return {} if value is None else text_keys(value)


def _tracks(value: Any) -> Any:
    value = _optional_mapping(value)
    if isinstance(value, Mapping):
        problems: list[Problem] = [
            ((k,), f"expected a track name, got {v!r}")
            for k, v in value.items()
            if not isinstance(v, str) or not v.strip()
        ]
        if problems:
            fail(*problems)
    return value


class RoutingDoc(Document):
    """A whole routing file."""

    not_a_mapping = "expected a mapping with 'routes', 'rules' and 'queues'"
    expected = {
        "routes": "define the routes as a mapping of route name -> settings",
        "rules": "define the routing rules as a list, first match wins",
        "queues": "expected a mapping of queue name -> owner pool",
        "nurture_tracks": "expected a mapping of service-line pattern -> track name",
    }

    version: Any = "1"
    name: Any = "routing"
    intent_field: OptionalName = INTENT_TEXT_FIELD
    business_hours: BusinessHoursDoc | None = None
    review_tiers: Names = ("A", "B")
    default_route: Any = None
    blocked_route: Any = None
    no_marketing_route: Any = None
    routes: Annotated[dict[str, RouteDoc], BeforeValidator(text_keys), Field(min_length=1)]
    rules: list[RuleDoc] = Field(min_length=1)
    queues: Annotated[dict[str, QueueDoc | None], BeforeValidator(_optional_mapping)] = Field(
        default_factory=dict
    )
    nurture_tracks: Annotated[dict[str, str], BeforeValidator(_tracks)] = Field(default_factory=dict)
    partnerships: PartnershipsDoc | None = None

    def routing(self, where: str) -> Routing:
        routes = {name: doc.spec(name) for name, doc in self.routes.items()}
        rules = []
        for index, rule in enumerate(self.rules):
            route = routes[rule.route]
            changes = rule.changes()
            rules.append(
                RoutingRule(
                    index,
                    rule.patterns(),
                    replace(route, **changes) if changes else route,
                    intent_min_probability=rule.intent_min_probability,
                )
            )
        return Routing(
            name=str(self.name),
            version=str(self.version),
            rules=tuple(rules),
            routes=routes,
            queues={name: (doc or QueueDoc()).spec(name) for name, doc in self.queues.items()},
            nurture_tracks=tuple(self.nurture_tracks.items()),
            default_route=str(self.default_route),
            blocked_route=str(self.blocked_route),
            no_marketing_route=str(self.no_marketing_route),
            review_tiers=self.review_tiers,
            business_hours=self.business_hours.hours() if self.business_hours else BusinessHours(),
            source=where,
            intent_field=self.intent_field,
            audiences=self.partnerships.audiences() if self.partnerships else Audiences(),
        )


def _partnership_problems(
    data: Mapping[str, Any], routes: Mapping[str, Any], declared: set[str]
) -> list[Problem]:
    """The ``partnerships`` section against the routes and queues: its queues exist, its routes exist and
    go to its own queues, its no-marketing route is no nurture route, and no queue is both."""
    section = data.get("partnerships")
    if not isinstance(section, Mapping):
        return []

    def names(key: str) -> set[str]:
        raw = section.get(key)
        return {str(v) for v in (raw if isinstance(raw, list) else [raw]) if v is not None}

    problems: list[Problem] = []
    own, shared = names("queues"), names("shared_queues")
    for key, listed in (("queues", own), ("shared_queues", shared)):
        for queue in sorted(listed - declared):
            problems.append((("partnerships", key), f"queue {queue!r} is not declared under 'queues'"))
    for queue in sorted(own & shared):
        problems.append((("partnerships", "shared_queues"), f"queue {queue!r} is also a partnership queue"))
    for key in ("default_route", "no_marketing_route"):
        name = section.get(key)
        route = routes.get(name) if isinstance(name, str) else None
        if not isinstance(route, Mapping):
            problems.append((("partnerships", key), f"must name a route under 'routes', got {name!r}"))
            continue
        if route.get("queue") not in own:
            message = (
                f"route {name!r} goes to queue {route.get('queue')!r}, not a partnership queue {sorted(own)}"
            )
            problems.append((("partnerships", key), message))
        if key == "no_marketing_route" and route.get("kind") == "nurture":
            message = "the route for partnership leads without marketing consent cannot be a nurture route"
            problems.append((("partnerships", key), message))
    for key in ("default_route", "no_marketing_route"):  # the patients' own fallbacks
        name = data.get(key)
        route = routes.get(name) if isinstance(name, str) else None
        if isinstance(route, Mapping) and route.get("queue") in own:
            message = f"route {name!r} is for patient leads; its queue {route.get('queue')!r} is for partners"
            problems.append(((key,), message))
    return problems


def _staffed_problems(routes: Mapping[str, Any], queues: Mapping[Any, Any]) -> list[Problem]:
    """A route that sends leads to a person (kind clinical or review: where clinical triage and possible
    emergencies go) must reach a queue that names at least one owner or member; otherwise no reviewer would
    see its leads."""
    problems: list[Problem] = []
    for name, route in routes.items():
        if not isinstance(route, Mapping) or route.get("kind") not in HUMAN_KINDS:
            continue
        queue = route.get("queue")
        spec = queues.get(queue) if isinstance(queue, str) else None
        if not isinstance(spec, Mapping):
            continue  # an undeclared queue is reported on its own
        if not (spec.get("owners") or spec.get("members")):
            message = (
                f"route {name!r} ({route.get('kind')}) sends leads that need a person to queue {queue!r}, "
                "which names no owner or member: no reviewer would see them; name its owners"
            )
            problems.append((("routes", name, "queue"), message))
    return problems


def _references(data: Any) -> list[Problem]:
    """Problems between the parts of a routing file: names of routes and queues used but not defined, the
    special routes' kinds, nurture tracks. Read from the raw document, so that they are reported together
    with the problems of the parts themselves."""
    if not isinstance(data, Mapping):
        return []
    routes = text_keys(data.get("routes")) if isinstance(data.get("routes"), Mapping) else {}

    def of_route(name: Any, key: str, default: Any = None) -> Any:
        raw = routes.get(name) if isinstance(name, str) else None
        return raw.get(key, default) if isinstance(raw, Mapping) else default

    problems: list[Problem] = []
    used_queues = {
        q for r in routes.values() if isinstance(r, Mapping) and isinstance(q := r.get("queue"), str)
    }
    rules = data.get("rules")
    intent_off = "intent_field" in data and data["intent_field"] is None
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, Mapping):
            continue
        if intent_off and "intent" in rule:
            message = "names an intent, but intent_field is null (no intent is read); name the text field"
            problems.append((("rules", index, "intent"), message))
        route = rule.get("route")
        if not isinstance(route, str) or route not in routes:
            message = f"{route!r} is not a route defined under 'routes' {sorted(routes)}"
            problems.append((("rules", index, "route"), message))
            continue
        if isinstance(rule.get("queue"), str):
            used_queues.add(rule["queue"])
        problem = _sla_problem(rule.get("sla_hours"), of_route(route, "sla_clock", "business"))
        if problem is not None:  # checked on the clock of the rule's route
            problems.append((("rules", index, "sla_hours"), problem))
    for key in _SPECIAL_ROUTES:
        value = data.get(key)
        if not isinstance(value, str) or value not in routes:
            problems.append(((key,), f"must name a route under 'routes' {sorted(routes)}, got {value!r}"))
    if of_route(data.get("blocked_route"), "kind") in ("intake", "nurture"):
        message = "a lead with score-based outreach blocked cannot go to an intake or nurture route"
        problems.append((("blocked_route",), message))
    if of_route(data.get("no_marketing_route"), "kind") == "nurture":
        message = "the route for leads without marketing consent cannot be a nurture route"
        problems.append((("no_marketing_route",), message))
    queues = data.get("queues")
    declared = set(text_keys(queues)) if isinstance(queues, Mapping) else set()
    for queue in sorted(used_queues - declared):
        message = f"queue {queue!r} is used by a route but not declared; add it (empty = no owners)"
        problems.append((("queues",), message))
    problems.extend(_staffed_problems(routes, queues if isinstance(queues, Mapping) else {}))
    problems.extend(_partnership_problems(data, routes, declared))
    if any(of_route(name, "nurture") is True for name in routes) and not data.get("nurture_tracks"):
        problems.append(
            (("nurture_tracks",), "routes with nurture: true need nurture tracks by service line")
        )
    return problems


def _validate(data: Any, where: str, lines: ConfigLines | None = None) -> tuple[Routing | None, list[str]]:
    document, problems = validated(RoutingDoc, data, source=where, lines=lines, check=_references)
    return (document.routing(where) if document is not None else None), problems


def parse_routing(data: Any, where: str = "<routing>") -> Routing:
    """Validate parsed routing YAML; every problem is reported at once in one ConfigError.

    Parameters
    ----------
    data : Any
        The parsed YAML document.
    where : str
        The file name to use in messages.

    Returns
    -------
    Routing
    """
    routing, problems = _validate(data, where)
    if routing is None:
        raise ConfigError("\n".join(problems))
    return routing


def _load_text(text: str, where: str) -> Routing:
    data, lines = parse_yaml_lines(text, source=where)
    routing, problems = _validate(data, where, lines)
    if routing is None:
        raise ConfigError("\n".join(problems))
    return routing


@lru_cache(maxsize=1)
def _shipped_routing() -> Routing:
    return _load_text(*read_config_text(None, shipped=_SHIPPED))


def load_routing(path: PathLikeStr | None = None) -> Routing:
    """Load and validate a routing file (default: the shipped ``careleads/data/routing.yaml``).

    Raises
    ------
    ConfigError
        Naming the file, the line and the key of every problem.
    """
    if path is None:
        return _shipped_routing()
    return _load_text(*read_config_text(Path(path), shipped=_SHIPPED))


def validate_routing_text(text: str, where: str = "<routing>") -> list[str]:
    """Every problem of routing YAML text, one message each with its line (empty when valid), for an editor.

    Examples
    --------
    >>> validate_routing_text("routes: {call: {kind: intake}}")  # doctest: +ELLIPSIS
    ['<routing>:1: routes.call.queue: every route needs a queue name', ...]
    """
    try:
        data, lines = parse_yaml_lines(text, source=where)
    except ConfigError as exc:
        return str(exc).split("\n")
    return _validate(data, where, lines)[1]
