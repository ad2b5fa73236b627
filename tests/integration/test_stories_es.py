"""Stories and story alerts on the Elasticsearch ports (``EsStories``, ``EsLedger``): the
same after-enrichment step as the embedded runner, against the Elasticsearch API."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from wirewatch.core.alerts import AlertRule, Notify
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.indexer.documents import to_document
from wirewatch.indexer.ledger import EsLedger, EsState, EsStories, articles_between
from wirewatch.indexer.sink import EsSink, client
from wirewatch.pipeline.after import AfterEnrichment
from wirewatch.pipeline.backtest import replay
from wirewatch.settings import ElasticsearchSettings, IndexerSettings

from tests.conftest import ww
from tests.support.fakes import ManualClock

DATA = Path(__file__).resolve().parents[1] / "data" / "stories"


@pytest.fixture()
def sink(es_url, namespace):
    settings = IndexerSettings(namespace=namespace, es=ElasticsearchSettings(url=es_url))
    s = EsSink(settings, client(settings), threading.Event())
    s.install()
    return s


def _index(sink: EsSink, after: AfterEnrichment, *articles: EnrichedArticle) -> None:
    after.link_duplicates(list(articles), EsState(sink))
    after.assign_stories(list(articles), EsStories(sink))
    now = after.clock.now()
    results = sink.bulk([("index", sink.articles, a.id, to_document(a, now)) for a in articles])
    assert all(r.result != "rejected" for r in results), results


def test_a_story_across_languages_alerts_once_then_updates_on_elasticsearch(sink, enricher):
    hook = "https://hooks.example.org/x"
    rules = [
        AlertRule(name="bans", events=["ban"], notify=[Notify(webhook=hook)]),
        AlertRule(name="new-vendor", events=["ban"], first_seen=["vendor"]),
    ]
    after = AfterEnrichment(rules, 0.5, 10, ManualClock())
    nl, sv = (
        enricher.analyse(p.read_bytes(), Source(path=p.name))
        for p in (DATA / "nl_zweden_verbod.txt", DATA / "sv_pts_forbud.txt")
    )
    assert isinstance(nl, EnrichedArticle) and isinstance(sv, EnrichedArticle)

    _index(sink, after, nl)
    first = after.fire([nl], EsLedger(sink), history=EsStories(sink))
    assert sorted((f.rule.name, f.body["kind"]) for f in first.alerts) == [
        ("bans", "alert"),
        ("new-vendor", "alert"),
    ]
    _index(sink, after, sv)
    assert sv.story_id == nl.id
    assert EsStories(sink).stories_of([nl.id, sv.id]) == {nl.id: nl.id, sv.id: nl.id}
    second = after.fire([sv], EsLedger(sink), history=EsStories(sink))
    assert [(f.rule.name, f.body["kind"], f.body["update"]) for f in second.alerts] == [
        ("bans", "update", "+1 source, now also in sv"),
        ("new-vendor", "update", "+1 source, now also in sv"),
    ]
    assert [d[1] for d in second.deliveries] == [sv.id]
    # the batch redone: nothing new; the update whose webhook never confirmed (no
    # notifier here) is sent again with the body stored first, the log-only one is not
    again = after.fire([sv], EsLedger(sink), history=EsStories(sink))
    assert [(f.rule.name, f.body["kind"]) for f in again.alerts] == [("bans", "update")]
    assert [d[3]["update"] for d in again.deliveries] == ["+1 source, now also in sv"]


def test_a_backtest_replays_the_elasticsearch_index(
    sink, enricher, es_url, namespace, tmp_path, monkeypatch
):
    after = AfterEnrichment([], 0.5, 10, ManualClock())
    for p in (DATA / "nl_zweden_verbod.txt", DATA / "sv_pts_forbud.txt"):
        a = enricher.analyse(p.read_bytes(), Source(path=p.name))
        assert isinstance(a, EnrichedArticle)
        _index(sink, after, a)
    articles = articles_between(sink, "2020-10", "2020-11")
    assert [(a.language, at.date().isoformat()) for a, at in articles] == [
        ("nl", "2020-10-20"),
        ("sv", "2020-10-20"),
    ]
    found = replay([AlertRule(name="bans", events=["ban"])], articles, EsStories(sink), 0.5)
    assert [(w.rule, w.kind) for w in found] == [("bans", "alert"), ("bans", "update")]
    assert articles_between(sink, "2021", None) == []
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: bans\n    events: [ban]\n")
    monkeypatch.setenv("WIREWATCH_NAMESPACE", namespace)
    out = ww("rules", "test", str(rules), "--es", es_url, "--since", "2020-10")
    assert "bans: 1 alert(s), 1 update(s)" in out.stdout, out.stdout + out.stderr


def _ban(enricher, country: str, day: str, n: int) -> EnrichedArticle:
    text = (
        f"{country} bans ZTE gear, case {n}\n\n"
        f"The telecoms regulator of {country} banned ZTE equipment from the country's 5G "
        f"networks on {day}, citing national security. Operators must remove the gear. "
        f"Ref {n} {n * 7919} {n * 104729}."
    )
    a = enricher.analyse(text.encode(), Source(path=f"{n}.txt"))
    assert isinstance(a, EnrichedArticle) and a.events, a
    return a


def test_a_frequency_episode_is_kept_in_the_alerts_index(sink, enricher):
    wave = AlertRule(
        name="wave", events=["ban"], min_relevance=0.0, frequency={"at_least": 3, "within": "7d"}
    )
    after = AfterEnrichment([wave], 0.8, 10, ManualClock())
    kinds = []
    for n, (day, country) in enumerate(
        [
            (1, "Denmark"),
            (2, "Norway"),
            (3, "Finland"),
            (5, "Iceland"),
            (8, "Sweden"),
            (10, "Estonia"),
        ]
    ):
        a = _ban(enricher, country, f"{day} March 2021", n)
        _index(sink, after, a)
        fired = after.fire([a], EsLedger(sink), history=EsStories(sink))
        kinds.append([(f.body["kind"], f.body["story_id"]) for f in fired.alerts])
    first = "frequency:vendor:ZTE:2021-03-03T00:00:00Z"
    second = "frequency:vendor:ZTE:2021-03-10T00:00:00Z"
    assert kinds == [
        [],
        [],
        [("alert", first)],
        [("update", first)],
        [("update", first)],
        [("alert", second)],
    ]
    assert EsLedger(sink).episodes([("wave", "frequency:vendor:ZTE")]) == {
        ("wave", "frequency:vendor:ZTE"): {first, second}
    }
