"""Intent through the service: in the API's decisions, the ledger, the CRM write-back, the review queue's
filter (API and page) and the lead page; spam waits in its own queue; a spam-looking emergency gets triage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from _web_support import sign_in
from careleads.decisions import default_intent_model, read_intents
from careleads.store import OutboxRecord, ReviewTask
from careleads.synth import make_labelled_texts
from test_triage import TRIGGERING


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _messages() -> dict[str, str]:
    """One simulated message the classifier reads confidently, per intent it gives."""
    frame = make_labelled_texts(800, seed=9)
    labels, chances = read_intents(frame["text"].tolist(), default_intent_model())
    out: dict[str, str] = {}
    for text, label, p in zip(frame["text"], labels, chances, strict=True):
        if label is not None and p >= 0.9 and label not in out:
            out[label] = str(text)
    return out


def _create(service: Service, n: int, question: str | None, **fields: Any) -> dict[str, Any]:
    record = {**LEAD, "lead_id": f"CRM-INT-{n}", "phone": f"(555) 400-{1000 + n}", **fields}
    record.pop("full_name")
    record["email"] = f"lead{n}@example.org" if "email" not in fields else fields["email"]
    if question is None:
        record.pop("question")
    else:
        record["question"] = question
    response = service.client.post("/v1/leads", json=record, headers=service.headers("integration"))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def test_intent_in_decisions_queue_filter_and_write_back(service: Service) -> None:
    messages = _messages()
    assert {"spam", "billing_existing", "scheduling"} <= set(messages)
    urgent = TRIGGERING[0][0]
    created = {
        label: _create(service, k, text, phone=None, email=None)  # no contact: every lead is reviewed
        for k, (label, text) in enumerate(sorted(messages.items()))
    }
    spam = _create(service, 90, messages["spam"])  # complete contact: the spam hard rule alone
    silent = _create(service, 91, None, phone=None, email=None)
    emergency = _create(service, 92, f"{messages['spam']} {urgent}")
    # each decision carries its intent and probability; the spam lead waits in its own queue, never contacted
    for label, body in created.items():
        assert body["decision"]["intent"] == label and 0.9 <= body["decision"]["intent_probability"] <= 1
    assert spam["decision"]["route"]["name"] == "spam_review" and spam["decision"]["route"]["channels"] == []
    assert spam["decision"]["review_required"] and spam["decision"]["overrides"][0]["rule"] == "spam_message"
    assert silent["decision"]["intent"] is None and silent["decision"]["intent_probability"] is None
    assert emergency["decision"]["route"]["kind"] == "clinical"  # triage wins over spam
    # the lead read back and the write-back carry the same intent
    read = service.client.get(f"/v1/leads/{spam['id']}", headers=service.headers("admin")).json()
    assert read["decision"]["intent"] == "spam"
    with service.sessions() as session:
        payload = (
            session.scalars(select(OutboxRecord).where(OutboxRecord.lead_id == spam["id"])).one().payload
        )
        tasks = {t.lead_id: t.intent for t in session.scalars(select(ReviewTask))}
    assert (
        payload["intent"] == "spam"
        and payload["intent_probability"] == spam["decision"]["intent_probability"]
    )
    assert tasks[silent["id"]] is None and tasks[spam["id"]] == "spam"
    # the review queue filters by intent: each label, and "none" for leads without a message
    headers = service.headers("reviewer")
    everything = service.client.get("/v1/review-queue?limit=500", headers=headers).json()["data"]
    assert {item["lead_id"] for item in everything} == {
        *(b["id"] for b in created.values()),
        spam["id"],
        silent["id"],
        emergency["id"],
    }
    # low priority: the spam leads come after every other lead decided at the same time, triage first
    order = [item["lead_id"] for item in everything]
    in_spam_queue = {item["lead_id"] for item in everything if item["route"] == "spam_review"}
    assert order[0] == emergency["id"] and in_spam_queue == {spam["id"], created["spam"]["id"]}
    assert min(order.index(i) for i in in_spam_queue) > max(
        order.index(i) for i in order if i not in in_spam_queue
    )
    seen: set[int] = set()
    for intent in {*(str(item["intent"]) for item in everything if item["intent"]), "none"}:
        items = service.client.get(f"/v1/review-queue?intent={intent}", headers=headers).json()["data"]
        assert items and all(item["intent"] == (None if intent == "none" else intent) for item in items)
        seen |= {item["lead_id"] for item in items}
    assert seen == {item["lead_id"] for item in everything}  # the filters cover the queue, nothing dropped
    spam_only = service.client.get("/v1/review-queue?intent=spam", headers=headers).json()["data"]
    # the spam-looking emergency is listed too (its message reads as spam), first, on the triage line
    assert spam_only[0]["lead_id"] == emergency["id"] and spam_only[0]["route"] == "clinical_triage"
    assert {i["lead_id"] for i in spam_only} >= {spam["id"], created["spam"]["id"]}
    assert service.client.get("/v1/review-queue?intent=nothing_like_it", headers=headers).json()["data"] == []
    assert service.client.get("/v1/review-queue?intent=", headers=headers).status_code == 422


def test_queue_page_filters_by_intent_and_lead_page_says_it(service: Service) -> None:
    messages = _messages()
    spam = _create(service, 1, messages["spam"])
    silent = _create(service, 2, None, phone=None, email=None)
    billing = _create(service, 3, messages["billing_existing"], phone=None, email=None)
    sign_in(service.client, service.tokens["admin"])
    page = service.client.get("/ui/queue.json").json()
    assert page["options"]["intent"] == sorted({"spam", "billing_existing"}) + ["none"]
    only = service.client.get("/ui/queue.json?intent=spam").json()
    assert [i["lead_id"] for i in only["items"]] == [spam["id"]] and only["items"][0]["intent"] == "spam"
    none = service.client.get("/ui/queue.json?intent=none").json()
    assert [i["lead_id"] for i in none["items"]] == [silent["id"]]
    html = service.client.get("/ui/queue?intent=billing_existing").text
    assert '<select id="f-intent" name="intent">' in html and "Message intent" in html
    assert '<option value="billing_existing" selected>billing existing</option>' in html
    assert '<option value="none">no message</option>' in html
    assert f'href="/ui/leads/{billing["id"]}"' in html and f'href="/ui/leads/{spam["id"]}"' not in html
    # the lead page says the intent and its probability in plain words, or that there was no message
    lead_page = service.client.get(f"/ui/leads/{spam['id']}").text
    percent = f"{spam['decision']['intent_probability'] * 100:.0f}%"
    assert ">spam</span>" in lead_page and f"({percent} likely)" in lead_page
    assert "no message" in service.client.get(f"/ui/leads/{silent['id']}").text


def test_an_edit_naming_an_intent_the_classifier_never_gives_is_refused(service: Service) -> None:
    from careleads.service.rule_edits import check_config_text, config_file

    routing = config_file(ctx=service.ctx, kind="routing").text
    assert check_config_text(ctx=service.ctx, kind="routing", text=routing) == []
    typo = routing.replace("intent: referral_request", "intent: referal_request")
    problems = check_config_text(ctx=service.ctx, kind="routing", text=typo)
    assert len(problems) == 1 and "'referal_request' is not an intent the classifier gives" in problems[0]
    rules = config_file(ctx=service.ctx, kind="hard_rules").text
    assert check_config_text(ctx=service.ctx, kind="hard_rules", text=rules) == []
    problems = check_config_text(
        ctx=service.ctx, kind="hard_rules", text=rules.replace("equals: spam}", "equals: spma}")
    )
    assert len(problems) == 1 and "rule 'spam_message': 'spma'" in problems[0]
