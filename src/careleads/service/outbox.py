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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from careleads.errors import CareleadsError, ConfigError, InputError
from careleads.service.audit import append_audit
from careleads.service.crm_mapping import IDENTITY_MAPPING, PAYLOAD_FIELDS, FieldMapping, target_score_field
from careleads.service.schemas import OutboxItemPublic, OutboxPublic
from careleads.service.targets import TargetScore
from careleads.settings import Settings
from careleads.store import Lead, OutboxRecord, ScoreEntry, TargetScoreEntry, insert_row, session_scope
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
    "requeue_outbox",
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


def enqueue_change(
    *,
    session: Session,
    lead: Lead,
    entry: ScoreEntry,
    now: datetime,
    targets: Sequence[TargetScore] = (),
) -> OutboxRecord:
    """Add the write-back record of a new ledger entry (score, tier or route changed), with the lead's score
    for each other served target (``score_<target>``, see :func:`target_score_field`)."""
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
    payload.update({target_score_field(t.target): t.score for t in targets})
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
        parallel=settings.webhook_parallel,
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


#: records posted at once by one deliverer (`deliver_outbox`'s ``parallel``)
DELIVERY_PARALLEL = 4


def _changed(session: Session, statement: Any) -> int:
    """Run an UPDATE; the number of rows it changed."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class _Claim:
    """A record claimed by one deliverer: its id, the attempt it holds and the request to send."""

    id: int
    attempt: int
    idempotency_key: str
    body: bytes


def _claim(
    session: Session, *, now: datetime, lease_seconds: float, limit: int, mapping: FieldMapping
) -> list[_Claim]:
    """Claim up to `limit` due records in one short transaction (committed here): each gets its next
    attempt number and a lease (``next_attempt_at`` moved to the lease's end, so no other deliverer finds it
    due meanwhile). The attempt number is the lease's token: only the holder of the current attempt may
    record its result; a deliverer that dies leaves the record due again when the lease ends."""
    rows = list(
        session.scalars(
            select(OutboxRecord)
            .where(OutboxRecord.status == "pending", OutboxRecord.next_attempt_at <= now)
            .order_by(OutboxRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    until = now + timedelta(seconds=lease_seconds)
    claims = []
    for record in rows:
        attempt = record.attempts + 1  # read first: the UPDATE below also changes the loaded object
        taken = _changed(
            session,
            update(OutboxRecord)
            .where(
                OutboxRecord.id == record.id,
                OutboxRecord.status == "pending",
                OutboxRecord.attempts == attempt - 1,
                OutboxRecord.next_attempt_at <= now,
            )
            .values(attempts=attempt, next_attempt_at=until),
        )
        if not taken:  # claimed by another deliverer between the read and the update
            continue
        document = {
            "idempotency_key": record.idempotency_key,
            "event": "lead.decision_changed",
            "data": mapping.apply(record.payload),
        }
        body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
        claims.append(_Claim(record.id, attempt, record.idempotency_key, body))
    session.commit()
    return claims


def _post(http: httpx.Client, url: str, secret: str, claim: _Claim, timeout_seconds: float) -> str | None:
    """Send one claimed record; None when the receiver took it (2xx), else what went wrong."""
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": claim.idempotency_key,
        SIGNATURE_HEADER: sign_payload(claim.body, secret, int(time.time())),
    }
    try:
        answer = http.post(url, content=claim.body, headers=headers, timeout=timeout_seconds)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"


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
    parallel: int = DELIVERY_PARALLEL,
) -> DeliveryReport:
    """Deliver the pending records that are due at `now`, each claimed under a lease, `parallel` at a time.

    Several deliverers (server processes, a command) may run at once: a record is claimed by one of them
    (:func:`_claim`) before it is sent, and only the holder of its current attempt records the result, so
    a record is posted once per attempt. No lock is held while a request is in flight. A lease lasts three
    times the HTTP timeout (at least a minute); a record whose deliverer died is due again after it.

    Parameters
    ----------
    session : Session
        A session of the store; this function commits the claim and each batch of results.
    url, secret : str
        The webhook and the shared signing secret.
    max_attempts : int
        Attempts before a record is dead-lettered (``careleads outbox requeue`` gives it new ones).
    now : datetime
        The current time (naive UTC); records with ``next_attempt_at <= now`` are due.
    backoff_seconds : float
        Delay before the first retry; doubled after each further failure.
    timeout_seconds : float
        HTTP timeout per attempt.
    mapping : FieldMapping, optional
        CRM property names for the payload.
    limit : int
        Most records claimed in one run.
    client : httpx.Client, optional
        For connection reuse; one is created when not given.
    parallel : int
        Requests in flight at once (a slow receiver then costs one timeout per `parallel` records).

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
    if parallel < 1:
        raise InputError(f"parallel must be at least 1, got {parallel}")
    mapping = mapping or IDENTITY_MAPPING
    claims = _claim(
        session, now=now, lease_seconds=max(60.0, 3 * timeout_seconds), limit=limit, mapping=mapping
    )
    if not claims:
        return DeliveryReport(n_attempted=0, n_delivered=0, n_failed=0, n_dead=0)
    own_client = client is None
    http = client or httpx.Client(timeout=timeout_seconds)
    try:
        with ThreadPoolExecutor(min(parallel, len(claims)), thread_name_prefix="careleads-outbox") as pool:
            errors = list(pool.map(lambda c: _post(http, url, secret, c, timeout_seconds), claims))
    finally:
        if own_client:
            http.close()
    delivered = failed = dead = 0
    for claim, error in zip(claims, errors, strict=True):
        mine = (OutboxRecord.id == claim.id, OutboxRecord.attempts == claim.attempt)
        if error is None:
            values: dict[str, object] = {"status": "delivered", "delivered_at": now, "last_error": None}
        elif claim.attempt >= max_attempts:
            values = {"status": "dead", "last_error": error[:500]}
        else:
            retry_at = now + timedelta(seconds=backoff_seconds * 2 ** (claim.attempt - 1))
            values = {"next_attempt_at": retry_at, "last_error": error[:500]}
        # only while the attempt is still this deliverer's (not erased, not claimed again after the lease)
        done = _changed(
            session, update(OutboxRecord).where(*mine, OutboxRecord.status == "pending").values(values)
        )
        if not done:
            continue
        if error is None:
            delivered += 1
        elif values.get("status") == "dead":
            dead += 1
        else:
            failed += 1
    session.commit()
    return DeliveryReport(n_attempted=len(claims), n_delivered=delivered, n_failed=failed, n_dead=dead)


def requeue_outbox(
    *, session: Session, actor: str, role: str, ids: Sequence[int] = (), dead: bool = False
) -> int:
    """Give records new attempts, due now: every dead record (`dead`), or the records `ids` that are dead
    or pending (a delivered or erased record is never sent again). Audited; returns how many.

    Raises
    ------
    InputError
        When neither `ids` nor `dead` says which records.
    """
    if not ids and not dead:
        raise InputError("say which records to requeue: the ids, or all dead records (--dead)")
    now = datetime.now(UTC).replace(tzinfo=None)
    query = update(OutboxRecord).values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
    if ids:
        query = query.where(OutboxRecord.id.in_(list(ids)), OutboxRecord.status.in_(("dead", "pending")))
    else:
        query = query.where(OutboxRecord.status == "dead")
    n = _changed(session, query)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="outbox.requeue",
        subject="outbox",
        details={"n": n, "ids": sorted(int(i) for i in ids)[:1000], "dead": dead},
    )
    return n


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
    # one column per target other than the routing one that any lead was scored for
    targets = session.scalars(select(TargetScoreEntry.target).distinct().order_by(TargetScoreEntry.target))
    fields = [*PAYLOAD_FIELDS, *(target_score_field(t) for t in targets)]
    columns = ["idempotency_key", "status", "attempts", *mapping.apply(dict.fromkeys(fields))]
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
