"""Alerts for people: a short message (a subject and lines of aggregate figures) sent to a webhook and by
e-mail, as configured (``CARELEADS_ALERT_WEBHOOK_URL``, ``CARELEADS_SMTP_HOST`` and the ``ALERT_EMAIL``
settings).

The webhook receives ``{"subject": ..., "lines": [...], "details": {...}, "sent_at": ...}``, signed like the
outbox's write-back (``X-Careleads-Signature``, :func:`careleads.service.outbox.sign_payload`) when
``CARELEADS_ALERT_WEBHOOK_SECRET`` is set. Alerts carry figures only, never a lead's data.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx

from careleads.errors import CareleadsError
from careleads.service.outbox import SIGNATURE_HEADER, sign_payload
from careleads.settings import Settings

__all__ = ["Alert", "AlertError", "alert_channels", "send_alert"]


class AlertError(CareleadsError):
    """An alert could not be delivered; the message names the channel and what to check."""


@dataclass(frozen=True)
class Alert:
    """What to tell people: a subject line, lines of text, and JSON-able figures."""

    subject: str
    lines: Sequence[str]
    details: Mapping[str, Any] = field(default_factory=dict)


def alert_channels(settings: Settings) -> list[str]:
    """The configured channels: ``webhook`` and ``email``."""
    channels = []
    if settings.alert_webhook_url:
        channels.append("webhook")
    if settings.smtp_host and settings.alert_email_from and settings.alert_email_to:
        channels.append("email")
    return channels


def _post(settings: Settings, alert: Alert, sent_at: datetime) -> None:
    body = json.dumps(
        {
            "subject": alert.subject,
            "lines": list(alert.lines),
            "details": dict(alert.details),
            "sent_at": sent_at.isoformat(),
        },
        sort_keys=True,
    ).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if settings.alert_webhook_secret:
        headers[SIGNATURE_HEADER] = sign_payload(body, settings.alert_webhook_secret, int(time.time()))
    try:
        answer = httpx.post(
            settings.alert_webhook_url,
            content=body,
            headers=headers,
            timeout=settings.webhook_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise AlertError(
            f"the alert webhook could not be reached ({type(exc).__name__}); check "
            "CARELEADS_ALERT_WEBHOOK_URL"
        ) from None
    if not answer.is_success:
        raise AlertError(f"the alert webhook answered HTTP {answer.status_code}; check the receiver")


def _mail(settings: Settings, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = settings.alert_email_from
    message["To"] = ", ".join(settings.alert_email_to)
    message.set_content("\n".join(alert.lines) + "\n")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertError(
            f"the alert e-mail could not be sent ({type(exc).__name__}); check CARELEADS_SMTP_HOST, "
            "CARELEADS_SMTP_PORT and the SMTP login"
        ) from None


def send_alert(*, settings: Settings, alert: Alert, now: datetime | None = None) -> list[str]:
    """Send `alert` on every configured channel.

    Every channel is tried even when one fails.

    Returns
    -------
    list of str
        The channels it reached (empty when none is configured).

    Raises
    ------
    AlertError
        If a configured channel failed (after the others were tried).
    """
    sent_at = now or datetime.now(UTC).replace(tzinfo=None)
    sent: list[str] = []
    problems: list[str] = []
    for channel in alert_channels(settings):
        try:
            if channel == "webhook":
                _post(settings, alert, sent_at)
            else:
                _mail(settings, alert)
            sent.append(channel)
        except AlertError as exc:
            problems.append(str(exc))
    if problems:
        reached = f" (reached: {', '.join(sent)})" if sent else ""
        raise AlertError("; ".join(problems) + reached)
    return sent
