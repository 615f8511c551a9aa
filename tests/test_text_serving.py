"""Serving a model with text features fits nothing: its classifiers come from its artifact.

The app is created, a text model published and leads scored through the API while any fit of a text
classifier fails the test; the shipped defaults are read from package data, not trained.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from _text_support import text_model
from careleads.models import ModelRegistry
from careleads.text import default_classifiers
from careleads.text._classifier import _TextClassifier

QUESTIONS = [
    "Can I book a knee appointment next Tuesday?",
    "Do you take Aetna PPO and what does an MRI cost?",
    "I have a question about my bill from last month",
    "my doctor wants me to see a cardiologist, can you send the referral",
    "Necesito una cita lo antes posible",
    "",
]


@pytest.fixture(params=BACKENDS)
def registered(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Any, str]:
    """Settings whose registry holds the text model (trained, classifiers included, before serving)."""
    settings = make_settings(tmp_path, request.param)
    version = ModelRegistry(settings.registry_path()).register(text_model())
    return settings, version


@pytest.fixture
def registered_no_fitting(
    registered: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, str]]:
    """`registered`, then any fit of a text classifier fails the test (the model was trained before)."""

    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError("a text classifier was fitted while serving")

    monkeypatch.setattr(_TextClassifier, "fit", refuse)
    default_classifiers.cache_clear()
    yield registered
    default_classifiers.cache_clear()


def test_app_publish_and_scoring_fit_nothing(registered_no_fitting: tuple[Any, str]) -> None:
    settings, version = registered_no_fitting
    service: Service
    for service in start_service(settings):
        client = service.client
        published = client.post(f"/v1/models/{version}/publish", headers=service.headers("analyst"))
        assert published.status_code == 200, published.text
        for n, question in enumerate(QUESTIONS):
            lead = {**LEAD, "lead_id": f"TX-{n}", "question": question}
            created = client.post("/v1/leads", json=lead, headers=service.headers("integration"))
            assert created.status_code == 201, created.text
            decision = created.json()["decision"]
            assert decision["scored_by"] == "model" and decision["model_version"] == version
        # a chat message re-scores with the message's intent and urgency
        event = {
            "event_id": "TX-E1",
            "occurred_at": "2025-03-04T11:00:00",
            "event_type": "chat_message",
            "message_text": "yes please book me in for Friday morning",
        }
        response = client.post(
            f"/v1/leads/{created.json()['id']}/events", json=event, headers=service.headers("integration")
        )
        assert response.status_code == 201, response.text
        assert response.json()["decision"]["model_version"] == version


def test_a_text_model_without_its_classifiers_is_refused_at_publishing(registered: tuple[Any, str]) -> None:
    """A folder written before the classifiers travelled with the model is refused with what to do, and the
    model that scored before goes on scoring."""
    settings, version = registered
    folder = settings.registry_path() / version
    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    del data["text_classifiers"]
    data["written_by"] = "careleads 0.0.9"
    (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")
    for service in start_service(settings):
        response = service.client.post(f"/v1/models/{version}/publish", headers=service.headers("analyst"))
        assert response.status_code == 409, response.text
        detail = json.dumps(response.json())
        assert "careleads 0.0.9" in detail and "careleads train --text" in detail
        listed = service.client.get("/v1/models", headers=service.headers("analyst")).json()
        assert listed["published_version"] is None
