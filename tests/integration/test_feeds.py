"""Feeds against a real HTTP server on loopback: polling, 304s, backoff, restarts, end to end.

The server (tests/integration/feed_server.py) serves RSS 2.0 (Dutch), RSS 1.0/RDF
(Swedish) and Atom (English) documents from tests/data/feeds and changes them
between polls.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import feedparser
import pytest
from wirewatch.feeds.config import Feed
from wirewatch.feeds.poller import FeedItem, FeedPoller, FeedState
from wirewatch.metrics import REGISTRY

from tests.conftest import ROOT, ww
from tests.integration.feed_server import FeedServer, add_rss2_item, feed_doc

PATHS = {"/nl.xml": "nl_rss2.xml", "/sv.rdf": "sv_rdf.xml", "/en.atom": "en_atom.xml"}
NAMES = {"/nl.xml": "techbeleid", "/sv.rdf": "teknikpolitik", "/en.atom": "policywire"}

NEW_NL_HTML = (
    "<p>Het Nederlandse kabinet legt sancties op aan twee Chinese chipbedrijven die "
    "onderdelen aan Rusland leverden.</p><p>De maatregelen gaan volgende week in.</p>"
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingParser:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, body: bytes):
        self.calls += 1
        return feedparser.parse(body)


@pytest.fixture
def server():
    with FeedServer() as srv:
        for path, name in PATHS.items():
            srv.put(path, feed_doc(name))
        yield srv


def _feeds(server: FeedServer) -> list[Feed]:
    return [Feed(url=server.url(p), name=NAMES[p], interval=60) for p in PATHS]


def _poller(server: FeedServer, state: Path, parser=None, clock=None) -> FeedPoller:
    return FeedPoller(
        _feeds(server),
        FeedState(state),
        timeout=5.0,
        jitter=0.0,
        backoff_initial=10.0,
        backoff_max=100.0,
        parser=parser,
        clock=clock or Clock(),
    )


class ListSink:
    def __init__(self) -> None:
        self.items: list[FeedItem] = []

    def __call__(self, items: list[FeedItem]) -> bool:
        self.items.extend(items)
        return True


def test_new_items_once_and_unchanged_feeds_cost_no_parse(server, tmp_path):
    parser = CountingParser()
    poller = _poller(server, tmp_path / "feeds.db", parser)
    sink = ListSink()
    for feed in poller.feeds:
        assert poller.poll(feed, sink).outcome == "new"
    assert parser.calls == 3
    assert sorted(i.source.path for i in sink.items) == [
        "http://feeds.test/en/uk-sanctions-chip-firm",
        "http://feeds.test/nl/artikel/huawei-5g-kern",
        "http://feeds.test/sv/pts-huawei-zte",
    ]
    by_feed = {i.feed: i for i in sink.items}
    assert by_feed["techbeleid"].language_hint == "nl"
    assert by_feed["teknikpolitik"].published_hint == "2024-05-13"
    text = by_feed["techbeleid"].data.decode()
    assert text.startswith("Kabinet weert Huawei uit kern van 5G-netwerk\n\nHet Nederlandse")
    assert "<" not in text and "Een zendmast" not in text  # markup and caption gone
    ua = server.requests[0][2]["User-Agent"]
    assert ua.startswith("wirewatch/") and "(+https://" in ua

    # nothing changed: every feed answers 304, nothing is parsed or handed on
    not_modified = metric("wirewatch_feed_not_modified_total", feed="techbeleid")
    for feed in poller.feeds:
        assert poller.poll(feed, sink).outcome == "not_modified"
    assert parser.calls == 3 and len(sink.items) == 3
    assert [r[1] for r in server.requests[-3:]] == [304, 304, 304]
    assert all("If-None-Match" in r[2] for r in server.requests[-3:])
    assert metric("wirewatch_feed_not_modified_total", feed="techbeleid") == not_modified + 1

    # one feed gains an item: only that item is new
    server.put(
        "/nl.xml",
        add_rss2_item(
            feed_doc(PATHS["/nl.xml"]),
            "techbeleid-2024-0515-01",
            "Sancties tegen Chinese chipbedrijven",
            NEW_NL_HTML,
            "Wed, 15 May 2024 08:00:00 +0200",
        ),
    )
    items_before = metric("wirewatch_feed_items_total", feed="techbeleid")
    results = [poller.poll(feed, sink) for feed in poller.feeds]
    assert [r.outcome for r in results] == ["new", "not_modified", "not_modified"]
    assert parser.calls == 4
    assert [i.key for i in sink.items[3:]] == ["techbeleid-2024-0515-01"]
    assert sink.items[3].published_hint == "2024-05-15"
    assert metric("wirewatch_feed_items_total", feed="techbeleid") == items_before + 1
    assert metric("wirewatch_feed_last_success_timestamp_seconds", feed="techbeleid") > 0


def test_failing_feed_backs_off_and_recovers(server, tmp_path):
    clock = Clock()
    poller = _poller(server, tmp_path / "feeds.db", clock=clock)
    nl = poller.feeds[0]
    sink = ListSink()
    errors_5xx = metric("wirewatch_feed_errors_total", feed="techbeleid", reason="http_5xx")
    errors_parse = metric("wirewatch_feed_errors_total", feed="techbeleid", reason="parse")

    server.fail["/nl.xml"] = 500
    delays = []
    for _ in range(3):
        result = poller.poll(nl, sink)
        assert result.outcome == "error" and result.error.startswith("http_5xx")
        delays.append(poller._schedule[nl.url].due - clock.now)
        assert nl not in poller.due()  # not polled again before the backoff is over
        clock.now += delays[-1]
        assert nl in poller.due()
    assert delays == [10.0, 20.0, 40.0]  # exponential (no jitter in this test)
    assert poller.failures(nl) == 3

    server.fail["/nl.xml"] = "garbage"
    assert poller.poll(nl, sink).error.startswith("parse")
    assert poller._schedule[nl.url].due - clock.now == 80.0

    del server.fail["/nl.xml"]
    clock.now += 80.0
    result = poller.poll(nl, sink)
    assert result.outcome == "new" and result.items == 1
    assert poller.failures(nl) == 0
    assert poller._schedule[nl.url].due - clock.now == 60.0  # back to the feed's interval
    assert metric("wirewatch_feed_errors_total", feed="techbeleid", reason="http_5xx") == (
        errors_5xx + 3
    )
    assert metric("wirewatch_feed_errors_total", feed="techbeleid", reason="parse") == (
        errors_parse + 1
    )
    # the other feeds were never affected
    assert all(f in poller.due() for f in poller.feeds[1:])


def test_restart_does_not_reingest_and_unsafe_items_are_offered_again(server, tmp_path):
    state = tmp_path / "feeds.db"
    poller = _poller(server, state)
    refused: list[FeedItem] = []

    def refusing(items: list[FeedItem]) -> bool:
        refused.extend(items)
        return False  # e.g. Kafka did not acknowledge

    assert poller.poll(poller.feeds[2], refusing).outcome == "unsafe"
    sink = ListSink()
    for feed in poller.feeds:
        poller.poll(feed, sink)
    # the refused item is offered again (the feed was fetched in full, not 304)
    assert [i.key for i in refused] == [i.key for i in sink.items if i.feed == "policywire"]
    assert len(sink.items) == 3
    poller.state.close()

    # restart with the same state file; the documents change (new ETags), items do not
    for path, name in PATHS.items():
        server.put(path, feed_doc(name).replace(b"<title>", b"<title> ", 1))
    again = _poller(server, state)
    sink2 = ListSink()
    results = [again.poll(feed, sink2) for feed in again.feeds]
    assert [r.outcome for r in results] == ["new", "new", "new"]
    assert sink2.items == []  # fetched and parsed, but every item was seen before
    again.state.close()


def test_embedded_runner_with_feeds(server, tmp_path):
    """The runner puts feed items through its own batches, enrichment and store."""
    from wirewatch.core.logic import Enricher, Resources
    from wirewatch.embedded.runner import EmbeddedRunner
    from wirewatch.embedded.store import SqliteStore
    from wirewatch.settings import EmbeddedSettings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = EmbeddedSettings(inbox=[inbox], db=tmp_path / "w.db", once=True, metrics_port=0)
    store = SqliteStore(settings.db)
    runner = EmbeddedRunner(
        settings,
        store,
        Enricher(Resources.load()),
        threading.Event(),
        feeds=_poller(server, settings.feeds_state_path()),
    )
    summary = runner.run()
    assert summary.feed_items == 3 and summary.new_articles == 3 and summary.rejected == 0
    hits = [h.article for h in store.search("Huawei").hits]
    assert {a.source.path for a in hits} == {
        "http://feeds.test/en/uk-sanctions-chip-firm",
        "http://feeds.test/nl/artikel/huawei-5g-kern",
        "http://feeds.test/sv/pts-huawei-zte",
    }
    assert {(a.language, a.published, a.published_source) for a in hits} == {
        ("nl", "2024-05-14", "feed"),
        ("sv", "2024-05-13", "feed"),
        ("en", "2024-05-12", "feed"),
    }
    store.close()


@pytest.mark.slow
def test_cli_run_once_with_feeds_then_search_and_alerts(server, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db = tmp_path / "wirewatch.db"
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(
        "feeds:\n"
        + "".join(
            f"  - url: {server.url(p)}\n    name: {NAMES[p]}\n    interval: 5m\n" for p in PATHS
        )
        + f"  - url: {server.url('/disabled.xml')}\n    enabled: false\n",
        encoding="utf-8",
    )
    args = [
        "run",
        str(inbox),
        "--once",
        "--feeds",
        str(feeds_file),
        "--rules",
        str(ROOT / "examples" / "rules.yaml"),
        "--db",
        str(db),
        "--metrics-port",
        "0",
    ]
    first = ww(*args)
    assert "3 new item(s)" in first.stdout, first.stdout + first.stderr
    assert (tmp_path / "wirewatch-feeds.db").is_file()  # the default: next to the database
    assert not any(r[0] == "/disabled.xml" for r in server.requests)

    found = [
        json.loads(x)
        for x in ww("search", "Huawei", "--db", str(db), "--json").stdout.split("\n")
        if x
    ]
    links = {a["source"]["path"]: a for a in found}
    assert "http://feeds.test/sv/pts-huawei-zte" in links
    assert links["http://feeds.test/sv/pts-huawei-zte"]["published_source"] == "feed"

    fired = [json.loads(x) for x in ww("alerts", "--db", str(db), "--json").stdout.split("\n") if x]
    on_feed_items = {a["article_id"] for a in fired} & {a["id"] for a in found}
    assert on_feed_items, fired
    assert "ALERT rule=vendor-ban-europe" in first.stderr

    # a second run: the feeds answer 304, nothing is ingested again
    second = ww(*args)
    assert "0 new item(s)" in second.stdout, second.stdout + second.stderr
    assert [r[1] for r in server.requests[-3:]] == [304, 304, 304]
    assert len([x for x in ww("alerts", "--db", str(db), "--json").stdout.split("\n") if x]) == len(
        fired
    )
