"""An HTTPS + authentication gateway in front of the Elasticsearch-API emulator.

The noida-db emulator has no security: no TLS, no users, no API keys. This gateway
stands in for the security layer of Elasticsearch 8 so that wirewatch's client
settings (CA bundle, basic auth, API key) meet a server that checks them:

- TLS with a server certificate for ``IP:127.0.0.1`` and ``DNS:localhost``, signed
  by a CA generated for the test session (``TestCA``, with the ``openssl`` CLI);
- ``Authorization: Basic base64(user:password)`` or ``Authorization: ApiKey
  base64(id:key)`` must match the configured credentials; anything else is answered
  401 with ``WWW-Authenticate`` and a ``security_exception`` body, as Elasticsearch 8
  answers;
- an accepted request is forwarded to the emulator over plain HTTP without its
  ``Authorization`` header, and the answer (status, headers, body) relayed.

``counts`` tallies every request by outcome (``basic``, ``api_key``, ``rejected``)
and ``tls_failures`` the handshakes that failed, so a test can show that what
reached the emulator went through the checks.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.integration.stack import free_port

# hop-by-hop headers and the ones recomputed for the relayed body
_NOT_FORWARDED = {
    "authorization",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}
_NOT_RELAYED = {"connection", "keep-alive", "content-length", "transfer-encoding"}
_CHALLENGES = ('Basic realm="security" charset="UTF-8"', "ApiKey")


@dataclass(frozen=True)
class TestCA:
    """A CA and a server certificate (``IP:127.0.0.1``, ``DNS:localhost``) signed by it."""

    __test__ = False  # not a pytest test class

    ca_cert: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        """Generate the files in ``directory`` (EC P-256 keys, valid for two days)."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the openssl command is needed to make the test certificates")
        directory.mkdir(parents=True, exist_ok=True)
        d = directory

        def run(*args: str) -> None:
            subprocess.run(
                [openssl, *args],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=30,
            )

        key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        run(
            "req", "-x509", *key, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
            "-days", "2", "-subj", "/CN=wirewatch test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        run(
            "req", *key, "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"),
            "-subj", "/CN=localhost",
        )  # fmt: skip
        (d / "server.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid,issuer\n"
        )
        run(
            "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(d / "server.ext"), "-out", str(d / "server.pem"),
        )  # fmt: skip
        return cls(d / "ca.pem", d / "server.pem", d / "server.key")


def _security_exception(reason: str) -> bytes:
    error = {
        "type": "security_exception",
        "reason": reason,
        "header": {"WWW-Authenticate": list(_CHALLENGES)},
    }
    return json.dumps({"error": {"root_cause": [error], **error}, "status": 401}).encode()


class EsGateway:
    """TLS termination and authentication in front of ``upstream`` (plain HTTP), on loopback.

    ``users`` maps user names to passwords, ``api_keys`` key ids to keys. Use as a
    context manager; ``url`` is ``https://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        upstream: str,
        ca: TestCA,
        users: dict[str, str] | None = None,
        api_keys: dict[str, str] | None = None,
    ):
        self.upstream = upstream.rstrip("/")
        self.users = dict(users or {})
        self.api_keys = dict(api_keys or {})
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.counts: collections.Counter[str] = collections.Counter()
        self.forwarded: list[tuple[str, str, str]] = []  # (credential, method, path)
        self.tls_failures = 0
        self._lock = threading.Lock()
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(str(ca.server_cert), str(ca.server_key))
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                credential, reason = gateway.authenticate(
                    self.headers.get("Authorization"), self.path
                )
                with gateway._lock:
                    gateway.counts[credential or "rejected"] += 1
                    if credential:
                        gateway.forwarded.append((credential, self.command, self.path))
                if credential is None:
                    payload = _security_exception(reason)
                    self.send_response(401)
                    for challenge in _CHALLENGES:
                        self.send_header("WWW-Authenticate", challenge)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("X-Elastic-Product", "Elasticsearch")
                    self._send_body(payload)
                    return
                status, headers, data = gateway.forward(
                    self.command,
                    self.path,
                    body,
                    {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED},
                )
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in _NOT_RELAYED:
                        self.send_header(k, v)
                self._send_body(data)

            def _send_body(self, data: bytes) -> None:
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                # the handshake runs in the connection's thread, not in the accept loop
                sock, addr = self.socket.accept()
                return gateway._tls.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                ), addr

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    request.settimeout(30)
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    with gateway._lock:
                        gateway.tls_failures += 1
                    return
                super().finish_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client that hung up mid-request

        self.server = Server(("127.0.0.1", self.port), Handler)

    def authenticate(self, header: str | None, path: str) -> tuple[str | None, str]:
        """(``basic`` | ``api_key``, "") for valid credentials, else (None, the 401 reason)."""
        request = f"for REST request [{path.split('?', 1)[0]}]"
        if not header:
            return None, f"missing authentication credentials {request}"
        scheme, _, value = header.strip().partition(" ")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        name, sep, secret = decoded.partition(":")
        if scheme.lower() == "basic":
            expected = self.users.get(name)
            if sep and expected is not None and hmac.compare_digest(secret, expected):
                return "basic", ""
            return None, f"unable to authenticate user [{name}] {request}"
        if scheme.lower() == "apikey":
            expected = self.api_keys.get(name)
            if sep and expected is not None and hmac.compare_digest(secret, expected):
                return "api_key", ""
            return None, (
                "unable to authenticate with provided credentials and anonymous access is "
                f"not allowed for this request {request}"
            )
        return None, f"missing authentication credentials {request}"

    def forward(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        req = urllib.request.Request(
            self.upstream + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.headers.items(), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.items(), exc.read()

    def __enter__(self) -> EsGateway:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
