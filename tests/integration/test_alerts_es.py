"""Alerts in the distributed mode as in the embedded one, against the Elasticsearch API:
silences kept in Elasticsearch and honoured by the indexer, the first alert of a story
claimed once across indexer replicas."""

from __future__ import annotations

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
    assert book.expire("rule:bans", now) == 2
    assert book.expire("rule:nothing", now) == 0
    assert book.silences(now) == [("vendor:Huawei", now + timedelta(minutes=5))]


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
    assert EsSilenceStore(sink).expire("vendor:Huawei", clock.now()) == 1
    clock.advance(5)
    replica.process(records(sv))
    assert alert_kinds(replica) == ["alert"]  # the muted one was never recorded
