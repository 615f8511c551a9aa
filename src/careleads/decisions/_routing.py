"""Routing: tier x service line x region -> a route (queue, call script, intake form, SLA, nurture track).

The routing file (YAML, shipped default ``careleads/data/routing.yaml``) has

- ``routes``: named paths, each with a ``kind`` (``intake``, ``nurture``, ``service``, ``clinical``,
  ``review``, ``hold``), a ``queue``, optional ``call_script`` and ``intake_form``, ``sla_hours`` (or null),
  ``sla_clock`` (``business`` hours, the default, or ``calendar`` hours), ``same_business_day`` (the SLA
  never runs past the close of the business day the lead is first workable in), the contact ``channels``
  and ``nurture`` (the route carries a nurture track by service interest). ``nurture`` routes are marketing:
  they need marketing consent.
- ``rules``: first match wins. Each matches on ``tier``, ``service_line``, ``region`` and ``lead_type``
  (a value, a list of values, or shell-style wildcards such as ``"*"``; a key left out matches anything;
  a missing value only matches ``"*"``) and names a ``route``; it may replace the route's ``queue``,
  ``call_script``, ``intake_form`` or ``sla_hours`` for that match.
- ``queues``: the owner pool of each staffed queue and each owner's capacity (max open leads). A queue
  without owners is worked automatically (nurture e-mail) and gets no owner.
- ``nurture_tracks``: service-line pattern -> educational track, first match wins.
- ``business_hours`` for SLA due times (weekends and listed holidays skipped), ``review_tiers``, and the
  special routes ``default_route`` (no rule matched), ``blocked_route`` (a hard rule blocked score-based
  outreach) and ``no_marketing_route`` (a nurture route replaced for a lead without marketing consent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from careleads.errors import ConfigError, NotFoundError
from careleads.types import PathLikeStr

ROUTE_KINDS: tuple[str, ...] = ("intake", "nurture", "service", "clinical", "review", "hold")
CHANNELS: tuple[str, ...] = ("phone", "email", "sms")
MATCH_FIELDS: tuple[str, ...] = ("tier", "service_line", "region", "lead_type")
ROUTE_FIELDS: tuple[str, ...] = ("queue", "call_script", "intake_form", "sla_hours")
SLA_CLOCKS: tuple[str, ...] = ("business", "calendar")
_DAYS: Mapping[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHIPPED_ROUTING = "careleads/data/routing.yaml"


def read_yaml_text(path: PathLikeStr | None, shipped: str) -> tuple[str, str]:
    """The text of a YAML file and its name for messages (the shipped file when `path` is None)."""
    if path is None:
        package, _, name = shipped.partition("/")
        return resources.files(package).joinpath(name).read_text(encoding="utf-8"), shipped
    where = str(path)
    try:
        return Path(path).read_text(encoding="utf-8"), where
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror}; check the path") from None


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError with the file, line and column.

    With libyaml's safe loader where PyYAML has it: the pure-Python one took about 30 ms for the shipped
    routing and hard rules, once in every batch worker.
    """
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{at} is not valid YAML: {exc.problem}; fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None


@dataclass(frozen=True)
class BusinessHours:
    """Working hours for SLA clocks: the same opening and closing time on each working weekday.

    Examples
    --------
    >>> hours = BusinessHours()
    >>> str(sla_due(pd.Timestamp("2025-03-07 16:00"), 4, hours))  # Friday afternoon
    '2025-03-10 10:00:00'
    """

    start: time = time(8, 0)
    end: time = time(18, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ConfigError(f"business hours start {self.start} must be before end {self.end}")
        if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
            raise ConfigError(
                f"business days {list(self.weekdays)} must be weekday numbers 0 (Mon) .. 6 (Sun)"
            )

    def offset(self, n_hours: int = 1) -> pd.offsets.CustomBusinessHour:
        """The pandas business-hour offset of `n_hours` on these hours (weekends and holidays skipped)."""
        return _business_offset(self, n_hours)

    def to_dict(self) -> dict[str, Any]:
        names = {v: k for k, v in _DAYS.items()}
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "days": [names[d] for d in self.weekdays],
            "holidays": [d.isoformat() for d in self.holidays],
        }


@lru_cache(maxsize=256)
def _business_offset(hours: BusinessHours, n_hours: int) -> pd.offsets.CustomBusinessHour:
    """Built once per hours and length: building an offset (its holiday calendar) costs more than using it."""
    # pandas-stubs lack weekmask/holidays on CustomBusinessHour; pandas takes them
    return pd.offsets.CustomBusinessHour(  # type: ignore[call-arg]
        n=n_hours,
        start=hours.start.strftime("%H:%M"),
        end=hours.end.strftime("%H:%M"),
        weekmask=" ".join(_DAY_NAMES[d] for d in sorted(set(hours.weekdays))),
        holidays=[pd.Timestamp(d) for d in hours.holidays],
    )


def sla_due(
    now: pd.Timestamp | str,
    sla_hours: float | None,
    business_hours: BusinessHours | None = None,
    *,
    same_business_day: bool = False,
) -> pd.Timestamp | None:
    """When the first contact is due: `sla_hours` business hours after `now`, weekends and holidays skipped.

    Parameters
    ----------
    now : Timestamp or str
        The decision time, in the business's local time (a tz-aware time is read in its own zone).
    sla_hours : float or None
        Hours allowed; None means no SLA (returns None). On a business clock it must be a whole number.
    business_hours : BusinessHours, optional
        Working hours; None means a calendar clock (plain hours, nights and weekends count).
    same_business_day : bool
        Also cap the due time at the close of the business day the lead is first workable in: a lead that
        arrives during business hours is due that day, one that arrives after close is due the next business
        day. Needs `business_hours`.

    Returns
    -------
    Timestamp or None

    Examples
    --------
    >>> str(sla_due("2025-03-07 17:00", 4, BusinessHours(), same_business_day=True))
    '2025-03-07 18:00:00'
    >>> str(sla_due("2025-03-08 10:00", 2, BusinessHours()))  # Saturday: Monday's opening plus two hours
    '2025-03-10 10:00:00'
    """
    if sla_hours is None:
        return None
    start = pd.Timestamp(now)
    if sla_hours <= 0:
        raise ConfigError(f"sla_hours must be positive, got {sla_hours}")
    if business_hours is None:
        if same_business_day:
            raise ConfigError(
                "same_business_day needs business hours; set business_hours in the routing file"
            )
        return start + pd.Timedelta(hours=float(sla_hours))
    if float(sla_hours) != int(sla_hours):
        raise ConfigError(f"sla_hours on a business clock must be whole hours, got {sla_hours}")
    due: pd.Timestamp = start + business_hours.offset(int(sla_hours))
    if not same_business_day:
        return due
    # The first workable moment: now if it falls inside business hours, else the next opening.
    opening: pd.Timestamp = business_hours.offset(1).rollforward(start)
    close = opening.normalize() + pd.Timedelta(
        hours=business_hours.end.hour, minutes=business_hours.end.minute
    )
    if opening >= close:  # exactly at closing time: the next business day
        opening = opening + business_hours.offset(1) - pd.Timedelta(hours=1)
        close = opening.normalize() + pd.Timedelta(
            hours=business_hours.end.hour, minutes=business_hours.end.minute
        )
    return min(due, close)


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
    """One line of the routing table: patterns per match field (None = any) and the route it resolves to."""

    index: int
    patterns: Mapping[str, tuple[str, ...]]
    route: RouteSpec

    def matches(self, values: Mapping[str, Any]) -> bool:
        return all(_matches_any(values.get(name), pats) for name, pats in self.patterns.items())

    def match_many(
        self, frame: pd.DataFrame, distinct: dict[str, tuple[npt.NDArray[np.intp], Any]] | None = None
    ) -> npt.NDArray[np.bool_]:
        """Whether each row of `frame` matches; `distinct` keeps each column's factorized values between
        the rules of a table (``pd.factorize``'s codes and values, missing -1)."""
        mask = np.ones(len(frame), dtype=bool)
        distinct = {} if distinct is None else distinct
        for name, pats in self.patterns.items():
            if name not in frame:
                mask &= "*" in pats
                continue
            # each distinct value is matched once: a column has a handful of categories
            if name not in distinct:
                distinct[name] = pd.factorize(frame[name], use_na_sentinel=True)
            codes, uniques = distinct[name]
            hits = np.array([_matches_any(v, pats) for v in uniques] + ["*" in pats], dtype=bool)
            mask &= hits[codes]
        return mask


def _is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or str(value).strip() == ""


def _matches_any(value: Any, patterns: tuple[str, ...]) -> bool:
    if _is_missing(value):
        return "*" in patterns
    text = str(value)
    return any(fnmatchcase(text, p) for p in patterns)


@dataclass(frozen=True)
class QueueSpec:
    """A queue's owner pool, in round-robin order, with each owner's capacity (max open leads)."""

    name: str
    owners: tuple[str, ...] = ()
    capacity: Mapping[str, int] = field(default_factory=dict)

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
                f"route {name!r} is not in {self.source}; known routes: {sorted(self.routes)}"
            ) from None

    def match(self, values: Mapping[str, Any]) -> RouteSpec:
        """The route of the first rule matching `values` (tier, service_line, region, lead_type)."""
        for rule in self.rules:
            if rule.matches(values):
                return rule.route
        return self.routes[self.default_route]

    def matching_rules(self, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
        """The index of the first rule each row of `frame` matches (-1: none, the default route applies)."""
        chosen = np.full(len(frame), -1, dtype=np.int64)
        distinct: dict[str, tuple[npt.NDArray[np.intp], Any]] = {}  # rules share the columns they match
        for rule in self.rules:
            open_rows = chosen < 0
            if not open_rows.any():
                break
            chosen[open_rows & rule.match_many(frame, distinct)] = rule.index
        return chosen

    def match_many(self, frame: pd.DataFrame) -> list[RouteSpec]:
        """:meth:`match` for every row of `frame`, evaluated rule by rule on whole columns."""
        fallback = self.routes[self.default_route]
        return [self.rules[i].route if i >= 0 else fallback for i in self.matching_rules(frame).tolist()]

    def nurture_track(self, service_line: Any) -> str | None:
        """The educational track for a service interest (first matching pattern), or None."""
        for pattern, track in self.nurture_tracks:
            if _matches_any(service_line, (pattern,)):
                return track
        return None

    def pick_owner(self, queue: str, open_counts: Mapping[str, int], last_assigned: str | None) -> str | None:
        """See :func:`pick_owner`."""
        try:
            spec = self.queues[queue]
        except KeyError:
            raise NotFoundError(
                f"queue {queue!r} is not in {self.source}; known: {sorted(self.queues)}"
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
            "default_route": self.default_route,
            "blocked_route": self.blocked_route,
            "no_marketing_route": self.no_marketing_route,
            "routes": {name: spec.to_dict() for name, spec in self.routes.items()},
            "queues": {
                name: {"owners": {o: q.capacity[o] for o in q.owners}} for name, q in self.queues.items()
            },
            "nurture_tracks": dict(self.nurture_tracks),
        }


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


# ---------------------------------------------------------------------------------------------------------
# parsing


class _Errors:
    """Collects every problem of a file, so an editor can show them all at once."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.messages: list[str] = []

    def add(self, at: str, message: str) -> None:
        self.messages.append(f"{self.where}: {at}: {message}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


def _text_list(
    raw: Any, at: str, errors: _Errors, *, allowed: Sequence[str] | None = None
) -> tuple[str, ...]:
    values = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for value in values:
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value).strip() == "":
            errors.add(at, f"expected a name or a list of names, got {value!r}")
            continue
        if allowed is not None and str(value) not in allowed:
            errors.add(at, f"{value!r} is not one of {list(allowed)}")
            continue
        out.append(str(value))
    return tuple(out)


def _optional_text(raw: Any, at: str, errors: _Errors) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        errors.add(at, f"expected a name (text) or null, got {raw!r}")
        return None
    return raw


def _sla_hours(raw: Any, at: str, errors: _Errors, clock: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        errors.add(at, f"sla_hours must be a positive number of hours or null, got {raw!r}")
        return None
    if clock == "business" and float(raw) != int(raw):
        errors.add(
            at, f"sla_hours on a business clock must be whole hours, got {raw!r}; use sla_clock: calendar"
        )
        return None
    return float(raw)


_ROUTE_KEYS = frozenset(
    {
        "kind",
        "queue",
        "call_script",
        "intake_form",
        "sla_hours",
        "sla_clock",
        "same_business_day",
        "channels",
        "nurture",
    }
)


def _parse_route(name: str, raw: Any, errors: _Errors) -> RouteSpec | None:
    at = f"route {name!r}"
    if not isinstance(raw, Mapping):
        errors.add(at, "expected a mapping with kind, queue, sla_hours, channels, ...")
        return None
    for key in raw:
        if key not in _ROUTE_KEYS:
            errors.add(f"{at}, key {key!r}", f"unknown key; allowed: {sorted(_ROUTE_KEYS)}")
    kind = raw.get("kind")
    if kind not in ROUTE_KINDS:
        errors.add(f"{at}, key 'kind'", f"must be one of {list(ROUTE_KINDS)}, got {kind!r}")
    queue = raw.get("queue")
    if not isinstance(queue, str) or not queue.strip():
        errors.add(f"{at}, key 'queue'", f"every route needs a queue name, got {queue!r}")
    clock = raw.get("sla_clock", "business")
    if clock not in SLA_CLOCKS:
        errors.add(f"{at}, key 'sla_clock'", f"must be one of {list(SLA_CLOCKS)}, got {clock!r}")
        clock = "business"
    same_day = raw.get("same_business_day", False)
    if not isinstance(same_day, bool):
        errors.add(f"{at}, key 'same_business_day'", f"must be true or false, got {same_day!r}")
    elif same_day and clock != "business":
        errors.add(f"{at}, key 'same_business_day'", "needs sla_clock: business")
    nurture = raw.get("nurture", False)
    if not isinstance(nurture, bool):
        errors.add(f"{at}, key 'nurture'", f"must be true or false, got {nurture!r}")
    channels = _text_list(raw.get("channels", []), f"{at}, key 'channels'", errors, allowed=CHANNELS)
    if kind == "clinical" and nurture is True:
        errors.add(f"{at}, key 'nurture'", "a clinical route never carries marketing nurture content")
    return RouteSpec(
        name=name,
        kind=str(kind),
        queue=str(queue),
        call_script=_optional_text(raw.get("call_script"), f"{at}, key 'call_script'", errors),
        intake_form=_optional_text(raw.get("intake_form"), f"{at}, key 'intake_form'", errors),
        sla_hours=_sla_hours(raw.get("sla_hours"), f"{at}, key 'sla_hours'", errors, str(clock)),
        sla_clock=str(clock),
        same_business_day=same_day is True,
        channels=channels,
        nurture=nurture is True,
    )


def _parse_queue(name: str, raw: Any, errors: _Errors) -> QueueSpec:
    at = f"queue {name!r}"
    if raw is None:
        return QueueSpec(name)
    if not isinstance(raw, Mapping):
        errors.add(at, "expected a mapping with 'owners' (a list, or owner -> capacity) and 'capacity'")
        return QueueSpec(name)
    for key in raw:
        if key not in ("owners", "capacity"):
            errors.add(f"{at}, key {key!r}", "unknown key; allowed: ['capacity', 'owners']")
    default = raw.get("capacity")
    owners_raw = raw.get("owners", [])
    pairs: list[tuple[Any, Any]]
    if isinstance(owners_raw, Mapping):
        pairs = [(o, c if c is not None else default) for o, c in owners_raw.items()]
    elif isinstance(owners_raw, list):
        pairs = [(o, default) for o in owners_raw]
    else:
        errors.add(
            f"{at}, key 'owners'", f"expected a list of owners or owner -> capacity, got {owners_raw!r}"
        )
        pairs = []
    owners: list[str] = []
    capacity: dict[str, int] = {}
    for owner, cap in pairs:
        if not isinstance(owner, str) or not owner.strip():
            errors.add(f"{at}, key 'owners'", f"owner names must be text, got {owner!r}")
            continue
        if owner in capacity:
            errors.add(f"{at}, key 'owners'", f"owner {owner!r} is listed twice")
            continue
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            errors.add(
                f"{at}, owner {owner!r}",
                f"capacity (max open leads) must be a whole number >= 1, got {cap!r}; set 'capacity'",
            )
            continue
        owners.append(owner)
        capacity[owner] = cap
    return QueueSpec(name, tuple(owners), capacity)


_RULE_KEYS = frozenset(MATCH_FIELDS) | frozenset(ROUTE_FIELDS) | {"route"}


def _parse_rule(index: int, raw: Any, routes: Mapping[str, RouteSpec], errors: _Errors) -> RoutingRule | None:
    at = f"rule #{index + 1}"
    if not isinstance(raw, Mapping):
        errors.add(at, "expected a mapping such as {tier: A, service_line: '*', route: call_priority}")
        return None
    for key in raw:
        if key not in _RULE_KEYS:
            errors.add(
                f"{at}, key {key!r}",
                f"unknown key; match on {list(MATCH_FIELDS)}, name a 'route', "
                f"optionally replace {list(ROUTE_FIELDS)}",
            )
    route_name = raw.get("route")
    if route_name not in routes:
        errors.add(
            f"{at}, key 'route'", f"{route_name!r} is not a route defined under 'routes' {sorted(routes)}"
        )
        return None
    patterns = {
        name: _text_list(raw[name], f"{at}, key {name!r}", errors) for name in MATCH_FIELDS if name in raw
    }
    route = routes[str(route_name)]
    changes: dict[str, Any] = {}
    if "queue" in raw:
        queue = _optional_text(raw["queue"], f"{at}, key 'queue'", errors)
        if queue is None:
            errors.add(f"{at}, key 'queue'", "a rule may replace the queue, not remove it")
        else:
            changes["queue"] = queue
    for key in ("call_script", "intake_form"):
        if key in raw:
            changes[key] = _optional_text(raw[key], f"{at}, key {key!r}", errors)
    if "sla_hours" in raw:
        changes["sla_hours"] = _sla_hours(raw["sla_hours"], f"{at}, key 'sla_hours'", errors, route.sla_clock)
    return RoutingRule(index, patterns, replace(route, **changes) if changes else route)


def _parse_business_hours(raw: Any, errors: _Errors) -> BusinessHours:
    if raw is None:
        return BusinessHours()
    at = "business_hours"
    if not isinstance(raw, Mapping):
        errors.add(at, "expected a mapping with start, end, days and holidays")
        return BusinessHours()
    for key in raw:
        if key not in ("start", "end", "days", "holidays"):
            errors.add(f"{at}, key {key!r}", "unknown key; allowed: ['days', 'end', 'holidays', 'start']")

    def clock(key: str, default: time) -> time:
        value = raw.get(key)
        if value is None:
            return default
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            errors.add(f"{at}, key {key!r}", f'expected a time as "HH:MM" (quoted), got {value!r}')
            return default

    start, end = clock("start", time(8, 0)), clock("end", time(18, 0))
    days = _text_list(
        raw.get("days", ["mon", "tue", "wed", "thu", "fri"]),
        f"{at}, key 'days'",
        errors,
        allowed=tuple(_DAYS),
    )
    holidays: list[date] = []
    for value in raw.get("holidays") or []:
        try:
            holidays.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            errors.add(f"{at}, key 'holidays'", f"expected dates as YYYY-MM-DD, got {value!r}")
    if start >= end:
        errors.add(at, f"start {start} must be before end {end}")
        return BusinessHours()
    if not days:
        errors.add(f"{at}, key 'days'", "at least one business day is needed")
        return BusinessHours()
    return BusinessHours(start, end, tuple(_DAYS[d] for d in days), tuple(holidays))


_TOP_KEYS = frozenset(
    {
        "version",
        "name",
        "business_hours",
        "review_tiers",
        "default_route",
        "blocked_route",
        "no_marketing_route",
        "routes",
        "rules",
        "queues",
        "nurture_tracks",
    }
)


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
    errors = _Errors(where)
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping with 'routes', 'rules' and 'queues', got {type(data).__name__}"
        )
    for key in data:
        if key not in _TOP_KEYS:
            errors.add(f"key {key!r}", f"unknown key; allowed: {sorted(_TOP_KEYS)}")
    routes_raw = data.get("routes")
    routes: dict[str, RouteSpec] = {}
    if not isinstance(routes_raw, Mapping) or not routes_raw:
        errors.add("key 'routes'", "define the routes as a mapping of route name -> settings")
    else:
        for name, raw in routes_raw.items():
            spec = _parse_route(str(name), raw, errors)
            if spec is not None:
                routes[str(name)] = spec
    queues_raw = data.get("queues") or {}
    queues: dict[str, QueueSpec] = {}
    if not isinstance(queues_raw, Mapping):
        errors.add("key 'queues'", "expected a mapping of queue name -> owner pool")
    else:
        queues = {str(n): _parse_queue(str(n), raw, errors) for n, raw in queues_raw.items()}
    rules_raw = data.get("rules")
    rules: list[RoutingRule] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        errors.add("key 'rules'", "define the routing rules as a list, first match wins")
    else:
        for i, raw in enumerate(rules_raw):
            rule = _parse_rule(i, raw, routes, errors)
            if rule is not None:
                rules.append(replace(rule, index=len(rules)))
    specials: dict[str, str] = {}
    for key in ("default_route", "blocked_route", "no_marketing_route"):
        value = data.get(key)
        if value not in routes:
            errors.add(f"key {key!r}", f"must name a route under 'routes' {sorted(routes)}, got {value!r}")
        specials[key] = str(value)
    if specials["blocked_route"] in routes and routes[specials["blocked_route"]].kind in (
        "intake",
        "nurture",
    ):
        errors.add(
            "key 'blocked_route'",
            "a lead with score-based outreach blocked cannot go to an intake or nurture route",
        )
    if specials["no_marketing_route"] in routes and routes[specials["no_marketing_route"]].marketing:
        errors.add(
            "key 'no_marketing_route'",
            "the route for leads without marketing consent cannot be a nurture route",
        )
    # every queue a route or rule uses must be declared (a typo would silently leave leads unassigned)
    used = {spec.queue for spec in routes.values()} | {rule.route.queue for rule in rules}
    for queue in sorted(used - set(queues)):
        errors.add(
            "key 'queues'", f"queue {queue!r} is used by a route but not declared; add it (empty = no owners)"
        )
    tracks_raw = data.get("nurture_tracks") or {}
    tracks: list[tuple[str, str]] = []
    if not isinstance(tracks_raw, Mapping):
        errors.add("key 'nurture_tracks'", "expected a mapping of service-line pattern -> track name")
    else:
        for pattern, track in tracks_raw.items():
            if not isinstance(track, str) or not track.strip():
                errors.add(f"nurture_tracks, key {pattern!r}", f"expected a track name, got {track!r}")
            else:
                tracks.append((str(pattern), track))
    if any(spec.nurture for spec in routes.values()) and not tracks:
        errors.add("key 'nurture_tracks'", "routes with nurture: true need nurture tracks by service line")
    review_tiers = _text_list(data.get("review_tiers", ["A", "B"]), "key 'review_tiers'", errors)
    hours = _parse_business_hours(data.get("business_hours"), errors)
    errors.raise_if_any()
    return Routing(
        name=str(data.get("name", "routing")),
        version=str(data.get("version", "1")),
        rules=tuple(rules),
        routes=routes,
        queues=queues,
        nurture_tracks=tuple(tracks),
        default_route=specials["default_route"],
        blocked_route=specials["blocked_route"],
        no_marketing_route=specials["no_marketing_route"],
        review_tiers=review_tiers,
        business_hours=hours,
        source=where,
    )


@lru_cache(maxsize=1)
def _shipped_routing() -> Routing:
    text, where = read_yaml_text(None, SHIPPED_ROUTING)
    return parse_routing(parse_yaml(text, where), where)


def load_routing(path: PathLikeStr | None = None) -> Routing:
    """Load and validate a routing file (default: the shipped ``careleads/data/routing.yaml``).

    Raises
    ------
    ConfigError
        Naming the file and each rule, route, queue and key that is wrong.
    """
    if path is None:
        return _shipped_routing()
    text, where = read_yaml_text(path, SHIPPED_ROUTING)
    return parse_routing(parse_yaml(text, where), where)


def validate_routing_text(text: str, where: str = "<routing>") -> list[str]:
    """Every problem of routing YAML text as a list of messages (empty when it is valid), for an editor."""
    try:
        parse_routing(parse_yaml(text, where), where)
    except ConfigError as exc:
        return str(exc).split("\n")
    return []
