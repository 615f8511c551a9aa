from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from careleads.decisions import (
    BusinessHours,
    Routing,
    load_routing,
    parse_routing,
    pick_owner,
    sla_due,
    validate_routing_text,
)
from careleads.errors import ConfigError, NotFoundError


def small_routing(**changes: Any) -> dict[str, Any]:
    """A small valid routing document; `changes` replace top-level keys."""
    doc: dict[str, Any] = {
        "version": 2,
        "name": "test-routing",
        "default_route": "fallback",
        "blocked_route": "hold",
        "no_marketing_route": "reply",
        "routes": {
            "call": {"kind": "intake", "queue": "callers", "sla_hours": 4, "channels": ["phone"]},
            "womens": {"kind": "intake", "queue": "womens_team", "sla_hours": 4, "channels": ["phone"]},
            "nurture": {"kind": "nurture", "queue": "auto", "channels": ["email"], "nurture": True},
            "reply": {"kind": "service", "queue": "callers", "sla_hours": 8, "channels": ["email"]},
            "fallback": {"kind": "review", "queue": "callers", "sla_hours": 2},
            "hold": {"kind": "hold", "queue": "auto"},
        },
        "rules": [
            {"tier": ["A", "B"], "service_line": "womens_*", "route": "womens"},
            {"tier": "A", "region": ["north", "south"], "route": "call", "call_script": "north_south_v1"},
            {"tier": "[AB]", "route": "call"},  # a character class
            {"tier": "*", "service_line": "*", "route": "nurture"},
        ],
        "queues": {
            "callers": {"capacity": 2, "owners": ["ann", "bob", "cy"]},
            "womens_team": {"owners": {"dee": 1, "eve": 3}},
            "auto": {},
        },
        "nurture_tracks": {"womens_*": "womens_series", "*": "general"},
    }
    doc.update(changes)
    return doc


def routing(**changes: Any) -> Routing:
    return parse_routing(small_routing(**changes), "test.yaml")


def test_shipped_routing_is_valid_and_covers_every_tier() -> None:
    shipped = load_routing()
    assert shipped.review_tiers == ("A", "B")
    for tier in ("A", "B", "C", "D"):
        route = shipped.match({"tier": tier, "service_line": "cardiology", "region": "east"})
        assert route.kind in ("intake", "nurture")
    assert shipped.match({"tier": None}).name == shipped.default_route
    path = Path(__file__).parents[1] / "src" / "careleads" / "data" / "routing.yaml"
    assert validate_routing_text(path.read_text(encoding="utf-8")) == []


def test_first_matching_rule_wins() -> None:
    shipped = load_routing()
    behavioral = shipped.match({"tier": "A", "service_line": "behavioral_health", "region": "north"})
    assert behavioral.name == "call_priority_behavioral"
    ortho_north = shipped.match({"tier": "A", "service_line": "orthopedics", "region": "north"})
    assert (ortho_north.name, ortho_north.queue) == ("call_priority", "intake_ortho_north")
    ortho_south = shipped.match({"tier": "A", "service_line": "orthopedics", "region": "south"})
    assert (ortho_south.name, ortho_south.queue) == ("call_priority", "intake_priority")
    assert shipped.match({"tier": "D", "service_line": "orthopedics"}).name == "nurture_only"


def test_wildcards_lists_and_missing_values() -> None:
    r = routing()
    assert r.match({"tier": "B", "service_line": "womens_health"}).name == "womens"
    assert r.match({"tier": "C", "service_line": "womens_health"}).name == "nurture"
    north = r.match({"tier": "A", "service_line": "cardiology", "region": "north"})
    assert (north.name, north.call_script) == ("call", "north_south_v1")  # the rule replaced the script
    east = r.match({"tier": "A", "service_line": "cardiology", "region": "east"})
    assert (east.name, east.call_script) == ("call", None)  # "[AB]" matched
    assert r.match({"tier": "AB", "service_line": None}).name == "nurture"  # a missing value matches only "*"
    assert r.match({"tier": "A", "region": None}).name == "call"
    assert r.nurture_track("womens_health") == "womens_series"
    assert r.nurture_track(None) == "general"


def test_matching_on_a_table_and_on_one_lead() -> None:
    r = routing()
    frame = pd.DataFrame(
        {
            "tier": ["A", "B", "C", None, "A", "AB", "B", "A"],
            "service_line": pd.Categorical(
                ["womens_health", "cardiology", "womens_health", None, None, "x", " ", "womens_x"]
            ),
            "region": ["north", "east", None, "north", "south", "north", "west", np.nan],
        }
    )
    expected = ["womens", "call", "nurture", "nurture", "call", "nurture", "call", "womens"]
    assert [spec.name for spec in r.match_many(frame)] == expected
    for row, name in zip(frame.astype(object).to_dict("records"), expected, strict=True):
        assert r.match({str(k): v for k, v in row.items()}).name == name  # one lead: a batch of one
    # a match field the data lacks counts as missing
    assert [s.name for s in r.match_many(frame.drop(columns="service_line"))][:3] == [
        "call",
        "call",
        "nurture",
    ]
    assert r.match({}).name == "nurture"  # every key missing: only the "*" rule matches
    # patterns match a value's text: 1 and 1.0 differ, even in one column of Python objects
    numbered = routing(rules=[{"tier": "1", "route": "call"}, {"tier": "*", "route": "nurture"}])
    tiers = pd.DataFrame({"tier": pd.Series([1.0, 1, True, "1"], dtype=object)})
    assert [s.name for s in numbered.match_many(tiers)] == ["nurture", "call", "nurture", "call"]


def test_round_robin_within_the_queue() -> None:
    r = routing()
    assert r.pick_owner("callers", {}, None) == "ann"
    assert r.pick_owner("callers", {}, "ann") == "bob"
    assert r.pick_owner("callers", {}, "cy") == "ann"  # wraps around
    assert r.pick_owner("callers", {}, "someone_else") == "ann"  # not in this pool: start at the top
    picks: list[str] = []
    last: str | None = None
    counts: dict[str, int] = {}
    for _ in range(5):
        owner = r.pick_owner("callers", counts, last)
        assert owner is not None
        picks.append(owner)
        counts[owner] = counts.get(owner, 0) + 1
        last = owner
    assert picks == ["ann", "bob", "cy", "ann", "bob"]


def test_round_robin_respects_capacity() -> None:
    r = routing()
    assert r.pick_owner("callers", {"bob": 2}, "ann") == "cy"  # bob is full (capacity 2): skipped
    assert r.pick_owner("callers", {"ann": 2, "bob": 2, "cy": 1}, None) == "cy"
    assert r.pick_owner("callers", {"ann": 2, "bob": 2, "cy": 2}, "ann") is None  # all full: waits
    assert r.pick_owner("womens_team", {"dee": 1}, None) == "eve"  # per-owner capacity
    assert r.pick_owner("womens_team", {"dee": 0, "eve": 3}, "dee") == "dee"
    assert r.pick_owner("auto", {}, None) is None  # no owner pool
    with pytest.raises(NotFoundError, match="queue 'nobody'"):
        r.pick_owner("nobody", {}, None)
    assert pick_owner("clinical_triage_line", {"nurse_ali": 0, "nurse_bea": 8}, None) == "nurse_ali"


def test_sla_over_a_weekend() -> None:
    hours = BusinessHours()
    friday_afternoon = pd.Timestamp("2025-03-07 16:00")  # a Friday
    assert sla_due(friday_afternoon, 4, hours) == pd.Timestamp("2025-03-10 10:00")  # Monday
    assert sla_due(friday_afternoon, 20, hours) == pd.Timestamp("2025-03-11 16:00")  # two business days
    assert sla_due("2025-03-08 11:00", 3, hours) == pd.Timestamp("2025-03-10 11:00")  # Saturday arrival
    assert sla_due("2025-03-07 16:00", 4, None) == pd.Timestamp("2025-03-07 20:00")  # calendar clock
    assert sla_due(friday_afternoon, None, hours) is None


def test_same_business_day_caps_the_due_time() -> None:
    hours = BusinessHours()
    assert sla_due("2025-03-05 09:00", 4, hours, same_business_day=True) == pd.Timestamp("2025-03-05 13:00")
    assert sla_due("2025-03-05 16:30", 4, hours, same_business_day=True) == pd.Timestamp("2025-03-05 18:00")
    # after closing time (or at it) the lead is due the next business day, on Friday evening that is Monday
    assert sla_due("2025-03-05 18:00", 4, hours, same_business_day=True) == pd.Timestamp("2025-03-06 12:00")
    assert sla_due("2025-03-07 21:00", 4, hours, same_business_day=True) == pd.Timestamp("2025-03-10 12:00")


def test_sla_skips_holidays_and_custom_days() -> None:
    hours = BusinessHours(time(9, 0), time(17, 0), (0, 1, 2, 3, 4), (date(2025, 3, 10),))
    assert sla_due("2025-03-07 16:00", 2, hours) == pd.Timestamp("2025-03-11 10:00")  # Monday is a holiday
    six_days = BusinessHours(weekdays=(0, 1, 2, 3, 4, 5))
    assert sla_due("2025-03-07 16:00", 4, six_days) == pd.Timestamp("2025-03-08 10:00")  # Saturday open
    with pytest.raises(ConfigError, match="whole hours"):
        sla_due("2025-03-07 16:00", 1.5, hours)
    assert sla_due("2025-03-07 16:00", 0.25, None) == pd.Timestamp("2025-03-07 16:15")


def test_routing_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = small_routing()
    bad["rules"] = [
        *bad["rules"],
        {"tier": "A", "route": "nowhere"},
        {"tier": "A", "colour": "red", "route": "call"},
    ]
    bad["routes"]["call"] = {**bad["routes"]["call"], "queue": "ghosts", "channels": ["phone", "fax"]}
    bad["queues"]["callers"] = {"owners": ["ann"], "capacity": 0}
    bad["business_hours"] = {"start": "9am"}
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_routing(path)
    message = str(info.value)
    at = re.escape(str(path)) + r":\d+: "  # the file and the line, then the key
    assert re.search(at + r"rules\[4\]\.route: 'nowhere' is not a route", message)
    assert re.search(at + r"rules\[5\]\.colour: unknown key", message)
    assert re.search(at + r"routes\.call\.channels\[1\]: 'fax' is not one of", message)
    must = "owner 'ann': capacity \\(max open leads\\) must be a whole number >= 1"
    assert re.search(at + r"queues\.callers\.owners\[0\]: " + must, message)
    assert re.search(at + r"queues: queue 'ghosts' is used by a route but not declared", message)
    assert re.search(at + r"business_hours\.start: ", message)
    assert len(message.splitlines()) == 6


def test_routing_special_routes_are_checked() -> None:
    errors = validate_routing_text(
        yaml.safe_dump(small_routing(no_marketing_route="nurture", blocked_route="call"))
    )
    assert any("no_marketing_route" in e and "cannot be a nurture route" in e for e in errors)
    assert any("blocked_route" in e for e in errors)
    assert validate_routing_text(yaml.safe_dump(small_routing())) == []
    assert validate_routing_text("routes: {")[0].startswith("<routing>:2:1: not valid YAML")
    with pytest.raises(ConfigError, match="whole hours"):
        routing(
            routes={
                **small_routing()["routes"],
                "call": {"kind": "intake", "queue": "callers", "sla_hours": 0.5},
            }
        )


def test_errors_give_the_line_of_the_key_in_the_file(tmp_path: Path) -> None:
    text = yaml.safe_dump(small_routing(), sort_keys=False)
    lines = text.splitlines()
    at = lines.index("  nurture:") + 1  # the nurture route's block
    lines.insert(at, "    colour: green")
    path = tmp_path / "routing.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_routing(path)
    assert str(info.value) == (
        f"{path}:{at + 1}: routes.nurture.colour: unknown key; allowed: ['call_script', 'channels', "
        "'intake_form', 'kind', 'nurture', 'queue', 'same_business_day', 'sla_clock', 'sla_hours']"
    )
    # an editor gets the same message; a parsed document (no text) gets it without a line
    assert validate_routing_text(path.read_text(encoding="utf-8"), where=str(path)) == [str(info.value)]
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: routes\.nurture\.colour: unknown key"):
        parse_routing(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def test_the_same_files_are_accepted_and_rejected() -> None:
    accepted = [
        small_routing(),
        small_routing(queues={**small_routing()["queues"], "auto": None}),  # an empty queue
        small_routing(review_tiers="A", nurture_tracks={1: "numbered"}),  # one name; a number as a pattern
        small_routing(business_hours={"start": "09:30", "end": "17:00", "days": ["mon"], "holidays": None}),
        small_routing(rules=[{"tier": 1, "route": "call", "sla_hours": 2, "call_script": None}]),
    ]
    for doc in accepted:
        assert validate_routing_text(yaml.safe_dump(doc)) == [], doc
    routes = small_routing()["routes"]
    rejected: list[tuple[dict[str, Any], str]] = [
        (small_routing(routes={}), "routes: define the routes"),
        (small_routing(rules=[]), "rules: define the routing rules"),
        (small_routing(routes={**routes, "call": {**routes["call"], "kind": "sales"}}), "must be one of"),
        (small_routing(routes={**routes, "call": {**routes["call"], "sla_hours": True}}), "positive number"),
        (
            small_routing(
                routes={
                    **routes,
                    "call": {**routes["call"], "sla_clock": "calendar", "same_business_day": True},
                }
            ),
            "needs sla_clock: business",
        ),
        (
            small_routing(routes={**routes, "call": {**routes["call"], "kind": "clinical", "nurture": True}}),
            "never carries marketing",
        ),
        (small_routing(routes={**routes, "reply": {**routes["reply"], "queue": " "}}), "needs a queue name"),
        (small_routing(rules=[{"tier": "A", "route": "call", "queue": None}]), "not remove it"),
        (small_routing(rules=[{"tier": "A", "route": "call", "sla_hours": 1.5}]), "use sla_clock: calendar"),
        (
            small_routing(rules=[{"tier": [], "route": "call"}, {"tier": True, "route": "call"}]),
            "rules[1].tier: expected a name",
        ),
        (
            small_routing(
                queues={**small_routing()["queues"], "callers": {"owners": ["ann", "ann"], "capacity": 1}}
            ),
            "listed twice",
        ),
        (small_routing(queues={**small_routing()["queues"], "callers": {"owners": "ann"}}), "list of owners"),
        (small_routing(nurture_tracks={}), "need nurture tracks"),
        (small_routing(nurture_tracks={"*": " "}), "expected a track name"),
        (small_routing(business_hours={"start": "18:00", "end": "08:00"}), "must be before end"),
        (small_routing(business_hours={"days": []}), "at least one business day"),
        (small_routing(business_hours={"holidays": ["2025-13-01"]}), "YYYY-MM-DD"),
        (small_routing(default_route="nowhere"), "default_route: must name a route"),
        (small_routing(extra=1), "extra: unknown key"),
    ]
    for doc, message in rejected:
        problems = validate_routing_text(yaml.safe_dump(doc))
        assert any(message in p for p in problems), (message, problems)
        assert all(re.match(r"<routing>:\d+: \w", p) for p in problems), problems  # file, line, key


def test_queue_members_read_the_queue_without_being_assigned() -> None:
    queues = small_routing()["queues"]
    queues["callers"]["members"] = ["team_lead"]
    parsed = routing(queues=queues)
    callers = parsed.queues["callers"]
    assert callers.members == ("team_lead",) and callers.works("team_lead") and callers.works("ann")
    assert not parsed.queues["womens_team"].works("team_lead")
    assert "team_lead" not in callers.owners  # never picked as owner
    assert callers.pick_owner({}, "cy") == "ann"
    assert parsed.to_dict()["queues"]["callers"]["members"] == ["team_lead"]
    queues["callers"]["members"] = [["nested"]]
    problems = validate_routing_text(yaml.safe_dump(small_routing(queues=queues)))
    assert any("queues.callers.members" in p for p in problems), problems


def test_a_route_that_needs_a_person_must_reach_a_staffed_queue() -> None:
    """Every clinical or review route of the shipped routing: emptying its queue's owners (and members) is
    refused with the route and the queue named; other routes' queues may be empty."""
    from importlib.resources import files

    from careleads.decisions._overrides import HUMAN_KINDS
    from careleads.decisions._routing_file import validate_routing_text

    text = files("careleads").joinpath("data/routing.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    human = {
        n: r["queue"] for n, r in data["routes"].items() if r.get("kind") in HUMAN_KINDS and "queue" in r
    }
    assert human and validate_routing_text(text) == []
    for queue in sorted(set(human.values())):
        emptied = yaml.safe_load(text)
        emptied["queues"][queue] = {"capacity": 1, "owners": []}
        problems = validate_routing_text(yaml.safe_dump(emptied))
        for name in (n for n, q in human.items() if q == queue):
            assert any(f"route {name!r}" in p and f"queue {queue!r}" in p for p in problems), (name, problems)
    others = {r["queue"] for r in data["routes"].values() if "queue" in r} - set(human.values())
    for queue in sorted(others)[:3]:
        emptied = yaml.safe_load(text)
        emptied["queues"][queue] = {"capacity": 1, "owners": []}
        assert not any(
            "no reviewer would see them" in p for p in validate_routing_text(yaml.safe_dump(emptied))
        )
