"""The review queue page without a browser, on SQLite and PostgreSQL: the pinned band, order, pages,
search, saved views, the countdown in the clinic's time zone, and the empty queue's words."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from _service_support import BACKENDS, Service
from _web_support import lead_record, sign_in, start_web
from careleads.service.leads import create_lead, utcnow
from careleads.settings import Settings
from careleads.store import AuditEntry, ScoreEntry, session_scope

EMERGENCY = "Crushing chest pain spreading to my left arm"


@pytest.fixture(params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_web(tmp_path, request.param, clinic_timezone="America/Chicago")


def _seed(web: Service, kinds: str) -> list[int]:
    """One lead per letter of `kinds`: u urgent (its message describes an emergency), o overdue (created ten
    days ago), r routine; created through the service's create path."""
    now, ids = utcnow(), []
    with session_scope(web.sessions) as session:
        for n, kind in enumerate(kinds):
            at = now - timedelta(days=10) if kind == "o" else now
            record = lead_record(
                n,
                question=EMERGENCY if kind == "u" else "My knee hurts on the stairs",
                hours_ago=(now - at).total_seconds() / 3600 + 1 + n / 10,
            )
            result = create_lead(
                session=session,
                ctx=web.ctx,
                lead_in=record,
                actor="integration-user",
                role="integration",
                now=at,
            )
            ids.append(result.lead.id)
    return ids


def _queue(web: Service, query: str = "") -> dict[str, Any]:
    response = web.client.get(f"/ui/queue.json{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_pinned_band_is_whole_and_first_whatever_the_page_size(web: Service) -> None:
    ids = _seed(web, "rruroru")
    urgent, overdue = [ids[2], ids[6]], [ids[4]]
    sign_in(web.client, web.tokens["reviewer"])
    first = _queue(web, "?page_size=1")
    pinned = [i["lead_id"] for i in first["items"] if i["pinned"]]
    assert set(pinned[:2]) == set(urgent) and pinned[2:] == overdue  # clinical triage, then overdue
    assert [i["pinned"] for i in first["items"]] == [True, True, True, False]
    assert (first["page"], first["n_pages"], first["n_pinned"]) == (1, 4, 3)
    counts = first["counts"]
    assert (counts["total"], counts["urgent"], counts["overdue"], counts["mine"]) == (7, 2, 1, 0)
    later = [_queue(web, f"?page_size=1&page={p}")["items"] for p in (2, 3, 4)]
    assert all(len(items) == 1 and not items[0]["pinned"] for items in later)
    shown = pinned + [first["items"][-1]["lead_id"]] + [items[0]["lead_id"] for items in later]
    assert sorted(shown) == sorted(ids)  # every lead on exactly one page
    # pages past the last show the last; the overdue view holds the overdue lead only
    assert _queue(web, "?page_size=1&page=99")["page"] == 4
    # clinical triage stays pinned in every view, filter and search; the overdue view adds the overdue lead
    assert [i["lead_id"] for i in _queue(web, "?view=overdue")["items"]][2:] == overdue
    assert {i["lead_id"] for i in _queue(web, "?view=urgent")["items"]} == set(urgent)
    for narrowing in ("?view=mine", "?tier=ZZ", "?search=nobody-matches-this", "?view=overdue&page_size=1"):
        band = [i["lead_id"] for i in _queue(web, narrowing)["items"] if i["pinned"]]
        assert set(urgent) <= set(band), narrowing
    # the tier and intent chips are links to their filters, counted over the whole queue
    html = web.client.get("/ui/queue").text
    for intent, n in first["counts"]["by_intent"].items():
        assert f'href="/ui/queue?intent={intent}"' in html
        matching = [i for i in _queue(web, f"?intent={intent}")["items"] if i["intent"] == intent]
        assert len(matching) == n
    assert sum(first["counts"]["by_intent"].values()) == 7
    assert all(f'href="/ui/queue?tier={tier}"' in html for tier in first["counts"]["by_tier"])
    # the read is audited with the leads shown, band included (the first read is the page signing in lands on)
    with web.sessions() as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "review_queue.read").order_by(AuditEntry.id)
        ).all()
    assert json.loads(str(reads[1].details))["lead_ids"] == [i["lead_id"] for i in first["items"]]


def test_orders_after_the_band(web: Service) -> None:
    _seed(web, "rrrrrr")
    sign_in(web.client, web.tokens["reviewer"])
    due = _queue(web)["items"]
    keys = [(i["sla_due"], -(i["score"] or 0)) for i in due]
    assert keys == sorted(keys), "by SLA due time, then the best score"
    by_score = [i["score"] for i in _queue(web, "?sort=score")["items"]]
    assert by_score == sorted(by_score, reverse=True)
    by_age = [i["received_at"] for i in _queue(web, "?sort=age")["items"]]
    assert by_age == sorted(by_age)
    by_name = [i["name"] for i in _queue(web, "?sort=name")["items"]]
    assert by_name == sorted(by_name, key=str.casefold)
    assert _queue(web, "?sort=nonsense")["sort"] == "due"


def test_search_by_name_phone_and_crm_id(web: Service) -> None:
    ids = _seed(web, "rrrrrrrrrrrr")
    sign_in(web.client, web.tokens["reviewer"])
    for typed in ("CRM-WEB-11", "crm-web-11", "Vanderpump11", "555.300.1011", "5553001011"):
        assert [i["lead_id"] for i in _queue(web, f"?q={typed}")["items"]] == [ids[11]], typed
    assert len(_queue(web, "?q=Vanderpump1")["items"]) == 3  # 1, 10 and 11
    assert _queue(web, "?q=nobody-by-that-name")["items"] == []
    html = web.client.get("/ui/queue?q=Vanderpump11").text
    assert 'href="tel:5553001011"' in html and 'href="mailto:ottoline11@example.org"' in html
    assert "Nothing to review with these filters" in web.client.get("/ui/queue?q=zzz").text


def test_empty_queue_says_nothing_to_review_without_filters(web: Service) -> None:
    sign_in(web.client, web.tokens["reviewer"])
    html = web.client.get("/ui/queue").text
    assert "Nothing to review." in html and "with these filters" not in html
    assert "Nothing to review with these filters" in web.client.get("/ui/queue?view=mine").text


def test_countdown_and_times_in_the_clinic_zone(web: Service) -> None:
    ids = _seed(web, "uo")
    sign_in(web.client, web.tokens["reviewer"])
    html = web.client.get("/ui/queue").text
    items = {i["lead_id"]: i for i in _queue(web)["items"]}
    assert items[ids[0]]["sla_due_minutes"] > 0 and items[ids[1]]["sla_due_minutes"] < 0
    assert re.search(r"due in (\d+ min|1 h), [0-2]\d:[0-5]\d", html)  # the 1-hour clinical-triage SLA
    assert "overdue by " in html
    assert " CST" in html or " CDT" in html  # America/Chicago, not UTC
    assert " UTC" not in html


def test_clinic_timezone_must_be_an_iana_name(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, clinic_timezone="Europe/Paris").clinic_tz.key == "Europe/Paris"
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(data_dir=tmp_path, clinic_timezone="Mars/Olympus")


def test_a_row_shows_the_strongest_reason_that_raised_the_score(web: Service) -> None:
    """A lead's reasons can start with one that lowered its score: the row shows the first that raised it,
    and nothing when none did."""
    ids = _seed(web, "rrr")
    with session_scope(web.sessions) as session:
        entries = {
            lead_id: session.scalars(
                select(ScoreEntry).where(ScoreEntry.lead_id == lead_id).order_by(ScoreEntry.id.desc())
            ).first()
            for lead_id in ids
        }
        first, second, third = (entries[i] for i in ids)
        assert first is not None and second is not None and third is not None
        first.reasons = ["- insurance: self pay", "+ source: doctor referral", "+ region: north"]
        second.reasons = ["- insurance: self pay"]
        third.reasons = ["+ intake urgency: soon"]
    sign_in(web.client, web.tokens["reviewer"])
    shown = {i["lead_id"]: i["top_reason"] for i in _queue(web)["items"]}
    assert shown[ids[0]] == "+ source: doctor referral"
    assert shown[ids[1]] is None
    assert shown[ids[2]] == "+ intake urgency: soon"
