"""Kafka security end to end: TLS and SASL (PLAIN, SCRAM-SHA-256/512) for every client.

wirewatch reaches Kafka with kafka-python (watcher, feeds, indexer, ``topics create``)
and with Faust on aiokafka (``worker``), both configured from ``KafkaSettings``. These
tests run the services as subprocesses with ``WIREWATCH_KAFKA__*`` variables, as a
user would, and check what arrives, how each connection authenticated, that failures
say what is wrong, and that no secret is ever printed.

The local broker (Tansu, in memory) has no usable TLS listener and cannot hold SASL
users, so ``kafka_gateway.Gateway`` stands in for the broker's side of Kafka security:
it terminates TLS with a certificate made at test time and runs the SASL exchange
itself before relaying anything to a Tansu instance started for this module, which
advertises the gateway's address so that clients keep going through it. What the
tests prove is the clients' side: wirewatch's settings produce connections a
secured Kafka accepts, and refused ones fail loudly.

Against a real secured cluster: set ``WIREWATCH_TEST_KAFKA_SECURE`` to a file of
``WIREWATCH_KAFKA__NAME=value`` lines (BOOTSTRAP, SECURITY_PROTOCOL, SASL_MECHANISM,
USERNAME, PASSWORD_FILE, SSL_CAFILE; the password only in PASSWORD_FILE, so that the
tests can look for it in the output). The tests whose protocol and mechanism match
the cluster's then run against it (the user needs to create topics and consumer
groups); the ones that need the gateway (its records, a certificate for the wrong
name, a CA the system does not trust, other mechanisms) are skipped with the reason.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import EXAMPLES
from tests.integration import stack
from tests.integration.kafka_gateway import CLIENT_CN, MECHANISMS, Gateway, Pki, make_pki

if TYPE_CHECKING:
    from wirewatch.settings import KafkaSettings

pytestmark = pytest.mark.distributed

REAL = os.environ.get("WIREWATCH_TEST_KAFKA_SECURE")
PREFIX = "WIREWATCH_KAFKA__"
USER = "wirewatch-test"
RAW, ENRICHED = "wirewatch.articles.raw", "wirewatch.articles.enriched"
ARTICLES = (
    "en_01_fcc_huawei_zte.txt",
    "de_01_it_sicherheitsgesetz.txt",
    "fr_02_orange_nokia_ericsson.txt",
)


@dataclass
class Cluster:
    """A secured Kafka as the services see it: their environment and the secret in it
    (the SASL password, or the client key's password for mutual TLS)."""

    env: dict[str, str]
    secret: str | None
    gateway: Gateway | None

    def settings(self, **overrides: object) -> KafkaSettings:
        from wirewatch.settings import KafkaSettings

        fields = {k.removeprefix(PREFIX).lower(): v for k, v in self.env.items()}
        return KafkaSettings(**{**fields, **overrides})


def _env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith(PREFIX):
            env[name] = value
    return env


@pytest.fixture(autouse=True)
def logging_as_the_command_line():
    """The test process logs as ``wirewatch`` sets it up, so "the test process log" holds
    what an operator's log would, also at DEBUG (the tests' log level)."""
    import logging

    from wirewatch.cli.help import quiet_clients

    before = quiet_clients(logging.DEBUG)
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


class Clusters:
    """Secured clusters and services for one test; services stop before gateways do."""

    def __init__(self, tmp: Path, broker: tuple[stack.Tansu, int] | None, pki: Pki | None):
        self.tmp, self.broker, self.pki = tmp, broker, pki
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.gateways: list[Gateway] = []
        self.services: list[stack.Service] = []

    def secret_file(self, value: str) -> Path:
        path = self.tmp / f"secret-{len(list(self.tmp.glob('secret-*')))}"
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    def open(
        self,
        protocol: str,
        mechanism: str | None = None,
        *,
        wrong_name: bool = False,
        offer: tuple[str, ...] = MECHANISMS,
        mtls: bool = False,
    ) -> Cluster:
        if REAL:
            env = _env_file(Path(REAL))
            have = (env.get(PREFIX + "SECURITY_PROTOCOL"), env.get(PREFIX + "SASL_MECHANISM"))
            want = (protocol, mechanism)
            if wrong_name or mtls or have[0] != protocol or (mechanism and have[1] != mechanism):
                pytest.skip(f"the cluster in WIREWATCH_TEST_KAFKA_SECURE is {have}, not {want}")
            from wirewatch.settings import read_secret_file

            file = env.get(PREFIX + "PASSWORD_FILE")
            secret = read_secret_file(Path(file), "password_file") if file else None
            return Cluster(env, secret.get_secret_value() if secret else None, None)
        assert self.broker is not None and self.pki is not None
        tansu, advertised = self.broker
        password = f"pw-{secrets.token_hex(12)}" if mechanism else None
        gateway = Gateway(
            ("127.0.0.1", tansu.port),
            stack.free_port() if wrong_name else advertised,
            tls=self.pki.server_context(wrong_name, mtls) if "SSL" in protocol else None,
            users={USER: password} if password else None,
            mechanisms=offer,
            logfile=self.logs / f"gateway-{len(self.gateways)}.log",
        ).start()
        self.gateways.append(gateway)
        env = {PREFIX + "BOOTSTRAP": gateway.address, PREFIX + "SECURITY_PROTOCOL": protocol}
        if "SSL" in protocol:
            env[PREFIX + "SSL_CAFILE"] = str(self.pki.ca)
        if password:
            env |= {
                PREFIX + "SASL_MECHANISM": mechanism or "",
                PREFIX + "USERNAME": USER,
                PREFIX + "PASSWORD_FILE": str(self.secret_file(password)),
            }
        if mtls:
            key_password = self.pki.client_key_password
            env |= {
                PREFIX + "SSL_CERTFILE": str(self.pki.client_cert),
                PREFIX + "SSL_KEYFILE": str(self.pki.client_key),
                PREFIX + "SSL_KEY_PASSWORD_FILE": str(self.secret_file(key_password)),
            }
            return Cluster(env, key_password, gateway)
        return Cluster(env, password, gateway)

    def service(self, name: str, args: list[str], env: dict[str, str]) -> stack.Service:
        svc = stack.Service(f"{name}-{len(self.services)}", args, self.logs, env)
        self.services.append(svc)
        return svc

    def close(self) -> None:
        for svc in self.services:
            if svc.alive():
                svc.terminate()
        for gateway in self.gateways:
            gateway.stop()
        for svc in self.services:  # in the report when the test failed
            print(f"--- {svc.name} log tail ---\n{svc.log_text()[-2000:]}")
        for gateway in self.gateways:
            print(f"--- gateway {gateway.address} ---\n{gateway.summary()}")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return None if REAL else make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A Tansu instance that advertises the gateway's port, not its own."""
    if REAL:
        yield None
        return
    port = stack.free_port()
    tansu = stack.Tansu(tmp_path_factory.mktemp("tansu-secure"), advertised_port=port)
    try:
        yield tansu, port
    finally:
        tansu.stop()


@pytest.fixture()
def clusters(tmp_path, broker, pki):
    c = Clusters(tmp_path, broker, pki)
    try:
        yield c
    finally:
        c.close()


def needs_gateway() -> None:
    if REAL:
        pytest.skip("needs the test gateway (WIREWATCH_TEST_KAFKA_SECURE names a real cluster)")


# -- helpers ---------------------------------------------------------------------------
def wirewatch(args: list[str], env: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run ``wirewatch ARGS`` with ``env`` added: (exit status, stdout and stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "wirewatch", *args],
        env={**os.environ, **env},
        cwd=stack.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout


def create_topics(cluster: Cluster, namespace: str) -> str:
    code, out = wirewatch(["topics", "create"], cluster.env | {"WIREWATCH_NAMESPACE": namespace})
    assert code == 0 and out.count("created") == 5, out
    return out


def never_printed(secret: str | None, outputs: dict[str, str]) -> None:
    if secret is None:
        return
    leaked = [name for name, text in outputs.items() if secret in text]
    assert not leaked, f"the password appears in the output of {leaked}"


def articles(target: Path) -> dict[str, Path]:
    """Three example articles in ``target``: {article id: path}."""
    from wirewatch.core.logic import article_key

    target.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in ARTICLES:
        data = (EXAMPLES / name).read_bytes()
        (target / name).write_bytes(data)
        out[article_key(data)] = target / name
    return out


def publish_raw(cluster: Cluster, topic: str, files: dict[str, Path]) -> None:
    """The watcher's raw messages, sent with a kafka-python producer from the settings."""
    from kafka import KafkaProducer
    from wirewatch.core.models import Source
    from wirewatch.watcher.service import raw_message

    producer = KafkaProducer(**cluster.settings().kafka_python(), acks="all")
    try:
        for key, path in files.items():
            value, headers = raw_message(path.read_bytes(), Source(path=path.name))
            producer.send(topic, key=key.encode(), value=value, headers=headers).get(30)
    finally:
        producer.close()


def consume(cluster: Cluster, topic: str, expected: int, timeout: float = 60) -> list:
    """Messages of ``topic`` from the start, read with kafka-python configured from the
    settings, until ``expected`` arrived or ``timeout`` passed."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        **cluster.settings().kafka_python(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
    finally:
        consumer.close()
    return got


def worker(clusters: Clusters, cluster: Cluster, namespace: str) -> stack.Service:
    data = clusters.tmp / f"worker-data-{len(clusters.services)}"
    data.mkdir()
    env = cluster.env | {"WIREWATCH_NAMESPACE": namespace, "WIREWATCH_DATA_DIR": str(data)}
    args = ["worker", "--processes", "0", "--session-timeout", "6", "--metrics-port", "0"]
    return clusters.service("worker", args, env)


def all_authenticated(gateway: Gateway | None, mechanism: str | None, tls: bool) -> None:
    """Every connection that reached the broker went through TLS (or not) and SASL with
    ``mechanism`` as the test user; none was refused or failed."""
    if gateway is None:
        return
    summary = gateway.summary()
    assert gateway.relayed(), summary
    for conn in gateway.connections:
        assert conn.outcome in ("relayed", "relaying", "closed"), summary
        assert (conn.tls is not None) == tls, summary
        if conn.reached_broker:
            assert conn.mechanism == mechanism, summary
            assert conn.user == (USER if mechanism else None), summary


# -- the tests -------------------------------------------------------------------------
def test_sasl_ssl_scram_sha_512_pipeline(clusters, namespace, tmp_path):
    """topics create, watcher (kafka-python) and worker (Faust) over SASL_SSL SCRAM-SHA-512."""
    cluster = clusters.open("SASL_SSL", "SCRAM-SHA-512")
    created = create_topics(cluster, namespace)
    files = articles(tmp_path / "inbox")
    env = cluster.env | {"WIREWATCH_NAMESPACE": namespace}
    watcher = clusters.service(
        "watcher",
        [
            "watcher",
            "--inbox",
            str(tmp_path / "inbox"),
            "--state",
            str(tmp_path / "watcher.db"),
            "--poll-interval",
            "0.2",
            "--settle-seconds",
            "0.2",
            "--metrics-port",
            "0",
        ],
        env,
    )
    enrich = worker(clusters, cluster, namespace)

    got = consume(cluster, namespace + ENRICHED, len(files), timeout=75)
    assert {m.key.decode() for m in got} == set(files)
    assert all(b'"language"' in m.value for m in got)

    watcher.terminate()
    enrich.terminate()
    never_printed(
        cluster.secret,
        {"topics create": created, "watcher": watcher.log_text(), "worker": enrich.log_text()},
    )
    gateway = cluster.gateway
    if gateway is not None:
        # the broker advertises the gateway: clients never learn another address
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(**cluster.settings().kafka_python())
        try:
            brokers = admin.describe_cluster()["brokers"]
        finally:
            admin.close()
        assert [(b["host"], b["port"]) for b in brokers] == [("127.0.0.1", gateway.port)]
        all_authenticated(gateway, "SCRAM-SHA-512", tls=True)
        relayed = gateway.relayed()
        # kafka-python names itself in ApiVersions; aiokafka (the worker) does not
        assert {c.software for c in relayed} == {"kafka-python", None}, gateway.summary()
        assert all(c.tls in ("TLSv1.2", "TLSv1.3") for c in relayed)
        log = gateway.logfile.read_text() if gateway.logfile else ""
        assert log.count("authenticated SCRAM-SHA-512 user=" + USER) == len(relayed)
        assert cluster.secret not in log


@pytest.mark.parametrize(
    ("protocol", "mechanism", "with_worker"),
    [("SASL_SSL", "PLAIN", False), ("SASL_PLAINTEXT", "SCRAM-SHA-256", True)],
)
def test_other_mechanisms(clusters, namespace, tmp_path, caplog, protocol, mechanism, with_worker):
    """kafka-python produces and consumes; for SCRAM-SHA-256 the Faust worker enriches."""
    cluster = clusters.open(protocol, mechanism)
    created = create_topics(cluster, namespace)
    files = articles(tmp_path / "inbox")
    publish_raw(cluster, namespace + RAW, files)
    raw = consume(cluster, namespace + RAW, len(files))
    assert {m.key.decode() for m in raw} == set(files)
    outputs = {"topics create": created, "test process log": caplog.text}
    if with_worker:
        enrich = worker(clusters, cluster, namespace)
        got = consume(cluster, namespace + ENRICHED, len(files), timeout=60)
        assert {m.key.decode() for m in got} == set(files)
        enrich.terminate()
        outputs["worker"] = enrich.log_text()
    never_printed(cluster.secret, outputs)
    all_authenticated(cluster.gateway, mechanism, tls=protocol == "SASL_SSL")
    if cluster.gateway is not None and with_worker:
        assert None in {c.software for c in cluster.gateway.relayed()}  # aiokafka came too


def test_tls_only_with_the_ca_and_the_hostname_checked(clusters, namespace, tmp_path, caplog):
    """SSL with the CA file and a client certificate (encrypted key) works; without the
    CA, or for a server certificate of another name, the services stop with a
    verification error (the hostname check is on by default)."""
    needs_gateway()
    cluster = clusters.open("SSL", mtls=True)
    created = create_topics(cluster, namespace)
    files = articles(tmp_path / "inbox")
    publish_raw(cluster, namespace + RAW, files)
    assert {m.key.decode() for m in consume(cluster, namespace + RAW, len(files))} == set(files)
    all_authenticated(cluster.gateway, None, tls=True)
    assert cluster.gateway is not None
    assert {c.client_cert for c in cluster.gateway.relayed()} == {CLIENT_CN}

    # the same CA, but a certificate for broker.invalid: refused while the hostname is
    # checked (the default), accepted when the check is turned off
    wrong = clusters.open("SSL", wrong_name=True, mtls=True)
    mismatch = worker(clusters, wrong, namespace)
    no_ca_env = {k: v for k, v in cluster.env.items() if k != PREFIX + "SSL_CAFILE"}
    no_ca = worker(clusters, Cluster(no_ca_env, None, cluster.gateway), namespace)
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(**wrong.settings(ssl_check_hostname=False).kafka_python())
    try:
        assert namespace + RAW in admin.list_topics()
    finally:
        admin.close()
    # and a client without a certificate gets no further than the handshake
    without_cert = cluster.settings(ssl_certfile=None, ssl_keyfile=None, ssl_key_password_file=None)
    with pytest.raises(KafkaError):
        KafkaAdminClient(**without_cert.kafka_python(), bootstrap_timeout_ms=2000)

    assert mismatch.proc is not None and no_ca.proc is not None
    assert mismatch.proc.wait(60) != 0
    assert no_ca.proc.wait(60) != 0
    text = mismatch.log_text()
    assert "CERTIFICATE_VERIFY_FAILED" in text and "mismatch" in text, text[-3000:]
    assert "certificate is not valid for '127.0.0.1'" in text
    text = no_ca.log_text()
    # the reason depends on whether the server sends its CA along with its certificate
    assert "CERTIFICATE_VERIFY_FAILED] certificate verify failed" in text, text[-3000:]
    assert "mismatch" not in text
    never_printed(
        cluster.secret,
        {
            "topics create": created,
            "worker (wrong name)": mismatch.log_text(),
            "worker (no CA)": no_ca.log_text(),
            "test process log": caplog.text,
        },
    )
    # the gateways saw the handshakes fail: nothing of these clients reached the broker
    assert wrong.gateway is not None
    outcomes = [c.outcome for c in wrong.gateway.connections]
    assert "tls-failed" in outcomes and "relayed" in outcomes, wrong.gateway.summary()
    failed = [c for c in cluster.gateway.connections if c.outcome == "tls-failed"]
    assert len(failed) >= 2, cluster.gateway.summary()  # the worker without CA, no certificate
    assert all(c.client_cert == CLIENT_CN for c in cluster.gateway.relayed())


def test_a_wrong_password_stops_the_services_and_is_never_printed(clusters, namespace):
    """kafka-python (topics create) and Faust (worker) exit non-zero naming the failed
    authentication; neither the wrong nor the right password appears anywhere. Clients
    that skip SASL or ask for a mechanism not offered get nothing from the broker."""
    cluster = clusters.open("SASL_SSL", "SCRAM-SHA-512", offer=("SCRAM-SHA-512",))
    wrong_password = f"pw-{secrets.token_hex(12)}"
    env = cluster.env | {
        PREFIX + "PASSWORD_FILE": str(clusters.secret_file(wrong_password)),
        "WIREWATCH_NAMESPACE": namespace,
    }
    # kafka-python retries a failed authentication until its 30 s bootstrap timeout:
    # the other checks run meanwhile
    admin = clusters.service("topics", ["topics", "create"], env)
    enrich = worker(clusters, Cluster(env, None, None), namespace)
    gateway = cluster.gateway
    if gateway is not None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        for settings in (
            cluster.settings(security_protocol="SSL"),  # TLS, but no SASL
            cluster.settings(sasl_mechanism="PLAIN"),  # not offered here
        ):
            with pytest.raises(KafkaError):
                KafkaAdminClient(**settings.kafka_python(), bootstrap_timeout_ms=2000)
    assert admin.proc is not None and enrich.proc is not None
    assert enrich.proc.wait(60) != 0
    assert admin.proc.wait(60) != 0
    outputs = {"topics create": admin.log_text(), "worker": enrich.log_text()}
    for name, text in outputs.items():
        assert "SaslAuthenticationFailed" in text, (name, text[-3000:])
        assert "Authentication failed" in text, (name, text[-3000:])
    assert "wirewatch: cannot reach Kafka" in outputs["topics create"]
    never_printed(wrong_password, outputs)
    never_printed(cluster.secret, outputs)
    if gateway is not None:
        summary = gateway.summary()
        assert not gateway.relayed(), summary
        assert wrong_password not in summary
        by_outcome: dict[str, list] = {}
        for c in gateway.connections:
            by_outcome.setdefault(c.outcome, []).append(c)
        scram = [c for c in by_outcome["auth-failed"] if c.mechanism == "SCRAM-SHA-512"]
        assert len(scram) >= 2 and all(c.user == USER for c in scram), summary
        assert any("'PLAIN' is not enabled" in c.detail for c in by_outcome["auth-failed"])
        refused = by_outcome.get("refused", [])
        assert refused and all("before authentication" in c.detail for c in refused), summary
