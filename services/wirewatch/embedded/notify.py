"""Alert delivery off the ingestion path: a background thread posts webhooks.

Each (rule, article, webhook) delivery is stored as ``pending`` in the same
transaction that records the alert, then posted and retried with exponential
backoff; the outcome (``delivered`` / ``failed`` with the reason) is stored and
visible in ``wirewatch alerts``. Pending deliveries left by a stopped run are sent
on the next start. Ingestion never waits for a webhook.

Every post is signed (``X-Wirewatch-Signature-256: sha256=<hex>``, HMAC-SHA256 of
the exact body with the configured secret) and checked against the allow-list
again at send time. One attempt has one deadline (``timeout``) for connecting,
sending, any same-origin 307/308 redirects and the response; other redirects are
refused, and at most ``max_response_bytes`` of a response body are read. Logs and
recorded errors name a target by ``scheme://host:port`` only: webhook paths and
queries often carry the receiver's token. See docs/WEBHOOKS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import queue
import re
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urljoin, urlsplit

from wirewatch import __version__, metrics
from wirewatch.core import alerts

if TYPE_CHECKING:
    from wirewatch.core.alerts import AlertRule, WebhookTarget
    from wirewatch.settings import WebhookSettings

log = logging.getLogger("wirewatch.alerts")

SIGNATURE_HEADER = "X-Wirewatch-Signature-256"
ALERT_ID_HEADER = "X-Wirewatch-Alert-Id"
USER_AGENT = f"wirewatch/{__version__}"
_FOLLOWED = (307, 308)  # re-send the same POST
_NOT_FOLLOWED = (301, 302, 303)  # clients turn these into a GET
_UNSAFE_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")


class DeliveryLog(Protocol):
    """Where webhook deliveries are recorded: the SQLite store, or the alerts index."""

    def pending_deliveries(self) -> list[tuple[str, str, str, dict]]: ...

    def set_delivery(
        self, rule: str, article_id: str, target: str, status: str, attempts: int, error: str | None
    ) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Wirewatch-Signature-256`` value of ``body``: ``sha256=`` + lowercase hex."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def alert_id_header(alert_id: str) -> str:
    """The alert id as a header value: ``%`` and anything outside printable ASCII
    percent-encoded (UTF-8), the rest as it is; ``urllib.parse.unquote`` gives it back."""
    return quote(alert_id, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%"))


def check_webhooks(
    rules: Sequence[AlertRule], source: str | Path, settings: WebhookSettings
) -> None:
    """Refuse to start when ``rules`` post webhooks the settings do not allow.

    Raises ``SettingsError`` (exit code 2) naming the rules file, each rule, the
    target's host and port and what to set; nothing when no rule posts a webhook.
    """
    from wirewatch.settings import SettingsError

    problems = alerts.webhook_problems(
        rules, str(source), settings.allowed_hosts, _secret(settings) is not None
    )
    if problems:
        raise SettingsError("webhooks refused:\n" + "\n".join(f"  {p}" for p in problems))


def _secret(settings: WebhookSettings) -> bytes | None:
    value = settings.secret.get_secret_value() if settings.secret is not None else ""
    return value.encode("utf-8") if value else None


class _Final(Exception):
    """This delivery cannot succeed by trying again (refused redirect, bad URL)."""


class _Retry(Exception):
    """This attempt failed; a later one may succeed."""


class WebhookNotifier:
    """Posts alert webhooks on a background thread and records each outcome in ``store``."""

    def __init__(self, store: DeliveryLog, settings: WebhookSettings, backoff: float = 0.5):
        self.store = store
        self.settings = settings
        self.timeout = settings.timeout
        self.attempts = settings.attempts
        self.backoff = backoff
        self._key = _secret(settings)
        self._tls = ssl.create_default_context()
        self._queue: queue.Queue[tuple[str, str, str, dict] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        for item in self.store.pending_deliveries():
            self._queue.put(item)
        self._thread.start()

    def submit(self, rule: str, article_id: str, url: str, payload: dict) -> None:
        self._queue.put((rule, article_id, url, payload))

    def close(self, drain_seconds: float = 10.0) -> None:
        """Stop after delivering what is queued (or after ``drain_seconds``)."""
        self._queue.put(None)
        self._thread.join(timeout=drain_seconds)
        self._stop.set()
        self._thread.join(timeout=self.timeout + 1)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self.deliver(*item)

    # -- one delivery ------------------------------------------------------------------
    def deliver(self, rule: str, article_id: str, url: str, payload: dict) -> bool:
        """Post one alert (with retries) and record the outcome; ``True`` if delivered."""
        origin = alerts.webhook_origin(url)
        refusal = alerts.webhook_refusal(url, self.settings.allowed_hosts)
        if self._key is None:
            refusal = refusal or (
                "no signing secret is set; set WIREWATCH_WEBHOOKS__SECRET "
                "(or WIREWATCH_WEBHOOKS__SECRET_FILE)"
            )
        if refusal is not None or self._key is None:
            self._failed(rule, article_id, url, origin, 0, f"refused, not sent: {refusal}")
            return False
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(self._key, body),
        }
        if payload.get("alert_id"):
            headers[ALERT_ID_HEADER] = alert_id_header(str(payload["alert_id"]))
        error = "not attempted"
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            try:
                self._attempt(url, body, headers)
            except _Final as exc:
                error = str(exc)
                break
            except (_Retry, OSError, http.client.HTTPException, ValueError) as exc:
                error = self._scrub(
                    str(exc) if isinstance(exc, _Retry) else f"{type(exc).__name__}: {exc}", url
                )
                if attempt < self.attempts and self._stop.wait(self.backoff * 2 ** (attempt - 1)):
                    break
                continue
            self.store.set_delivery(rule, article_id, url, "delivered", attempt, None)
            metrics.ALERTS_DELIVERED.labels("webhook").inc()
            log.info(
                "delivered rule=%s article=%s to %s (attempt %d)", rule, article_id, origin, attempt
            )
            return True
        self._failed(rule, article_id, url, origin, attempt, error)
        return False

    def _failed(
        self, rule: str, article_id: str, url: str, origin: str, attempts: int, error: str
    ) -> None:
        self.store.set_delivery(rule, article_id, url, "failed", attempts, error[:500])
        metrics.ALERTS_FAILED.labels("webhook").inc()
        log.warning("delivery failed rule=%s article=%s to %s: %s", rule, article_id, origin, error)

    def _scrub(self, text: str, url: str) -> str:
        """``text`` without the URL's path and query (nor the secret), should a library
        have quoted them."""
        parts = urlsplit(url)
        for secret in (url, parts.path + ("?" + parts.query if parts.query else "")):
            if len(secret) > 1:
                text = text.replace(secret, "…")
        if self._key:
            text = text.replace(self._key.decode("utf-8"), "…")
        return text

    def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """One attempt, same-origin 307/308 redirects included, within one deadline."""
        deadline = time.monotonic() + self.timeout
        current = url
        for hop in range(self.settings.max_redirects + 1):
            status, location = self._post(current, body, headers, deadline)
            if 200 <= status < 300:
                return
            if status not in _FOLLOWED + _NOT_FOLLOWED:
                raise _Retry(f"HTTP {status}")
            here = alerts.webhook_target(current)
            if not location:
                raise _Retry(f"HTTP {status} redirect without a Location header")
            following = urljoin(current, location.strip())
            try:
                there: WebhookTarget | None = alerts.webhook_target(following)
            except ValueError:
                there = None
            if there != here or alerts.has_credentials(following):
                metrics.CAPS_HIT.labels("webhook_redirect").inc()
                raise _Final(
                    f"HTTP {status} redirect to {there or 'a non-http(s) URL'} refused: webhooks "
                    f"follow redirects only within {here}; update the webhook URL in the rules"
                )
            if status in _NOT_FOLLOWED:
                raise _Final(
                    f"HTTP {status} redirect refused: a webhook POST is not re-sent as a GET; "
                    "update the webhook URL in the rules (or have the receiver answer 307/308)"
                )
            if hop == self.settings.max_redirects:
                metrics.CAPS_HIT.labels("webhook_redirect").inc()
                raise _Final(
                    f"more than {self.settings.max_redirects} redirect(s) within {here} "
                    "(WIREWATCH_WEBHOOKS__MAX_REDIRECTS); update the webhook URL in the rules"
                )
            current = following

    def _post(
        self, url: str, body: bytes, headers: dict[str, str], deadline: float
    ) -> tuple[int, str | None]:
        """POST ``body`` to ``url``: (status, Location header). Connects to the origin parsed
        here (no library re-parses the URL) and gives up at ``deadline``."""
        target = alerts.webhook_target(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if _UNSAFE_IN_TARGET.search(path):
            raise _Final(
                "the webhook URL's path or query holds spaces or control characters; "
                "percent-encode them in the rules"
            )
        sock = _connect(target, deadline)
        expired = threading.Event()

        def cut() -> None:
            # wakes a read blocked on a receiver that drips bytes; the base-class
            # shutdown leaves a TLS socket's state to the reading thread
            expired.set()
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
        watchdog.daemon = True
        watchdog.start()
        conn: http.client.HTTPConnection | None = None
        resp: http.client.HTTPResponse | None = None
        try:
            if target.scheme == "https":
                sock = self._tls.wrap_socket(sock, server_hostname=target.host)
                conn = http.client.HTTPSConnection(target.host, target.port, context=self._tls)
            else:
                conn = http.client.HTTPConnection(target.host, target.port)
            conn.sock = sock
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            if expired.is_set():  # the cut ends a dripping header block early, not an error
                raise TimeoutError
            status, location = resp.status, resp.getheader("Location")
            self._read_capped(resp)
            return status, location
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise TimeoutError(f"no response within {self.timeout:g}s") from None
            raise
        finally:
            watchdog.cancel()
            if resp is not None:
                resp.close()
            if conn is not None:
                conn.close()
            sock.close()

    def _read_capped(self, resp: http.client.HTTPResponse) -> None:
        """Read (and drop) at most ``max_response_bytes`` of the body; the status decides."""
        cap = self.settings.max_response_bytes
        got = 0
        try:
            while got < cap:
                chunk = resp.read(min(65536, cap - got))
                if not chunk:
                    return
                got += len(chunk)
            more = resp.length > 0 if resp.length is not None else bool(resp.read(1))
        except (OSError, http.client.HTTPException):
            return  # the status line is in; a body cut short changes nothing
        if more:
            metrics.CAPS_HIT.labels("webhook_response_bytes").inc()
            log.debug("response body beyond %d bytes not read", cap)


def _connect(target: WebhookTarget, deadline: float) -> socket.socket:
    """A TCP connection to ``target``, trying each address until ``deadline``."""
    last: OSError | None = None
    for family, kind, proto, _name, address in socket.getaddrinfo(
        target.host, target.port, type=socket.SOCK_STREAM
    ):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, kind, proto)
        sock.settimeout(remaining)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        return sock
    if isinstance(last, TimeoutError) or last is None:
        raise TimeoutError(f"no connection to {target} in time")
    raise last
