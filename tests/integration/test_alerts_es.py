"""Alerts in the distributed mode as in the embedded one, against the Elasticsearch API:
silences kept in Elasticsearch and honoured by the indexer, the first alert of a story
claimed once across indexer replicas."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from wirewatch.core.alerts import AlertRule, Notify
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.indexer.service import Indexer
from wirewatch.indexer.silences import EsSilenceStore
from wirewatch.indexer.sink import EsSink, client
from wirewatch.settings import ElasticsearchSettings, IndexerSettings

from tests.support.fakes import ManualClock

DATA = Path(__file__).resolve().parents[1] / "data" / "stories"


@dataclass
class Record:
    value: bytes
    offset: int
    topic: str = "enriched"
    partition: int = 0
    key: bytes = b""
    headers: Any = None
    timestamp: int = 0


class Publisher:
    """What the indexer publishes (alerts, dead letters), acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> int:
        self.sent.append((topic, key, value))
        return len(self.sent)

    def flush(self, timeout: float) -> dict[int, str]:
        return {}


def settings_for(es_url: str, namespace: str, **kw: Any) -> IndexerSettings:
    return IndexerSettings(namespace=namespace, es=ElasticsearchSettings(url=es_url), **kw)


@pytest.fixture()
def sink(es_url, namespace):
    s = EsSink(
        settings_for(es_url, namespace), client(settings_for(es_url, namespace)), threading.Event()
    )
    s.install()
    return s


def indexer(es_url, namespace, rules, clock, **kw) -> Indexer:
    """An indexer replica of its own (client, sink, publisher) on the shared indices."""
    settings = settings_for(es_url, namespace, **kw)
    replica = EsSink(settings, client(settings), threading.Event())
    return Indexer(settings, replica, None, Publisher(), rules, None, clock)


def stories(enricher) -> tuple[EnrichedArticle, EnrichedArticle]:
    nl, sv = (
        enricher.analyse(p.read_bytes(), Source(path=p.name))
        for p in (DATA / "nl_zweden_verbod.txt", DATA / "sv_pts_forbud.txt")
    )
    assert isinstance(nl, EnrichedArticle) and isinstance(sv, EnrichedArticle)
    return nl, sv


def records(*articles: EnrichedArticle) -> list[Record]:
    return [Record(a.model_dump_json().encode(), n) for n, a in enumerate(articles)]


def alert_kinds(replica: Indexer) -> list[str]:
    import json

    return [json.loads(v)["kind"] for t, _k, v in replica.publisher.sent if t.endswith("alerts")]


# -- silences ------------------------------------------------------------------------------
def test_silences_are_added_listed_and_ended_in_elasticsearch(sink):
    book = EsSilenceStore(sink)
    clock = ManualClock()
    now = clock.now()
    assert book.silences(now) == []
    book.add_silence("rule:bans", now + timedelta(hours=1), "noisy")
    book.add_silence("rule:bans", now + timedelta(hours=2))
    book.add_silence("vendor:Huawei", now + timedelta(minutes=5))
    book.add_silence("country:SE", now - timedelta(minutes=1))  # over already
    assert book.silences(now) == [
        ("rule:bans", now + timedelta(hours=2)),
        ("vendor:Huawei", now + timedelta(minutes=5)),
    ]
    assert [t for t, _u in book.silences()] == ["country:SE", "rule:bans", "vendor:Huawei"]
    assert book.expire_silence("rule:bans", now) == 2
    assert book.expire_silence("rule:nothing", now) == 0
    assert book.silences(now) == [("vendor:Huawei", now + timedelta(minutes=5))]


def test_the_command_line_mutes_lists_and_unmutes_in_elasticsearch(es_url, namespace, monkeypatch):
    from tests.conftest import ww

    monkeypatch.setenv("WIREWATCH_NAMESPACE", namespace)
    out = ww("alerts", "mute", "vendor:huawei", "--for", "2h", "--es", es_url).stdout
    assert out.startswith("muted vendor:Huawei until ")  # the gazetteer's spelling
    listed = ww("alerts", "silences", "--es", es_url, "--json").stdout.splitlines()
    assert [json.loads(line)["target"] for line in listed] == ["vendor:Huawei"]
    # the indexer's own view of the index
    settings = IndexerSettings(namespace=namespace, es=ElasticsearchSettings(url=es_url))
    book = EsSilenceStore(EsSink(settings, client(settings), threading.Event()))
    assert [t for t, _u in book.silences()] == ["vendor:Huawei"]
    assert (
        "ended 1 silence(s) of vendor:Huawei"
        in ww("alerts", "unmute", "vendor:Huawei", "--es", es_url).stdout
    )
    assert "0 silence(s) running" in ww("alerts", "silences", "--es", es_url).stdout
    assert (
        "no silence of vendor:Huawei ran"
        in ww("alerts", "unmute", "vendor:Huawei", "--es", es_url).stdout
    )


def test_the_indexer_honours_a_mute_within_its_refresh(es_url, namespace, sink, enricher):
    clock = ManualClock()
    rules = [AlertRule(name="bans", events=["ban"], notify=[Notify(log=True)])]
    replica = indexer(es_url, namespace, rules, clock, silences_refresh=5.0)
    nl, sv = stories(enricher)
    replica.process(records())  # nothing yet; the silences are read (none)
    replica.silences.silences(clock.now())
    EsSilenceStore(sink).add_silence("vendor:Huawei", clock.now() + timedelta(hours=1))
    clock.advance(5)  # the indexer reads the silences again
    replica.process(records(nl))
    assert alert_kinds(replica) == []
    assert EsSilenceStore(sink).expire_silence("vendor:Huawei", clock.now()) == 1
    clock.advance(5)
    replica.process(records(sv))
    assert alert_kinds(replica) == ["alert"]  # the muted one was never recorded


# -- the first alert of a story, once across replicas ------------------------------------------
def test_two_indexer_replicas_racing_on_one_story_raise_one_first_alert(
    es_url, namespace, sink, enricher, monkeypatch
):
    from wirewatch.indexer import service
    from wirewatch.indexer.documents import to_document
    from wirewatch.indexer.ledger import EsLedger, EsState, EsStories
    from wirewatch.pipeline.after import AfterEnrichment

    nl, sv = stories(enricher)
    setup = AfterEnrichment([], 0.5, 10, ManualClock())
    for a in (nl, sv):  # both indexed, one story: the replicas get them (again) at once
        setup.link_duplicates([a], EsState(sink))
        setup.assign_stories([a], EsStories(sink))
        sink.bulk([("index", sink.articles, a.id, to_document(a, setup.clock.now()))])
        sink.refresh_if_needed()
    assert sv.story_id == nl.id

    both_looked = threading.Barrier(2, timeout=30)

    class RacingLedger(EsLedger):
        """Each replica has looked for the story's alerts (none) before either claims."""

        def claim(self, firsts):
            both_looked.wait()
            return super().claim(firsts)

    monkeypatch.setattr(service, "EsLedger", RacingLedger)
    rules = [AlertRule(name="bans", events=["ban"], notify=[Notify(log=True)])]
    replicas = [indexer(es_url, namespace, rules, ManualClock()) for _ in range(2)]
    errors: list[BaseException] = []

    def run(replica: Indexer, article: EnrichedArticle) -> None:
        try:
            replica.process(records(article))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(r, a)) for r, a in zip(replicas, (nl, sv), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    kinds = sorted(k for r in replicas for k in alert_kinds(r))
    assert kinds == ["alert", "update"]
    sink.refresh_alerts()
    stored = sink.scan(sink.alerts, {"term": {"rule": "bans"}}, ["kind", "story_id"])
    assert sorted(src["kind"] for _i, src in stored) == ["alert", "update"]
    assert {src["story_id"] for _i, src in stored} == {nl.id}


# -- digests ---------------------------------------------------------------------------------
class DigestNotifier:
    """Takes digest jobs as ``WebhookNotifier.submit_job`` does."""

    def __init__(self, declared: dict[str, Any], jobs: list[Any] | None = None) -> None:
        self.channels = declared
        self.jobs: list[Any] = [] if jobs is None else jobs  # shared: in the order sent

    def submit_job(self, channel: str, job: Any) -> None:
        self.jobs.append(job)


def _ban(enricher, country: str, n: int) -> EnrichedArticle:
    text = (
        f"{country} bans ZTE gear, case {n}\n\n"
        f"The telecoms regulator of {country} banned ZTE equipment from the country's 5G "
        f"networks on {n + 1} March 2021, citing national security. Operators must remove "
        f"the gear. Ref {n} {n * 7919} {n * 104729}."
    )
    a = enricher.analyse(text.encode(), Source(path=f"{n}.txt"))
    assert isinstance(a, EnrichedArticle) and a.events, a
    return a


def test_digests_on_elasticsearch_list_each_alert_once_across_replicas(
    es_url, namespace, sink, enricher
):
    from datetime import UTC, datetime

    from wirewatch.core import alerts, channels
    from wirewatch.embedded.digests import DigestScheduler
    from wirewatch.indexer.digests import LEASE, EsDigests
    from wirewatch.indexer.ledger import EsLedger
    from wirewatch.pipeline.after import AfterEnrichment
    from wirewatch.pipeline.digests import digest_channels

    declared = channels.load_channels(
        "channels:\n  mail: {type: email, host: h, from: a@b, to: [c@d]}\n", "c.yaml"
    )
    rules = alerts.load_rules(
        "rules:\n  - name: bans\n    events: [ban]\n    min_relevance: 0\n"
        "    notify: [{channel: mail, digest: hourly}]\n",
        "r.yaml",
    )
    clock = ManualClock(datetime(2026, 6, 10, 8, 10, tzinfo=UTC))
    replicas = []
    sent: list[Any] = []
    for _ in range(2):
        s = settings_for(es_url, namespace)
        own = EsSink(s, client(s), threading.Event())
        notifier = DigestNotifier(declared, sent)
        replicas.append((DigestScheduler(EsDigests(own), rules, notifier, clock), notifier))
    after = AfterEnrichment(rules, 0.5, 100, clock)
    ledger = EsLedger(sink, digest_channels(rules))

    def fire(*ns: int) -> int:
        countries = ["Denmark", "Norway", "Iceland"][: len(ns)]
        arts = [_ban(enricher, c, n) for n, c in zip(ns, countries, strict=True)]
        return len(after.fire(arts, ledger).alerts)

    def tick_all() -> list[Any]:
        got: list[Any] = []
        threads = [threading.Thread(target=lambda s=s: got.extend(s.tick())) for s, _ in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return got

    assert tick_all() == []  # the cursors begin
    assert fire(1, 2, 3) == 3
    assert fire(1) == 0  # a batch redone: nothing new, no second item
    clock.advance(55 * 60)  # 09:05: the hour is over
    (digest,) = tick_all()
    (job,) = sent
    assert job.key == digest == "digest:bans:mail:20260610T090000Z"
    assert len(job.bodies) == 3 and len({b["alert_id"] for b in job.bodies}) == 3
    assert tick_all() == [], "leased while it is being sent"
    assert fire(14) == 1  # after the boundary: the next digest's
    job.done(False, 3, "HTTP 503")
    row = replicas[0][0].ledger.get(digest)
    assert (row.status, row.rounds, row.error) == ("pending", 1, "HTTP 503")
    assert tick_all() == [], "a failed digest waits before it is tried again"
    clock.advance(2 * 60)
    assert tick_all() == [digest]
    again = sent[-1]
    assert again.key == job.key and again.bodies == job.bodies
    again.done(True, 1, None)
    assert replicas[1][0].ledger.get(digest).status == "sent"
    clock.advance(60 * 60)  # 10:07
    (second,) = tick_all()
    nxt = sent[-1]
    assert [b["article_id"] for b in nxt.bodies] == [_ban(enricher, "Denmark", 14).id]
    # the replica sending it stops before recording the outcome: another round resends
    # it, with the same id, once the lease is over
    restarted = DigestScheduler(EsDigests(sink), rules, DigestNotifier(declared, sent), clock)
    assert restarted.tick() == []
    clock.advance(LEASE.total_seconds())
    assert restarted.tick() == [second]
    assert sent[-1].key == nxt.key and sent[-1].bodies == nxt.bodies
    sent[-1].done(True, 1, None)
    clock.advance(60 * 60)
    assert tick_all() == [], "no alert in the period: no message"


def test_an_alert_kafka_never_acknowledged_is_published_when_the_batch_is_redone(
    es_url, namespace, sink, enricher
):
    """Stopped after the alert was recorded but before Kafka acknowledged it on the
    alerts topic (kill -9, or a failed flush): the redone batch publishes it; once
    acknowledged, a batch redone again publishes nothing."""
    clock = ManualClock()
    rules = [AlertRule(name="bans", events=["ban"], notify=[Notify(log=True)])]
    replica = indexer(es_url, namespace, rules, clock)
    article = _ban(enricher, "Denmark", 7)

    class Unacknowledged(Publisher):
        def flush(self, timeout: float) -> dict[int, str]:
            return {n: "KafkaTimeoutError" for n in range(1, len(self.sent) + 1)}

    replica.publisher = Unacknowledged()
    with pytest.raises(RuntimeError, match="not acknowledged by Kafka"):
        replica.process(records(article))
    assert alert_kinds(replica) == ["alert"]  # sent, never acknowledged

    replica.publisher = Publisher()
    replica.process(records(article))  # the batch redone
    assert alert_kinds(replica) == ["alert"]
    replica.publisher = Publisher()
    replica.process(records(article))  # and again, now that Kafka has it
    assert alert_kinds(replica) == []
