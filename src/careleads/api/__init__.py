"""The HTTP API (FastAPI): one router per resource, roles on every route, one transaction per request."""

from __future__ import annotations

from careleads.api.main import create_app

__all__ = ["create_app"]
