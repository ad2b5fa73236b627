"""A Kafka security gateway for the tests: TLS and SASL in front of a plaintext broker.

The local broker (Tansu, in memory) has no usable TLS listener and cannot hold SASL
users, so this gateway stands in for the broker's side of Kafka security. It listens
on loopback, terminates TLS with a certificate made at test time (optionally requiring
a client certificate from the test CA), and enforces SASL the way a Kafka broker does,
before a single request other than ApiVersions reaches the broker:

- ApiVersions (key 18) is passed through to the broker: clients pick their request
  versions from the broker's own list, which includes SaslHandshake v0-1 and
  SaslAuthenticate v0-2;
- SaslHandshake (17) is answered here: error 0 and the enabled mechanisms, or
  UNSUPPORTED_SASL_MECHANISM (33) and the connection is closed;
- SaslAuthenticate (36) v0, v1 and v2 (flexible: compact bytes and strings, tagged
  fields; kafka-python 3 sends v2, aiokafka 0.14 v1) is answered here, with PLAIN or
  SCRAM-SHA-256/512 (RFC 5802 / RFC 7677; salt and iteration count chosen by the
  gateway); a bad user name or password gets SASL_AUTHENTICATION_FAILED (58) with a
  message, then the connection is closed;
- any other request before authentication closes the connection unanswered (a Kafka
  broker does the same); after authentication bytes are relayed both ways untouched.

SaslHandshake v0 (the pre-KIP-152 raw token exchange) is refused with
UNSUPPORTED_VERSION: neither kafka-python 3 nor aiokafka uses it against a broker that
offers v1. Each connection is recorded (``Gateway.connections``) and logged, so a test
can show that every client that reached the broker authenticated, and how.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import ssl
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
NONE, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM, UNSUPPORTED_VERSION = 0, 34, 33, 35
SASL_AUTHENTICATION_FAILED = 58
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
# a Kafka broker's limit on a frame before authentication (sasl.server.max.receive.size)
MAX_FRAME_BEFORE_AUTH = 512 * 1024


# -- test PKI ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Pki:
    """A test CA and certificates signed by it (PEM files).

    ``client_key`` is encrypted with ``client_key_password`` (a secret the tests look for
    in the services' output).
    """

    ca: Path
    cert: Path
    key: Path
    wrong_name_cert: Path
    wrong_name_key: Path
    client_cert: Path
    client_key: Path
    client_key_password: str

    def server_context(self, wrong_name: bool = False, mtls: bool = False) -> ssl.SSLContext:
        """The gateway's side; ``mtls``: a client certificate from the CA is required."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if wrong_name:
            ctx.load_cert_chain(self.wrong_name_cert, self.wrong_name_key)
        else:
            ctx.load_cert_chain(self.cert, self.key)
        if mtls:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca)
        return ctx


_CA_EXT = """[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_LEAF_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""

CLIENT_CN = "wirewatch-test-client"


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def make_pki(directory: Path) -> Pki:
    """A CA; a server certificate for IP 127.0.0.1 and DNS localhost; one for a name no
    test connects to (``broker.invalid``), for the hostname check; and a client
    certificate (CN ``wirewatch-test-client``) whose key is encrypted.

    Made with the ``openssl`` command (EC P-256 keys, valid for two days).
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.cnf").write_text(_CA_EXT)
    password = f"keypw-{secrets.token_hex(12)}"
    (directory / "client.pass").write_text(password)
    (directory / "client.pass").chmod(0o600)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
    _openssl(
        "req", "-x509", *curve, "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=wirewatch test CA", "-config", "ca.cnf",
        "-extensions", "ca", cwd=directory,
    )  # fmt: skip
    leaves = (
        ("server", "localhost", "serverAuth", "IP:127.0.0.1, DNS:localhost"),
        ("wrong-name", "broker.invalid", "serverAuth", "DNS:broker.invalid"),
        ("client", CLIENT_CN, "clientAuth", None),
    )
    for name, cn, usage, san in leaves:
        ext = _LEAF_EXT.format(usage=usage) + (f"subjectAltName = {san}\n" if san else "")
        (directory / f"{name}.ext").write_text(ext)
        key_protection = ("-passout", "file:client.pass") if name == "client" else ("-nodes",)
        _openssl(
            "req", "-new", *curve, *key_protection, "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
            "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=directory,
        )  # fmt: skip
    return Pki(
        ca=directory / "ca.pem",
        cert=directory / "server.pem",
        key=directory / "server.key",
        wrong_name_cert=directory / "wrong-name.pem",
        wrong_name_key=directory / "wrong-name.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        client_key_password=password,
    )


# -- Kafka wire format -------------------------------------------------------------------
class ProtocolError(Exception):
    """A frame the gateway cannot parse."""


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("truncated frame")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise ProtocolError("varint too long")

    def string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self.take(n).decode("utf-8")

    def compact_string(self) -> str | None:
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode("utf-8")

    def bytes32(self) -> bytes:
        return self.take(self.int32())

    def compact_bytes(self) -> bytes:
        return self.take(self.uvarint() - 1)

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def _string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode("utf-8")
    return struct.pack(">h", len(b)) + b


def _compact_string(s: str | None) -> bytes:
    if s is None:
        return b"\x00"
    b = s.encode("utf-8")
    return _uvarint(len(b) + 1) + b


@dataclass
class Request:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body: _Reader


def _flexible(api_key: int, version: int) -> bool:
    """Whether a request uses header v2 (tagged fields), for the keys parsed here."""
    return (api_key == SASL_AUTHENTICATE and version >= 2) or (
        api_key == API_VERSIONS and version >= 3
    )


def parse_request(frame: bytes) -> Request:
    r = _Reader(frame)
    api_key, version, correlation_id = r.int16(), r.int16(), r.int32()
    client_id = r.string()
    if _flexible(api_key, version):
        r.tagged_fields()
    return Request(api_key, version, correlation_id, client_id, r)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def handshake_response(correlation_id: int, error: int, mechanisms: list[str]) -> bytes:
    body = struct.pack(">ihi", correlation_id, error, len(mechanisms))
    return _frame(body + b"".join(_string(m) for m in mechanisms))


def authenticate_response(
    version: int, correlation_id: int, error: int, message: str | None, auth_bytes: bytes
) -> bytes:
    if version >= 2:  # flexible: response header v1, compact fields, tagged fields
        body = struct.pack(">i", correlation_id) + b"\x00" + struct.pack(">h", error)
        body += _compact_string(message) + _uvarint(len(auth_bytes) + 1) + auth_bytes
        body += struct.pack(">q", 0) + b"\x00"
    else:
        body = struct.pack(">ih", correlation_id, error) + _string(message)
        body += struct.pack(">i", len(auth_bytes)) + auth_bytes
        if version == 1:
            body += struct.pack(">q", 0)  # session lifetime 0: no re-authentication
    return _frame(body)


# -- SASL mechanisms (server side) -------------------------------------------------------
class AuthFailed(Exception):
    """Bad credentials or a malformed exchange; the message goes to the client."""


class _Plain:
    def __init__(self, users: dict[str, str]):
        self.users = users
        self.user: str | None = None
        self.done = False

    def step(self, token: bytes) -> bytes:
        try:
            authzid, authcid, password = token.decode("utf-8").split("\x00")
        except ValueError:
            raise AuthFailed("Authentication failed: invalid SASL/PLAIN message") from None
        expected = self.users.get(authcid)
        if (
            expected is None
            or not hmac.compare_digest(password.encode(), expected.encode())
            or authzid not in ("", authcid)
        ):
            raise AuthFailed("Authentication failed: Invalid username or password")
        self.user, self.done = authcid, True
        return b""


@dataclass(frozen=True)
class ScramCredential:
    """What a broker stores for a SCRAM user: never the password itself."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def derive(cls, password: str, hash_name: str, iterations: int) -> ScramCredential:
        salt = os.urandom(24)
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", hash_name)
        return cls(
            salt=salt,
            iterations=iterations,
            stored_key=hashlib.new(hash_name, client_key).digest(),
            server_key=hmac.digest(salted, b"Server Key", hash_name),
        )


class _Scram:
    def __init__(self, mechanism: str, credentials: dict[str, ScramCredential]):
        self.mechanism = mechanism
        self.hash_name = SCRAM_HASHES[mechanism]
        self.credentials = credentials
        self.user: str | None = None
        self.done = False
        self._state = "first"
        self._first_bare = self._server_first = self._gs2 = self._nonce = ""

    def _fail(self) -> AuthFailed:
        return AuthFailed(
            "Authentication failed during authentication due to invalid credentials with "
            f"SASL mechanism {self.mechanism}"
        )

    def step(self, token: bytes) -> bytes:
        try:
            message = token.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail() from None
        if self._state == "first":
            return self._client_first(message)
        if self._state == "final":
            return self._client_final(message)
        raise AuthFailed(f"unexpected {self.mechanism} message after the exchange ended")

    def _client_first(self, message: str) -> bytes:
        # gs2-header: "n,," (no channel binding) or "y,,", optionally with "a=authzid"
        parts = message.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y"):
            raise AuthFailed(f"{self.mechanism}: channel binding is not supported")
        self._gs2 = f"{parts[0]},{parts[1]},"
        self._first_bare = parts[2]
        attrs = dict(a.split("=", 1) for a in self._first_bare.split(",") if "=" in a)
        name = attrs.get("n", "").replace("=2C", ",").replace("=3D", "=")
        cnonce = attrs.get("r", "")
        cred = self.credentials.get(name)
        if not cnonce or cred is None:
            raise self._fail()
        self.user = name
        self._nonce = cnonce + base64.b64encode(os.urandom(18)).decode()
        salt = base64.b64encode(cred.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={cred.iterations}"
        self._state = "final"
        return self._server_first.encode()

    def _client_final(self, message: str) -> bytes:
        without_proof, sep, proof_b64 = message.rpartition(",p=")
        attrs = dict(a.split("=", 1) for a in without_proof.split(",") if "=" in a)
        cred = self.credentials[self.user or ""]
        if (
            not sep
            or attrs.get("r") != self._nonce
            or attrs.get("c") != base64.b64encode(self._gs2.encode()).decode()
        ):
            raise self._fail()
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.digest(cred.stored_key, auth_message, self.hash_name)
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise self._fail() from None
        if len(proof) != len(signature):
            raise self._fail()
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(
            hashlib.new(self.hash_name, client_key).digest(), cred.stored_key
        ):
            raise self._fail()
        self._state, self.done = "done", True
        server_signature = hmac.digest(cred.server_key, auth_message, self.hash_name)
        return b"v=" + base64.b64encode(server_signature)


# -- the gateway -------------------------------------------------------------------------
@dataclass
class Connection:
    """One client connection as the gateway saw it."""

    id: int
    peer: str
    tls: str | None = None
    client_cert: str | None = None  # the subject CN of a client certificate
    client_id: str | None = None
    software: str | None = None
    mechanism: str | None = None
    user: str | None = None
    outcome: str = "open"
    detail: str = ""
    sasl_versions: tuple[int, int] | None = None  # SaslHandshake's and SaslAuthenticate's
    requests_before_auth: list[int] = field(default_factory=list)

    @property
    def reached_broker(self) -> bool:
        """Whether anything besides ApiVersions was relayed to the broker."""
        return self.outcome in ("relaying", "relayed")


class Gateway:
    """TLS and/or SASL on ``127.0.0.1:port``, relaying to the broker at ``upstream``.

    ``tls``: a server context (None: plaintext); ``users``: name -> password (None: no
    SASL); ``mechanisms``: those offered in the SaslHandshake answer.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = MECHANISMS,
        scram_iterations: int = 4096,
        logfile: Path | None = None,
    ):
        self.upstream = upstream
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.tls = tls
        self.users = users
        self.mechanisms = mechanisms
        self.scram = {
            m: {
                u: ScramCredential.derive(p, SCRAM_HASHES[m], scram_iterations)
                for u, p in (users or {}).items()
            }
            for m in mechanisms
            if m in SCRAM_HASHES
        }
        self.connections: list[Connection] = []
        self.lines: list[str] = []
        self.logfile = logfile
        self._log = open(logfile, "a", encoding="utf-8") if logfile else None  # noqa: SIM115
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle
    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Gateway:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(ready))
            except BaseException as exc:  # noqa: BLE001 - reported by start()
                errors.append(exc)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"kafka-gateway-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        mtls = self.tls is not None and self.tls.verify_mode == ssl.CERT_REQUIRED
        mode = ("TLS" if self.tls else "plaintext") + (" with client certificates" if mtls else "")
        mode += f" + SASL {'/'.join(self.mechanisms)}" if self.users is not None else ""
        self.note(
            f"listening on {self.address} ({mode}) -> broker {self.upstream[0]}:{self.upstream[1]}"
        )
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(15)
            self._thread = None
            self.note("stopped")
        if self._log:
            self._log.close()
            self._log = None

    def note(self, line: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} gateway {line}"
        self.lines.append(line)
        if self._log:
            self._log.write(line + "\n")
            self._log.flush()

    async def _serve(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    # -- one connection
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        conn = Connection(id=len(self.connections) + 1, peer=f"{peer[0]}:{peer[1]}")
        self.connections.append(conn)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            if self.tls is not None:
                try:
                    await writer.start_tls(self.tls, ssl_handshake_timeout=10)
                except OSError as exc:  # ssl.SSLError and TimeoutError among them
                    self._end(conn, "tls-failed", _ssl_reason(exc))
                    return
                tls_obj = writer.get_extra_info("ssl_object")
                conn.tls = tls_obj.version() if tls_obj else "TLS"
                peer_cert = tls_obj.getpeercert() if tls_obj else None
                if peer_cert:
                    subject = dict(item for rdn in peer_cert["subject"] for item in rdn)
                    conn.client_cert = subject.get("commonName")
            if self.users is not None:
                upstream = await self._authenticate(conn, reader, writer)
                if upstream is None:
                    return None
            else:
                upstream = await asyncio.open_connection(*self.upstream)
            conn.outcome = "relaying"
            self.note(
                f"conn {conn.id} {conn.peer} {conn.tls or 'plaintext'} "
                + (f"client certificate CN={conn.client_cert} " if conn.client_cert else "")
                + (
                    f"authenticated {conn.mechanism} user={conn.user} (SaslHandshake "
                    f"v{conn.sasl_versions[0]}, SaslAuthenticate v{conn.sasl_versions[1]}) "
                    if conn.user and conn.sasl_versions
                    else ""
                )
                + f"client_id={conn.client_id} software={conn.software}: relaying"
            )
            await _relay(reader, writer, *upstream)
            self._end(conn, "relayed", "")
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            self._end(conn, "relayed" if conn.reached_broker else "closed", repr(exc))
        except ProtocolError as exc:
            self._end(conn, "protocol-error", str(exc))
        except asyncio.CancelledError:
            self._end(conn, "relayed" if conn.reached_broker else "closed", "gateway stopped")
        finally:
            for w in (writer, upstream[1] if upstream else None):
                if w is not None:
                    w.close()
            self._tasks.discard(task)
        return None

    def _end(self, conn: Connection, outcome: str, detail: str) -> None:
        if conn.outcome in ("relayed", "auth-failed", "refused", "tls-failed"):
            return
        conn.outcome, conn.detail = outcome, detail
        self.note(f"conn {conn.id} {conn.peer} {outcome}" + (f": {detail}" if detail else ""))

    async def _authenticate(
        self, conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The pre-authentication exchange; the broker connection once authenticated."""
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        mechanism: _Plain | _Scram | None = None
        handshake_version = 0
        while True:
            frame = await _read_frame(reader, MAX_FRAME_BEFORE_AUTH)
            req = parse_request(frame)
            conn.client_id = req.client_id
            conn.requests_before_auth.append(req.api_key)
            if req.api_key == API_VERSIONS:
                if req.api_version >= 3:
                    conn.software = req.body.compact_string()
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                upstream[1].write(_frame(frame))
                await upstream[1].drain()
                writer.write(_frame(await _read_frame(upstream[0], 1 << 24)))
                await writer.drain()
                continue
            if req.api_key == SASL_HANDSHAKE:
                wanted = req.body.string() or ""
                enabled = list(self.mechanisms)
                if req.api_version == 0:
                    writer.write(
                        handshake_response(req.correlation_id, UNSUPPORTED_VERSION, enabled)
                    )
                    await writer.drain()
                    self._end(
                        conn, "refused", "SaslHandshake v0 (raw SASL tokens) is not supported"
                    )
                    _close(upstream)
                    return None
                if wanted not in enabled:
                    writer.write(
                        handshake_response(req.correlation_id, UNSUPPORTED_SASL_MECHANISM, enabled)
                    )
                    await writer.drain()
                    self._end(conn, "auth-failed", f"mechanism {wanted!r} is not enabled")
                    await _linger(reader)
                    _close(upstream)
                    return None
                conn.mechanism = wanted
                handshake_version = req.api_version
                if wanted == "PLAIN":
                    mechanism = _Plain(self.users or {})
                else:
                    mechanism = _Scram(wanted, self.scram[wanted])
                writer.write(handshake_response(req.correlation_id, NONE, enabled))
                await writer.drain()
                continue
            if req.api_key == SASL_AUTHENTICATE and mechanism is not None:
                conn.sasl_versions = (handshake_version, req.api_version)
                token = req.body.compact_bytes() if req.api_version >= 2 else req.body.bytes32()
                try:
                    reply = mechanism.step(token)
                except AuthFailed as exc:
                    writer.write(
                        authenticate_response(
                            req.api_version,
                            req.correlation_id,
                            SASL_AUTHENTICATION_FAILED,
                            str(exc),
                            b"",
                        )
                    )
                    await writer.drain()
                    conn.user = mechanism.user
                    self._end(conn, "auth-failed", f"user={mechanism.user}: {exc}")
                    await _linger(reader)
                    _close(upstream)
                    return None
                writer.write(
                    authenticate_response(req.api_version, req.correlation_id, NONE, None, reply)
                )
                await writer.drain()
                if mechanism.done:
                    conn.user = mechanism.user
                    if upstream is None:
                        upstream = await asyncio.open_connection(*self.upstream)
                    return upstream
                continue
            if req.api_key == SASL_AUTHENTICATE:
                writer.write(
                    authenticate_response(
                        req.api_version,
                        req.correlation_id,
                        ILLEGAL_SASL_STATE,
                        "SaslAuthenticate before SaslHandshake",
                        b"",
                    )
                )
                await writer.drain()
                self._end(conn, "refused", "SaslAuthenticate before SaslHandshake")
                _close(upstream)
                return None
            # like a broker: an unexpected request before authentication closes the connection
            self._end(conn, "refused", f"request api_key={req.api_key} before authentication")
            _close(upstream)
            return None

    # -- what the tests look at
    def relayed(self) -> list[Connection]:
        """The connections whose requests reached the broker."""
        return [c for c in self.connections if c.reached_broker]

    def summary(self) -> str:
        return "\n".join(self.lines)


def _close(upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if upstream is not None:
        upstream[1].close()


async def _linger(reader: asyncio.StreamReader, seconds: float = 1.0) -> None:
    """Let the client read a failure answer and hang up first, as a broker does.

    A Kafka broker delays closing a connection that failed authentication
    (``connection.failed.authentication.delay.ms``); closing at once can make a client see
    the hang-up before the answer, and report "disconnected" instead of the reason.
    """
    with contextlib.suppress(Exception):
        await asyncio.wait_for(reader.read(), seconds)


async def _read_frame(reader: asyncio.StreamReader, limit: int) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    if not 0 < size <= limit:
        raise ProtocolError(f"frame size {size} out of range (limit {limit})")
    return await reader.readexactly(size)


async def _relay(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    broker_r: asyncio.StreamReader,
    broker_w: asyncio.StreamWriter,
) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        finally:
            with contextlib.suppress(Exception):
                dst.close()

    tasks = [
        asyncio.ensure_future(pipe(client_r, broker_w)),
        asyncio.ensure_future(pipe(broker_r, client_w)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "TLS handshake timed out"
    return f"TLS handshake failed: {type(exc).__name__}: {exc}"
