"""The dashboard and the API reference in a real browser (Debian's Chromium, Playwright, uvicorn).

The dashboard fits a desktop (1400 px) and a phone (390 px) without horizontal scrolling, and says "too
early" for tiers whose leads have not matured; ``/docs`` shows the API reference with every request to
another host blocked (no CDN).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from _service_support import make_settings
from _web_support import build_app, lead_record, served
from careleads.service.leads import utcnow

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install 'careleads[browser]'"
)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


@dataclass
class Live:
    base_url: str
    tokens: dict[str, str]


def _seed(client: httpx.Client, token: str) -> None:
    """40 leads: a few past their 30-day window, most recent, with early outcomes for some."""
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(40):
        hours_ago = 40 * 24 if n < 4 else 3 * 24 + n
        lead = client.post(
            "/v1/leads", json=lead_record(n, question="knee pain", hours_ago=hours_ago), headers=headers
        )
        assert lead.status_code == 201, lead.text
        if n % 3 == 0:
            when = (utcnow() - timedelta(hours=hours_ago - 20)).isoformat(timespec="seconds")
            client.post(
                f"/v1/leads/{lead.json()['id']}/outcomes",
                json={"outcome": "appointment_scheduled", "occurred_at": when},
                headers=headers,
            ).raise_for_status()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = make_settings(tmp_path_factory.mktemp("web-dashboard"), "sqlite")
    app, tokens = build_app(settings)
    with served(app) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            _seed(client, tokens["integration"])
        yield Live(base_url=base_url, tokens=tokens)


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


def _offline(context: Any, blocked: list[str]) -> None:
    """Abort every request to a host other than this machine, and note it."""

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)


@pytest.mark.parametrize("width", [1400, 390])
def test_the_dashboard_fits_the_screen_and_says_too_early(browser: Any, live: Live, width: int) -> None:
    context = browser.new_context(base_url=live.base_url, viewport={"width": width, "height": 900})
    blocked: list[str] = []
    _offline(context, blocked)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/ui/login?next=/ui/dashboard")
        page.get_by_label("API token").fill(live.tokens["analyst"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: urlsplit(url).path == "/ui/dashboard")
        assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
        assert page.get_by_text("Too early: ").first.is_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
        assert not errors and not blocked
    finally:
        context.close()


def test_api_docs_load_with_no_network(browser: Any, live: Live) -> None:
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    _offline(context, blocked)
    page = context.new_page()
    try:
        page.goto("/docs")
        page.wait_for_load_state()
        assert "API reference" in page.get_by_role("heading", level=1).inner_text()
        assert page.get_by_text("POST /v1/leads", exact=True).first.is_visible()
        assert page.get_by_role("link", name="/openapi.json").is_visible()
        assert blocked == []  # nothing was even asked of another host
    finally:
        context.close()
