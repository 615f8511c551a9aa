"""Run the service under uvicorn: one process, or worker processes that each listen on a socket of their own.

uvicorn's own workers share one listening socket, and the first worker to wake accepts every connection
waiting: keep-alive clients that open their connections together (a CRM's connection pool, a reverse
proxy's upstream keep-alive) all land on one worker and the others stay idle. Here each worker binds the
address itself with ``SO_REUSEPORT`` (Linux, BSD), so that the kernel spreads new connections over the
workers; uvicorn's supervisor still starts, watches and restarts them (and each worker ends with it: see
:func:`careleads.app.create_app`).

The supervising process keeps the address bound, without listening (so it receives no connection), for as
long as it runs: another program that binds the port without ``SO_REUSEPORT`` fails, and a second
``careleads serve`` on the same address finds it taken before it starts any worker.
"""

from __future__ import annotations

import socket
from typing import Any, cast

from careleads.errors import ConfigError

__all__ = ["APP", "claim_address", "serve", "worker_socket"]

APP = "careleads.app:create_app"
"""The application factory, as uvicorn imports it in each worker."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def worker_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening yet: one worker's own (the
    event loop's server listens on it when it starts serving)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _OwnListener:
    """Stands in uvicorn's list of sockets and becomes, in each worker it is sent to, a socket the worker
    binds itself (:func:`worker_socket`): uvicorn sends the list to its workers by pickling it.

    The worker binds the address as it starts and listens only when uvicorn serves on the socket, once the
    app has started: until then the kernel gives new connections to the workers already serving, and a
    worker that fails to start (or is being restarted) holds no connection that would then be reset.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return worker_socket, (self.host, self.port)


def claim_address(host: str, port: int) -> socket.socket:
    """Bind ``host:port`` for the supervising process, without listening; the workers then bind it too.

    Raises
    ------
    OSError
        ``EADDRINUSE`` when another program holds the address (checked with a bind that does not share it).
    """
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: not held by TIME_WAIT
        probe.bind((host, port))
    finally:
        probe.close()
    return worker_socket(host, port)  # bound as a worker's is, so the workers can bind it too


def serve(*, host: str, port: int, workers: int, log_level: str, app: Any = None) -> None:
    """Serve the API and the pages on ``host:port`` until stopped (Ctrl+C, SIGTERM).

    Parameters
    ----------
    host, port : str, int
        The address to listen on.
    workers : int
        Processes; with more than one, each loads the application and listens on a socket of its own.
    log_level : str
        uvicorn's log level.
    app : FastAPI, optional
        A built application for the one-process case (default: built by uvicorn from :data:`APP`).

    Raises
    ------
    ConfigError
        With more than one worker: when the address is taken or cannot be bound, the port is 0 (any free
        port), or the system has no ``SO_REUSEPORT``.
    """
    import uvicorn

    if workers <= 1:
        target = app if app is not None else APP
        uvicorn.run(target, factory=app is None, host=host, port=port, log_level=log_level)
        return
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - Linux and the BSDs have it
        raise ConfigError("worker processes need SO_REUSEPORT, which this system lacks: use --workers 1")
    if port == 0:
        raise ConfigError("--port 0 with several workers gives each worker a port of its own: name a port")
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level)
    try:
        held = claim_address(host, port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop the program that holds it, or "
            "choose another --host or --port"
        ) from None
    try:
        Multiprocess(config, sockets=[cast(socket.socket, _OwnListener(host, port))]).run()
    finally:
        held.close()
