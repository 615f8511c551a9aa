"""The review queue page in Chromium with a morning's queue: 500 open leads, 5 of them clinical triage and 3
overdue. The 8 are pinned at the top of the first page on a laptop and on a phone, each with its countdown;
search by name and phone finds a lead; the pages reach every lead; no page is wider than a phone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from _service_support import make_settings, publish, trained_day_one_model
from _web_support import build_app, lead_record, served
from careleads.demo import run_demo
from careleads.models import evaluate_file
from careleads.monitoring import MonitorData, PilotDefinition, evaluate_pilot, monitor
from careleads.report import write_evaluation_report, write_monitor_report, write_pilot_report
from careleads.service.leads import create_lead, utcnow
from careleads.store import session_scope

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
N_OPEN = 500
EMERGENCY = "Crushing chest pain spreading to my left arm since this morning"
ROUTINE = "My knee hurts on the stairs, can I book a visit?"
LAPTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
COUNTDOWN = re.compile(
    r"^(due in (under 1 min|[0-9dh min]+), [0-2][0-9]:[0-5][0-9]|overdue by [0-9dh min]+)$"
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install 'careleads[browser]'"
)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


@dataclass
class Morning:
    base_url: str
    tokens: dict[str, str]
    urgent: list[int]
    overdue: list[int]
    every: list[int]


def _seed(app: Any) -> tuple[list[int], list[int], list[int]]:
    """N_OPEN leads through the service's create path, in one process: 5 whose message describes an
    emergency (triaged there), 3 created ten days ago (their SLA has run out), the rest routine."""
    ctx, now = app.state.ctx, utcnow()
    urgent, overdue, every = [], [], []
    with session_scope(app.state.sessions) as session:
        for n in range(N_OPEN):
            kind = "urgent" if n % 100 == 57 else "overdue" if n % 150 == 99 else "routine"
            at = now - timedelta(days=10) if kind == "overdue" else now
            record = lead_record(
                n,
                question=EMERGENCY if kind == "urgent" else ROUTINE,
                hours_ago=(now - at).total_seconds() / 3600 + 1 + n / 100,
            )
            result = create_lead(
                session=session, ctx=ctx, lead_in=record, actor="integration-user", role="integration", now=at
            )
            every.append(result.lead.id)
            {"urgent": urgent, "overdue": overdue}.get(kind, []).append(result.lead.id)
    assert len(urgent) == 5 and len(overdue) == 3
    return urgent, overdue, every


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Morning]:
    settings = make_settings(tmp_path_factory.mktemp("queue-live"), "sqlite")
    publish(settings, trained_day_one_model())
    app, tokens = build_app(settings)
    urgent, overdue, every = _seed(app)
    with served(app) as base_url:
        yield Morning(base_url=base_url, tokens=tokens, urgent=urgent, overdue=overdue, every=every)


@pytest.fixture(scope="module")
def browser(morning: Morning) -> Iterator[Any]:
    del morning  # started first, so the server outlives the browser
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _signed_in(browser: Any, base_url: str, token: str, viewport: dict[str, int]) -> tuple[Any, Any]:
    context = browser.new_context(base_url=base_url, viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto("/ui/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert not problems, problems
    return context, page


def _rows(page: Any) -> list[dict[str, Any]]:
    """Each lead row of the page: lead id, pinned or not, its top on the page, its countdown text."""
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        "tr.lead-row",
        """rows => rows.map(r => ({
            lead: Number(r.dataset.lead),
            pinned: r.dataset.pinned === "true",
            top: r.getBoundingClientRect().top + window.scrollY,
            countdown: r.querySelector(".countdown").textContent.trim(),
        }))""",
    )
    return found


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_urgent_and_overdue_leads_lead_the_first_page(
    browser: Any, morning: Morning, viewport: dict[str, int]
) -> None:
    context, page = _signed_in(browser, morning.base_url, morning.tokens["reviewer"], viewport)
    try:
        page.goto("/ui/queue")
        if viewport == LAPTOP and os.environ.get("CARELEADS_UPDATE_SCREENSHOTS") == "1":
            page.screenshot(path=str(DOCS_IMAGES / "queue.png"))  # the first screen, as the README shows it
        rows = _rows(page)
        pinned = [r for r in rows if r["pinned"]]
        assert [r["lead"] for r in pinned] == [r["lead"] for r in rows[:8]]
        assert {r["lead"] for r in pinned} == set(morning.urgent + morning.overdue)
        assert {r["lead"] for r in pinned[:5]} == set(morning.urgent)  # clinical triage, then overdue
        first_other = min(r["top"] for r in rows if not r["pinned"])
        assert all(r["top"] < first_other for r in pinned)
        assert pinned[0]["top"] < viewport["height"], "the first urgent lead is below the first screen"
        for row in pinned:
            assert COUNTDOWN.match(row["countdown"]), row["countdown"]
            overdue = row["lead"] in morning.overdue
            assert row["countdown"].startswith("overdue by" if overdue else "due in"), row
        header = page.locator(".queue-counts").inner_text()
        assert f"{N_OPEN} open" in header and "5 clinical triage" in header and "3 overdue" in header
        page.get_by_role("link", name="3 overdue").click()
        # the overdue view: the overdue leads, after clinical triage (pinned in every view)
        assert {r["lead"] for r in _rows(page)} == set(morning.overdue + morning.urgent)
        assert _scroll_width(page) <= viewport["width"]
    finally:
        context.close()


def _scroll_width(page: Any) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth")
    return width


def test_search_by_phone_and_name_and_paging_reaches_every_lead(browser: Any, morning: Morning) -> None:
    context, page = _signed_in(browser, morning.base_url, morning.tokens["reviewer"], LAPTOP)
    try:
        target = morning.every[321]
        page.goto("/ui/queue")
        box = page.get_by_label("Name, phone or CRM id")
        box.fill("555 300 1321")  # lead_record(321)'s phone, typed with other separators
        page.get_by_role("button", name="Search").click()
        # the match, after the clinical-triage leads (pinned in every search)
        assert [r["lead"] for r in _rows(page) if not r["pinned"]] == [target]
        assert {r["lead"] for r in _rows(page) if r["pinned"]} == set(morning.urgent)
        assert (
            page.locator(f'tr[data-lead="{target}"] a[href^="tel:"]').get_attribute("href")
            == "tel:5553001321"
        )
        page.get_by_label("Name, phone or CRM id").fill("ottoline vanderpump321")
        page.get_by_role("button", name="Search").click()
        assert [r["lead"] for r in _rows(page) if not r["pinned"]] == [target]

        page.goto("/ui/queue")
        seen: list[int] = []
        n_pages = 0
        while True:
            n_pages += 1
            seen += [r["lead"] for r in _rows(page)]
            following = page.get_by_role("link", name="Next")
            if following.count() == 0:
                break
            following.first.click()
            page.wait_for_load_state()
        assert page.locator("nav.pager").inner_text().strip().endswith(f"Page {n_pages} of {n_pages}")
        assert n_pages == -(-(N_OPEN - 8) // 50)  # 50 a page (the default) after the pinned band
        assert sorted(seen) == sorted(morning.every), "each open lead is on exactly one page"
    finally:
        context.close()


def _fits(page: Any) -> tuple[int, int]:
    """The document's width and the window's, as Chromium measures them."""
    sizes: list[int] = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return sizes[0], sizes[1]


def test_no_page_is_wider_than_a_phone(browser: Any, morning: Morning) -> None:
    context = browser.new_context(base_url=morning.base_url, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto("/ui/login")
        widths = {"login": _fits(page)}
        page.get_by_label("API token").fill(morning.tokens["admin"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        # every page of the menu (an admin's menu holds them all), the lead page, an error page, the API docs
        menu = page.eval_on_selector_all(
            "nav[aria-label='Main'] a[href^='/ui/']", "links => links.map(a => a.getAttribute('href'))"
        )
        assert len(menu) >= 7, menu
        pages = {
            **{url.rsplit("/", 1)[-1]: url for url in menu},
            "lead": f"/ui/leads/{morning.urgent[0]}",
            "account": "/ui/account",
            "api docs": "/docs",
            "error": "/ui/leads/999999",
        }
        for name, url in pages.items():
            response = page.goto(url)
            assert response is not None and response.status == (404 if name == "error" else 200), name
            widths[name] = _fits(page)
        assert page.locator("h1").count() == 1  # the error page is a page, not a bare message
        assert {"queue", "dashboard", "models", "rules", "jobs", "audit"} <= set(widths), sorted(widths)
        wider = {name: size for name, size in widths.items() if size[0] > size[1]}
        assert not wider, f"pages wider than a {PHONE['width']} px window: {wider}"
    finally:
        context.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The HTML reports the product writes, each by its own function on a small simulated export: the demo's
    training report, ``careleads evaluate``, ``careleads monitor`` and ``careleads pilot report``."""
    folder = tmp_path_factory.mktemp("reports")
    demo = run_demo(folder / "demo", n_leads=1000, seed=3, text=False)
    tables = demo.tables
    end = pd.Timestamp(tables.leads["created_at"].max())
    data = MonitorData(
        leads=tables.leads,
        events=tables.events,
        outcomes=tables.outcomes,
        model=demo.training.model,
        data_end=end,
    )
    watched = monitor(data, since=end - pd.DateOffset(months=3), until=end)
    pilot = evaluate_pilot(PilotDefinition(name="p", start=str((end - pd.DateOffset(months=4)).date())), data)
    flat = tables.leads.copy()
    flat["converted"] = flat["lead_id"].isin(set(tables.outcomes["lead_id"])).map({True: "yes", False: "no"})
    flat_csv = folder / "flat.csv"
    flat.to_csv(flat_csv, index=False)
    evaluated = evaluate_file(flat_csv, label="converted", time_column="created_at")
    return {
        "demo": demo.report_path,
        "evaluate": write_evaluation_report(evaluated, folder / "evaluate.html"),
        "monitor": write_monitor_report(watched, folder / "monitor.html"),
        "pilot": write_pilot_report(pilot, folder / "pilot.html"),
    }


def test_no_report_is_wider_than_a_phone(browser: Any, reports: dict[str, Path]) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        widths = {}
        for name, path in reports.items():
            page.goto(path.as_uri())
            assert page.locator("table").count() > 0 and page.locator("svg").count() > 0, name
            widths[name] = _fits(page)
        wider = {name: size for name, size in widths.items() if size[0] > size[1]}
        assert not wider, f"reports wider than a {PHONE['width']} px window: {wider}"
    finally:
        context.close()
