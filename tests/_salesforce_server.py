"""A local HTTP server behaving as Salesforce's REST and Bulk API 2.0 document, for the connector's tests.

It is a stand-in, not Salesforce: it answers what the connector asks, in the shapes Salesforce documents, so
``simple-salesforce`` sends every request in its own shape and parses every answer as it would Salesforce's.
It serves HTTPS (``simple-salesforce`` always speaks https to the instance URL's host and port) with a
certificate made for 127.0.0.1 at start; :attr:`SalesforceServer.ca_file` is what the client trusts.

- ``GET /services/data/v59.0/query/?q=SOQL``: ``SELECT fields FROM Lead [WHERE SystemModstamp >= moment]
  ORDER BY SystemModstamp, Id`` and ``SELECT Id, Email FROM User WHERE IsActive = true``; pages of the
  ``Sforce-Query-Options: batchSize=N`` header (200 to 2,000, default 2,000) with ``done`` and
  ``nextRecordsUrl``; ``GET /services/data/v59.0/query/<locator>-<offset>`` reads on from a snapshot.
- Bulk API 2.0 ingest: ``POST .../jobs/ingest`` (upsert jobs on an external id field), ``PUT
  .../jobs/ingest/<id>/batches`` (CSV, 201), ``PATCH .../jobs/ingest/<id>`` (``UploadComplete``, then the
  job is processed: rows whose key is unknown, whose id is set to be refused, or whose ``OwnerId`` is no
  user fail one by one; an unknown field fails the whole job), ``GET .../jobs/ingest/<id>`` (``InProgress``
  on the first look after closing, then ``JobComplete``), ``GET .../successfulResults`` and
  ``.../failedResults`` (CSV with ``sf__Id``, ``sf__Created`` / ``sf__Error`` and the columns sent).
- Faults on demand: 429 ``REQUEST_LIMIT_EXCEEDED`` with ``Retry-After``, 5xx, a connection dropped without
  an answer, and 401 ``INVALID_SESSION_ID`` for an expired session.

Every request is logged (method, path, body) so tests can count what the client sent. Records are synthetic.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import ssl
import tempfile
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SESSION = "00Dstand-in!session"
API = "/services/data/v59.0"
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)
_SELECT = re.compile(r"^SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: ORDER BY (.+))?$")


def sf_time(moment: datetime) -> str:
    """A moment as Salesforce writes datetimes (``2025-03-01T10:00:00.000+0000``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Fault:
    """Answer `count` requests whose path (after ``/services/data/v59.0``) starts with `path` with `status`.

    ``status=0`` drops the connection without an answer. `after` matching requests are answered first.
    """

    path: str
    status: int
    count: int
    retry_after: float | None = None
    after: int = 0
    method: str | None = None


@dataclass
class Job:
    """A Bulk API 2.0 ingest job."""

    id: str
    object: str
    external_id_field: str
    state: str = "Open"
    data: str = ""
    looks: int = 0
    succeeded: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    error: str = ""


@dataclass
class SalesforceState:
    """What the stand-in holds: leads, users, jobs, faults, and what it was sent."""

    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    lead_fields: set[str] = field(default_factory=set)
    jobs: dict[str, Job] = field(default_factory=dict)
    snapshots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    refused_ids: set[str] = field(default_factory=set)
    expired_sessions: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    updates: Counter[str] = field(default_factory=Counter)
    uploads: list[str] = field(default_factory=list)
    clock: datetime = BASE_TIME + timedelta(days=400)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> datetime:
        # Salesforce's SystemModstamp has whole milliseconds; a record changes at most once a millisecond here
        self.clock += timedelta(milliseconds=1)
        return self.clock

    def add_lead(self, record_id: str, fields: dict[str, Any], created: datetime) -> None:
        now = sf_time(self.tick())
        self.leads[record_id] = {
            **fields,
            "Id": record_id,
            "CreatedDate": sf_time(created),
            "SystemModstamp": now,
            "LastModifiedDate": now,
            "IsConverted": fields.get("IsConverted", False),
        }
        self.lead_fields.update(self.leads[record_id])

    def touch(self, record_id: str, changes: dict[str, Any]) -> None:
        """Change a lead now (its SystemModstamp moves)."""
        lead = self.leads[record_id]
        lead.update(changes)
        lead["SystemModstamp"] = lead["LastModifiedDate"] = sf_time(self.tick())


def default_state() -> SalesforceState:
    state = SalesforceState()
    state.lead_fields = {
        "Id",
        "OwnerId",
        "Status",
        "Email",
        "Phone",
        "LeadSource",
        "Description",
        "IsConverted",
        "CreatedDate",
        "SystemModstamp",
        "LastModifiedDate",
        "careleads_score__c",
        "careleads_tier__c",
        "careleads_top_reasons__c",
        "careleads_intent__c",
        "careleads_route__c",
    }
    return state


def _errors(code: str, message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": code}]


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _Handler(BaseHTTPRequestHandler):
    server: SalesforceServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stand-in logs to its state
        pass

    def _send(
        self, status: int, body: Any, headers: dict[str, str] | None = None, csv_text: bool = False
    ) -> None:
        if csv_text:
            data, kind = str(body).encode(), "text/csv"
        else:
            data, kind = ("" if body is None else json.dumps(body)).encode(), "application/json;charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        parts = urlsplit(self.path)
        path = parts.path.removeprefix(API)
        body: Any = json.loads(raw) if raw and "json" in (self.headers.get("Content-Type") or "") else raw
        with state.lock:
            state.requests.append((method, path, body or parse_qs(parts.query).get("q", [None])[0]))
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token in state.expired_sessions or token != SESSION:
                return self._send(401, _errors("INVALID_SESSION_ID", "Session expired or invalid"))
            fault = state.faults[0] if state.faults else None
            if fault is not None and path.startswith(fault.path) and fault.method in (None, method):
                if fault.after > 0:
                    fault.after -= 1
                else:
                    fault.count -= 1
                    if fault.count <= 0:
                        state.faults.popleft()
                    if fault.status == 0:  # the connection drops: no answer at all
                        self.close_connection = True
                        self.connection.close()
                        return None
                    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                    code = "REQUEST_LIMIT_EXCEEDED" if fault.status == 429 else "SERVER_UNAVAILABLE"
                    return self._send(fault.status, _errors(code, "stand-in fault"), headers)
            return self._route(method, path, parts.query, body)

    def _route(self, method: str, path: str, query: str, body: Any) -> None:
        if method == "GET" and path.rstrip("/") == "/query":
            return self._query(parse_qs(query)["q"][0])
        if method == "GET" and path.startswith("/query/"):
            locator, _, offset = path.removeprefix("/query/").rpartition("-")
            return self._page(locator, int(offset))
        if path.rstrip("/") == "/jobs/ingest" and method == "POST":
            return self._create_job(body)
        match = re.fullmatch(r"/jobs/ingest/(\w+)(/\w+)?/?", path)
        if match is not None:
            job = self.server.state.jobs.get(match.group(1))
            if job is None:
                return self._send(404, _errors("NOT_FOUND", "no such job"))
            return self._job(method, job, match.group(2), body)
        return self._send(404, _errors("NOT_FOUND", f"no route {method} {path}"))

    def _query(self, soql: str) -> None:
        state = self.server.state
        match = _SELECT.match(soql.strip())
        if match is None:
            return self._send(400, _errors("MALFORMED_QUERY", "unexpected query"))
        fields = [f.strip() for f in match.group(1).split(",")]
        sobject, where, order = match.group(2), match.group(3), match.group(4)
        if sobject == "User":
            if where != "IsActive = true":
                return self._send(400, _errors("MALFORMED_QUERY", "unexpected User query"))
            rows = [u for u in state.users if u.get("IsActive", True)]
        elif sobject == "Lead":
            unknown = [f for f in fields if f not in state.lead_fields]
            if unknown:
                return self._send(
                    400, _errors("INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'Lead'")
                )
            rows = list(state.leads.values())
            if where is not None:
                cond = re.fullmatch(r"SystemModstamp >= (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", where)
                if cond is None:
                    return self._send(400, _errors("MALFORMED_QUERY", "unexpected WHERE"))
                since = _moment(cond.group(1))
                rows = [r for r in rows if _moment(r["SystemModstamp"]) >= since]
            if order != "SystemModstamp, Id":
                return self._send(400, _errors("MALFORMED_QUERY", "unexpected ORDER BY"))
            rows.sort(key=lambda r: (r["SystemModstamp"], r["Id"]))
        else:
            return self._send(400, _errors("INVALID_TYPE", f"sObject type '{sobject}' is not supported"))
        snapshot = [
            {"attributes": {"type": sobject, "url": f"{API}/sobjects/{sobject}/{r['Id']}"}}
            | {f: r.get(f) for f in fields}
            for r in rows
        ]
        locator = f"01g{len(state.snapshots):012d}"
        state.snapshots[locator] = snapshot
        return self._page(locator, 0)

    def _page(self, locator: str, offset: int) -> None:
        rows = self.server.state.snapshots.get(locator)
        if rows is None:
            return self._send(400, _errors("INVALID_QUERY_LOCATOR", "invalid query locator"))
        options = self.headers.get("Sforce-Query-Options") or ""
        size = int(options.removeprefix("batchSize=")) if options.startswith("batchSize=") else 2000
        size = max(200, min(size, 2000))
        page = rows[offset : offset + size]
        done = offset + size >= len(rows)
        answer: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            answer["nextRecordsUrl"] = f"{API}/query/{locator}-{offset + size}"
        return self._send(200, answer)

    def _job_info(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "operation": "upsert",
            "object": job.object,
            "externalIdFieldName": job.external_id_field,
            "state": job.state,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "numberRecordsProcessed": len(job.succeeded) + len(job.failed),
            "numberRecordsFailed": len(job.failed),
            "errorMessage": job.error or None,
        }

    def _create_job(self, body: dict[str, Any]) -> None:
        state = self.server.state
        if body.get("operation") != "upsert" or body.get("contentType") != "CSV":
            return self._send(400, _errors("INVALIDJOB", "the stand-in runs CSV upsert jobs"))
        job = Job(
            id=f"750{len(state.jobs):015d}",
            object=body["object"],
            external_id_field=body["externalIdFieldName"],
        )
        state.jobs[job.id] = job
        return self._send(200, self._job_info(job))

    def _job(self, method: str, job: Job, tail: str | None, body: Any) -> None:
        if method == "PUT" and tail == "/batches":
            if job.state != "Open" or job.data:
                return self._send(400, _errors("INVALIDJOBSTATE", "data already uploaded"))
            job.data = str(body)
            self.server.state.uploads.append(job.data)
            return self._send(201, None)
        if method == "PATCH" and tail is None:
            if body.get("state") == "UploadComplete" and job.state == "Open":
                self._process(job)
            elif body.get("state") == "Aborted":
                job.state = "Aborted"
            return self._send(200, self._job_info(job))
        if method == "GET" and tail is None:
            if job.state == "UploadComplete":
                job.looks += 1
                job.state = "InProgress" if job.looks == 1 else "JobComplete"
            elif job.state == "InProgress":
                job.state = "JobComplete"
            return self._send(200, self._job_info(job))
        if method == "GET" and tail in ("/successfulResults", "/failedResults"):
            if job.state != "JobComplete":
                return self._send(400, _errors("INVALIDJOBSTATE", "the job is not complete"))
            rows, extra = (
                (job.succeeded, "sf__Created") if tail == "/successfulResults" else (job.failed, "sf__Error")
            )
            return self._send(200, _results_csv(rows, extra), csv_text=True)
        return self._send(404, _errors("NOT_FOUND", "no such job route"))

    def _process(self, job: Job) -> None:
        state = self.server.state
        rows = list(csv.DictReader(io.StringIO(job.data)))
        columns = list(rows[0]) if rows else []
        unknown = [c for c in columns if c not in state.lead_fields]
        if unknown:
            job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {unknown[0]}"
            return
        user_ids = {u["Id"] for u in state.users}
        if job.external_id_field == "Id":
            index = state.leads
        else:
            index = {str(r.get(job.external_id_field)): r for r in state.leads.values()}
        for row in rows:
            key = row[job.external_id_field]
            matches = [index[key]] if key in index else []
            if not matches:
                job.failed.append({"sf__Id": "", "sf__Error": "NOT_FOUND:no Lead with that key:--", **row})
            elif key in state.refused_ids:
                error = "FIELD_CUSTOM_VALIDATION_EXCEPTION:stand-in validation rule:--"
                job.failed.append({"sf__Id": matches[0]["Id"], "sf__Error": error, **row})
            elif row.get("OwnerId") and row["OwnerId"] not in user_ids:
                error = "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:OwnerId --"
                job.failed.append({"sf__Id": matches[0]["Id"], "sf__Error": error, **row})
            else:
                lead_id = matches[0]["Id"]
                # Bulk API: an empty cell leaves the field as it is
                state.touch(lead_id, {k: v for k, v in row.items() if v != "" and k != "Id"})
                state.updates[lead_id] += 1
                job.succeeded.append({"sf__Id": lead_id, "sf__Created": "false", **row})
        job.state = "UploadComplete"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802 - http.server's name
        self._handle("PATCH")


def _results_csv(rows: list[dict[str, str]], extra: str) -> str:
    if not rows:
        return f"sf__Id,{extra}\n"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def _certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A certificate authority and a server certificate it signs for 127.0.0.1, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def build(subject: str, issuer: str, public: Any, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if not ca:
            address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
        else:
            usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
            builder = builder.add_extension(usage, critical=True)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build(
        "salesforce stand-in authority", "salesforce stand-in authority", ca_key.public_key(), ca_key, True
    )
    cert = build("127.0.0.1", "salesforce stand-in authority", key.public_key(), ca_key, False)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


class SalesforceServer(ThreadingHTTPServer):
    """The stand-in on https://127.0.0.1 (a free port), serving in a thread until ``stop``."""

    daemon_threads = True

    def __init__(self, state: SalesforceState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self._folder = tempfile.TemporaryDirectory()
        ca_file, cert_file, key_file = _certificate(Path(self._folder.name))
        self.ca_file = str(ca_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The instance URL to give the client (it speaks https to this host and port)."""
        return f"https://127.0.0.1:{self.server_address[1]}"

    def start(self) -> SalesforceServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
        self._folder.cleanup()
