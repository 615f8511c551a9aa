"""Admission control: a bounded number of requests work at once; the others wait briefly, then get 503.

Scoring is CPU-bound. Without a bound, an overload slows every request down together (they share the
cores) until all of them time out; with one, the admitted requests keep their normal latency and the rest
are told at once to retry (``503`` with ``Retry-After``), which a CRM integration can act on.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ConcurrencyLimit"]


class ConcurrencyLimit:
    """ASGI middleware admitting at most `max_concurrent` HTTP requests under `/v1/` (health excepted).

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    max_concurrent : int
        Requests worked on at once.
    queue_seconds : float
        How long a request may wait for a slot before it is refused with 503.
    """

    def __init__(self, app: ASGIApp, *, max_concurrent: int, queue_seconds: float) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.queue_seconds = queue_seconds
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/v1/") or path == "/v1/health":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the server's event loop
            self._slots = asyncio.Semaphore(self.max_concurrent)
        if self._slots.locked():  # every slot taken: wait in line, at most queue_seconds
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_seconds)
            except TimeoutError:
                await self._refuse(send)
                return
        else:
            await self._slots.acquire()  # free now: no timer needed
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = json.dumps({"detail": "the service is at capacity; retry shortly"}).encode("utf-8")
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
