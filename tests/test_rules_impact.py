"""The rules page's preview: a diff, a version bump and how many open leads a draft would re-route, counted
without writing; the count equals a recount made by saving the draft and re-scoring each open lead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from _service_support import BACKENDS, Service
from _web_support import add_lead, lead_record, sign_in, start_web
from careleads.service._ledger import rescore_lead
from careleads.service._records import current_entry, utcnow
from careleads.store import Lead, ReviewTask, ScoreEntry, session_scope


@pytest.fixture(params=BACKENDS)
def web(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Service]:
    yield from start_web(tmp_path, request.param, routing_file=None)


def _open_routes(web: Service) -> dict[int, tuple[str, str]]:
    with web.sessions() as session:
        ids = session.scalars(select(ReviewTask.lead_id).where(ReviewTask.status == "open")).all()
        out = {}
        for lead_id in sorted(set(ids)):
            entry = session.scalars(
                select(ScoreEntry)
                .where(ScoreEntry.lead_id == lead_id)
                .order_by(ScoreEntry.id.desc())
                .limit(1)
            ).one()
            out[lead_id] = (str(entry.route.get("name")), str(entry.route.get("queue")))
        return out


def test_the_impact_preview_counts_what_saving_would_re_route(web: Service) -> None:
    token = web.tokens["integration"]
    questions = ["I'd like to book a knee consultation", "crushing chest pain right now", "what does it cost"]
    for n in range(9):
        add_lead(web.client, token, lead_record(n, question=questions[n % 3], hours_ago=1 + n))
    client = web.client
    csrf = sign_in(client, web.tokens["admin"])
    routing = client.get("/ui/rules.json").json()["files"][1]
    before = _open_routes(web)
    assert ("call_priority", "intake_ortho_north") in before.values()
    # north and central orthopaedic A-tier leads go to the general intake queue instead
    draft = routing["text"].replace(
        "route: call_priority, queue: intake_ortho_north}", "route: call_priority}"
    )
    assert draft != routing["text"]
    checked = client.post("/ui/rules/routing", data={"text": draft, "action": "validate", "csrf_token": csrf})
    assert checked.status_code == 200, checked.text
    impact = client.post(
        "/ui/rules/routing",
        data={"text": draft, "action": "validate", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    ).json()["files"][1]["impact"]
    assert impact["version_before"] == "1" and impact["version_after"] == "2"
    assert any(line.startswith("-") and "intake_ortho_north}" in line for line in impact["diff"])
    assert impact["n_open"] == len(before)
    assert _open_routes(web) == before  # nothing was written
    assert f"{impact['n_changed']} of {impact['n_open']} open leads" in checked.text
    # the recount: save the draft, re-score every open lead, count the routes that moved
    saved = client.post(
        "/ui/rules/routing",
        data={"text": draft, "action": "save", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert web.ctx.routing.version == 2 or str(web.ctx.routing.version) == "2"  # bumped on save
    with session_scope(web.sessions) as session:
        for lead_id in before:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            rescore_lead(session=session, ctx=web.ctx, lead=lead, reason="recount", now=utcnow())
    after = {}
    with web.sessions() as session:
        for lead_id in before:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            entry = current_entry(session=session, lead=lead)
            after[lead_id] = (str(entry.route.get("name")), str(entry.route.get("queue")))
    recount = sum(1 for lead_id in before if after[lead_id] != before[lead_id])
    assert recount > 0 and impact["n_changed"] == recount
    assert sorted(c["lead_id"] for c in impact["changed"]) == sorted(
        i for i in before if after[i] != before[i]
    )
    history = client.get("/ui/rules.json").json()["files"][1]["history"][0]
    assert history["before_label"] != history["after_label"]  # no more "@1 -> @1"


def test_the_rules_in_force_are_shown_with_line_numbers(web: Service) -> None:
    sign_in(web.client, web.tokens["analyst"])
    page = web.client.get("/ui/rules").text
    assert '<ol class="code lines"' in page and "<li><code>version: 1</code></li>" in page
    assert "(shipped) (shipped)" not in page


def test_the_preview_warns_first_of_possible_emergencies_that_would_change_queue(web: Service) -> None:
    token = web.tokens["integration"]
    urgent = [
        add_lead(web.client, token, lead_record(n, question="crushing chest pain right now"))["id"]
        for n in (1, 2)
    ]
    add_lead(web.client, token, lead_record(3, question="I'd like to book a knee consultation"))
    csrf = sign_in(web.client, web.tokens["admin"])
    text = web.client.get("/ui/rules.json").json()["files"][1]["text"]
    block = "  clinical_triage:"
    start = text.index(block)
    end = text.index("\n  triage_review:", start)
    draft = (
        text[:start]
        + text[start:end].replace("queue: clinical_triage_line", "queue: intake_general")
        + text[end:]
    )
    assert draft != text
    checked = web.client.post(
        "/ui/rules/routing", data={"text": draft, "action": "validate", "csrf_token": csrf}
    )
    assert checked.status_code == 200, checked.text
    impact = web.client.post(
        "/ui/rules/routing",
        data={"text": draft, "action": "validate", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    ).json()["files"][1]["impact"]
    assert impact["n_leaving_clinical"] == len(urgent)
    assert [c["lead_id"] for c in impact["changed"][: len(urgent)]] == sorted(urgent)
    assert "would leave a clinical route" in checked.text
