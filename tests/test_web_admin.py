"""Admin safety on the models page: publish and rollback are confirmed on a page that names the versions,
show the candidate against the published model with the publish gate's checks, and need a reason that the
publication history and the audit log keep."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from _service_support import Service, publish, trained_model
from _web_support import csrf_of, sign_in, start_web
from careleads.models import ModelRegistry
from careleads.store import AuditEntry


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Service]:
    yield from start_web(tmp_path)


def _audit(web: Service, action: str) -> list[dict[str, object]]:
    with web.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [json.loads(e.details) for e in rows]


def test_publish_is_confirmed_with_a_reason_the_history_shows(web: Service) -> None:
    version = publish(web.settings, trained_model())
    registry = ModelRegistry(web.settings.registry_path())
    candidate = f"{version}-b"
    shutil.copytree(registry.root / version, registry.root / candidate)
    client = web.client
    sign_in(client, web.tokens["analyst"])
    listing = client.get("/ui/models").text
    assert f'href="/ui/models/{candidate}/publish"' in listing  # a link to the confirmation, not a POST
    confirm = client.get(f"/ui/models/{candidate}/publish")
    assert confirm.status_code == 200
    assert f"Publish {candidate}?" in confirm.text and f"Published {version}" in confirm.text
    twin = client.get(f"/ui/models/{candidate}/publish.json").json()
    assert twin["published_version"] == version and twin["version"] == candidate
    assert twin["candidate"]["auc"] == twin["published"]["auc"]  # the same model copied
    checks = {c["text"].split(" ")[0]: c["passed"] for c in twin["gate"]["checks"]}
    calibrated = twin["candidate"]["ece"] <= web.settings.monitor.gate_max_ece
    assert checks["Calibration"] is calibrated and checks["Discrimination"] is True  # equal AUCs
    assert checks["Window"] is None  # informs: the test periods' sizes are not compared
    assert twin["gate"]["accepted"] is calibrated
    verdict = "passes" if calibrated else "fails"
    assert f"Publish gate: {verdict}" in confirm.text
    assert "<strong>Pass</strong> Discrimination" in confirm.text
    csrf = csrf_of(confirm.text)
    # no reason: nothing changes, the confirmation comes back with the problem
    refused = client.post(f"/ui/models/{candidate}/publish", data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 422 and "give a reason" in refused.text
    assert registry.published_version(web.settings.target) == version
    assert _audit(web, "model.publish") == []
    done = client.post(
        f"/ui/models/{candidate}/publish",
        data={"csrf_token": csrf, "reason": "Lower ECE on the March window"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and registry.published_version(web.settings.target) == candidate
    assert registry.history(web.settings.target)[-1]["note"] == "Lower ECE on the March window"
    assert _audit(web, "model.publish")[-1]["reason"] == "Lower ECE on the March window"
    page = client.get(done.headers["location"]).text
    assert "Lower ECE on the March window" in page and "<td>api</td>" not in page


def test_rollback_names_its_target_and_needs_a_reason(web: Service) -> None:
    version = publish(web.settings, trained_model())
    registry = ModelRegistry(web.settings.registry_path())
    second = f"{version}-b"
    shutil.copytree(registry.root / version, registry.root / second)
    registry.publish(second, actor="test", note="second")
    client = web.client
    sign_in(client, web.tokens["admin"])
    assert f"Roll back to {version}" in client.get("/ui/models").text
    confirm = client.get("/ui/models/rollback")
    assert confirm.status_code == 200
    twin = client.get("/ui/models/rollback.json").json()
    assert twin["published_version"] == second and twin["back_to"] == version
    assert f"Scoring now: <strong>{second}</strong>" in confirm.text
    assert f"Roll back to {version}</button>" in confirm.text
    csrf = csrf_of(confirm.text)
    assert client.post("/ui/models/rollback", data={"csrf_token": csrf}).status_code == 422
    assert registry.published_version(web.settings.target) == second
    back = client.post(
        "/ui/models/rollback",
        data={"csrf_token": csrf, "reason": "Tier A over-predicted since Monday"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and registry.published_version(web.settings.target) == version
    audit = _audit(web, "model.rollback")[-1]
    assert audit["before"] == second and audit["after"] == version
    assert audit["reason"] == "Tier A over-predicted since Monday"
    assert "Tier A over-predicted since Monday" in client.get("/ui/models").text


def test_reviewers_cannot_open_the_confirmation_pages(web: Service) -> None:
    version = publish(web.settings, trained_model())
    sign_in(web.client, web.tokens["reviewer"])
    assert web.client.get(f"/ui/models/{version}/publish").status_code == 403
    assert web.client.get("/ui/models/rollback").status_code == 403


def test_the_api_docs_are_drawn_from_the_schema_without_a_cdn(web: Service) -> None:
    page = web.client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    schema = web.client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in page.text
    assert "cdn" not in page.text.lower() and "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert web.client.get("/redoc").status_code == 404


def test_the_api_keeps_the_reason_given_and_says_when_none_was(web: Service) -> None:
    version = publish(web.settings, trained_model())
    registry = ModelRegistry(web.settings.registry_path())
    shutil.copytree(registry.root / version, registry.root / f"{version}-b")
    headers = web.headers("analyst")
    done = web.client.post(f"/v1/models/{version}-b/publish?reason=weekly%20retrain", headers=headers)
    assert done.status_code == 200, done.text
    assert web.client.post(f"/v1/models/{version}/publish?reason=no", headers=headers).status_code == 422
    assert web.client.post("/v1/models/rollback", headers=headers).status_code == 200
    notes = [h["note"] for h in registry.history(web.settings.target)][-2:]
    assert notes == ["weekly retrain", "no reason given (API)"]
    assert _audit(web, "model.publish")[-1]["reason"] == "weekly retrain"
