"""The lead page's work loop in a real browser: Debian's Chromium driven by Python Playwright against uvicorn.

A signed-in reviewer opens a lead from the queue, labels it, undoes the label, labels it again, adds a
follow-up note, uses "save and next" and lands on the next lead of the queue; no page along the way (nor
the worked lead reopened by its URL) answers 403, and the action bar sits in the first screenful on a laptop
(1400x1000) and on a phone (390x844). With ``CARELEADS_UPDATE_SCREENSHOTS=1`` the lead page's screenshot is
copied to ``docs/images/lead.png``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from _service_support import make_settings
from _web_support import add_lead, build_app, lead_record, served

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
LAPTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install 'careleads[browser]'"
)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


@dataclass
class Live:
    base_url: str
    tokens: dict[str, str]
    lead_ids: list[int]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app served by uvicorn on a free port, with four leads in the review queue (one urgent)."""
    settings = make_settings(tmp_path_factory.mktemp("lead-live"), "sqlite")
    app, tokens = build_app(settings)
    with served(app) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            ids = [
                add_lead(client, tokens["integration"], lead_record(n, question="Knee pain on stairs"))["id"]
                for n in (1, 3, 4)
            ]
            urgent = lead_record(2, question="Crushing chest pain spreading to my left arm", hours_ago=1)
            ids.append(add_lead(client, tokens["integration"], urgent)["id"])
        yield Live(base_url=base_url, tokens=tokens, lead_ids=ids)


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


def _in_first_screen(page: Any, selector: str) -> bool:
    """Whether the element is wholly inside the viewport with the page scrolled to the top."""
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return bool(
        box
        and box["y"] >= 0
        and box["y"] + box["height"] <= viewport["height"]
        and box["x"] + box["width"] <= viewport["width"] + 1
    )


def _lead_of(url: str) -> int:
    return int(urlsplit(url).path.rsplit("/", 1)[1])


def test_a_reviewer_works_leads_from_the_queue_without_a_403(
    browser: Any, live: Live, tmp_path: Path
) -> None:
    context = browser.new_context(base_url=live.base_url, viewport=LAPTOP)
    page = context.new_page()
    statuses: list[tuple[int, str]] = []
    problems: list[str] = []
    page.on("response", lambda r: statuses.append((r.status, r.url)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto("/ui/login")
        page.get_by_label("API token").fill(live.tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: urlsplit(url).path == "/ui/queue")

        # open the second lead of the queue (the urgent lead is first)
        links = page.locator("main a[href^='/ui/leads/']")
        assert links.count() == len(live.lead_ids)
        links.nth(1).click()
        page.wait_for_load_state()
        worked = _lead_of(page.url)
        assert _in_first_screen(page, ".action-bar fieldset.buttons")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # sticky: still on screen at the end
        assert page.evaluate("window.scrollY") > 200
        box = page.locator(".action-bar fieldset.buttons").bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= LAPTOP["height"]
        assert page.locator("header.lead-head a[href^='tel:']").count() == 1
        assert page.locator("header.lead-head a[href^='mailto:']").count() == 1

        # label, undo, label again: the lead stays readable to the reviewer who worked it
        page.get_by_role("button", name="Not a fit", exact=True).click()
        page.wait_for_load_state()
        assert _lead_of(page.url) == worked
        assert page.get_by_role("status").inner_text() == "Feedback saved."
        page.get_by_role("button", name=f"Undo not a fit on lead {worked}").click()
        page.wait_for_load_state()
        assert "Label undone" in page.get_by_role("status").inner_text()
        assert page.locator("header.lead-head").get_by_text("in review").count() == 1
        page.get_by_role("button", name="Follow later", exact=True).click()
        page.wait_for_load_state()

        # a follow-up note on the lead just worked
        page.get_by_text("Add a follow-up note").click()
        page.get_by_label("Follow-up note").fill("left a voicemail, will call again Thursday")
        page.get_by_role("button", name="Add the note").click()
        page.wait_for_load_state()
        assert "Follow-up note added." in page.get_by_role("status").inner_text()
        assert "will call again Thursday" in page.locator("ol.timeline").inner_text()
        _lead_png = tmp_path / "lead.png"
        page.screenshot(path=str(_lead_png), full_page=False)

        # save and next: the next lead in the queue's own order (the API's queue, read now)
        with httpx.Client(base_url=live.base_url, timeout=30) as client:
            queue = client.get(
                "/v1/review-queue", headers={"Authorization": f"Bearer {live.tokens['reviewer']}"}
            ).json()
        page.goto(f"/ui/leads/{queue['data'][1]['lead_id']}")
        current = _lead_of(page.url)
        expected = next(i["lead_id"] for i in queue["data"] if i["lead_id"] != current)
        page.get_by_label("Save and next").check()
        page.get_by_role("button", name="Scheduled", exact=True).click()
        page.wait_for_load_state()
        assert _lead_of(page.url) == expected
        assert page.get_by_role("button", name=f"Undo scheduled on lead {current}").count() == 1
        assert page.locator("aside.recent").get_by_role("link", name=f"Lead {worked}").count() == 1

        # the worked leads reopened by their URLs
        for lead_id in (worked, current):
            response = page.goto(f"/ui/leads/{lead_id}")
            assert response is not None and response.status == 200

        # the action bar in the first screenful on a phone too
        page.set_viewport_size(PHONE)
        page.goto(f"/ui/leads/{expected}")
        assert _in_first_screen(page, ".action-bar fieldset.buttons")
        page.screenshot(path=str(tmp_path / "lead-phone.png"), full_page=False)
        assert [s for s in statuses if s[0] == 403] == []
        assert problems == []
    finally:
        context.close()
    if os.environ.get("CARELEADS_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_lead_png, DOCS_IMAGES / "lead.png")
