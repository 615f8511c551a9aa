"""The lead page without a browser: highlights, banners, reasons in words, score bands, the score path,
sensitive fields, route choices that fit the lead, undo, follow-up notes, save and next, the 403 page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from _service_support import BACKENDS, Service, make_settings
from _web_support import add_lead, build_app, lead_record, sign_in, start_web
from careleads.service.leads import utcnow
from careleads.service.worklist import undoable_feedback
from careleads.store import AuditEntry, Feedback, ReviewTask, ScoreEntry
from careleads.web._lead_view import percent_band, plain_reasons, score_path, score_text


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Service]:
    yield from start_web(tmp_path)


@pytest.fixture(params=BACKENDS)
def any_web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """:func:`start_web` on SQLite and, when ``CARELEADS_DATABASE_URL`` names one, on PostgreSQL."""
    settings = make_settings(tmp_path, request.param)
    app, tokens = build_app(settings)
    with TestClient(app) as client:
        yield Service(
            client=client, ctx=app.state.ctx, sessions=app.state.sessions, settings=settings, tokens=tokens
        )


def _lead(web: Service, n: int = 1, **fields: object) -> int:
    body = add_lead(web.client, web.tokens["integration"], lead_record(n, **fields))
    assert body["decision"]["review_required"], "the test lead should land in the review queue"
    lead_id: int = body["id"]
    return lead_id


def test_reasons_read_as_sentences_split_by_direction() -> None:
    split = plain_reasons(["+ source = doctor referral", "- insurance = self pay", "+ asked for a call"])
    assert split["raises"] == [
        "Source = doctor referral raises the score",
        "Asked for a call raises the score",
    ]
    assert split["lowers"] == ["Insurance = self pay lowers the score"]
    assert split["other"] == []


def test_scores_past_95_percent_are_a_band_and_rule_points_are_not_a_chance() -> None:
    assert percent_band(0.999999) == ">95%" and percent_band(0.951) == ">95%"
    assert percent_band(0.95) == "95%" and percent_band(0.622) == "62%" and percent_band(0.001) == "<1%"
    assert score_text({"scored_by": "model", "probability": 0.999999, "score": 100}) == ">95%"
    assert score_text({"scored_by": "rules", "probability": 0.14, "score": 14}) == "14/100"
    assert score_text({"scored_by": "rules", "probability": 0.99, "score": 99}) == ">95/100"


def test_the_score_path_is_newest_first_and_names_the_model_hand_over() -> None:
    ledger = [
        {"scored_by": "rules", "model_version": "points@1", "probability": 0.83, "score": 83},
        {"scored_by": "rules", "model_version": "points@1", "probability": 0.80, "score": 80},
        {"scored_by": "model", "model_version": "v3", "probability": 0.49, "score": 49},
    ]
    path = score_path(ledger)
    assert [e["score"] for e in path] == [49, 80, 83]
    assert path[0]["scorer_change"] == "model v3 replaced the rules baseline"
    assert path[1]["scorer_change"] is None and path[2]["scorer_change"] is None
    assert path[0]["score_text"] == "49%" and path[1]["score_text"] == "80/100"


def test_the_lead_page_shows_highlights_links_reasons_and_hides_sensitive_fields_from_reviewers(
    web: Service,
) -> None:
    lead_id = _lead(web)
    sign_in(web.client, web.tokens["reviewer"])
    twin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    head = twin["highlights"]
    assert head["name"] == "Ottoline Vanderpump1" and head["status"] == "in review"
    kinds = {c["kind"]: c["href"] for c in head["contacts"]}
    assert kinds == {"email": "mailto:ottoline1@example.org", "phone": "tel:5553001001"}
    reasons = twin["reasons"]["raises"] + twin["reasons"]["lowers"]
    assert reasons and all(r.endswith(("raises the score", "lowers the score")) for r in reasons)
    assert all(r.endswith("raises the score") for r in twin["reasons"]["raises"])
    # age and sex are sensitive (the dictionary says so): not for reviewers, on the page or its twin
    assert "age" not in twin["lead"]["fields"] and "sex" not in twin["lead"]["fields"]
    html = web.client.get(f"/ui/leads/{lead_id}").text
    assert 'href="tel:5553001001"' in html and 'href="mailto:ottoline1@example.org"' in html
    assert "<dt>age</dt>" not in html and "<dt>sex</dt>" not in html
    assert "raises the score" in html
    sign_in(web.client, web.tokens["admin"])
    admin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    assert admin["lead"]["fields"]["age"] == 47 and admin["lead"]["fields"]["sex"] is not None


def test_an_urgent_lead_has_a_plain_words_banner_at_the_top(web: Service) -> None:
    lead_id = _lead(web, question="Crushing chest pain spreading to my left arm")
    sign_in(web.client, web.tokens["admin"])
    twin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    assert twin["alerts"][0]["level"] == "urgent"
    assert twin["alerts"][0]["label"] == "Urgent symptoms: the clinical triage line calls first"
    html = web.client.get(f"/ui/leads/{lead_id}").text
    banner = html.index('class="banner banner-urgent"')
    assert banner < html.index("<h1>") and "urgent_clinical_symptoms" not in html


def test_route_choices_are_grouped_by_queue_and_fit_the_lead_type(web: Service) -> None:
    patient = _lead(web)
    sign_in(web.client, web.tokens["admin"])
    groups = web.client.get(f"/ui/leads/{patient}.json").json()["route_groups"]
    queues = [g["queue"] for g in groups]
    audiences = web.ctx.routing.audiences
    assert queues and all(audiences.audience(q) in ("patient", "shared") for q in queues)
    assert not any(audiences.audience(q) == "partnership" for q in queues)
    assert all(g["options"][0] == {"value": g["queue"], "label": "no owner yet"} for g in groups)
    html = web.client.get(f"/ui/leads/{patient}").text
    assert html.count("<optgroup") == len(groups) and "bd_central" not in html
    # a patient lead cannot be sent to business development through the form (nor the API) either
    csrf = sign_in(web.client, web.tokens["admin"])
    refused = web.client.post(
        f"/ui/leads/{patient}/feedback",
        data={"label": "wrong_route", "route": "bd_central", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "does not take a patient lead" in refused.text


def test_undo_reverts_the_label_and_reopens_the_task_for_its_reviewer_only(any_web: Service) -> None:
    web = any_web
    lead_id = _lead(web)
    csrf = sign_in(web.client, web.tokens["reviewer"])
    web.client.post(f"/ui/leads/{lead_id}/feedback", data={"label": "not_a_fit", "csrf_token": csrf})
    page = web.client.get(f"/ui/leads/{lead_id}.json").json()
    assert page["undo"]["label"] == "not_a_fit" and page["highlights"]["status"] == "worked"
    with web.sessions() as session:  # another reviewer may not undo it; an admin may
        kwargs = {"session": session, "ctx": web.ctx, "lead_id": lead_id}
        assert undoable_feedback(**kwargs, actor="lena", role="reviewer") is None  # type: ignore[arg-type]
        assert undoable_feedback(**kwargs, actor="admin-user", role="admin") is not None  # type: ignore[arg-type]
    assert page["recently_worked"][0]["lead_id"] == lead_id
    undone = web.client.post(f"/ui/leads/{lead_id}/undo", data={"csrf_token": csrf})
    assert undone.status_code == 200 and "Label undone" in undone.text
    with web.sessions() as session:
        assert session.scalars(select(Feedback).where(Feedback.lead_id == lead_id)).all() == []
        task = session.scalars(select(ReviewTask).where(ReviewTask.lead_id == lead_id)).one()
        assert task.status == "open" and task.closed_at is None
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "feedback.undo")).one()
        assert json.loads(audit.details)["label"] == "not_a_fit" and audit.subject == f"lead:{lead_id}"
    # nothing left to undo: a second undo is refused; past the window, too
    again = web.client.post(f"/ui/leads/{lead_id}/undo", data={"csrf_token": csrf})
    assert again.status_code == 422 and "no label you may undo" in again.text
    web.client.post(f"/ui/leads/{lead_id}/feedback", data={"label": "scheduled", "csrf_token": csrf})
    with web.sessions() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.lead_id == lead_id)).one()
        feedback.created_at = utcnow() - timedelta(minutes=web.settings.feedback_undo_minutes + 1)
        session.commit()
    late = web.client.post(f"/ui/leads/{lead_id}/undo", data={"csrf_token": csrf})
    assert late.status_code == 422
    assert web.client.get(f"/ui/leads/{lead_id}.json").json()["undo"] is None


def test_a_follow_up_note_is_redacted_and_an_emergency_in_it_goes_back_to_the_queue(any_web: Service) -> None:
    web = any_web
    lead_id = _lead(web)
    event = {
        "event_id": "visit-1",
        "occurred_at": (utcnow() - timedelta(hours=1)).isoformat(timespec="seconds"),
        "event_type": "page_view",
        "page": "pricing",
    }
    posted = web.client.post(f"/v1/leads/{lead_id}/events", json=event, headers=web.headers("integration"))
    assert posted.status_code == 201, posted.text
    csrf = sign_in(web.client, web.tokens["reviewer"])
    before = web.client.post(f"/ui/leads/{lead_id}/note", data={"note": "called", "csrf_token": csrf})
    assert before.status_code == 422 and "give a label first" in before.text
    web.client.post(f"/ui/leads/{lead_id}/feedback", data={"label": "follow_later", "csrf_token": csrf})
    noted = web.client.post(
        f"/ui/leads/{lead_id}/note",
        data={"note": "Ottoline called back: crushing chest pain and short of breath", "csrf_token": csrf},
    )
    assert noted.status_code == 200 and "Follow-up note added." in noted.text
    twin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    moments = [t["at"] for t in twin["timeline"]]
    assert len(moments) >= 2 and moments == sorted(moments, reverse=True)  # newest first
    feedback = [t for t in twin["timeline"] if t["kind"] == "feedback"][0]
    assert "Follow-up" in feedback["text"] and "Ottoline" not in feedback["text"]
    # the note may describe an emergency: the lead is back in review, at the top, for a person, and the label
    # with that note cannot be undone (every later decision keeps triaging the note)
    assert twin["review_task"] is not None and twin["undo"] is None
    kept = web.client.post(f"/ui/leads/{lead_id}/undo", data={"csrf_token": csrf})
    assert kept.status_code == 422 and "may describe an emergency" in kept.text
    assert twin["alerts"] and twin["alerts"][0]["level"] == "urgent"
    with web.sessions() as session:
        entries = session.scalars(select(ScoreEntry).where(ScoreEntry.lead_id == lead_id)).all()
        assert "follow-up note" in entries[-1].change_reason


def test_save_and_next_opens_the_next_lead_of_the_queue_in_its_order(any_web: Service) -> None:
    web = any_web
    first = _lead(web, 1)
    urgent = _lead(web, 2, question="Crushing chest pain spreading to my left arm")
    third = _lead(web, 3)
    csrf = sign_in(web.client, web.tokens["reviewer"])
    order = [i["lead_id"] for i in web.client.get("/ui/queue.json").json()["items"]]
    assert order[0] == urgent and set(order) == {first, urgent, third}
    done = web.client.post(
        f"/ui/leads/{order[1]}/feedback",
        data={"label": "scheduled", "then": "next", "csrf_token": csrf},
        follow_redirects=False,
    )
    # the queue's own order: the urgent lead first, whichever lead was just labelled
    assert done.headers["location"] == f"/ui/leads/{urgent}?done=feedback&lead={order[1]}"
    page = web.client.get(done.headers["location"])
    assert f"Lead {order[1]}: feedback saved." in page.text
    assert f'action="/ui/leads/{order[1]}/undo"' in page.text


def test_the_403_page_keeps_the_menu_and_links_back_to_the_queue(web: Service) -> None:
    lead_id = _lead(web)
    sign_in(web.client, web.tokens["reviewer"])
    with web.sessions() as session:
        for task in session.scalars(select(ReviewTask).where(ReviewTask.lead_id == lead_id)):
            task.status = "done"  # out of the queue, and never labelled by this reviewer
        session.commit()
    page = web.client.get(f"/ui/leads/{lead_id}")
    assert page.status_code == 403
    assert 'aria-label="Main"' in page.text and 'href="/ui/queue">Back to the review queue' in page.text
