"""A local stand-in for HubSpot's CRM v3 API, for the connector's tests (``from _hubspot_server import ...``).

It answers what the connector asks, in the shapes HubSpot documents, so the official ``hubspot-api-client``
parses every answer as it would HubSpot's:

- ``POST /crm/v3/objects/contacts/search``: filters on ``lastmodifieddate`` (GTE/GT/LTE/LT, epoch
  milliseconds), sorted by it ascending, pages of ``limit`` (at most 200) with ``paging.next.after``; like
  HubSpot, a query pages through at most 10,000 results (a later page is a 400).
- ``POST /crm/v3/objects/contacts/batch/update``: at most 100 inputs (else 400); a property that does not
  exist fails the whole batch (400 ``PROPERTY_DOESNT_EXIST``); unknown ids and ids set to be refused come
  back as per-record errors in a 207 (``errors[].context.ids``), the rest are applied (and, as in HubSpot,
  their ``lastmodifieddate`` moves).
- ``GET/POST /crm/v3/properties/contacts`` and ``.../contacts/groups``; ``GET /crm/v3/owners/``.
- Faults on demand: 429 with ``Retry-After``, 5xx, and 401 for an expired token (``expired_tokens``).

Every request is logged (method, path, body) so tests can count what the client sent. Contacts are synthetic.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "pat-test-token"
SEARCH_CAP = 10_000
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Fault:
    """Answer `count` requests whose path starts with `path` with `status` (and `retry_after` on a 429)."""

    path: str
    status: int
    count: int
    retry_after: float | None = None
    after: int = 0  # matching requests answered normally first (a fault mid-way)


@dataclass
class HubSpotState:
    """What the stand-in holds: contacts, properties, groups, owners, faults and what it was sent."""

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    refused_ids: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    updates: Counter[str] = field(default_factory=Counter)
    clock: datetime = BASE_TIME + timedelta(days=400)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> datetime:
        self.clock += timedelta(milliseconds=1)
        return self.clock

    def add_contact(self, record_id: str, properties: dict[str, Any], changed: datetime) -> None:
        created = properties.get("createdate") or iso(changed)
        self.contacts[record_id] = {
            "id": record_id,
            "properties": {
                **properties,
                "createdate": created,
                "lastmodifieddate": iso(changed),
                "hs_object_id": record_id,
            },
            "createdAt": created,
            "updatedAt": iso(changed),
        }

    def touch(self, record_id: str, changes: dict[str, Any]) -> None:
        """Change a contact now (its lastmodifieddate moves)."""
        moment = iso(self.tick())
        contact = self.contacts[record_id]
        contact["properties"].update(changes)
        contact["properties"]["lastmodifieddate"] = moment
        contact["updatedAt"] = moment


def _property(name: str, label: str, kind: str, field_type: str, group: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": group,
        "description": "",
        "options": [],
        "hidden": False,
        "formField": False,
        "hubspotDefined": group == "contactinformation",
    }


def default_state() -> HubSpotState:
    state = HubSpotState()
    state.groups["contactinformation"] = {
        "name": "contactinformation",
        "label": "Contact information",
        "displayOrder": -1,
        "archived": False,
    }
    for name in (
        "email",
        "phone",
        "lifecyclestage",
        "hubspot_owner_id",
        "createdate",
        "lastmodifieddate",
        "hs_analytics_source",
    ):
        state.properties[name] = _property(name, name, "string", "text", "contactinformation")
    return state


def _error(status: int, category: str, message: str, ids: list[str] | None = None) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids} if ids is not None else {},
        "links": {},
        "errors": [],
        "correlationId": "00000000-0000-0000-0000-000000000000",
        "subCategory": str(status),
    }


class _Handler(BaseHTTPRequestHandler):
    server: HubSpotServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stand-in logs to its state
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path = self.path.split("?")[0]
        with state.lock:
            state.requests.append((method, path, body))
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token in state.expired_tokens:
                msg = "The OAuth token used to make this call expired 1 hour(s) ago."
                return self._send(401, _error(401, "EXPIRED_AUTHENTICATION", msg))
            if token != TOKEN:
                return self._send(
                    401, _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
                )
            fault = state.faults[0] if state.faults else None
            if fault is not None and path.startswith(fault.path) and fault.after > 0:
                fault.after -= 1
            elif fault is not None and path.startswith(fault.path):
                fault.count -= 1
                if fault.count <= 0:
                    state.faults.popleft()
                headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                category = "RATE_LIMITS" if fault.status == 429 else "INTERNAL_ERROR"
                return self._send(fault.status, _error(fault.status, category, "stand-in fault"), headers)
            return self._route(method, path, body)

    def _route(self, method: str, path: str, body: Any) -> None:
        state = self.server.state
        if method == "POST" and path == "/crm/v3/objects/contacts/search":
            return self._search(body)
        if method == "POST" and path == "/crm/v3/objects/contacts/batch/update":
            return self._batch_update(body)
        if path == "/crm/v3/properties/contacts/groups":
            if method == "GET":
                return self._send(200, {"results": list(state.groups.values())})
            group = {"name": body["name"], "label": body["label"], "displayOrder": -1, "archived": False}
            state.groups[body["name"]] = group
            return self._send(201, group)
        if path == "/crm/v3/properties/contacts":
            if method == "GET":
                return self._send(200, {"results": list(state.properties.values())})
            if body["groupName"] not in state.groups:
                return self._send(400, _error(400, "VALIDATION_ERROR", "group does not exist"))
            prop = _property(body["name"], body["label"], body["type"], body["fieldType"], body["groupName"])
            state.properties[body["name"]] = prop
            return self._send(201, prop)
        if method == "GET" and path.rstrip("/") == "/crm/v3/owners":
            return self._send(200, {"results": state.owners})
        return self._send(404, _error(404, "OBJECT_NOT_FOUND", f"no route {method} {path}"))

    def _search(self, body: dict[str, Any]) -> None:
        state = self.server.state
        limit, after = int(body.get("limit") or 10), int(body.get("after") or 0)
        if limit > 200:
            return self._send(400, _error(400, "VALIDATION_ERROR", "limit must be at most 200"))
        if after + limit > SEARCH_CAP:
            return self._send(400, _error(400, "VALIDATION_ERROR", "paging beyond 10,000 results"))
        rows = list(state.contacts.values())
        for group in body.get("filterGroups") or []:
            for f in group["filters"]:
                assert f["propertyName"] == "lastmodifieddate"
                value = int(f["value"])
                ops = {"GTE": int.__ge__, "GT": int.__gt__, "LTE": int.__le__, "LT": int.__lt__}
                op = ops[f["operator"]]
                rows = [
                    r
                    for r in rows
                    if op(millis(datetime.fromisoformat(r["properties"]["lastmodifieddate"])), value)
                ]
        rows.sort(key=lambda r: (r["properties"]["lastmodifieddate"], int(r["id"])))
        page = rows[after : after + limit]
        wanted = set(body.get("properties") or [])
        results = [
            {
                "id": r["id"],
                "properties": {
                    k: v
                    for k, v in r["properties"].items()
                    if k in wanted or k in ("hs_object_id", "createdate", "lastmodifieddate")
                },
                "createdAt": r["createdAt"],
                "updatedAt": r["updatedAt"],
                "archived": False,
            }
            for r in page
        ]
        answer: dict[str, Any] = {"total": len(rows), "results": results}
        if after + limit < len(rows):
            answer["paging"] = {"next": {"after": str(after + limit), "link": "?after=" + str(after + limit)}}
        return self._send(200, answer)

    def _batch_update(self, body: dict[str, Any]) -> None:
        state = self.server.state
        inputs = body["inputs"]
        if len(inputs) > 100:
            return self._send(400, _error(400, "VALIDATION_ERROR", "at most 100 inputs"))
        unknown = sorted({k for i in inputs for k in i["properties"] if k not in state.properties})
        if unknown:
            return self._send(400, _error(400, "VALIDATION_ERROR", f"PROPERTY_DOESNT_EXIST {unknown}"))
        started = iso(datetime.now(UTC))
        results, missing, refused = [], [], []
        for item in inputs:
            rid = str(item["id"])
            if rid not in state.contacts:
                missing.append(rid)
                continue
            if rid in state.refused_ids:
                refused.append(rid)
                continue
            state.touch(rid, item["properties"])
            state.updates[rid] += 1
            c = state.contacts[rid]
            results.append(
                {
                    "id": rid,
                    "properties": dict(item["properties"]),
                    "createdAt": c["createdAt"],
                    "updatedAt": c["updatedAt"],
                    "archived": False,
                }
            )
        errors = []
        if missing:
            errors.append(_error(404, "OBJECT_NOT_FOUND", "Could not get some CONTACT objects", missing))
        if refused:
            errors.append(_error(400, "VALIDATION_ERROR", "Property values were not valid", refused))
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso(datetime.now(UTC)),
        }
        if errors:
            answer["errors"] = errors
            answer["numErrors"] = len(missing) + len(refused)
        return self._send(207 if errors else 200, answer)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._handle("POST")


class HubSpotServer(ThreadingHTTPServer):
    """The stand-in on 127.0.0.1 (a free port), serving in a thread until ``stop``."""

    daemon_threads = True

    def __init__(self, state: HubSpotState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> HubSpotServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
