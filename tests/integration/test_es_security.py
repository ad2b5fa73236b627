"""Elasticsearch security settings: https with a CA bundle, basic auth, API keys.

``wirewatch templates install`` and ``wirewatch indexer`` run as subprocesses with
``WIREWATCH_ES__*`` set as an operator sets them, against an https endpoint that
demands credentials. Every test checks that no password or API key appears in what
the commands print.

The local noida-db emulator of the Elasticsearch REST API has no security at all, so
by default ``es_gateway.EsGateway`` stands in for Elasticsearch's security layer: it
terminates TLS with a certificate from a CA made for the test session, checks basic
auth and API keys, answers 401 as Elasticsearch 8 does, and forwards accepted
requests to the emulator. Its request counts show that everything went through the
checks. This proves wirewatch's side (what it sends, what it verifies, what it says
when refused), not Elasticsearch's own security.

To run the same tests against a real secured cluster, set
``WIREWATCH_TEST_ES_SECURE_URL`` (https) and ``WIREWATCH_TEST_ES_SECURE_USER`` +
``WIREWATCH_TEST_ES_SECURE_PASSWORD`` and/or ``WIREWATCH_TEST_ES_SECURE_API_KEY``
(the encoded key), plus ``WIREWATCH_TEST_ES_SECURE_CA`` (PEM) when the cluster's
certificate is not signed by a system CA. Tests whose credentials or CA are not
given are skipped; the credentials need the privileges the indexer needs.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.integration.es_gateway import EsGateway, TestCA

pytestmark = pytest.mark.distributed

ARTICLES = "wirewatch-articles"
ALERTS = "wirewatch-alerts"


@dataclass
class SecureEs:
    """An https Elasticsearch endpoint that demands credentials, and a way around it."""

    url: str
    ca: Path | None
    user: str | None
    password: str | None
    api_key: str | None  # encoded, as WIREWATCH_ES__API_KEY takes it
    gateway: EsGateway | None
    backend: str  # the emulator's URL, or the secured cluster's
    backend_headers: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Every value that must never be printed: passwords, encoded keys and their parts."""
        out = [s for s in (self.password, self.api_key) if s]
        if self.api_key:
            decoded = base64.b64decode(self.api_key).decode()
            out.append(decoded.partition(":")[2])
        return out

    def direct(self, path: str, body: dict | None = None, method: str | None = None) -> Any:
        """A request to the backend itself, to check what the commands did."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.backend + path,
            data=data,
            method=method or ("POST" if data else "GET"),
            headers={"Content-Type": "application/json", **self.backend_headers},
        )
        context = ssl.create_default_context(cafile=str(self.ca) if self.ca else None)
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture()
def secure_es(request) -> Iterator[SecureEs]:
    url = os.environ.get("WIREWATCH_TEST_ES_SECURE_URL")
    if url:
        user = os.environ.get("WIREWATCH_TEST_ES_SECURE_USER")
        password = os.environ.get("WIREWATCH_TEST_ES_SECURE_PASSWORD")
        api_key = os.environ.get("WIREWATCH_TEST_ES_SECURE_API_KEY")
        ca = os.environ.get("WIREWATCH_TEST_ES_SECURE_CA")
        if api_key:
            auth = f"ApiKey {api_key}"
        elif user and password:
            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        else:
            pytest.fail("WIREWATCH_TEST_ES_SECURE_URL needs _USER + _PASSWORD or _API_KEY")
        yield SecureEs(
            url.rstrip("/"),
            Path(ca) if ca else None,
            user,
            password,
            api_key,
            None,
            url.rstrip("/"),
            {"Authorization": auth},
        )
        return
    es_url = request.getfixturevalue("es_url")
    ca = request.getfixturevalue("test_ca")
    user, password = "wirewatch-indexer", secrets.token_urlsafe(18)
    key_id, key = secrets.token_hex(10), secrets.token_urlsafe(22)
    api_key = base64.b64encode(f"{key_id}:{key}".encode()).decode()
    with EsGateway(es_url, ca, users={user: password}, api_keys={key_id: key}) as gateway:
        yield SecureEs(gateway.url, ca.ca_cert, user, password, api_key, gateway, es_url)


def only(env: dict[str, str]) -> dict[str, str]:
    """The environment with these WIREWATCH_* variables and none from the caller's shell."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    return {**clean, **env}


def wirewatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``wirewatch ARGS`` as an operator runs it, with ``env`` as its only settings."""
    return subprocess.run(
        [sys.executable, "-m", "wirewatch", *args],
        env=only(env),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


def assert_no_secret(es: SecureEs, *outputs: str) -> None:
    for text in outputs:
        for secret in es.secrets():
            assert secret not in text, "a secret was printed"


def https_env(es: SecureEs, namespace: str) -> dict[str, str]:
    env = {"WIREWATCH_ES__URL": es.url, "WIREWATCH_NAMESPACE": namespace}
    if es.ca is not None:
        env["WIREWATCH_ES__CA_CERTS"] = str(es.ca)
    return env


def basic_env(es: SecureEs, namespace: str, tmp_path: Path) -> dict[str, str]:
    if not (es.user and es.password):
        pytest.skip("no user and password for the secured cluster")
    secret = tmp_path / "es-password"
    secret.write_text(es.password + "\n")
    secret.chmod(0o600)
    return {
        **https_env(es, namespace),
        "WIREWATCH_ES__USERNAME": es.user,
        "WIREWATCH_ES__PASSWORD_FILE": str(secret),
    }


def api_key_env(es: SecureEs, namespace: str) -> dict[str, str]:
    if not es.api_key:
        pytest.skip("no API key for the secured cluster")
    return {**https_env(es, namespace), "WIREWATCH_ES__API_KEY": es.api_key}


def install_templates(es: SecureEs, env: dict[str, str], namespace: str) -> None:
    proc = wirewatch(env, "templates", "install")
    assert_no_secret(es, proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert f"write index for {namespace}{ARTICLES}" in proc.stdout
    for name in (ARTICLES, ALERTS):
        found = es.direct(f"/_index_template/{namespace}{name}")["index_templates"]
        assert [t["name"] for t in found] == [namespace + name]
        assert found[0]["index_template"]["index_patterns"] == [f"{namespace}{name}-*"]
        assert namespace + name in es.direct(f"/{namespace}{name}-000001/_alias").get(
            f"{namespace}{name}-000001", {}
        ).get("aliases", {})


def indexed_ids(es: SecureEs, namespace: str) -> set[str]:
    es.direct(f"/{namespace}{ARTICLES}/_refresh", {})
    hits = es.direct(
        f"/{namespace}{ARTICLES}/_search",
        {"size": 100, "_source": False, "query": {"match_all": {}}},
    )["hits"]["hits"]
    return {h["_id"] for h in hits}


def index_through_the_indexer(
    es: SecureEs, env: dict[str, str], kafka: str, namespace: str, tmp_path: Path, enricher
) -> set[str]:
    """Enriched articles on the namespace's Kafka topic -> ``wirewatch indexer`` -> the index."""
    from kafka import KafkaProducer
    from wirewatch import topics
    from wirewatch.core.models import Source

    topics.create({"bootstrap_servers": [kafka]}, namespace)
    files = sorted(EXAMPLES.glob("*.txt"))[:4]
    articles = [enricher.analyse(p.read_bytes(), Source(path=str(p))) for p in files]
    producer = KafkaProducer(bootstrap_servers=kafka, acks="all")
    for a in articles:
        producer.send(
            namespace + "wirewatch.articles.enriched",
            key=a.id.encode(),
            value=a.model_dump_json().encode(),
        ).get(timeout=30)
    producer.close()

    log = tmp_path / "indexer.log"
    with open(log, "wb") as out:
        indexer = subprocess.Popen(
            [sys.executable, "-m", "wirewatch", "indexer", "--session-timeout", "6"],
            env=only({**env, "WIREWATCH_KAFKA__BOOTSTRAP": kafka, "WIREWATCH_METRICS_PORT": "0"}),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
        expected = {a.id for a in articles}
        deadline = time.monotonic() + 60
        try:
            while (ids := indexed_ids(es, namespace)) != expected:
                if indexer.poll() is not None:
                    text = log.read_text(errors="replace")
                    assert_no_secret(es, text)
                    pytest.fail(f"the indexer stopped ({indexer.returncode}):\n{text}")
                assert time.monotonic() < deadline, f"indexed {sorted(ids)} of {sorted(expected)}"
                time.sleep(0.3)
        finally:
            indexer.send_signal(signal.SIGTERM)
            try:
                code = indexer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                indexer.kill()
                code = indexer.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert_no_secret(es, text)
    assert code == 0, text
    assert (
        "index templates installed" in text and f"after indexing {len(expected)} article(s)" in text
    )
    return ids


def test_basic_auth_over_https_with_a_ca_bundle(
    secure_es, tmp_path, namespace, kafka_bootstrap, enricher
):
    env = basic_env(secure_es, namespace, tmp_path)
    install_templates(secure_es, env, namespace)
    index_through_the_indexer(secure_es, env, kafka_bootstrap, namespace, tmp_path, enricher)
    if (gw := secure_es.gateway) is not None:
        assert gw.counts["rejected"] == gw.counts["api_key"] == gw.tls_failures == 0
        assert any(p.startswith("/_bulk") for _, _, p in gw.forwarded), gw.forwarded
        assert all(cred == "basic" for cred, _, _ in gw.forwarded)


def test_api_key_over_https_with_a_ca_bundle(
    secure_es, tmp_path, namespace, kafka_bootstrap, enricher
):
    env = api_key_env(secure_es, namespace)
    install_templates(secure_es, env, namespace)
    index_through_the_indexer(secure_es, env, kafka_bootstrap, namespace, tmp_path, enricher)
    if (gw := secure_es.gateway) is not None:
        assert gw.counts["rejected"] == gw.counts["basic"] == gw.tls_failures == 0
        assert any(p.startswith("/_bulk") for _, _, p in gw.forwarded), gw.forwarded
        assert all(cred == "api_key" for cred, _, _ in gw.forwarded)


def test_wrong_credentials_stop_both_commands_with_what_to_set(
    secure_es, tmp_path, namespace, kafka_bootstrap
):
    wrong_password = secrets.token_urlsafe(18)
    wrong_key = base64.b64encode(f"nokey:{secrets.token_urlsafe(22)}".encode()).decode()
    cases = {
        "the user name or password is wrong": {
            "WIREWATCH_ES__USERNAME": secure_es.user or "wirewatch-test",
            "WIREWATCH_ES__PASSWORD": wrong_password,
        },
        "the API key was refused": {"WIREWATCH_ES__API_KEY": wrong_key},
        "no credentials are set": {},
    }
    for what, credentials in cases.items():
        env = {
            **https_env(secure_es, namespace),
            **credentials,
            "WIREWATCH_KAFKA__BOOTSTRAP": kafka_bootstrap,
            "WIREWATCH_METRICS_PORT": "0",
        }
        for command in (["templates", "install"], ["indexer"]):
            proc = wirewatch(env, *command)
            assert_no_secret(secure_es, proc.stdout, proc.stderr)
            for secret in (wrong_password, wrong_key, base64.b64decode(wrong_key).decode()):
                assert secret not in proc.stdout + proc.stderr
            assert proc.returncode != 0, (command, proc.stderr)
            assert "401: authentication failed" in proc.stderr and what in proc.stderr
            assert (
                "WIREWATCH_ES__PASSWORD" in proc.stderr and "WIREWATCH_ES__API_KEY" in proc.stderr
            )
            assert "Traceback" not in proc.stderr, proc.stderr
    if (gw := secure_es.gateway) is not None:
        assert gw.counts["rejected"] == 6 and not gw.forwarded, "nothing got past the gateway"
    with pytest.raises(urllib.error.HTTPError):
        secure_es.direct(f"/{namespace}{ARTICLES}")  # nothing was created


def test_https_is_verified_by_default_and_an_unknown_ca_is_named(
    secure_es, tmp_path, namespace, kafka_bootstrap
):
    from wirewatch.settings import ElasticsearchSettings

    if secure_es.ca is None:
        pytest.skip("the secured cluster's certificate is signed by a system CA")
    assert ElasticsearchSettings(url=secure_es.url).client_options()["verify_certs"] is True
    credentials = (
        basic_env(secure_es, namespace, tmp_path)
        if secure_es.password
        else api_key_env(secure_es, namespace)
    )
    env = {
        **credentials,
        "WIREWATCH_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_METRICS_PORT": "0",
    }
    del env["WIREWATCH_ES__CA_CERTS"]  # the system CAs, which do not know the test CA
    for command in (["templates", "install"], ["indexer"]):
        proc = wirewatch(env, *command)
        assert_no_secret(secure_es, proc.stdout, proc.stderr)
        assert proc.returncode != 0, (command, proc.stderr)
        assert "certificate verification against the system CAs failed" in proc.stderr
        assert "CERTIFICATE_VERIFY_FAILED" in proc.stderr
        assert "WIREWATCH_ES__CA_CERTS" in proc.stderr and "Traceback" not in proc.stderr
    if (gw := secure_es.gateway) is not None:
        assert gw.tls_failures >= 2 and not gw.counts, "no request was sent without TLS trust"

    # only turning verification off explicitly gets through without the CA
    proc = wirewatch({**env, "WIREWATCH_ES__VERIFY_CERTS": "false"}, "templates", "install")
    assert_no_secret(secure_es, proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert "verify_certs=False is insecure" in proc.stderr, "and the operator is warned"


def test_credentials_in_the_url_are_refused_before_connecting(
    secure_es, tmp_path, namespace, kafka_bootstrap
):
    password = secure_es.password or secrets.token_urlsafe(18)
    parts = urllib.parse.urlsplit(secure_es.url)
    with_credentials = parts._replace(netloc=f"wirewatch:{password}@{parts.netloc}").geturl()
    env = {**https_env(secure_es, namespace), "WIREWATCH_KAFKA__BOOTSTRAP": kafka_bootstrap}
    for proc in (
        wirewatch({**env, "WIREWATCH_ES__URL": with_credentials}, "templates", "install"),
        wirewatch(env, "indexer", "--es", with_credentials, "--metrics-port", "0"),
    ):
        assert password not in proc.stdout + proc.stderr
        assert_no_secret(secure_es, proc.stdout, proc.stderr)
        assert proc.returncode == 2, proc.stderr
        assert "not in the URL" in proc.stderr and "WIREWATCH_ES__USERNAME" in proc.stderr
    if (gw := secure_es.gateway) is not None:
        assert not gw.counts and gw.tls_failures == 0, "nothing was even tried"
