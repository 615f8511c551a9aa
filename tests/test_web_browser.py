"""The web pages in a real browser: Debian's Chromium driven by Python Playwright against uvicorn.

Sign in, open the queue, open a lead, give feedback and change its route, see both in the ledger, the
timeline and the dashboard; a reviewer cannot open the models page. Screenshots of each page go to
``<tmp_path>/screenshots``; with ``CARELEADS_UPDATE_SCREENSHOTS=1`` the dashboard shot is copied to
``docs/images/dashboard.png`` (the README shows it; the queue's comes from test_web_queue_browser.py).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest

from _service_support import free_port, make_settings, publish, trained_day_one_model
from _web_support import HOSTILE, build_app, lead_record
from careleads.service.leads import utcnow
from careleads.synth import generate

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
N_LEADS = 200
DAYS = 84
#: columns a CRM records after the outcome: never sent at creation
_LATER = ("lead_status", "stage", "call_notes", "owner")

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install 'careleads[browser]'"
)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


@dataclass
class Live:
    base_url: str
    tokens: dict[str, str]
    hostile_lead: int


def _seed(client: httpx.Client, token: str) -> int:
    """Simulated leads of the last `DAYS` days with their outcomes so far, plus one lead with hostile text."""
    data = generate(600, seed=7, bad_row_rate=0.0)
    leads = data.leads.sample(N_LEADS, random_state=0).sort_values("created_at")
    leads = leads.drop(columns=[c for c in _LATER if c in leads.columns])
    created = pd.to_datetime(leads["created_at"])
    now = pd.Timestamp(utcnow())
    start, span = created.min(), max(created.max() - created.min(), pd.Timedelta(hours=1))
    new_created = now - pd.Timedelta(days=DAYS) + (created - start) / span * pd.Timedelta(days=DAYS - 1)
    shift = dict(zip(leads["lead_id"], new_created - created, strict=True))
    headers = {"Authorization": f"Bearer {token}"}
    ids: dict[str, int] = {}
    for row, when in zip(leads.to_dict("records"), new_created, strict=True):
        record = {k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and pd.isna(v))}
        record["created_at"] = when.isoformat(timespec="seconds")
        response = client.post("/v1/leads", json=record, headers=headers)
        assert response.status_code == 201, response.text
        ids[str(row["lead_id"])] = response.json()["id"]
    for row in data.outcomes.to_dict("records"):
        lead = str(row["lead_id"])
        if lead not in ids:
            continue
        when = pd.Timestamp(row["occurred_at"]) + shift[lead]
        if when >= now:
            continue
        response = client.post(
            f"/v1/leads/{ids[lead]}/outcomes",
            json={"outcome": row["outcome"], "occurred_at": when.isoformat(timespec="seconds")},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    hostile = client.post(
        "/v1/leads", json=lead_record(1, question=HOSTILE, hours_ago=3), headers=headers
    ).json()
    lead_id: int = hostile["id"]
    urgent = lead_record(2, question="Crushing chest pain spreading to my left arm", hours_ago=1)
    client.post("/v1/leads", json=urgent, headers=headers).raise_for_status()  # a clinical-triage lead
    for i, kind in enumerate(("page_view", "call_request")):
        client.post(
            f"/v1/leads/{lead_id}/events",
            json={
                "event_id": f"web-{i}",
                "occurred_at": (utcnow() - timedelta(hours=2 - i)).isoformat(timespec="seconds"),
                "event_type": kind,
                "page": "pricing" if kind == "page_view" else None,
            },
            headers=headers,
        ).raise_for_status()
    return lead_id


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real app (API and pages) served by uvicorn on a free port, with a published model and data."""
    import uvicorn

    settings = make_settings(tmp_path_factory.mktemp("web-live"), "sqlite")
    # a day-one model, as `careleads train` builds it: new leads get realistic first scores
    publish(settings, trained_day_one_model())
    app, tokens = build_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            hostile = _seed(client, tokens["integration"])
        yield Live(base_url=base_url, tokens=tokens, hostile_lead=hostile)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    del live  # started first, so the server outlives the browser
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Watch:
    """Fails the test on any dialog (a script ran) or console error (for example a CSP violation)."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on(
            "console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))


def _new_page(browser: Any, live: Live) -> tuple[Any, Any, Watch]:
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1366, "height": 800})
    page = context.new_page()
    return context, page, Watch(page)


def _sign_in(page: Any, token: str) -> None:
    page.goto("/ui/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _shoot(page: Any, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_sign_in_queue_lead_feedback_ledger_dashboard(browser: Any, live: Live, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    context, page, watch = _new_page(browser, live)
    try:
        page.goto("/ui/queue")
        assert page.url.endswith("/ui/login?next=/ui/queue")
        _shoot(page, shots, "login")
        page.get_by_label("API token").fill(live.tokens["admin"])
        page.keyboard.press("Enter")  # the form works from the keyboard
        page.wait_for_url(lambda url: urlsplit(url).path == "/ui/queue")

        # the queue: clinical triage first, filters, the hostile text shown as text
        heading = page.get_by_role("heading", level=1)
        assert heading.inner_text() == "Review queue"
        rows = page.locator("table.queue tr.lead-row")
        assert rows.count() > 5
        triage = ["urgent clinical symptoms" in row for row in rows.all_inner_texts()]
        assert any(triage) and triage == sorted(triage, reverse=True)  # clinical-triage rows come first
        assert page.get_by_text("<script>alert(1)</script>", exact=False).count() >= 1
        _shoot(page, shots, "queue")
        urgent = page.locator("table.queue tr.lead-row.is-urgent")
        urgent_ids = {urgent.nth(i).get_attribute("data-lead") for i in range(urgent.count())}
        page.get_by_text("Filters", exact=True).click()
        page.get_by_label("Tier", exact=True).select_option("A")
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        # the filter narrows the other rows to tier A; clinical triage stays pinned whatever its tier
        others = page.locator("table.queue tr.lead-row:not(.is-urgent) .tier").all_inner_texts()
        assert {t.strip() for t in others} == {"A"}
        urgent = page.locator("table.queue tr.lead-row.is-urgent[data-pinned]")
        assert {urgent.nth(i).get_attribute("data-lead") for i in range(urgent.count())} == urgent_ids

        # the lead: keyboard skip link first, then reasons, route, contact, redacted text, ledger chart
        page.goto(f"/ui/leads/{live.hostile_lead}")
        page.keyboard.press("Tab")
        assert page.locator(":focus").inner_text() == "Skip to content"
        assert page.locator("blockquote.free-text").first.inner_text() == HOSTILE
        assert page.get_by_text("ottoline1@example.org").count() == 1
        assert page.get_by_role("img", name="Score over time").count() == 1
        n_ledger = page.locator("#h-ledger + figure + .table-wrap tbody tr").count()
        _shoot(page, shots, "lead")

        # feedback with a note, then a route change: both visible after the redirect
        page.get_by_label("Note").fill("booked for Tuesday, called Ottoline on 555-300-1001")
        page.get_by_role("button", name="Scheduled").click()
        page.wait_for_load_state()
        assert page.get_by_role("status").inner_text() == "Feedback saved."
        timeline = page.locator("ol.timeline").inner_text()
        assert "feedback: scheduled" in timeline and "booked for Tuesday" in timeline
        assert "Ottoline" not in timeline and "300-1001" not in timeline  # the note is stored redacted
        page.get_by_text("Send to another queue", exact=True).click()  # the action bar's folded form
        page.get_by_label("Send to another queue or owner").select_option("intake_general")
        page.get_by_label("Reason for the change").fill("general intake handles this service")
        page.get_by_role("button", name="Change route").click()
        page.wait_for_load_state()
        assert page.get_by_role("status").inner_text() == "Route changed."
        ledger = page.locator("#h-ledger + figure + .table-wrap tbody tr")
        assert ledger.count() == n_ledger + 1
        assert "reviewer admin-user changed the route" in ledger.first.inner_text()
        _shoot(page, shots, "lead-after-feedback")

        # the dashboard counts the feedback
        page.goto("/ui/dashboard")
        assert "scheduled: 1" in page.locator("#h-feedback + ul").inner_text()
        assert "wrong route: 1" in page.locator("#h-feedback + ul").inner_text()
        assert page.locator("figure.chart img").count() >= 4
        for img in page.locator("figure.chart img").all():
            assert img.evaluate("i => i.complete && i.naturalWidth > 0"), "a chart did not render"
        dashboard_png = _shoot(page, shots, "dashboard")

        page.goto("/ui/models")
        assert page.get_by_role("heading", name="Model card", exact=False).count() == 1
        _shoot(page, shots, "models")
        page.goto("/ui/rules")
        _shoot(page, shots, "rules")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(lambda url: urlsplit(url).query == "done=signed_out")
        assert watch.problems == []
    finally:
        context.close()
    for name in ("login", "queue", "lead", "lead-after-feedback", "dashboard", "models", "rules"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
    if os.environ.get("CARELEADS_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dashboard_png, DOCS_IMAGES / "dashboard.png")


def test_a_reviewer_cannot_see_the_models_page(browser: Any, live: Live, tmp_path: Path) -> None:
    context, page, watch = _new_page(browser, live)
    try:
        _sign_in(page, live.tokens["reviewer"])
        assert urlsplit(page.url).path == "/ui/queue"
        menu = page.get_by_role("navigation", name="Main")
        assert menu.get_by_role("link", name="Models").count() == 0
        response = page.goto("/ui/models")
        assert response is not None and response.status == 403
        assert page.get_by_role("heading", level=1).inner_text().startswith("Not allowed")
        _shoot(page, tmp_path / "screenshots", "reviewer-models-403")
        # Chromium logs the refused page itself as a failed load; nothing else may go wrong
        assert [p for p in watch.problems if "status of 403" not in p] == []
    finally:
        context.close()
