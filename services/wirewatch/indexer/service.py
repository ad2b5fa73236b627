"""``wirewatch indexer``: ``wirewatch.articles.enriched`` -> Elasticsearch, then alerts.

Per batch (kafka-python, manual commits):

1. validate each message (an invalid one is dead-lettered with the reason);
2. near-duplicates: look up indexed articles sharing a MinHash band (two multi-gets
   per batch: the bands index names them, the articles index gives their
   fingerprints) plus the batch's earlier articles - the indices are the state, so this
   holds across restarts and replicas; an article already indexed keeps its first
   verdict and time;
3. bulk-index (``_id`` = article id) through the alias, with the article's band keys
   in the bands index (scripted upserts); 429/5xx/transport errors are
   retried with backoff until every item has a final answer; per-item 4xx go to
   ``wirewatch.articles.enriched.dlq`` with the reason;
4. alert rules on the indexed articles, silences honoured (read from the silences
   index every few seconds): each (rule, article) is created once in the alerts index
   (``op_type=create``; a near-duplicate of an article a rule fired on does not fire
   it again), then published to ``wirewatch.alerts``, logged, and posted to webhooks
   off this thread;
5. commit the offsets - only now, after Elasticsearch and Kafka acknowledged it all.

Digest rules: each alert of a rule with ``digest: hourly|daily`` also waits in the
digests index; a thread opens the digests at their boundaries and sends them through
the channels (``indexer.digests``: each alert in one digest, across replicas).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka.errors import CommitFailedError
from pydantic import ValidationError

from wirewatch import metrics
from wirewatch.core import alerts
from wirewatch.core.models import EnrichedArticle
from wirewatch.indexer.digests import EsDigests
from wirewatch.indexer.documents import to_document
from wirewatch.indexer.ledger import EsLedger, EsState, EsStories
from wirewatch.indexer.silences import EsSilenceStore
from wirewatch.indexer.sink import EsSink, ItemResult, band_actions
from wirewatch.pipeline.after import AfterEnrichment
from wirewatch.pipeline.digests import digest_channels
from wirewatch.pipeline.ports import Clock, Firing
from wirewatch.pipeline.silences import CachedSilences
from wirewatch.settings import IndexerSettings
from wirewatch.topics import ALERTS, ENRICHED, ENRICHED_DLQ
from wirewatch.watcher.publisher import Publisher, dlq_headers

log = logging.getLogger("wirewatch.indexer")

ALERT_SCHEMA = ("wirewatch-schema", b"wirewatch.alerts/v1")


@dataclass
class _Item:
    record: Any
    article: EnrichedArticle | None = None
    doc: dict[str, Any] = field(default_factory=dict)
    dlq: tuple[str, str] | None = None


class Indexer:
    def __init__(
        self,
        settings: IndexerSettings,
        sink: EsSink,
        consumer: Any,
        publisher: Publisher,
        rules: list[alerts.AlertRule],
        notifier: Any = None,
        clock: Clock | None = None,
    ):
        self.settings = settings
        self.sink = sink
        self.consumer = consumer
        self.publisher = publisher
        self.rules = rules
        self.notifier = notifier
        self.stop = sink.stop
        self.ready = threading.Event()
        self.topic = settings.topic(ENRICHED)
        self.dlq_topic = settings.topic(ENRICHED_DLQ)
        self.alerts_topic = settings.topic(ALERTS)
        self.indexed = 0
        self._on_topic: list[str] = []  # alerts sent to the topic, not yet acknowledged
        self.after = AfterEnrichment(
            rules,
            settings.duplicate_threshold,
            settings.caps.max_alerts_per_rule_per_minute,
            clock,
        )
        # every replica reads the same silences, at most once per silences_refresh
        self.silences = CachedSilences(
            EsSilenceStore(sink), self.after.clock, settings.silences_refresh
        )
        # digest rules: their alerts wait in the digests index; the embedded mode's
        # scheduler opens and sends the digests (claimed there, so replicas share them)
        self.digest_channels = digest_channels(rules)
        self.digests = None
        if self.digest_channels and notifier is not None:
            from wirewatch.embedded.digests import DigestScheduler

            self.digests = DigestScheduler(EsDigests(sink), rules, notifier, self.after.clock)

    # -- one batch ---------------------------------------------------------------
    def _validate(self, records: list[Any]) -> list[_Item]:
        items = []
        for rec in records:
            metrics.MESSAGES_CONSUMED.labels("indexer", rec.topic).inc()
            item = _Item(rec)
            try:
                item.article = EnrichedArticle.model_validate_json(rec.value or b"")
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "value"
                item.dlq = (
                    "invalid_message",
                    f"not a wirewatch.articles.enriched/v1 message ({where}: {first.get('msg')})",
                )
            items.append(item)
        return items

    def _near_duplicates(self, items: list[_Item]) -> set[str]:
        """Link near-duplicates and build the documents; returns the ids indexed before."""
        articles = [i.article for i in items if i.article is not None]
        prior = self.after.link_duplicates(articles, EsState(self.sink))
        self.after.assign_stories(articles, EsStories(self.sink))
        now = datetime.now(UTC)
        for item in items:
            a = item.article
            if a is None:
                continue
            before = prior.get(a.id)
            if before is not None:  # indexed earlier: keep its sources and first time
                a.sources = sorted(set(before.sources) | set(a.sources))
            indexed_at = before.stored_at if before and before.stored_at else now
            item.doc = to_document(a, indexed_at)
        return set(prior)

    def _dead_letter(self, item: _Item, code: str, reason: str) -> int:
        rec = item.record
        headers = dlq_headers(
            "indexer", code, reason, rec.topic, rec.partition, rec.offset, rec.headers or []
        )
        metrics.DLQ_MESSAGES.labels("indexer", code).inc()
        log.warning(
            "dead-lettered partition=%d offset=%d code=%s reason=%s",
            rec.partition,
            rec.offset,
            code,
            json.dumps(reason),
        )
        return self.publisher.send(self.dlq_topic, rec.key or b"", rec.value or b"", headers)

    def process(self, records: list[Any]) -> None:
        started = time.perf_counter()
        self._on_topic = []
        items = self._validate(records)
        seen_before = self._near_duplicates(items)
        to_index = [i for i in items if i.article is not None]
        # the articles, then their near-duplicate bands, in one request
        bands = [
            action
            for i in to_index
            for action in band_actions(self.sink, i.doc["id"], i.doc.get("dup_bands") or ())
        ]
        answered = self.sink.bulk(
            [("index", self.sink.articles, i.article.id, i.doc) for i in to_index]  # type: ignore[union-attr]
            + bands
        )
        results = answered[: len(to_index)]
        self._report_refused_bands(bands, answered[len(to_index) :])
        for item, res in zip(to_index, results, strict=True):
            if res.result == "rejected":
                item.dlq = (
                    "mapping_rejected",
                    f"Elasticsearch refused the document ({res.status}): {res.error}",
                )
        handles = [self._dead_letter(i, *i.dlq) for i in items if i.dlq is not None]
        indexed = [i for i in to_index if i.dlq is None]
        now = time.time()
        for item, res in zip(to_index, results, strict=True):
            if item.dlq is None:
                metrics.INDEXER_ITEMS.labels(res.result).inc()
        for item in indexed:
            a = item.article
            assert a is not None
            self.after.count_stored(a, new=a.id not in seen_before, stage="index")
            seen_before.add(a.id)
            if a.source.seen_at is not None:
                metrics.END_TO_END_SECONDS.observe(max(0.0, now - a.source.seen_at.timestamp()))
            log.info(
                "indexed id=%s lang=%s published=%s events=%s%s",
                a.id,
                a.language,
                a.published,
                ",".join(sorted({f"{e.type}:{e.status}" for e in a.events})) or "-",
                f" near_duplicate_of={a.near_duplicate_of}" if a.near_duplicate_of else "",
            )
        metrics.INDEXER_ITEMS.labels("rejected").inc(
            sum(1 for r in results if r.result == "rejected")
        )
        fired = self.after.fire(
            [i.article for i in indexed if i.article is not None],
            EsLedger(self.sink, self.digest_channels),
            on_recorded=lambda f: handles.append(self._publish_alert(f)),
            history=EsStories(self.sink),
            silences=self.silences,
        )
        failed = self.publisher.flush(timeout=60.0)
        if failed:
            raise RuntimeError(
                f"{len(failed)} dead-letter/alert message(s) not acknowledged by Kafka "
                f"({next(iter(failed.values()))}); not committing, the batch will be redone"
            )
        if self._on_topic:  # acknowledged: a batch redone from here on does not resend them
            self.sink.bulk(
                [
                    ("update", self.sink.alerts, alert, {"delivery": {"topic": "sent"}})
                    for alert in self._on_topic
                ]
            )
            self._on_topic = []
        self.indexed += len(indexed)
        if indexed:
            metrics.LAST_INGEST.set(now)
        metrics.INDEXER_LAST_SUCCESS.set(time.time())
        metrics.INDEXER_BULK_SECONDS.observe(time.perf_counter() - started)
        for level, fmt, args in [*fired.lines, *self.after.held_lines()]:
            log.log(level, fmt, *args)
        if self.notifier is not None:
            for entry in fired.deliveries:
                self.notifier.submit(*entry)

    @staticmethod
    def _report_refused_bands(
        bands: list[tuple[str, str, str, dict[str, Any]]], results: list[ItemResult]
    ) -> None:
        """A band update Elasticsearch refuses (4xx) is not retried: its article is
        indexed, but a later near-duplicate of it may go unnoticed. Said once per batch."""
        refused = [
            (action, res)
            for action, res in zip(bands, results, strict=True)
            if res.result == "rejected"
        ]
        if not refused:
            return
        metrics.INDEXER_BANDS_REJECTED.inc(len(refused))
        (_, index, key, body), res = refused[0]
        articles = {action[3]["script"]["params"]["id"] for action, _ in refused}
        log.warning(
            "near-duplicate bands refused: %d update(s) of %s for %d article(s), first "
            "band=%s article=%s (%s): %s; those articles are indexed, but their later "
            "near-duplicates may not be linked - check the index mapping and scripts",
            len(refused),
            index,
            len(articles),
            key,
            body["script"]["params"]["id"],
            res.status,
            res.error,
        )

    def _publish_alert(self, firing: Firing) -> int:
        """The alert on the alerts topic (new or resent); the handle to await."""
        body = firing.body
        metrics.ALERTS_DELIVERED.labels("topic").inc()
        self._on_topic.append(body["alert_id"])
        return self.publisher.send(
            self.alerts_topic,
            body["alert_id"].encode(),
            json.dumps(body, ensure_ascii=False).encode(),
            [ALERT_SCHEMA],
        )

    # -- the loop ----------------------------------------------------------------
    def _update_lag(self) -> None:
        total = 0
        try:
            for tp in self.consumer.assignment():
                hw = self.consumer.highwater(tp)
                if hw is None:
                    continue
                total += max(0, hw - self.consumer.position(tp))
        except Exception:  # noqa: BLE001 - metrics only
            return
        metrics.CONSUMER_LAG.labels("indexer", self.topic).set(total)
        metrics.CONSUMER_LAG_SECONDS.labels("indexer", self.topic).set(
            max(0.0, time.time() - self._last_ts) if total and self._last_ts else 0.0
        )

    _last_ts = 0.0

    def run(self) -> None:
        installed = self.sink.install()
        log.info("index templates installed; writing through %s", ", ".join(installed))
        if self.notifier is not None:
            self.notifier.start()
        if self.digests is not None:
            self.digests.start()
        try:
            self._loop()
        finally:
            if self.digests is not None:
                self.digests.close()

    def _loop(self) -> None:
        self.consumer.subscribe([self.topic])
        self.ready.set()
        while not self.stop.is_set():
            polled = self.consumer.poll(
                timeout_ms=self.settings.batch_wait_ms or 100, max_records=self.settings.batch_size
            )
            records = [r for tp in sorted(polled, key=lambda t: t.partition) for r in polled[tp]]
            if records:
                self.process(records)
                try:
                    self.consumer.commit()
                except CommitFailedError as exc:
                    # the group rebalanced meanwhile: whoever owns the partitions now redoes
                    # the batch, which is harmless (same ids, alerts created once)
                    log.warning("commit-failed (rebalance): %s", exc)
                self._last_ts = max(r.timestamp for r in records) / 1000.0
            self._update_lag()
