"""``wirewatch feeds``: feed items -> ``wirewatch.articles.raw`` on Kafka.

The same message contract as the watcher (``raw_message``: raw/v1 JSON, key = the
article id, ``wirewatch-source-path`` = the item's link), plus the headers
``wirewatch-feed`` (the feed's name), ``wirewatch-language-hint`` and
``wirewatch-published-hint`` (YYYY-MM-DD) that the worker passes to the core.
Items are marked seen only after Kafka acknowledged them.
"""

from __future__ import annotations

import json
import logging
import threading

from wirewatch import metrics
from wirewatch.core.logic import article_key
from wirewatch.feeds.poller import FeedItem, FeedPoller
from wirewatch.settings import FeedsSettings
from wirewatch.topics import RAW
from wirewatch.watcher.publisher import Headers, Publisher
from wirewatch.watcher.service import raw_message

log = logging.getLogger("wirewatch.feeds")


def feed_message(item: FeedItem, max_bytes: int) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) of one item on the raw topic."""
    key = article_key(item.data, max_bytes)
    value, headers = raw_message(item.data, item.source, "text/plain")
    headers.append(("wirewatch-feed", item.feed.encode("utf-8")))
    if item.language_hint:
        headers.append(("wirewatch-language-hint", item.language_hint.encode()))
    if item.published_hint:
        headers.append(("wirewatch-published-hint", item.published_hint.encode()))
    return key.encode(), value, headers


class FeedPublisher:
    """Polls the feeds and publishes their new items; a sink for ``FeedPoller``."""

    def __init__(self, settings: FeedsSettings, publisher: Publisher, poller: FeedPoller):
        self.settings = settings
        self.publisher = publisher
        self.poller = poller
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.topic = settings.topic(RAW)

    def sink(self, items: list[FeedItem]) -> bool:
        handles = []
        for item in items:
            key, value, headers = feed_message(item, self.settings.max_bytes)
            handles.append(self.publisher.send(self.topic, key, value, headers))
        failed = self.publisher.flush(timeout=60.0)
        if failed:
            metrics.PUBLISH_ERRORS.labels(self.topic).inc(len(failed))
            log.error(
                "publish-failed feed=%s items=%d error=%s: will fetch the feed again; is Kafka "
                "at %s reachable?",
                items[0].feed,
                len(failed),
                next(iter(failed.values())),
                self.settings.kafka.bootstrap,
            )
            return False
        for item in items:
            metrics.FILES_PUBLISHED.inc()
            log.info("published feed=%s link=%s", item.feed, json.dumps(item.source.path))
        return True

    def run(self, once: bool = False) -> None:
        self.ready.set()
        self.poller.run(self.sink, self.stop, once=once)
