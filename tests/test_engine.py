from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from careleads.decisions import (
    Decision,
    HardRules,
    assign_owner,
    decide,
    decide_many,
    decisions_frame,
    load_routing,
)
from careleads.errors import ConfigError, InputError
from careleads.scoring import DECISION_COLUMNS
from conftest import Export

NOW = "2025-03-05 10:00"  # a Wednesday morning


def make_lead(lead_id: str = "L1", **fields: Any) -> dict[str, Any]:
    """A complete, in-area, consenting lead with a harmless question; `fields` replace any value."""
    lead: dict[str, Any] = {
        "lead_id": lead_id,
        "lead_type": "patient",
        "service_line": "orthopedics",
        "source": "organic_search",
        "region": "east",
        "distance_km": 12.0,
        "preferred_contact": "email",
        "consent_marketing": True,
        "consent_sms": True,
        "do_not_profile": False,
        "inquiry_type": "scheduling",
        "question": "Do you have knee appointments next week?",
        "phone": "(555) 010-2000",
        "email": "someone@example.org",
    }
    lead.update(fields)
    return lead


def make_score(
    lead_id: str = "L1", tier: str = "C", score: int = 30, scored_by: str = "model"
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "as_of": pd.Timestamp("2025-03-04 10:00"),
        "probability": score / 100,
        "score": score,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "+ scheduling inquiry",
        "scored_by": scored_by,
        "model_version": "m-test" if scored_by == "model" else "rules:default",
    }


# --- consent ----------------------------------------------------------------------------------------------


def test_marketing_nurture_needs_marketing_consent() -> None:
    consenting = decide(make_lead(), make_score(tier="C"), now=NOW)
    assert consenting.route.name == "email_follow_up"
    assert consenting.route.nurture_track == "joint_and_bone_health"
    assert consenting.notes == ()
    for no_consent in (False, None):
        decision = decide(make_lead(consent_marketing=no_consent), make_score(tier="D"), now=NOW)
        assert decision.route.name == "direct_reply"  # the lead's own request is still answered
        assert decision.route.kind == "service"
        assert decision.route.nurture_track is None
        assert any("no marketing consent" in note for note in decision.notes)
        assert decision.action == "no marketing consent: direct_reply instead of nurture_only"


def test_a_direct_request_for_care_is_answered_without_marketing_consent() -> None:
    for tier, route in (("A", "call_priority"), ("B", "call_standard")):
        decision = decide(make_lead(consent_marketing=False), make_score(tier=tier, score=80), now=NOW)
        assert decision.route.name == route
        assert decision.action == f"tier {tier} action"
        assert decision.notes == ()


def test_sms_only_with_sms_consent() -> None:
    with_consent = decide(make_lead(), make_score(tier="A", score=90), now=NOW)
    assert with_consent.route.channels == ("email", "phone", "sms")  # preferred channel first
    without = decide(make_lead(consent_sms=False), make_score(tier="A", score=90), now=NOW)
    assert without.route.channels == ("email", "phone")
    assert "no SMS consent: the sms channel is not used" in without.notes
    no_phone = decide(make_lead(phone=None, preferred_contact="sms"), make_score(tier="A", score=90), now=NOW)
    assert no_phone.route.channels == ("email",)  # sms needs a phone number too
    text_consent_as_word = decide(make_lead(consent_sms="yes"), make_score(tier="A", score=90), now=NOW)
    assert "sms" not in text_consent_as_word.route.channels  # only a recorded true counts as consent


def test_do_not_profile_is_recorded_as_scored_by_rules() -> None:
    decision = decide(
        make_lead(do_not_profile=True), make_score(tier="B", score=60, scored_by="rules"), now=NOW
    )
    assert decision.scored_by == "rules"
    assert decision.model_version == "rules:default"
    assert "do not profile: scored by the rule baseline only, no model score" in decision.notes
    assert decision.to_dict()["scored_by"] == "rules"
    with pytest.raises(InputError, match="'do not profile' carry a model score"):
        decide(make_lead(do_not_profile=True), make_score(scored_by="model"), now=NOW)


# --- the decision ---------------------------------------------------------------------------------------


def test_decision_dict_has_the_promised_keys() -> None:
    d = decide(make_lead(), make_score(tier="A", score=91), now="2025-03-07 17:00", open_counts={"amara": 3})
    out = d.to_dict()
    assert set(out) >= {
        "lead_id",
        "score",
        "probability",
        "tier",
        "action",
        "reasons",
        "scored_by",
        "model_version",
        "overrides",
        "route",
        "review_required",
    }
    assert set(out["route"]) >= {
        "name",
        "queue",
        "owner",
        "call_script",
        "intake_form",
        "sla_hours",
        "sla_due",
        "nurture_track",
        "channels",
    }
    assert out["route"]["owner"] == "amara"
    assert out["route"]["sla_due"] == "2025-03-07T18:00:00"  # top tier: the same business day
    assert out["route"]["call_script"] == "call_priority_v1"
    assert out["review_required"] is True
    assert out["rules_version"] == "default-healthcare-hard-rules@2"
    assert out["routing_version"] == "default-healthcare-routing@1"


def test_review_required_for_top_tiers_and_forced_routes_only() -> None:
    assert decide(make_lead(), make_score(tier="B", score=60), now=NOW).review_required
    assert not decide(make_lead(), make_score(tier="C"), now=NOW).review_required
    assert not decide(
        make_lead(consent_marketing=False), make_score(tier="D", score=2), now=NOW
    ).review_required
    forced = decide(make_lead(inquiry_type="billing_existing"), make_score(tier="D", score=2), now=NOW)
    assert forced.review_required and forced.route.name == "patient_services"


def test_owners_fill_up_and_the_rest_wait() -> None:
    n = 8
    leads = pd.DataFrame([make_lead(f"L{i}") for i in range(n)])
    scored = pd.DataFrame([make_score(f"L{i}", tier="A", score=90 - i) for i in range(n)])
    leads.loc[7, "question"] = "I have crushing chest pain right now"
    counts = {"amara": 15, "ben": 14, "chloe": 13, "dev": 15}  # capacity 15 each: three places left
    decisions = decide_many(leads, scored, open_counts=counts, last_assigned="amara", now=NOW)
    owners = [(d.lead_id, d.route.owner, d.route.assignment) for d in decisions]
    # the clinical lead goes to the triage line; the best scores get the three places, in round-robin order
    assert owners[7] == ("L7", "nurse_ali", "assigned")
    assert owners[:3] == [("L0", "ben", "assigned"), ("L1", "chloe", "assigned"), ("L2", "chloe", "assigned")]
    assert all(o == (f"L{i}", None, "waiting") for i, o in enumerate(owners[3:7], start=3))
    assert counts == {"amara": 15, "ben": 14, "chloe": 13, "dev": 15}  # the caller's mapping is untouched
    nurture = decide(make_lead(), make_score(tier="D", score=1), now=NOW)
    assert (nurture.route.owner, nurture.route.assignment) == (None, "not_staffed")


def test_batch_round_robin_carries_the_turn_per_queue() -> None:
    leads = pd.DataFrame([make_lead(f"L{i}") for i in range(5)])
    scored = pd.DataFrame([make_score(f"L{i}", tier="B", score=60) for i in range(5)])
    decisions = decide_many(leads, scored, last_assigned={"intake_standard": "jon"}, now=NOW)
    assert [d.route.owner for d in decisions] == ["kai", "ines", "jon", "kai", "ines"]
    assert {d.route.sla_due for d in decisions} == {pd.Timestamp("2025-03-07 10:00")}  # 20 business hours


def test_assignment_lookup_is_asked_only_for_the_staffed_queues_it_needs() -> None:
    asked: list[frozenset[str]] = []

    def lookup(queues: frozenset[str]) -> tuple[dict[str, int], dict[str, str]]:
        asked.append(queues)
        return {"amara": 15, "ben": 14, "chloe": 13, "dev": 15}, {"intake_priority": "amara"}

    leads = pd.DataFrame([make_lead(f"L{i}") for i in range(8)])
    scored = pd.DataFrame([make_score(f"L{i}", tier="A", score=90 - i) for i in range(8)])
    leads.loc[7, "question"] = "I have crushing chest pain right now"
    looked_up = decide_many(leads, scored, assignments=lookup, now=NOW)
    given = decide_many(
        leads,
        scored,
        open_counts={"amara": 15, "ben": 14, "chloe": 13, "dev": 15},
        last_assigned={"intake_priority": "amara"},
        now=NOW,
    )
    assert looked_up == given and len(asked) == 1
    assert asked == [frozenset({"intake_priority", "clinical_triage_line"})]
    one = decide(make_lead(), make_score(tier="A", score=91), now=NOW, assignments=lookup)
    assert one.route.owner == "ben" and len(asked) == 2  # amara was last: ben is next
    # a lead for an unstaffed queue (nurture) needs no lookup at all
    decide(make_lead(), make_score(tier="D", score=1), now=NOW, assignments=lookup)
    assert len(asked) == 2


def test_assign_owner_after_deciding_equals_deciding_with_the_state() -> None:
    state = ({"amara": 15, "ben": 3, "chloe": 13, "elena": 1}, {"intake_priority": "ben"})

    def lookup(queues: frozenset[str]) -> tuple[dict[str, int], dict[str, str]]:
        assert len(queues) == 1  # one decision, one queue
        return state

    cases = [
        (make_lead(), make_score(tier="A", score=91)),
        (make_lead(), make_score(tier="B", score=60)),
        (make_lead(), make_score(tier="D", score=1)),
        ({**make_lead(), "question": "crushing chest pain right now"}, make_score(tier="C", score=30)),
    ]
    for lead, score in cases:
        early = decide(lead, score, now=NOW)  # before the transaction: no queue state
        assert assign_owner(early, assignments=lookup) == decide(lead, score, now=NOW, assignments=lookup)
        assert assign_owner(early, open_counts=state[0], last_assigned=state[1]) == decide(
            lead, score, now=NOW, open_counts=state[0], last_assigned=state[1]
        )
    full = {"amara": 15, "ben": 15, "chloe": 15, "dev": 15}
    waiting = assign_owner(decide(*cases[0], now=NOW), open_counts=full)
    assert (waiting.route.owner, waiting.route.assignment) == (None, "waiting")


def test_inputs_are_checked() -> None:
    leads = pd.DataFrame([make_lead("L1"), make_lead("L2")])
    with pytest.raises(InputError, match=r"1 scored leads are not in the leads table, e.g. \['L9'\]"):
        decide_many(leads, pd.DataFrame([make_score("L1"), make_score("L9")]), now=NOW)
    with pytest.raises(InputError, match="more than once"):
        decide_many(pd.concat([leads, leads]), pd.DataFrame([make_score("L1")]), now=NOW)
    with pytest.raises(InputError, match="lacks"):
        decide(make_lead(), {"lead_id": "L1", "score": 3}, now=NOW)
    with pytest.raises(InputError, match="pair them up"):
        decide(make_lead("L1"), make_score("L2"), now=NOW)
    assert decide_many(leads.iloc[:0], pd.DataFrame(columns=list(DECISION_COLUMNS)), now=NOW) == []


def test_leads_and_scores_are_matched_by_id_not_position() -> None:
    leads = pd.DataFrame([make_lead("L1"), make_lead("L2", inquiry_type="billing_existing"), make_lead("L3")])
    scored = pd.DataFrame([make_score("L2"), make_score("L1")])
    decisions = decide_many(leads, scored, now=NOW)
    assert [(d.lead_id, d.route.name) for d in decisions] == [
        ("L2", "patient_services"),
        ("L1", "email_follow_up"),
    ]


# --- one lead vs a batch --------------------------------------------------------------------------------


def _scores_for(leads: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.beta(1, 5, len(leads))
    tier = np.select([probability > 0.4, probability > 0.25, probability > 0.1], ["A", "B", "C"], "D")
    no_profile = leads["do_not_profile"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "as_of": leads["created_at"].to_numpy(),
            "probability": probability,
            "score": np.rint(probability * 100).astype(int),
            "tier": tier,
            "action": [f"tier {t}" for t in tier],
            "reasons": "",
            "scored_by": np.where(no_profile, "rules", "model"),
            "model_version": np.where(no_profile, "rules:points", "m1"),
        }
    )


def _comparable(decision: Decision) -> dict[str, Any]:
    out = decision.to_dict()
    out["route"].pop("owner")  # owners depend on the order leads are assigned in (one at a time vs a batch)
    out["route"].pop("assignment")
    return out


def test_a_lead_alone_decides_as_in_its_batch_on_a_simulated_export(small_export: Export) -> None:
    leads = small_export.tables.leads.iloc[:1500]
    scored = _scores_for(leads, seed=1)
    many = decide_many(leads, scored, now=NOW)
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in leads.to_dict("records")]
    rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in scored.to_dict("records")]
    for i in range(0, len(leads), 3):  # one lead is read from a mapping, the batch from typed columns
        one = decide(records[i], rows[i], now=NOW)
        assert _comparable(one) == _comparable(many[i]), records[i]["lead_id"]
    table = decisions_frame(many)
    assert len(table) == len(leads)
    # every branch was exercised by the simulated data
    routes = set(table["route_name"])
    assert {"clinical_triage", "informational_reply", "patient_services", "direct_reply"} <= routes
    assert {"call_priority", "call_standard", "email_follow_up", "nurture_only"} <= routes
    assert table["notes"].str.contains("do not profile").any()
    # never a marketing route without marketing consent, never sms without sms consent
    by_id = leads.set_index("lead_id")
    no_marketing = (
        ~by_id.loc[table["lead_id"], "consent_marketing"].astype("boolean").fillna(False).to_numpy()
    )
    assert not table.loc[no_marketing, "route_name"].isin(["email_follow_up", "nurture_only"]).any()
    no_sms = ~by_id.loc[table["lead_id"], "consent_sms"].astype("boolean").fillna(False).to_numpy()
    assert not table.loc[no_sms, "route_channels"].str.contains("sms").any()


def test_clinical_triage_is_never_a_sales_or_marketing_route(small_export: Export) -> None:
    leads = small_export.tables.leads
    decisions = decide_many(leads, _scores_for(leads, seed=2), now=NOW)
    triaged = [d for d in decisions if any(o.rule == "urgent_clinical_symptoms" for o in d.overrides)]
    assert triaged, "the simulator writes some urgent messages"
    routing = load_routing()
    assert all(d.route.kind == "clinical" and d.route.nurture_track is None for d in triaged)
    assert all(routing.route(d.route.name).kind == "clinical" for d in triaged)
    assert all(d.review_required for d in triaged)


def test_custom_rules_and_routing_are_checked_against_each_other() -> None:
    shipped = load_routing()
    routes = {name: spec for name, spec in shipped.routes.items() if name != "patient_services"}
    without = replace(shipped, routes=routes)
    with pytest.raises(ConfigError, match="forces route 'patient_services', which is not in"):
        decide(make_lead(), make_score(), routing=without, now=NOW)


def test_without_hard_rules_the_routing_table_decides() -> None:
    no_rules = HardRules("none", "1", ())
    decision = decide(make_lead(phone=None, email=None), make_score(tier="B", score=55), hard_rules=no_rules)
    assert (decision.route.name, decision.overrides) == ("call_standard", ())
    assert decision.route.channels == ()  # still no way to reach the lead: no channel is offered
