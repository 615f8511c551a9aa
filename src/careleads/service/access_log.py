"""What the server's access log may say of a request: its route, never a patient's identifiers.

uvicorn logs every request line (``"GET /ui/queue?search=... HTTP/1.1" 200``). Query strings carry what
staff typed (a name or phone searched for, a filter) and some paths carry a CRM's record id
(``/v1/leads/external/{external_id}``); :class:`AccessLogRedaction` replaces both before the line is
written, so the access log, like careleads' own logs, carries lead ids only.
"""

from __future__ import annotations

import logging
import re

__all__ = ["AccessLogRedaction", "install_access_log_redaction", "redact_request_path"]

ACCESS_LOGGER = "uvicorn.access"
_EXTERNAL_ID = re.compile(r"(/external/)[^/?#]+")


def redact_request_path(path: str) -> str:
    """A request path as the access log may show it: no query values, no external (CRM) ids.

    Examples
    --------
    >>> redact_request_path("/ui/queue?search=Ada+Lovelace&page=2")
    '/ui/queue?<query hidden>'
    >>> redact_request_path("/v1/leads/external/CRM-4")
    '/v1/leads/external/<external id>'
    >>> redact_request_path("/v1/leads/17")
    '/v1/leads/17'
    """
    route, sep, _query = path.partition("?")
    route = _EXTERNAL_ID.sub(r"\1<external id>", route)
    return f"{route}?<query hidden>" if sep else route


class AccessLogRedaction(logging.Filter):
    """Rewrites the path of uvicorn's access-log records (``args[2]``) with :func:`redact_request_path`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_request_path(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Put the redaction on uvicorn's access logger (once, however many apps a process builds)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogRedaction) for f in logger.filters):
        logger.addFilter(AccessLogRedaction())
