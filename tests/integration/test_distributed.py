"""The distributed pipeline on a real Kafka-protocol broker and an Elasticsearch API.

By default: the Tansu broker and the noida-db Elasticsearch EMULATOR (see
stack.py); WIREWATCH_TEST_KAFKA / WIREWATCH_TEST_ES point the same tests at real
servers. The services run as subprocesses, exactly as a user starts them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ww
from tests.integration import stack
from tests.integration.faults import FaultProxy

pytestmark = pytest.mark.distributed

ARTICLES = "wirewatch-articles"


def make_inbox(target: Path, count: int) -> dict[str, Path]:
    """``count`` distinct article files from the example inbox -> {article id: path}."""
    from wirewatch.core.logic import article_key

    sources = sorted(p for p in EXAMPLES.rglob("*.txt"))
    target.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    k = 0
    while len(out) < count:
        src = sources[k % len(sources)]
        data = src.read_bytes()
        suffix = f"\n\nRef {k}.\n".encode()
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            suffix = suffix.decode().encode("utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be")
        path = target / f"{k:05d}_{src.name}"
        path.write_bytes(data + suffix)
        out[article_key(data + suffix)] = path
        k += 1
    return out


class Pipeline:
    def __init__(self, tmp: Path, kafka: str, es: str, namespace: str):
        self.tmp, self.kafka, self.es, self.ns = tmp, kafka, es, namespace
        self.inbox = tmp / "inbox"
        self.inbox.mkdir()
        self.logs = tmp / "logs"
        self.logs.mkdir()
        # short backoff caps keep outage tests quick; the behaviour is the same
        self.env = {
            "WIREWATCH_NAMESPACE": namespace,
            "WIREWATCH_KAFKA__BOOTSTRAP": kafka,
            "WIREWATCH_BACKOFF_MAX": "2",
            "WIREWATCH_DATA_DIR": str(tmp),  # the worker's local state, not the checkout
        }
        self.services: list[stack.Service] = []
        created = ww("topics", "create", "--kafka", kafka, "--namespace", namespace).stdout
        assert created.count("created") == 5, created

    def start(self, name: str, *args: str, es: str | None = None) -> stack.Service:
        argv = {
            "watcher": [
                "watcher",
                "--inbox",
                str(self.inbox),
                "--state",
                str(self.tmp / "watcher.db"),
                "--poll-interval",
                "0.2",
                "--settle-seconds",
                "0.2",
            ],
            "worker": ["worker", "--processes", "1", "--session-timeout", "6"],
            "indexer": [
                "indexer",
                "--es",
                es or self.es,
                "--session-timeout",
                "6",
                "--batch-size",
                "100",
            ],
        }[name]
        port = "0"
        if name == "indexer":
            self.metrics_port = stack.free_port()
            port = str(self.metrics_port)
        svc = stack.Service(name, [*argv, *args, "--metrics-port", port], self.logs, self.env)
        self.services.append(svc)
        return svc

    def topic(self, name: str) -> str:
        return self.ns + name

    def ids(self) -> list[str]:
        return stack.indexed_ids(self.es, self.ns + ARTICLES)

    def wait_indexed(self, expected: int, timeout: float = 180) -> list[str]:
        def enough():
            ids = self.ids()
            return ids if len(set(ids)) >= expected else None

        return stack.wait_for(
            enough, timeout, f"{expected} articles in {self.ns}{ARTICLES}", every=1.0
        )

    def consume(self, topic: str, expected: int, timeout: float = 60) -> list:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            self.topic(topic),
            bootstrap_servers=self.kafka,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=1000,
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

    def consume_all(
        self, topic: str, idle: float = 3.0, want: set[bytes] = frozenset(), timeout: float = 60
    ) -> list:
        """Everything on the topic now: read until the keys of ``want`` are all in (or
        ``timeout`` passes) and then nothing new came for ``idle`` seconds. A busy machine
        can hold a fetch back longer than ``idle``, so what must be there is waited for."""
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            self.topic(topic),
            bootstrap_servers=self.kafka,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        got: list = []
        missing = set(want)
        last = time.monotonic()
        deadline = last + timeout
        try:
            while time.monotonic() - last < idle or (missing and time.monotonic() < deadline):
                for batch in consumer.poll(timeout_ms=300).values():
                    got.extend(batch)
                    missing.difference_update(m.key for m in batch)
                    last = time.monotonic()
        finally:
            consumer.close()
        return got

    def close(self) -> None:
        for svc in self.services:
            if svc.alive():
                svc.terminate()


@contextlib.contextmanager
def closing_with_logs(p: Pipeline) -> Iterator[Pipeline]:
    """Stop the pipeline's services at the end and print their log tails (in the report)."""
    try:
        yield p
    finally:
        p.close()
        for svc in p.services:  # leave the logs in the test report when something failed
            print(f"--- {svc.name} ({svc.runs} run(s)) log tail ---")
            print(svc.log_text()[-3000:])


@pytest.fixture()
def pipeline(tmp_path, kafka_bootstrap, es_url, namespace):
    with closing_with_logs(Pipeline(tmp_path, kafka_bootstrap, es_url, namespace)) as p:
        yield p


def test_files_become_documents_and_bad_files_dead_letters(pipeline):
    shutil.copytree(EXAMPLES, pipeline.inbox, dirs_exist_ok=True)
    (pipeline.inbox / "broken.txt").write_bytes(b"\x00\x01\x02 not text at all")
    (pipeline.inbox / "empty.txt").write_bytes(b"")
    expected = len(list(EXAMPLES.rglob("*.txt")))
    for name in ("indexer", "worker", "watcher"):
        pipeline.start(
            name,
            *(
                ["--rules", str(stack.ROOT / "examples" / "rules.yaml")]
                if name == "indexer"
                else []
            ),
        )
    ids = pipeline.wait_indexed(expected)
    assert len(ids) == len(set(ids)) == expected

    # enriched fields are in the index, through the alias
    hits = stack.es_json(
        pipeline.es,
        f"/{pipeline.ns}{ARTICLES}/_search",
        {
            "size": 100,
            "query": {
                "bool": {"filter": [{"term": {"event_types": "ban"}}, {"term": {"language": "sv"}}]}
            },
        },
    )["hits"]["hits"]
    assert hits, "Swedish articles about a ban are searchable by facet"
    doc = hits[0]["_source"]
    assert doc["id"] == hits[0]["_id"] and doc["events"] and doc["entities"]["vendors"]
    assert (
        doc["body_lang"]["sv"]
        and doc["indexed_at"]
        and doc["source"]["path"].startswith(str(pipeline.inbox))
    )
    dutch = stack.es_json(
        pipeline.es,
        f"/{pipeline.ns}{ARTICLES}/_search",
        {"query": {"match": {"body_lang.nl": "verboden"}}},
    )["hits"]["total"]["value"]
    assert dutch >= 1, "the Dutch analyzer finds 'verboden' (stemmed) in Dutch bodies"
    dups = stack.es_json(
        pipeline.es,
        f"/{pipeline.ns}{ARTICLES}/_search",
        {"query": {"term": {"is_near_duplicate": True}}},
    )["hits"]["total"]["value"]
    assert dups >= 3, "the example inbox has three near-duplicate pairs"

    # rejected files are dead letters with the reason and the original bytes
    letters = pipeline.consume("wirewatch.articles.raw.dlq", 2)
    reasons = {dict(m.headers)["wirewatch-dlq-code"].decode(): m for m in letters}
    assert set(reasons) == {"binary", "empty"}, reasons
    binary = reasons["binary"]
    assert dict(binary.headers)["wirewatch-dlq-stage"] == b"worker"
    assert (
        dict(binary.headers)["wirewatch-dlq-topic"]
        == pipeline.topic("wirewatch.articles.raw").encode()
    )
    assert b"NUL" in dict(binary.headers)["wirewatch-dlq-reason"]
    from wirewatch.core.models import RawArticle

    assert RawArticle.model_validate_json(binary.value).content() == b"\x00\x01\x02 not text at all"

    # alerts: once per (rule, article), in the topic and the index ...
    def stored_alerts() -> list[dict]:
        stack.es_json(pipeline.es, f"/{pipeline.ns}wirewatch-alerts/_refresh", {})
        return stack.es_json(
            pipeline.es,
            f"/{pipeline.ns}wirewatch-alerts/_search",
            {"size": 1000, "query": {"match_all": {}}},
        )["hits"]["hits"]

    stored = stored_alerts()
    alerts = pipeline.consume_all("wirewatch.alerts", want={h["_id"].encode() for h in stored})
    assert alerts and all(json.loads(m.value)["alert_id"] == m.key.decode() for m in alerts)
    keys = [m.key for m in alerts]
    assert len(keys) == len(set(keys)), "no alert published twice"
    # once Kafka has acknowledged an alert the indexer marks it sent, and an updated
    # document is searchable again only after the next refresh: wait for the last ones
    deadline = time.monotonic() + 30
    while {h["_id"].encode() for h in stored} != set(keys) and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = stored_alerts()
    assert {h["_id"].encode() for h in stored} == set(keys)
    # ... and not for a near-duplicate of an article the same rule fired on
    docs = {
        h["_id"]: h["_source"]
        for h in stack.es_json(
            pipeline.es,
            f"/{pipeline.ns}{ARTICLES}/_search",
            {"size": 1000, "query": {"match_all": {}}},
        )["hits"]["hits"]
    }
    fired = {h["_id"] for h in stored}
    for alert_id in fired:
        rule, article = alert_id.split(":", 1)
        original = docs[article].get("near_duplicate_of")
        assert not original or f"{rule}:{original}" not in fired, alert_id

    # redelivery: the same enriched messages again -> indexed again, no alert again
    from kafka import KafkaProducer

    enriched = pipeline.consume_all("wirewatch.articles.enriched")
    producer = KafkaProducer(bootstrap_servers=pipeline.kafka, acks="all")
    for m in enriched:
        producer.send(m.topic, key=m.key, value=m.value, headers=m.headers)
    producer.flush()
    producer.close()
    indexer = pipeline.services[0]
    stack.wait_for(
        lambda: indexer.log_text().count(" indexed id=") >= 2 * len(enriched),
        120,
        "the indexer to process the redelivered messages",
    )
    time.sleep(1)
    assert len(pipeline.consume_all("wirewatch.alerts")) == len(alerts), "redelivery fired nothing"
    assert sorted(pipeline.ids()) == sorted(ids)

    # the indexer's metrics endpoint
    scraped = (
        urllib.request.urlopen(f"http://127.0.0.1:{pipeline.metrics_port}/metrics", timeout=10)
        .read()
        .decode()
    )
    assert "wirewatch_indexer_bulk_size_count" in scraped
    assert 'wirewatch_consumer_lag_messages{stage="indexer"' in scraped
    assert "wirewatch_alerts_fired_total" in scraped
    assert (
        urllib.request.urlopen(
            f"http://127.0.0.1:{pipeline.metrics_port}/readyz", timeout=10
        ).status
        == 200
    )

    # the watcher stops cleanly and remembers: a restart publishes nothing again
    watcher = pipeline.services[-1]
    assert watcher.terminate() == 0
    watcher.start()
    stack.wait_for(lambda: "watcher:" in watcher.logfile.read_text(), 30, "the watcher to restart")
    time.sleep(2)
    assert " published " not in watcher.logfile.read_text()
    assert "catch-up" not in watcher.logfile.read_text()

    # a file that arrives while the watcher is down is caught up on, alone
    assert watcher.terminate() == 0
    late = sorted(EXAMPLES.glob("de_*.txt"))[0]
    (pipeline.inbox / "late.txt").write_bytes(late.read_bytes() + b"\n\nNachtrag.\n")
    watcher.start()
    stack.wait_for(
        lambda: " published path=" in watcher.logfile.read_text(),
        30,
        "the late file to be published",
    )
    log = watcher.logfile.read_text()
    assert "catch-up: 1 file(s)" in log and log.count(" published path=") == 1 and "late.txt" in log
    pipeline.wait_indexed(expected + 1)


def test_kill_9_worker_and_indexer_mid_stream_loses_and_duplicates_nothing(pipeline):
    expected = make_inbox(pipeline.tmp / "staging", 1000)
    indexer = pipeline.start("indexer")
    worker = pipeline.start("worker")
    pipeline.start("watcher")
    for path in expected.values():
        path.rename(pipeline.inbox / path.name)

    pipeline.wait_indexed(150, timeout=240)
    worker.kill9()
    worker.start()
    pipeline.wait_indexed(500, timeout=240)
    indexer.kill9()
    indexer.start()
    ids = pipeline.wait_indexed(1000, timeout=300)
    time.sleep(3)  # anything redelivered after the restarts has landed by now
    ids = pipeline.ids()
    assert len(ids) == len(set(ids)) == 1000
    assert set(ids) == set(expected), "every article indexed, nothing else"
    assert worker.runs == 2 and indexer.runs == 2


def test_elasticsearch_outage_loses_nothing_and_commits_nothing_early(pipeline):
    expected = make_inbox(pipeline.tmp / "staging", 200)
    with FaultProxy(pipeline.es) as proxy:
        indexer = pipeline.start("indexer", es=proxy.url)
        stack.wait_for(
            lambda: "templates installed" in indexer.logfile.read_text(), 60, "the indexer to start"
        )
        proxy.fail(["429", "503", "reset"])  # Elasticsearch goes "down"
        pipeline.start("worker")
        pipeline.start("watcher")
        for path in expected.values():
            path.rename(pipeline.inbox / path.name)
        stack.wait_for(lambda: proxy.faults >= 12, 120, "the indexer to meet the outage")
        assert (
            "elasticsearch-retry" in indexer.logfile.read_text()
            or "bulk-retry" in indexer.logfile.read_text()
        )
        # crash during the outage: had anything been committed early, it would be lost now
        indexer.kill9()
        assert not pipeline.ids(), "nothing reached the index during the outage"
        before = proxy.faults
        indexer.start()
        stack.wait_for(lambda: proxy.faults >= before + 6, 60, "retries after the restart")
        proxy.heal()
        ids = pipeline.wait_indexed(200, timeout=180)
        time.sleep(2)
        ids = pipeline.ids()
    assert len(ids) == len(set(ids)) == 200 and set(ids) == set(expected)


def test_a_mapping_rejection_is_dead_lettered_and_does_not_block(pipeline):
    from kafka import KafkaProducer
    from wirewatch.core.logic import Enricher, Resources
    from wirewatch.core.models import Source

    enricher = Enricher(Resources.load())
    files = sorted(EXAMPLES.glob("*.txt"))[:5]
    articles = [enricher.analyse(p.read_bytes(), Source(path=str(p))) for p in files]
    bad = articles[0].model_copy(update={"id": "bad0000000000001", "published": "2019-02-31"})
    producer = KafkaProducer(bootstrap_servers=pipeline.kafka, acks="all")
    topic = pipeline.topic("wirewatch.articles.enriched")
    for a in [bad, *articles[1:]]:
        producer.send(topic, key=a.id.encode(), value=a.model_dump_json().encode()).get(timeout=30)
    producer.send(topic, key=b"junk", value=b"{not json").get(timeout=30)
    producer.close()
    pipeline.start("indexer")
    ids = pipeline.wait_indexed(4)
    assert set(ids) == {a.id for a in articles[1:]}
    letters = pipeline.consume("wirewatch.articles.enriched.dlq", 2)
    by_code = {dict(m.headers)["wirewatch-dlq-code"].decode(): m for m in letters}
    assert set(by_code) == {"mapping_rejected", "invalid_message"}
    rejected = by_code["mapping_rejected"]
    assert (
        rejected.key == b"bad0000000000001"
        and b"published" in dict(rejected.headers)["wirewatch-dlq-reason"]
    )
    assert json.loads(rejected.value)["published"] == "2019-02-31", "the original value, unchanged"


def _enriched_with_six_articles(pipeline) -> None:
    for p in sorted(EXAMPLES.glob("sv_*.txt"))[:3] + sorted(EXAMPLES.glob("nl_*.txt"))[:3]:
        shutil.copy(p, pipeline.inbox / p.name)
    # the worker as Faust's own command starts it, configured by the environment
    faust = stack.Service(
        "faust",
        [],
        pipeline.logs,
        {**pipeline.env, "WIREWATCH_SESSION_TIMEOUT": "6"},
        argv=[
            str(Path(sys.executable).parent / "faust"),
            "-A",
            "wirewatch.worker.app",
            "worker",
            "--without-web",
            "--loglevel",
            "info",
        ],
    )
    pipeline.services.append(faust)
    pipeline.start("watcher")
    assert len(pipeline.consume("wirewatch.articles.enriched", 6, timeout=120)) == 6


def _check_against_schema(values: list[tuple[str, dict]]) -> None:
    import jsonschema

    schema = json.loads(
        (stack.ROOT / "schemas" / "wirewatch.articles.enriched" / "v1.json").read_text()
    )
    assert len(values) == 6
    for key, value in values:
        jsonschema.validate(value, schema)
        assert key == value["id"]


JS = stack.ROOT / "tests" / "integration" / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_javascript_client_reads_the_enriched_topic_and_it_matches_the_schema(pipeline):
    if not (JS / "node_modules" / "kafkajs").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=JS,
            check=True,
            timeout=300,
        )
    _enriched_with_six_articles(pipeline)
    out = subprocess.run(
        [
            "node",
            str(JS / "read_topic.js"),
            pipeline.kafka,
            pipeline.topic("wirewatch.articles.enriched"),
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert all(m["headers"]["wirewatch-schema"] == "wirewatch.articles.enriched/v1" for m in lines)
    _check_against_schema([(m["key"], json.loads(m["value"])) for m in lines])


def _kcat_cannot_talk_to(bootstrap: str) -> str | None:
    probe = subprocess.run(
        ["kcat", "-b", bootstrap, "-L", "-m", "5"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0 and "underflow" in probe.stderr:
        return (
            "kcat here (librdkafka 2.0.2, Debian 12) cannot parse this broker's ApiVersions v3 "
            "response (read underflow in its tagged fields); set WIREWATCH_TEST_KAFKA to an "
            "Apache Kafka broker to run it"
        )
    return None


@pytest.mark.skipif(
    shutil.which("kcat") is None, reason="kcat is not installed (apt-get install kcat)"
)
def test_kcat_reads_the_enriched_topic_and_it_matches_the_schema(pipeline):
    why = _kcat_cannot_talk_to(pipeline.kafka)
    if why:
        pytest.skip(why)
    _enriched_with_six_articles(pipeline)
    out = subprocess.run(
        [
            "kcat",
            "-b",
            pipeline.kafka,
            "-C",
            "-t",
            pipeline.topic("wirewatch.articles.enriched"),
            "-o",
            "beginning",
            "-e",
            "-J",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    envelopes = [json.loads(line) for line in out.splitlines() if line.strip()]
    _check_against_schema([(e["key"], json.loads(e["payload"])) for e in envelopes])


def test_feed_items_flow_through_kafka_to_the_index(pipeline):
    from tests.integration.feed_server import FEEDS_DIR, FeedServer

    with FeedServer() as server:
        names = {}
        for doc in sorted(FEEDS_DIR.iterdir()):
            server.put("/" + doc.name, doc.read_bytes())
            names["/" + doc.name] = doc.stem.replace("_", "-")
        config = pipeline.tmp / "feeds.yaml"
        config.write_text(
            "feeds:\n"
            + "".join(
                f"  - url: {server.url(p)}\n    name: {n}\n    interval: 5m\n"
                for p, n in names.items()
            ),
            encoding="utf-8",
        )
        state = str(pipeline.tmp / "feeds.db")
        args = [
            "feeds",
            "--config",
            str(config),
            "--kafka",
            pipeline.kafka,
            "--namespace",
            pipeline.ns,
        ]
        first = ww(*args, "--once", "--state", state, "--metrics-port", "0")
        published = first.stderr.count("published ")
        assert published >= len(names), first.stderr
        pipeline.start("worker")
        pipeline.start("indexer")
        ids = pipeline.wait_indexed(published)
        hits = stack.es_json(
            pipeline.es,
            f"/{pipeline.ns}{ARTICLES}/_search",
            {"size": 100, "query": {"prefix": {"source.path": "http"}}},
        )["hits"]["hits"]
        assert len(hits) == len(ids) == published
        assert any(h["_source"]["published_source"] == "feed" for h in hits)
        raw = pipeline.consume_all("wirewatch.articles.raw")
        assert {dict(m.headers)["wirewatch-feed"].decode() for m in raw} == set(names.values())
        # polled again (a restart with the same state): 304s, nothing published twice
        again = ww(*args, "--once", "--state", state, "--metrics-port", "0")
        assert "published " not in again.stderr
        assert len(pipeline.consume_all("wirewatch.articles.raw")) == len(raw)
