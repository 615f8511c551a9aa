"""The decision policy at its boundaries: every precedence case, consent x channel x preferred channel, notes,
review, forced and marketing routes. Each case is decided twice, in a batch (``decide_columns``) and alone
(``decide``, a batch of one), against the same expectation."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from careleads.decisions import (
    HardRules,
    decide,
    decide_columns,
    decide_many,
    load_hard_rules,
    load_routing,
    parse_hard_rules,
    validate_rules_text,
)
from careleads.errors import ConfigError

NOW = "2025-03-05 10:00"  # a Wednesday morning
ROUTING = load_routing()


def lead(lead_id: str = "L1", **fields: Any) -> dict[str, Any]:
    """A complete, consenting patient lead with a harmless question; `fields` replace any value."""
    out: dict[str, Any] = {
        "lead_id": lead_id,
        "lead_type": "patient",
        "service_line": "cardiology",
        "region": "east",
        "source": "organic_search",
        "preferred_contact": "phone",
        "consent_marketing": True,
        "consent_sms": True,
        "do_not_profile": False,
        "inquiry_type": "scheduling",
        "question": "Can I book a check-up next week?",
        "phone": "555-0100",
        "email": "someone@example.org",
    }
    out.update(fields)
    return out


def score(lead_id: str = "L1", tier: str | None = "C", scored_by: str = "model") -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "probability": 0.3,
        "score": 30,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "",
        "scored_by": scored_by,
        "model_version": "m1" if scored_by == "model" else "rules:points",
    }


def both(leads: list[dict[str, Any]], scores: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    """Each lead's decision columns, decided in one batch and alone; the two must be equal lead for lead."""
    batch = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), now=NOW, **kwargs)
    rows: list[dict[str, Any]] = [
        {str(k): None if v is None or v != v else v for k, v in r.items()}  # NaN: missing text
        for r in batch.to_dict("records")
    ]
    for row, one, scored in zip(rows, leads, scores, strict=True):
        alone = decide(one, scored, now=NOW, **kwargs).to_dict()
        assert row["action"] == alone["action"] and row["notes"] == "; ".join(alone["notes"])
        assert row["route_name"] == alone["route"]["name"]
        assert row["route_channels"] == ",".join(alone["route"]["channels"])
        assert row["review_required"] == alone["review_required"]
        assert row["overrides"] == ";".join(o["rule"] for o in alone["overrides"])
        assert row["route_nurture_track"] == alone["route"]["nurture_track"]
    return rows


# --- overrides: every precedence case ---------------------------------------------------------------------

# rules in file order: a block-only rule, a forcing rule, a second block-only rule, a second forcing rule,
# and a clinical one listed last (clinical rules always come first)
RULES: list[tuple[str, Any]] = [
    ("block_a", "block_scoring_outreach"),
    ("force_b", {"force_route": "patient_services"}),
    ("block_c", "block_scoring_outreach"),
    ("force_d", {"force_route": "data_completion"}),
    ("clinical_e", {"force_route": "clinical_triage"}),
]
PRECEDENCE = ["clinical_e", "block_a", "force_b", "block_c", "force_d"]


def precedence_rules() -> HardRules:
    text = yaml.safe_dump(
        {
            "name": "precedence",
            "version": 1,
            "rules": [
                {
                    "name": name,
                    "description": f"flag {name} is set",
                    "when": {"field": f"flag_{name}", "equals": True},
                    "effect": effect,
                    "reason": f"because of {name}",
                }
                for name, effect in RULES
            ],
        }
    )
    return parse_hard_rules(yaml.safe_load(text), "precedence.yaml", routing=ROUTING)


def test_every_combination_of_rules_follows_the_precedence() -> None:
    rules = precedence_rules()
    routes = {name: effect["force_route"] for name, effect in RULES if isinstance(effect, dict)}
    subsets = list(itertools.product([False, True], repeat=len(RULES)))  # 32 cases
    leads = [
        lead(f"L{k}", **{f"flag_{name}": held for (name, _), held in zip(RULES, subset, strict=True)})
        for k, subset in enumerate(subsets)
    ]
    scores = [score(f"L{k}", tier="C") for k in range(len(subsets))]
    rows = both(leads, scores, hard_rules=rules, routing=ROUTING)
    for subset, row in zip(subsets, rows, strict=True):
        held = [name for name in PRECEDENCE if dict(zip([n for n, _ in RULES], subset, strict=True))[name]]
        forcing = [name for name in held if name in routes]
        assert row["overrides"] == ";".join(held)  # every rule that held, in precedence order
        if forcing:  # the first forcing rule in precedence order picks the route
            assert row["route_name"] == routes[forcing[0]]
            assert row["action"] == f"override {forcing[0]}: route {routes[forcing[0]]}"
            assert row["review_required"]  # a forced route always needs a person
        elif held:  # block-only: the blocked route, named after the first rule that held; no review
            assert row["route_name"] == ROUTING.blocked_route
            assert row["action"] == f"override {held[0]}: no score-based outreach"
            assert row["route_channels"] == "" and not row["review_required"]
        else:  # the routing table decides (tier C: e-mail follow-up) and the tier's action stands
            assert (row["route_name"], row["action"]) == ("email_follow_up", "tier C action")


def test_no_hard_rules_leaves_the_routing_table_and_the_tier_action() -> None:
    rows = both([lead()], [score(tier="B")], hard_rules=HardRules("none", "0", ()), routing=ROUTING)
    assert (rows[0]["route_name"], rows[0]["action"], rows[0]["overrides"]) == (
        "call_standard",
        "tier B action",
        "",
    )


def test_a_rule_may_not_force_a_marketing_route() -> None:
    text = (
        "rules:\n"
        "  - name: to_nurture\n"
        "    description: d\n"
        "    when: {field: region, equals: east}\n"
        "    effect: {force_route: nurture_only}\n"
        "    reason: r\n"
    )
    problems = validate_rules_text(text, routing=ROUTING, where="rules.yaml")
    assert problems == [
        "rules.yaml:5: rules[0].effect.force_route: rule 'to_nurture' forces route 'nurture_only': a hard "
        "rule cannot force a marketing (nurture) route"
    ]
    unchecked = HardRules("unchecked", "1", load_hard_rules().rules[:1] + (_forcing("nurture_only"),))
    with pytest.raises(ConfigError, match="cannot force a marketing"):
        decide(lead(), score(), hard_rules=unchecked, routing=ROUTING, now=NOW)


def _forcing(route: str) -> Any:
    rule = load_hard_rules().rules[-1]
    return type(rule)(rule.name, rule.description, rule.condition, "force_route", rule.reason, route)


# --- consent x channels x preferred channel ---------------------------------------------------------------

CONSENTS = [True, False, None, "yes"]  # only a recorded true is consent
PHONES = ["555-0100", None, "  "]
EMAILS = ["a@example.org", None]
PREFERRED = ["phone", "email", "sms", None, "fax"]
TIERS = {"A": "call_priority", "C": "email_follow_up", "D": "nurture_only"}


def test_consent_channels_and_preferred_channel_in_every_combination() -> None:
    cases = list(itertools.product(TIERS, CONSENTS, CONSENTS, PHONES, EMAILS, PREFERRED))
    leads = [
        lead(
            f"L{k}",
            consent_marketing=marketing,
            consent_sms=sms,
            phone=phone,
            email=email,
            preferred_contact=preferred,
        )
        for k, (_, marketing, sms, phone, email, preferred) in enumerate(cases)
    ]
    scores = [score(f"L{k}", tier=tier) for k, (tier, *_) in enumerate(cases)]
    rows = both(leads, scores, hard_rules=HardRules("none", "0", ()), routing=ROUTING)
    for (tier, marketing, sms, phone, email, preferred), row in zip(cases, rows, strict=True):
        table = ROUTING.route(TIERS[tier])
        replaced = table.marketing and marketing is not True
        route = ROUTING.route(ROUTING.no_marketing_route) if replaced else table
        assert row["route_name"] == route.name
        has_phone, has_email = phone is not None and phone.strip() != "", email is not None
        reachable = {"phone": has_phone, "email": has_email, "sms": has_phone and sms is True}
        channels = row["route_channels"].split(",") if row["route_channels"] else []
        assert sorted(channels) == sorted(c for c in route.channels if reachable[c])
        if preferred in channels:  # the preferred channel first, the others in the route's order
            assert channels[0] == preferred
            assert channels[1:] == [c for c in route.channels if reachable[c] and c != preferred]
        else:
            assert channels == [c for c in route.channels if reachable[c]]
        notes = row["notes"].split("; ") if row["notes"] else []
        expected_notes = []
        if replaced:
            expected_notes.append(
                f"no marketing consent: {route.name} answers the lead's request instead of {table.name}"
            )
            assert row["action"] == f"no marketing consent: {route.name} instead of {table.name}"
            assert row["route_nurture_track"] is None
        else:
            assert row["action"] == f"tier {tier} action"
        if "sms" in route.channels and has_phone and sms is not True:
            expected_notes.append("no SMS consent: the sms channel is not used")
        assert notes == expected_notes


def test_notes_come_in_order_profiling_marketing_sms() -> None:
    rows = both(
        [lead(do_not_profile=True, consent_marketing=False, consent_sms=False)],
        [score(tier="D", scored_by="rules")],
    )
    assert rows[0]["notes"].split("; ") == [
        "do not profile: scored by the rule baseline only, no model score",
        "no marketing consent: direct_reply answers the lead's request instead of nurture_only",
        "no SMS consent: the sms channel is not used",
    ]


# --- review, tracks, triage -------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["A", "B", "C", "D", None])
def test_review_for_review_tiers_forced_routes_and_review_routes(tier: str | None) -> None:
    rows = both(
        [lead("L1"), lead("L2", inquiry_type="billing_existing"), lead("L3", phone=None, email=None)],
        [score("L1", tier=tier), score("L2", tier=tier), score("L3", tier=tier)],
    )
    plain, forced, incomplete = rows
    assert plain["review_required"] is (tier in ("A", "B") or tier is None)  # no tier: the review route
    assert plain["route_name"] == ("intake_review" if tier is None else plain["route_name"])
    assert forced["review_required"] and forced["route_name"] == "patient_services"
    assert incomplete["review_required"] and incomplete["route_name"] == "data_completion"


def test_nurture_tracks_follow_the_service_line_only_on_nurture_routes() -> None:
    services = ["orthopedics", "dermatology", "unknown_line", None, " "]
    rows = both(
        [lead(f"L{k}", service_line=s) for k, s in enumerate(services)]
        + [lead(f"M{k}", service_line=s) for k, s in enumerate(services)],
        [score(f"L{k}", tier="D") for k in range(5)] + [score(f"M{k}", tier="A") for k in range(5)],
    )
    tracks = [row["route_nurture_track"] for row in rows]
    assert tracks[:5] == ["joint_and_bone_health", "skin_health", "general_health"] + ["general_health"] * 2
    assert tracks[5:] == [None] * 5  # a call route carries no nurture track


def test_a_triage_match_always_reaches_a_person() -> None:
    urgent = "crushing chest pain since this morning"
    variants = [
        lead("L1", question=urgent),
        lead("L2", question=urgent, consent_marketing=False, consent_sms=False),
        lead("L3", question=urgent, phone=None, email=None),  # also incomplete contact
        lead("L4", question=urgent, inquiry_type="other", phone=None, email=None),  # also spam-like
        lead("L5", question=urgent, region="outside_area", inquiry_type="billing_existing"),
        lead("L6", question=urgent, do_not_profile=True),
        lead("L7", question=urgent, lead_type="health_system"),
    ]
    scores = [
        score(f"L{k}", tier=t, scored_by="rules" if k == 6 else "model")
        for k, t in zip(range(1, 8), ["D", "D", "A", None, "C", "B", "A"], strict=True)
    ]
    rows = both(variants, scores)
    for row in rows:
        assert row["route_name"] == "clinical_triage" and row["route_kind"] == "clinical"
        assert row["overrides"].startswith("urgent_clinical_symptoms")
        assert row["review_required"] and row["route_nurture_track"] is None
    decisions = decide_many(pd.DataFrame(variants), pd.DataFrame(scores), now=NOW)
    assert all(d.route.owner is not None for d in decisions)  # the triage line is staffed: an owner each


# --- one lead alone and in a batch ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 31, 32, 33, 100])
def test_a_lead_decides_the_same_alone_and_in_batches_of_every_size(n: int) -> None:
    pool = [
        lead("P0"),
        lead("P1", consent_marketing=False, preferred_contact="email"),
        lead("P2", question="I can't breathe", consent_sms=None),
        lead("P3", phone=" ", email=None, inquiry_type="other"),
        lead("P4", region="outside_area", service_line="orthopedics"),
        lead("P5", do_not_profile=True, lead_type="clinician", region="north"),
    ]
    tiers = ["A", "D", "C", "B", None, "B"]
    leads = [{**pool[k % 6], "lead_id": f"L{k}"} for k in range(n)]
    scores = [
        score(f"L{k}", tier=tiers[k % 6], scored_by="rules" if k % 6 == 5 else "model") for k in range(n)
    ]
    batch = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), now=NOW)
    alone = pd.concat(
        [
            decide_columns(pd.DataFrame([one]), pd.DataFrame([s]), now=NOW)
            for one, s in zip(leads, scores, strict=True)
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(batch, alone)


def test_a_lead_decides_the_same_alone_and_in_a_batch_of_odd_values() -> None:
    # every field in a column of Python objects, with blanks, numbers as text, and values that are equal in
    # Python but not as field values (1 and True: only a recorded true is consent)
    pools: dict[str, list[Any]] = {
        "phone": ["555-0100", None, "", " ", "\x1f", float("nan")],
        "email": ["a@example.org", None, "  ", pd.NA],
        "inquiry_type": ["other", "billing_existing", "scheduling", None, " other"],
        "region": ["north", "outside_area", "east", None, "", "south "],
        "distance_km": [5.0, 150.0, None, "150", "1_000", " 150 ", "\u0663\u0660\u0660", "far", 100, True],
        "source": ["telehealth_app", "direct", None],
        "question": ["crushing chest pain now", "no chest pain", "", None, "I CANT BREATHE"],
        "service_line": ["orthopedics", "behavioral_health", None, "", "womens_health"],
        "lead_type": ["patient", "clinician", "health_system", None, ""],
        "consent_marketing": [True, False, None, "yes", np.True_, 1],
        "consent_sms": [True, False, None, "true", np.True_, 1.0],
        "preferred_contact": ["phone", "email", "sms", None, "fax", ""],
        "do_not_profile": [False, None, True, 1],
    }
    rng = np.random.default_rng(5)
    tiers = ["A", "B", "C", "D", None, "", " ", "A "]
    leads, scores = [], []
    for k in range(600):
        one = {name: values[rng.integers(len(values))] for name, values in pools.items()}
        leads.append({"lead_id": f"L{k}", **one})
        scored = score(f"L{k}", tier=tiers[rng.integers(len(tiers))])
        scores.append({**scored, "scored_by": "rules" if one["do_not_profile"] is True else "model"})
    batch = decide_many(pd.DataFrame(leads, dtype=object), pd.DataFrame(scores, dtype=object), now=NOW)
    for one, scored, in_batch in zip(leads, scores, batch, strict=True):
        alone = decide(one, scored, now=NOW)
        # owners aside: they depend on the order leads are assigned in
        assert replace(alone, route=replace(alone.route, owner=None, assignment="")) == replace(
            in_batch, route=replace(in_batch.route, owner=None, assignment="")
        ), one


def test_situations_are_found_however_many_parts_they_have() -> None:
    from careleads.decisions._fields import situations

    rng = np.random.default_rng(3)
    for n_parts, n in ((70, 100), (3, 5), (2, 1000)):  # 70 yes/no parts: more than 62 bits of code
        parts = [rng.integers(0, 2, n).astype(bool) for _ in range(n_parts - 1)] + [rng.integers(0, 9, n)]
        answers, index = situations(parts, lambda *key: key)
        rows = [tuple(int(p[i]) for p in parts) for i in range(n)]
        assert [answers[k] for k in index.tolist()] == rows  # each lead's own situation
        assert answers == list(dict.fromkeys(rows))  # each once, in order of first appearance
