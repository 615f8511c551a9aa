"""The dashboard's conversion rates count matured leads only: early converters never inflate them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from _service_support import BACKENDS, Service
from _web_support import add_lead, lead_record, sign_in, start_web
from careleads.service.leads import utcnow
from careleads.settings import MonitorSettings

N_LEADS = 60
N_MATURED = 6  # 10%: created 40 days ago, past the 30-day window
MIN_MATURED = 2


@pytest.fixture(params=BACKENDS)
def web(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Service]:
    yield from start_web(tmp_path, request.param, monitor=MonitorSettings(min_matured_leads=MIN_MATURED))


def _post_outcome(web: Service, lead_id: int, hours_ago: float) -> None:
    when = (utcnow() - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    response = web.client.post(
        f"/v1/leads/{lead_id}/outcomes",
        json={"outcome": "appointment_scheduled", "occurred_at": when},
        headers=web.headers("integration"),
    )
    assert response.status_code == 201, response.text


def test_only_matured_leads_count_and_a_thin_tier_is_too_early(web: Service) -> None:
    token = web.tokens["integration"]
    truth: list[tuple[str, bool, bool]] = []  # tier, matured, converted
    for n in range(N_LEADS):
        matured = n < N_MATURED
        hours_ago = 40 * 24 if matured else 5 * 24
        body = add_lead(web.client, token, lead_record(n, question="knee pain", hours_ago=hours_ago))
        converted = n % 2 == 0 if matured else n % 3 != 0  # recent leads: many early converters
        if converted:
            _post_outcome(web, body["id"], hours_ago - 24)
        truth.append((str(body["decision"]["tier"]), matured, converted))
    sign_in(web.client, web.tokens["analyst"])
    board = web.client.get("/ui/dashboard.json").json()
    shown = {r["tier"]: r for r in board["by_tier"]}
    assert sum(r["n_matured"] for r in shown.values()) == N_MATURED
    for tier, row in shown.items():
        matured = [c for t, m, c in truth if t == tier and m]
        assert row["n_matured"] == len(matured)
        if len(matured) < MIN_MATURED:
            assert row["conversion_rate"] is None and row["ci_low"] is None
            assert row["too_early"]["text"].startswith("Too early: ")
        else:
            assert row["conversion_rate"] == pytest.approx(sum(matured) / len(matured))
            assert row["ci_low"] <= row["conversion_rate"] <= row["ci_high"]
    # the recent early converters alone would show far higher rates: none of them counts
    assert all(r["n_converted"] <= r["n_matured"] for r in shown.values())
    for cell in board["conversion_over_time"]:  # by period too: no rate on fewer matured leads than needed
        assert (cell["observed_rate"] is None) == (cell["n"] < MIN_MATURED)
    calibration = board["calibration"]
    matured_all = [c for _, m, c in truth if m]
    assert calibration["n_matured"] == N_MATURED == sum(p["n"] for p in calibration["points"])
    observed = sum(p["observed"] * p["n"] for p in calibration["points"]) / N_MATURED
    assert observed == pytest.approx(sum(matured_all) / N_MATURED)
    html = web.client.get("/ui/dashboard").text
    assert "Too early: " in html or all(r["conversion_rate"] is not None for r in shown.values())
    assert "`" not in html


def test_with_the_default_threshold_ten_percent_matured_is_too_early(tmp_path: Path) -> None:
    service = start_web(tmp_path)
    web = next(service)
    try:
        token = web.tokens["integration"]
        for n in range(20):
            hours_ago = 40 * 24 if n < 2 else 3 * 24
            body = add_lead(web.client, token, lead_record(n, question="knee pain", hours_ago=hours_ago))
            _post_outcome(web, body["id"], hours_ago - 12)  # every lead converts early
        sign_in(web.client, web.tokens["analyst"])
        board = web.client.get("/ui/dashboard.json").json()
        assert board["by_tier"] and all(r["conversion_rate"] is None for r in board["by_tier"])
        # the same-looking leads share one tier: 2 matured of the 30 needed, the other 18 mature in 27 days
        (row,) = board["by_tier"]
        days = {(utcnow() + timedelta(days=27, minutes=m)).strftime("%-d %b %Y") for m in (-5, 5)}
        assert row["too_early"]["text"] in {f"Too early: 18 more leads mature by {d}" for d in days}
        html = web.client.get("/ui/dashboard").text
        assert "converted at" not in html and row["too_early"]["text"] in html
        cells = board["conversion_over_time"]  # the period of the 2 matured leads: no rate either
        assert any(c["n"] == 2 for c in cells) and all(c["observed_rate"] is None for c in cells)
        assert not any("converted at" in line for line in board["summary"])
    finally:
        service.close()


def test_an_empty_store_shows_the_first_steps_instead_of_blank_charts(tmp_path: Path) -> None:
    service = start_web(tmp_path)
    web = next(service)
    try:
        sign_in(web.client, web.tokens["analyst"])
        html = web.client.get("/ui/dashboard").text
        assert "Getting started" in html and "careleads demo" in html and "careleads train" in html
        assert "data:image/svg+xml" not in html
        assert web.client.get("/ui/dashboard.json").json()["getting_started"]
    finally:
        service.close()


def test_kept_figures_are_drawn_again_when_the_store_changes(tmp_path: Path) -> None:
    service = start_web(tmp_path)
    web = next(service)
    try:
        token = web.tokens["integration"]
        add_lead(web.client, token, lead_record(1, question="knee pain"))
        sign_in(web.client, web.tokens["analyst"])
        first = web.client.get("/ui/dashboard").text
        assert web.client.get("/ui/dashboard.json").json()["n_leads"] == 1
        assert web.client.get("/ui/dashboard").text.count("data:image/svg+xml") == first.count(
            "data:image/svg"
        )
        add_lead(web.client, token, lead_record(2, question="knee pain"))
        assert web.client.get("/ui/dashboard.json").json()["n_leads"] == 2  # not the kept figures
        assert web.client.get("/ui/dashboard?days=7").status_code == 200
    finally:
        service.close()
