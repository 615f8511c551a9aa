"""Errors name the object, never the server's path: API answers and pages hold no path of the data folder.

Finding 9 of issue 23: error messages showed server paths (the model registry, batch files, config files).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _service_support import BACKENDS, Service, make_settings, publish, start_service, trained_model
from _web_support import sign_in


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    settings = make_settings(tmp_path, request.param)
    publish(settings, trained_model())
    yield from start_service(settings)


def test_error_answers_name_the_object_not_the_server_path(service: Service) -> None:
    client = service.client
    folder = str(service.settings.data_dir.resolve())
    answers: dict[str, tuple[int, str]] = {}

    unknown = client.post("/v1/models/no-such-version/publish", headers=service.headers("analyst"))
    answers["publish an unknown version"] = (unknown.status_code, unknown.text)
    assert unknown.status_code == 404 and "no-such-version" in unknown.text

    returning = client.post(
        "/v1/score",
        json={"segment": "returning", "leads": [{"lead_id": "R1", "created_at": "2025-03-04T10:00:00"}]},
        headers=service.headers("analyst"),
    )
    answers["score a segment without a model"] = (returning.status_code, returning.text)

    headers = service.headers("integration")
    binary = b"\x00\x01\x02\x03 not a table \xff\xfe" * 10
    posted = client.post("/v1/batches", files={"file": ("leads.csv", binary)}, headers=headers)
    assert posted.status_code == 202, posted.text
    batch_id = posted.json()["id"]
    job = client.get(f"/v1/batches/{batch_id}", headers=headers)
    answers["a failed batch"] = (job.status_code, job.text)
    assert job.json()["status"] == "failed" and f"batch {batch_id}" in job.json()["error"]

    sign_in(client, service.tokens["admin"])
    rules = client.get("/ui/rules.json")
    answers["the rules page"] = (rules.status_code, rules.text)
    assert rules.status_code == 200

    leaked = {what: text for what, (_status, text) in answers.items() if folder in text or "/tmp/" in text}
    assert not leaked, leaked
