"""Webhook delivery over real HTTP on loopback: signature, redirects, caps, deadlines, allow-list.

The receivers are small threaded ``http.server``s that check the signature with their
own HMAC code (constant-time compare) and record every connection and request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from pydantic import SecretStr
from wirewatch import __version__, metrics
from wirewatch.embedded.notify import WebhookNotifier
from wirewatch.settings import WebhookSettings

from tests.integration.es_gateway import TestCA

SECRET = "wh-test-secret-7f3a9c"
TOKEN = "tok-5e1d0b"  # webhook paths carry tokens: never in an error or a log line
PAYLOAD = {"alert_id": "declined-bans:0123456789abcdef", "rule": "declined-bans", "x": "é"}


def verifies(secret: str, body: bytes, header: str | None) -> bool:
    """The receiver's own check of ``X-Wirewatch-Signature-256``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


class Receiver:
    """A webhook receiver on ``host``; ``respond(handler, body)`` writes the answer
    (default 204). Records connections and requests (path, headers, body, verified)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        respond: Callable | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.connections = 0
        self.requests: list[dict] = []
        self.done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": verifies(
                            SECRET, body, self.headers.get("X-Wirewatch-Signature-256")
                        ),
                    }
                )
                try:
                    if respond is None:
                        self.send_response(204)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        respond(self, body)
                finally:
                    receiver.done.set()

            def log_message(self, *args):
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                conn = super().get_request()
                receiver.connections += 1
                return conn

        self.server = Server((host, 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.origin = f"{'https' if tls else 'http'}://{host}:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Deliveries:
    """An in-memory ``DeliveryLog``."""

    def __init__(self):
        self.outcomes: dict[str, tuple[str, int, str | None]] = {}

    def pending_deliveries(self):
        return []

    def set_delivery(self, rule, article_id, target, status, attempts, error):
        self.outcomes[target] = (status, attempts, error)


@pytest.fixture()
def receivers():
    made: list[Receiver] = []

    def make(
        host: str = "127.0.0.1", respond: Callable | None = None, tls: ssl.SSLContext | None = None
    ) -> Receiver:
        made.append(Receiver(host, respond, tls))
        return made[-1]

    yield make
    for r in made:
        r.close()


def notifier(allowed: list[str], secret: str | None = SECRET, **settings) -> WebhookNotifier:
    settings.setdefault("timeout", 2.0)
    settings.setdefault("attempts", 1)
    return WebhookNotifier(
        Deliveries(),
        WebhookSettings(
            allowed_hosts=allowed, secret=SecretStr(secret) if secret else None, **settings
        ),
        backoff=0.05,
    )


def outcome(n: WebhookNotifier, url: str) -> tuple[str, int, str | None]:
    return n.store.outcomes[url]  # type: ignore[attr-defined]


def cap(name: str) -> float:
    return metrics.REGISTRY.get_sample_value("wirewatch_caps_hit_total", {"cap": name}) or 0.0


def failed(reason: str) -> float:
    return metrics.CHANNEL_FAILED.labels("webhook", "webhook", reason)._value.get()


def redirect(status: int, location: str) -> Callable:
    def respond(handler, _body):
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def test_delivery_is_signed_and_verifies_only_with_the_right_secret(receivers):
    r = receivers()
    url = f"{r.origin}/hook/{TOKEN}?key={TOKEN}"
    n = notifier(["127.0.0.1"])
    assert n.deliver("declined-bans", "0123456789abcdef", url, PAYLOAD)
    assert outcome(n, url) == ("delivered", 1, None)
    (got,) = r.requests
    assert got["verified"], "the receiver's own HMAC check accepts it"
    assert not verifies("another-secret", got["body"], got["headers"]["X-Wirewatch-Signature-256"])
    assert got["headers"]["X-Wirewatch-Signature-256"] == (
        "sha256=" + hmac.new(SECRET.encode(), got["body"], hashlib.sha256).hexdigest()
    )
    assert got["headers"]["X-Wirewatch-Alert-Id"] == PAYLOAD["alert_id"]
    assert got["headers"]["User-Agent"] == f"wirewatch/{__version__}"
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["path"] == f"/hook/{TOKEN}?key={TOKEN}"


def test_alert_id_header_survives_any_rule_name(receivers):
    r = receivers()
    payload = {**PAYLOAD, "alert_id": "verbod 100%-zeker:abc"}
    n = notifier(["127.0.0.1"])
    assert n.deliver("r", "abc", f"{r.origin}/hook", payload)
    header = r.requests[0]["headers"]["X-Wirewatch-Alert-Id"]
    assert header != payload["alert_id"] and unquote(header) == payload["alert_id"]


@pytest.mark.parametrize("status", [302, 307, 308])
def test_redirect_to_another_host_is_refused(receivers, caplog, status):
    other = receivers("127.0.0.2")
    first = receivers(respond=redirect(status, f"{other.origin}/steal/{TOKEN}"))
    url = f"{first.origin}/hook/{TOKEN}"
    n = notifier(["127.0.0.1", "127.0.0.2"], attempts=3)
    before = cap("webhook_redirect")
    with caplog.at_level(logging.INFO, logger="wirewatch.alerts"):
        assert not n.deliver("r", "a", url, PAYLOAD)
    status_, attempts, error = outcome(n, url)
    assert status_ == "failed" and attempts == 1, "a refused redirect is not retried"
    assert f"redirect to {other.origin} refused" in error
    assert len(first.requests) == 1 and other.connections == 0 and other.requests == []
    assert cap("webhook_redirect") == before + 1
    assert TOKEN not in error and TOKEN not in caplog.text
    assert f"to {first.origin}:" in caplog.text


def test_same_origin_307_is_followed_once_with_the_same_body_and_signature(receivers):
    def respond(handler, _body):
        if handler.path == "/old":
            redirect(307, "/new")(handler, _body)
        else:
            handler.send_response(200)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")

    r = receivers(respond=respond)
    n = notifier(["127.0.0.1"])
    assert n.deliver("r", "a", f"{r.origin}/old", PAYLOAD)
    assert [q["path"] for q in r.requests] == ["/old", "/new"]
    old, new = r.requests
    assert old["body"] == new["body"] and new["verified"]
    assert (
        old["headers"]["X-Wirewatch-Signature-256"] == new["headers"]["X-Wirewatch-Signature-256"]
    )


def test_303_to_the_same_origin_fails_instead_of_becoming_a_get(receivers):
    r = receivers(respond=redirect(303, "/elsewhere"))
    url = f"{r.origin}/hook"
    n = notifier(["127.0.0.1"], attempts=3)
    assert not n.deliver("r", "a", url, PAYLOAD)
    status, attempts, error = outcome(n, url)
    assert (status, attempts) == ("failed", 1) and "not re-sent as a GET" in error
    assert [q["path"] for q in r.requests] == ["/hook"]


def test_same_origin_redirects_stop_at_max_redirects(receivers):
    r = receivers(respond=redirect(307, "/hook"))
    url = f"{r.origin}/hook"
    n = notifier(["127.0.0.1"], max_redirects=2)
    before = cap("webhook_redirect")
    assert not n.deliver("r", "a", url, PAYLOAD)
    assert len(r.requests) == 3 and "more than 2 redirect(s)" in outcome(n, url)[2]
    assert cap("webhook_redirect") == before + 1


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_10_mb_response_is_not_read_beyond_the_cap(receivers, framing):
    size = 10 * 1024 * 1024
    sent = {"bytes": 0, "cut_off": False}

    def respond(handler, _body):
        handler.send_response(200)
        if framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(size))
        handler.end_headers()
        block = b"x" * 65536
        try:
            while sent["bytes"] < size:
                if framing == "chunked":
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                else:
                    handler.wfile.write(block)
                sent["bytes"] += len(block)
        except OSError:
            sent["cut_off"] = True

    r = receivers(respond=respond)
    url = f"{r.origin}/hook"
    n = notifier(["127.0.0.1"], max_response_bytes=4096)
    before = cap("webhook_response_bytes")
    assert n.deliver("r", "a", url, PAYLOAD), "2xx: delivered, whatever the body"
    assert outcome(n, url) == ("delivered", 1, None)
    assert cap("webhook_response_bytes") == before + 1
    assert r.done.wait(10)
    assert sent["cut_off"] and sent["bytes"] < size, "the receiver could not send it all"


def test_a_small_response_within_the_cap_counts_nothing(receivers):
    def respond(handler, _body):
        handler.send_response(200)
        handler.send_header("Content-Length", "4096")
        handler.end_headers()
        handler.wfile.write(b"y" * 4096)

    r = receivers(respond=respond)
    n = notifier(["127.0.0.1"], max_response_bytes=4096)
    before = cap("webhook_response_bytes")
    assert n.deliver("r", "a", f"{r.origin}/hook", PAYLOAD)
    assert cap("webhook_response_bytes") == before


def test_non_2xx_is_a_failed_attempt_and_retried(receivers):
    r = receivers(respond=lambda h, _b: (h.send_error(503), None))
    url = f"{r.origin}/hook"
    n = notifier(["127.0.0.1"], attempts=3)
    assert not n.deliver("r", "a", url, PAYLOAD)
    assert outcome(n, url) == ("failed", 3, "HTTP 503")
    assert len(r.requests) == 3


class Silent:
    """A TCP listener that accepts (``drip``: and sends a status line, then one header
    byte every 0.1 s; over TLS with ``tls``) but never completes a response."""

    def __init__(self, drip: bool, tls: ssl.SSLContext | None = None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        scheme = "http" if tls is None else "https"
        self.origin = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}"
        self.tls = tls
        self.stop = threading.Event()
        if drip:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.stop.wait(0.1):
                    conn.sendall(b"z")
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("drip", [False, True], ids=["never-answers", "drips-headers"])
def test_a_receiver_that_never_answers_fails_within_attempts_times_timeout(drip):
    silent = Silent(drip)
    url = f"{silent.origin}/hook"
    n = notifier(["127.0.0.1"], timeout=0.5, attempts=2)
    started = time.monotonic()
    try:
        assert not n.deliver("r", "a", url, PAYLOAD)
    finally:
        silent.close()
    elapsed = time.monotonic() - started
    status, attempts, error = outcome(n, url)
    assert (status, attempts) == ("failed", 2) and "TimeoutError" in error
    assert elapsed < 2 * 0.5 + 2.0, f"took {elapsed:.1f}s"


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory):
    """A server certificate for 127.0.0.1 and the CA that signed it (no system CA has)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificates")
    ca = TestCA.create(tmp_path_factory.mktemp("webhook-ca"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(ca.server_cert, ca.server_key)
    return tls, ca


def test_https_with_a_custom_ca_is_delivered_and_an_untrusted_certificate_is_a_tls_failure(
    receivers, server_tls
):
    tls, ca = server_tls
    r = receivers(tls=tls)
    url = f"{r.origin}/hook/{TOKEN}"
    untrusted = notifier(["127.0.0.1"], attempts=2)
    before = failed("tls")
    assert not untrusted.deliver("r", "a", url, PAYLOAD)
    status, attempts, error = outcome(untrusted, url)
    assert (status, attempts) == ("failed", 2), "a TLS failure is tried again"
    assert error.startswith("SSLCertVerificationError: ") and TOKEN not in error
    assert failed("tls") == before + 1 and r.requests == []
    trusting = notifier(["127.0.0.1"])
    trusting._tls.load_verify_locations(ca.ca_cert)
    assert trusting.deliver("r", "a", url, PAYLOAD)
    (got,) = r.requests
    assert got["verified"] and got["path"] == f"/hook/{TOKEN}"


def test_a_receiver_dripping_headers_over_tls_fails_at_the_deadline(server_tls):
    tls, ca = server_tls
    silent = Silent(drip=True, tls=tls)
    url = f"{silent.origin}/hook"
    n = notifier(["127.0.0.1"], timeout=0.5, attempts=2)
    n._tls.load_verify_locations(ca.ca_cert)
    started = time.monotonic()
    try:
        assert not n.deliver("r", "a", url, PAYLOAD)
    finally:
        silent.close()
    elapsed = time.monotonic() - started
    assert outcome(n, url) == ("failed", 2, "TimeoutError: no response within 0.5s")
    assert elapsed < 2 * 0.5 + 2.0, f"took {elapsed:.1f}s"


def test_a_refused_connection_and_a_closed_one_are_connection_failures_and_retried():
    closed = socket.create_server(("127.0.0.1", 0))  # accepts, reads, closes: no response
    port = closed.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = closed.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    threading.Thread(target=serve, daemon=True).start()
    with socket.create_server(("127.0.0.1", 0)) as s:
        nobody = f"http://127.0.0.1:{s.getsockname()[1]}/hook/{TOKEN}"
    hung_up = f"http://127.0.0.1:{port}/hook/{TOKEN}"
    n = notifier(["127.0.0.1"], attempts=2)
    before = failed("connection")
    try:
        assert not n.deliver("r", "a", nobody, PAYLOAD)
        assert not n.deliver("r", "b", hung_up, PAYLOAD)
    finally:
        closed.close()
    assert outcome(n, nobody)[:2] == ("failed", 2)
    assert outcome(n, nobody)[2].startswith("ConnectionRefusedError: ")
    assert outcome(n, hung_up)[:2] == ("failed", 2)
    assert failed("connection") == before + 2


@pytest.mark.parametrize(
    "allowed, url_of, secret, reason",
    [
        (["127.0.0.2"], "{origin}/hook/{token}", SECRET, "is not allowed"),
        (["127.0.0.1:1"], "{origin}/hook/{token}", SECRET, "is not allowed"),
        (["127.0.0.1"], "http://user:{token}@{hostport}/hook", SECRET, "carries credentials"),
        (["127.0.0.1"], "{origin}/hook/{token}", None, "no signing secret is set"),
    ],
    ids=["host", "port", "credentials", "no-secret"],
)
def test_refused_at_send_time_without_any_connection(receivers, allowed, url_of, secret, reason):
    r = receivers()
    url = url_of.format(origin=r.origin, token=TOKEN, hostport=r.origin.split("//")[1])
    n = notifier(allowed, secret=secret, attempts=3)
    assert not n.deliver("r", "a", url, PAYLOAD)
    status, attempts, error = outcome(n, url)
    assert (status, attempts) == ("failed", 0)
    assert error.startswith("refused, not sent") and reason in error and TOKEN not in error
    time.sleep(0.1)  # a connection, had one been made, would be counted by now
    assert r.connections == 0 and r.requests == []


def test_the_thread_sends_what_is_submitted_and_what_was_pending(receivers):
    r = receivers()
    url = f"{r.origin}/hook"

    class Pending(Deliveries):
        def pending_deliveries(self):
            return [("old", "a1", url, {**PAYLOAD, "alert_id": "old:a1"})]

    store = Pending()
    n = WebhookNotifier(store, WebhookSettings(allowed_hosts=["127.0.0.1"], secret=SECRET))
    n.start()
    n.submit("new", "a2", url, {**PAYLOAD, "alert_id": "new:a2"})
    n.close()
    assert sorted(q["headers"]["X-Wirewatch-Alert-Id"] for q in r.requests) == ["new:a2", "old:a1"]
    assert all(q["verified"] for q in r.requests)
    assert store.outcomes[url][0] == "delivered"
