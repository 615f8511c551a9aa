"""Partnership and patient leads never swap queues: generated over lead type x consent x source x tier x
region, for the shipped routing file and for variants of it whose rules send leads into each queue of the
other side. Every case is decided in a batch (``decide_columns``) and alone (``decide``)."""

from __future__ import annotations

import copy
import itertools
from importlib import resources
from typing import Any

import pandas as pd
import pytest
import yaml

from careleads.decisions import Routing, decide, decide_columns, load_routing, parse_routing
from careleads.errors import ConfigError

NOW = "2025-03-05 10:00"
SHIPPED: dict[str, Any] = yaml.safe_load(
    resources.files("careleads").joinpath("data/routing.yaml").read_text(encoding="utf-8")
)
ROUTING = load_routing()
PARTNER_TYPES = sorted(ROUTING.audiences.lead_types)
CONSENTS: list[Any] = [True, False, None]
SOURCES = ["conference", "partner_referral", "cold_outreach", "physician_referral", "paid_social", None]
TIERS: list[Any] = ["A", "B", "C", "D", None]
REGIONS: list[Any] = ["north", "south", "central", "national", "outside_area", None]


def _queues(routing: Routing) -> set[str]:
    return (
        set(routing.queues)
        | {r.queue for r in routing.routes.values()}
        | {r.route.queue for r in routing.rules}
    )


PATIENT_QUEUES = sorted(q for q in _queues(ROUTING) if ROUTING.audiences.audience(q) == "patient")
PARTNER_QUEUES = sorted(q for q in _queues(ROUTING) if ROUTING.audiences.audience(q) == "partnership")


def _lead(lead_id: str, lead_type: Any, consent: Any, source: Any, region: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "lead_type": lead_type,
        "service_line": "cardiology",
        "region": region,
        "source": source,
        "consent_marketing": consent,
        "consent_sms": consent,
        "do_not_profile": False,
        "inquiry_type": "scheduling",
        "question": "Could we talk about a referral partnership?",
        "phone": "555-0100",
        "email": "someone@example.org",
    }


def _score(lead_id: str, tier: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "probability": 0.3,
        "score": 30,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "",
        "scored_by": "model",
        "model_version": "m1",
    }


def _grid(lead_types: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    leads, scores = [], []
    for k, (t, c, s, tier, region) in enumerate(
        itertools.product(lead_types, CONSENTS, SOURCES, TIERS, REGIONS)
    ):
        leads.append(_lead(f"L{k}", t, c, s, region))
        scores.append(_score(f"L{k}", tier))
    return leads, scores


def _queues_decided(
    leads: list[dict[str, Any]], scores: list[dict[str, Any]], routing: Routing, *, alone_every: int = 7
) -> list[str]:
    """The queue of each lead in a batch; every `alone_every`-th lead is also decided alone and must agree."""
    batch = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), now=NOW, routing=routing)
    queues = [str(q) for q in batch["route_queue"]]
    for i in range(0, len(leads), alone_every):
        alone = decide(leads[i], scores[i], now=NOW, routing=routing)
        assert alone.route.queue == queues[i], leads[i]
        assert "; ".join(alone.notes) == ("" if pd.isna(batch["notes"][i]) else batch["notes"][i])
    return queues


def _with_probe(lead_types: list[str], queue: str, kind: str) -> Routing:
    """The shipped routing with a first rule sending `lead_types` to a route of `kind` in `queue`."""
    data = copy.deepcopy(SHIPPED)
    data["routes"]["probe"] = {"kind": kind, "queue": queue, "sla_hours": None, "channels": ["email"]}
    if kind == "nurture":
        data["routes"]["probe"]["nurture"] = True
    data["queues"].setdefault(queue, {})
    data["rules"].insert(0, {"lead_type": lead_types, "route": "probe"})
    return parse_routing(data, "<probe>")


def test_the_shipped_file_names_queues_on_both_sides() -> None:
    assert PARTNER_TYPES and len(PATIENT_QUEUES) >= 5 and len(PARTNER_QUEUES) >= 3
    assert "intake_general" in PATIENT_QUEUES and "bd_general" in PARTNER_QUEUES


def test_partnership_leads_never_reach_a_patient_queue_in_the_shipped_routing() -> None:
    leads, scores = _grid(PARTNER_TYPES)
    queues = _queues_decided(leads, scores, ROUTING)
    landed = {q for q in queues if ROUTING.audiences.audience(q) == "patient"}
    assert not landed, f"partnership leads landed in patient queues {landed}"
    # consent decides the outreach, not the team: without it, no newsletter, but business development reads it
    for one, queue in zip(leads, queues, strict=True):
        if one["consent_marketing"] is not True:
            assert queue != "bd_partner_newsletter"


def test_patient_leads_never_reach_a_business_development_queue_in_the_shipped_routing() -> None:
    leads, scores = _grid(["patient", None, ""])
    queues = _queues_decided(leads, scores, ROUTING)
    assert not {q for q in queues if ROUTING.audiences.audience(q) == "partnership"}


@pytest.mark.parametrize("kind", ["intake", "nurture"])
@pytest.mark.parametrize("queue", PATIENT_QUEUES)
def test_a_rule_sending_partnership_leads_to_a_patient_queue_is_overruled(queue: str, kind: str) -> None:
    routing = _with_probe(PARTNER_TYPES, queue, kind)
    leads, scores = _grid(PARTNER_TYPES)
    queues = _queues_decided(leads, scores, routing, alone_every=23)
    assert set(queues) <= set(PARTNER_QUEUES) | set(routing.audiences.shared_queues)
    assert queue not in queues
    decided = decide(leads[0], scores[0], now=NOW, routing=routing)
    assert any("partnership lead" in note for note in decided.notes)


@pytest.mark.parametrize("queue", PARTNER_QUEUES)
def test_a_rule_sending_patient_leads_to_a_business_development_queue_is_overruled(queue: str) -> None:
    routing = _with_probe(["patient", "*"], queue, "intake")
    leads, scores = _grid(["patient"])
    queues = _queues_decided(leads, scores, routing, alone_every=23)
    assert not {q for q in queues if routing.audiences.audience(q) == "partnership"}


def test_the_partnerships_section_is_checked_against_routes_and_queues() -> None:
    data = copy.deepcopy(SHIPPED)
    data["partnerships"]["queues"].append("nowhere")
    data["partnerships"]["no_marketing_route"] = "direct_reply"  # a patient queue
    data["partnerships"]["default_route"] = "bd_partner_newsletter"
    data["partnerships"]["no_marketing_route"] = "bd_partner_newsletter"  # nurture
    with pytest.raises(ConfigError) as caught:
        parse_routing(data, "<bad>")
    message = str(caught.value)
    assert "'nowhere' is not declared" in message
    assert "cannot be a nurture route" in message
    data = copy.deepcopy(SHIPPED)
    data["partnerships"]["default_route"] = "intake_review"
    with pytest.raises(ConfigError, match="not a partnership queue"):
        parse_routing(data, "<bad>")


def test_an_urgent_message_from_a_partnership_lead_still_reaches_the_triage_line() -> None:
    leads, scores = _grid(PARTNER_TYPES)
    for one in leads:
        one["question"] = "my chest is crushing and the pain goes down my left arm"
    queues = _queues_decided(leads, scores, ROUTING)
    assert set(queues) == {"clinical_triage_line"}
