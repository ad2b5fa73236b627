"""Feeds without a network: the subscriptions file, item text, hints, the Kafka message."""

from __future__ import annotations

import json

import feedparser
import pytest
from wirewatch.core.logic import Enricher, Resources
from wirewatch.core.models import EnrichedArticle, RawArticle, Source
from wirewatch.feeds.config import Feed, FeedFileError, load_feeds
from wirewatch.feeds.poller import item_text, make_item
from wirewatch.feeds.service import feed_message
from wirewatch.worker import logic as worker_logic


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher(Resources.load())


# -- the feeds file ----------------------------------------------------------------------
def test_feeds_file_defaults_and_durations():
    feeds = load_feeds(
        "feeds:\n"
        "  - url: https://news.example/rss\n"
        "  - url: http://other.example/atom.xml\n"
        "    name: other\n"
        "    language: SV\n"
        "    interval: 2m\n"
        "    enabled: false\n",
        "feeds.yaml",
    )
    assert feeds[0].label() == "news.example" and feeds[0].interval == 900 and feeds[0].enabled
    assert (feeds[1].language, feeds[1].interval, feeds[1].enabled) == ("sv", 120.0, False)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("feeds:\n  - url: ftp://x/feed\n", "feeds.yaml: feed 1 ('ftp://x/feed'): field url:"),
        (
            "feeds:\n  - url: http://a/\n  - url: http://b/\n    name: bee\n    interval: soon\n",
            "feeds.yaml: feed 2 ('bee'): field interval: 'soon': give seconds",
        ),
        (
            "feeds:\n  - url: http://a/\n    language: dutch\n",
            "feeds.yaml: feed 1 ('http://a/'): field language:",
        ),
        ("feeds:\n  - url: http://a/\n    colour: red\n", "field colour: Extra inputs"),
        ("feeds:\n  - url: http://a/\n    name: 'has space'\n", "field name:"),
        ("feeds:\n  - url: http://a/\n    interval: 0.5\n", "poll at most once a second"),
        ("- url: http://a/\n", "feeds.yaml: expected a mapping with a 'feeds:' list"),
        ("feeds: [\n", "feeds.yaml: not valid YAML"),
        (
            "feeds:\n  - url: http://a.example/x\n  - url: http://a.example/y\n",
            "feed names must be unique; repeated: a.example",
        ),
    ],
)
def test_feeds_file_errors_name_file_feed_and_field(body, expected):
    with pytest.raises(FeedFileError) as err:
        load_feeds(body, "feeds.yaml")
    assert expected in str(err.value)


# -- item text ---------------------------------------------------------------------------
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Plain summary</title><link>http://x/1</link>
<description>Regeringen stoppar avtalet med Huawei.

Beslutet kom i dag.</description></item>
<item><title>Html &amp; summary</title><guid>g-2</guid>
<description>&lt;p&gt;De &lt;b&gt;minister&lt;/b&gt; tekent de deal.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</description>
<pubDate>Mon, 06 May 2024 23:30:00 -0300</pubDate></item>
<item><link>http://x/3</link></item>
</channel></rss>"""


def test_item_text_plain_summary_is_kept_and_html_becomes_text():
    entries = feedparser.parse(RSS).entries
    assert item_text(entries[0]) == (
        "Plain summary",
        "Regeringen stoppar avtalet med Huawei.\n\nBeslutet kom i dag.",
    )
    title, body = item_text(entries[1])
    assert title == "Html & summary"
    assert body == "De minister tekent de deal."


def test_make_item_text_key_link_and_hints():
    feed = Feed(url="http://x/feed", name="x", language="sv")
    entries = feedparser.parse(RSS).entries
    first = make_item(feed, entries[0], "en")
    assert first is not None
    assert first.data.decode().startswith("Plain summary\n\nRegeringen stoppar")
    assert (first.key, first.source.path, first.language_hint) == ("http://x/1", "http://x/1", "sv")
    second = make_item(Feed(url="http://x/feed"), entries[1], "nl")
    assert second is not None
    assert second.key == "g-2" and second.source.path == "http://x/feed"  # no link: the feed
    assert second.language_hint == "nl"  # from the document when the feeds file gives none
    assert second.published_hint == "2024-05-07"  # in UTC
    assert make_item(feed, entries[2], None) is None  # neither title nor text


# -- the published hint in the core --------------------------------------------------------
TEXT = (
    "Regering verbiedt Huawei\n\n"
    "Het Nederlandse kabinet verbiedt apparatuur van Huawei in het 5G-netwerk. "
    "Providers krijgen drie jaar om die te vervangen.\n"
)


def test_published_hint_is_used_only_when_the_text_gives_no_date(enricher):
    source = Source(path="http://x/1")
    plain = enricher.analyse(TEXT.encode(), source)
    hinted = enricher.analyse(TEXT.encode(), source, "nl", "2024-05-14")
    assert isinstance(plain, EnrichedArticle) and isinstance(hinted, EnrichedArticle)
    assert (plain.published, plain.published_source) == (None, "none")
    assert (hinted.published, hinted.published_source) == ("2024-05-14", "feed")
    assert hinted.id == plain.id  # the hint is not part of the text

    dated = (" date 2019-06 " + TEXT).encode()
    with_date = enricher.analyse(dated, source, None, "2024-05-14")
    assert isinstance(with_date, EnrichedArticle)
    assert with_date.published_source == "header" and with_date.published.startswith("2019-06")

    bad_hint = enricher.analyse(TEXT.encode(), source, None, "14 May")
    assert isinstance(bad_hint, EnrichedArticle) and bad_hint.published is None


# -- distributed: the raw message and the worker's hints -----------------------------------
def test_feed_message_contract_and_worker_hints(enricher):
    feed = Feed(url="http://x/feed", name="techbeleid", language="nl")
    entry = {"title": "Regering verbiedt Huawei", "link": "http://x/a.html"}
    entry["summary"] = TEXT.split("\n\n", 1)[1]
    entry["published_parsed"] = (2024, 5, 14, 7, 0, 0, 1, 135, 0)
    item = make_item(feed, feedparser.FeedParserDict(entry), None)
    assert item is not None
    key, value, headers = feed_message(item, 5 * 1024 * 1024)
    raw = RawArticle.model_validate_json(value)
    assert raw.source.path == "http://x/a.html" and raw.content() == item.data
    assert raw.content_type == "text/plain"  # not guessed from the link's .html
    h = dict(headers)
    assert h["wirewatch-source-path"] == b"http://x/a.html"
    assert h["wirewatch-feed"] == b"techbeleid"
    assert h["wirewatch-schema"] == b"wirewatch.articles.raw/v1"
    assert worker_logic.hints(headers) == ("nl", "2024-05-14")

    status, got_key, doc, _caps = worker_logic.process_one(
        enricher, value, worker_logic.hints(headers)
    )
    assert status == "ok" and got_key == key.decode()
    enriched = json.loads(doc)
    assert (enriched["published"], enriched["published_source"]) == ("2024-05-14", "feed")
    # without headers (a file from the watcher) nothing changes
    assert worker_logic.hints(None) == (None, None)
