"""Serving the UI with uvicorn: in the foreground (``wirewatch ui``) or on a thread of
``wirewatch run --ui``."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from wirewatch.core.alerts import AlertRule
from wirewatch.ui.app import create_app, loopback_hosts

log = logging.getLogger("wirewatch.ui")


class PortUnavailable(RuntimeError):
    """The address cannot be bound; the message names it."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(
            f"{host}:{port} is not available for the UI ({exc.strerror or exc}); pass another port"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(
    db: Path, host: str, rules: Sequence[AlertRule] | None, rules_path: Path | None
) -> uvicorn.Server:
    allowed = loopback_hosts(host)
    if allowed is None:
        log.warning(
            "the UI on %s has no login: whoever reaches this address can read the whole store",
            host,
        )
    app = create_app(db, rules, rules_path, allowed_hosts=allowed)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", server_header=False
    )
    return uvicorn.Server(config)


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve_forever(
    db: Path,
    host: str,
    port: int,
    rules: Sequence[AlertRule] | None = None,
    rules_path: Path | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM. Raises PortUnavailable."""
    sock = bind(host, port)
    server = _server(db, host, rules, rules_path)
    # uvicorn re-raises the signal that stopped it once it is done; these handlers turn
    # that into a normal return.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    log.info("ui on %s for %s (Ctrl-C to stop)", url(sock), db)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class Background:
    """The UI served on a daemon thread (``wirewatch run --ui``); ``stop()`` ends it."""

    def __init__(
        self,
        db: Path,
        host: str,
        port: int,
        rules: Sequence[AlertRule] | None = None,
        rules_path: Path | None = None,
    ):
        self.sock = bind(host, port)
        self.url = url(self.sock)
        self.server = _server(db, host, rules, rules_path)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="ui", daemon=True
        )

    def start(self) -> Background:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
