"""CRM write-back through an outbox: a record per change of score, tier or route, delivered by a worker.

Delivery POSTs one JSON document per record to the configured webhook with

- ``Idempotency-Key``: the record's key, the same on every attempt, so the CRM can drop repeats;
- ``X-Careleads-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256 with the shared secret over
  ``"<t>.<body>"`` (see :func:`sign_payload` and :func:`verify_signature` for receivers).

A failed attempt (network error or a non-2xx answer) is retried after ``backoff * 2 ** (attempts - 1)``
seconds; after ``max_attempts`` the record is dead-lettered (``status == "dead"``) and kept with its last
error. Field names can be mapped to the CRM's property names (:mod:`careleads.service.crm_mapping`).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from careleads.errors import CareleadsError, ConfigError, InputError
from careleads.service.audit import append_audit
from careleads.service.crm_mapping import IDENTITY_MAPPING, PAYLOAD_FIELDS, FieldMapping
from careleads.service.schemas import OutboxItemPublic, OutboxPublic
from careleads.settings import Settings
from careleads.store import Lead, OutboxRecord, ScoreEntry, insert_row, session_scope
from careleads.types import PathLikeStr

__all__ = [
    "PAYLOAD_FIELDS",
    "SIGNATURE_HEADER",
    "DeliveryReport",
    "deliver_configured",
    "deliver_outbox",
    "deliver_until",
    "enqueue_change",
    "export_outbox",
    "export_outbox_csv",
    "list_outbox",
    "sign_payload",
    "verify_signature",
]

log = logging.getLogger("careleads.service")
SIGNATURE_HEADER = "X-Careleads-Signature"


def _notes(entry: ScoreEntry) -> str:
    parts = [str(entry.route.get("action", ""))] if entry.route.get("action") else []
    parts += [f"override: {o.get('reason', o.get('rule'))}" for o in entry.overrides]
    reasons = entry.reasons if isinstance(entry.reasons, list) else []
    if reasons:
        parts.append("reasons: " + "; ".join(str(r) for r in reasons))
    if entry.fallback:
        parts.append("scored by the rule baseline (no published model)")
    return " | ".join(p for p in parts if p)


def enqueue_change(*, session: Session, lead: Lead, entry: ScoreEntry, now: datetime) -> OutboxRecord:
    """Add the write-back record of a new ledger entry (score, tier or route changed)."""
    route = entry.route
    payload = {
        "lead_id": lead.id,
        "external_id": lead.external_id,
        "score": entry.score,
        "tier": entry.tier,
        "queue": route.get("queue"),
        "owner": route.get("owner"),
        "sla_due": route.get("sla_due"),
        "nurture_track": route.get("nurture_track"),
        "route": route.get("name"),
        "review_required": entry.review_required,
        "notes": _notes(entry),
        "scored_by": entry.scored_by,
        "model_version": entry.model_version,
        "scored_at": entry.at.isoformat(),
        "change_reason": entry.change_reason,
        "intent": route.get("intent"),
        "intent_probability": route.get("intent_probability"),
    }
    record = OutboxRecord(
        lead_id=lead.id,
        score_id=entry.id,
        idempotency_key=f"lead-{lead.id}-score-{entry.id}-{uuid.uuid4().hex[:8]}",
        payload=payload,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        status="pending",
    )
    insert_row(session, record)  # written once here; delivery loads and updates it later
    return record


def sign_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for `body`: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "t.body">``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    body: bytes, header: str, secret: str, *, tolerance_seconds: int = 300, now: float | None = None
) -> bool:
    """Check a webhook signature header, as a receiver would (constant-time, rejects old timestamps).

    Examples
    --------
    >>> header = sign_payload(b'{"a":1}', "s3cret", 1700000000)
    >>> verify_signature(b'{"a":1}', header, "s3cret", now=1700000010)
    True
    >>> verify_signature(b'{"a":2}', header, "s3cret", now=1700000010)
    False
    """
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign_payload(body, secret, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    n_attempted: int
    n_delivered: int
    n_failed: int
    n_dead: int

    def to_dict(self) -> dict[str, int]:
        return {
            "n_attempted": self.n_attempted,
            "n_delivered": self.n_delivered,
            "n_failed": self.n_failed,
            "n_dead": self.n_dead,
        }


def deliver_configured(
    *, session: Session, settings: Settings, mapping: FieldMapping | None = None
) -> DeliveryReport:
    """:func:`deliver_outbox` now, to the webhook of `settings` (URL, secret, attempts, backoff, timeout)."""
    return deliver_outbox(
        session=session,
        url=settings.webhook_url,
        secret=settings.webhook_secret,
        max_attempts=settings.webhook_max_attempts,
        now=datetime.now(UTC).replace(tzinfo=None),
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        mapping=mapping,
    )


def deliver_until(
    *, stop: threading.Event, sessions: sessionmaker[Session], settings: Settings, mapping: FieldMapping
) -> None:
    """Deliver due records every ``webhook_poll_seconds`` until `stop` is set (the service's worker thread).

    A configuration problem (no URL or secret) ends the loop with a warning in the log.
    """
    while not stop.wait(settings.webhook_poll_seconds):
        try:
            with session_scope(sessions) as session:
                report = deliver_configured(session=session, settings=settings, mapping=mapping)
            if report.n_attempted:
                log.info("outbox: %s", report.to_dict())
        except CareleadsError as exc:
            log.warning("outbox delivery stopped: %s", exc)
            return


def deliver_outbox(
    *,
    session: Session,
    url: str,
    secret: str,
    max_attempts: int,
    now: datetime,
    backoff_seconds: float = 30.0,
    timeout_seconds: float = 10.0,
    mapping: FieldMapping | None = None,
    limit: int = 500,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Deliver the pending records that are due at `now`; each record's result is committed on its own.

    Parameters
    ----------
    session : Session
        A session of the store; this function commits after each record.
    url, secret : str
        The webhook and the shared signing secret.
    max_attempts : int
        Attempts before a record is dead-lettered.
    now : datetime
        The current time (naive UTC); records with ``next_attempt_at <= now`` are due.
    backoff_seconds : float
        Delay before the first retry; doubled after each further failure.
    timeout_seconds : float
        HTTP timeout per attempt.
    mapping : FieldMapping, optional
        CRM property names for the payload.
    limit : int
        Most records handled in one run.
    client : httpx.Client, optional
        For connection reuse; one is created when not given.

    Returns
    -------
    DeliveryReport
    """
    if not url:
        raise ConfigError("no webhook URL: set CARELEADS_WEBHOOK_URL (or export the outbox as CSV instead)")
    if not secret:
        raise ConfigError("no webhook secret: set CARELEADS_WEBHOOK_SECRET so the CRM can check signatures")
    if max_attempts < 1:
        raise InputError(f"max_attempts must be at least 1, got {max_attempts}")
    mapping = mapping or IDENTITY_MAPPING
    own_client = client is None
    http = client or httpx.Client(timeout=timeout_seconds)
    n = delivered = failed = dead = 0
    try:
        due = list(
            session.scalars(
                select(OutboxRecord)
                .where(OutboxRecord.status == "pending", OutboxRecord.next_attempt_at <= now)
                .order_by(OutboxRecord.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for record in due:
            n += 1
            document = {
                "idempotency_key": record.idempotency_key,
                "event": "lead.decision_changed",
                "data": mapping.apply(record.payload),
            }
            body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": record.idempotency_key,
                SIGNATURE_HEADER: sign_payload(body, secret, int(time.time())),
            }
            record.attempts += 1
            error: str | None = None
            try:
                answer = http.post(url, content=body, headers=headers, timeout=timeout_seconds)
                if not 200 <= answer.status_code < 300:
                    error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                record.status = "delivered"
                record.delivered_at = now
                record.last_error = None
                delivered += 1
            else:
                record.last_error = error[:500]
                if record.attempts >= max_attempts:
                    record.status = "dead"
                    dead += 1
                else:
                    record.next_attempt_at = now + timedelta(
                        seconds=backoff_seconds * 2 ** (record.attempts - 1)
                    )
                    failed += 1
            session.commit()
    finally:
        if own_client:
            http.close()
    return DeliveryReport(n_attempted=n, n_delivered=delivered, n_failed=failed, n_dead=dead)


def export_outbox_csv(
    *, session: Session, out: PathLikeStr, mapping: FieldMapping | None = None, status: str | None = None
) -> int:
    """Write outbox records (optionally of one status) as CSV with mapped column names; returns the count."""
    mapping = mapping or IDENTITY_MAPPING
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    query = select(OutboxRecord).order_by(OutboxRecord.id)
    if status is not None:
        query = query.where(OutboxRecord.status == status)
    columns = ["idempotency_key", "status", "attempts", *mapping.apply(dict.fromkeys(PAYLOAD_FIELDS))]
    n = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for record in session.scalars(query).yield_per(1000):
            if record.status == "erased":
                continue
            row = {
                "idempotency_key": record.idempotency_key,
                "status": record.status,
                "attempts": record.attempts,
            }
            row.update(mapping.apply(record.payload))
            writer.writerow(row)
            n += 1
    return n


def export_outbox(
    *,
    session: Session,
    out: PathLikeStr,
    mapping: FieldMapping,
    actor: str,
    role: str,
    status: str | None = None,
) -> int:
    """:func:`export_outbox_csv`, audited with who asked for it; returns the number of records written."""
    n = export_outbox_csv(session=session, out=out, mapping=mapping, status=status)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="export.outbox",
        subject="outbox",
        details={"n": n, "status": status, "mapping": mapping.name},
    )
    return n


def list_outbox(*, session: Session, status: str | None = None, limit: int = 100) -> OutboxPublic:
    """Outbox records (optionally of one status), newest first."""
    query = select(OutboxRecord).order_by(OutboxRecord.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxRecord.status == status)
    items = [
        OutboxItemPublic(
            id=r.id,
            lead_id=r.lead_id,
            idempotency_key=r.idempotency_key,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            payload=r.payload,
        )
        for r in session.scalars(query)
    ]
    return OutboxPublic(data=items, count=len(items))
