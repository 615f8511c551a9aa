"""Admission control: a bounded number of requests work at once; the others wait briefly, then get 503.

Two lines: intake (creates, events, reads, review) and bulk scoring, each with its own slots, so analytics
or a file upload can never take the slots that new leads need.

Scoring is CPU-bound. Without a bound, an overload slows every request down together (they share the
cores) until all of them time out; with one, the admitted requests keep their normal latency and the rest
are told at once to retry (``503`` with ``Retry-After``), which a CRM integration can act on.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BULK_ROUTES", "ConcurrencyLimit", "is_bulk"]

#: POST routes whose one request scores many leads (stateless scoring, batch uploads, whose background job
#: runs inside the request's admission): they wait in their own line, so they can never take the slots that
#: intake (creates, events, reads, review) needs
BULK_ROUTES: tuple[str, ...] = ("/v1/score", "/v1/batches")


def is_bulk(method: str, path: str) -> bool:
    """Whether a request is bulk scoring (see :data:`BULK_ROUTES`).

    Examples
    --------
    >>> is_bulk("POST", "/v1/score"), is_bulk("POST", "/v1/leads"), is_bulk("GET", "/v1/batches/7")
    (True, False, False)
    """
    return method == "POST" and path.rstrip("/") in BULK_ROUTES


class _Line:
    """One admission line: `slots` requests at once, the others wait at most `queue_seconds`."""

    def __init__(self, slots: int, queue_seconds: float) -> None:
        self.slots = slots
        self.queue_seconds = queue_seconds
        self._semaphore: asyncio.Semaphore | None = None

    async def enter(self) -> bool:
        """Take a slot; False when none freed up in time."""
        if self._semaphore is None:  # created on the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        if self._semaphore.locked():  # every slot taken: wait in line, at most queue_seconds
            try:
                await asyncio.wait_for(self._semaphore.acquire(), timeout=self.queue_seconds)
            except TimeoutError:
                return False
        else:
            await self._semaphore.acquire()  # free now: no timer needed
        return True

    def leave(self) -> None:
        assert self._semaphore is not None
        self._semaphore.release()


class ConcurrencyLimit:
    """ASGI middleware admitting at most `max_concurrent` HTTP requests under `/v1/` (health excepted), and
    bulk scoring (:data:`BULK_ROUTES`) in a line of its own of `max_bulk` requests.

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    max_concurrent : int
        Intake and reading requests worked on at once.
    queue_seconds : float
        How long a request may wait for a slot before it is refused with 503.
    max_bulk : int
        Bulk scoring requests worked on at once, beside the others.
    """

    def __init__(self, app: ASGIApp, *, max_concurrent: int, queue_seconds: float, max_bulk: int = 1) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.queue_seconds = queue_seconds
        self._intake = _Line(max_concurrent, queue_seconds)
        self._bulk = _Line(max_bulk, queue_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/v1/") or path == "/v1/health":
            await self.app(scope, receive, send)
            return
        line = self._bulk if is_bulk(str(scope.get("method", "")), path) else self._intake
        if not await line.enter():
            await self._refuse(send, bulk=line is self._bulk)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            line.leave()

    @staticmethod
    async def _refuse(send: Send, *, bulk: bool) -> None:
        detail = (
            "bulk scoring is at capacity (one request at a time beside intake); retry shortly"
            if bulk
            else "the service is at capacity; retry shortly"
        )
        body = json.dumps({"detail": detail}).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"retry-after", b"1"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
