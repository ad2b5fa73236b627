"""Elasticsearch I/O for the indexer: templates, bulk with per-item retries, lookups.

Retries: a bulk item answered 429 or 5xx, and a whole request that failed on the
transport (connection reset, timeout, 429/5xx for the request), are sent again after
a capped exponential backoff with full jitter. A per-item 4xx is final: the caller
dead-letters it. ``bulk`` returns only when every item has a final answer - the
caller commits Kafka offsets after that, never before.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from wirewatch import metrics
from wirewatch.indexer.template import (
    ALERT_STORY_FIELDS,
    ALERTS_ALIAS,
    ARTICLES_ALIAS,
    BANDS_ALIAS,
    CLAIMS_ALIAS,
    DIGESTS_ALIAS,
    SILENCES_ALIAS,
    STORY_FIELDS,
    alerts_mappings,
    articles_mappings,
    search_mappings,
    templates,
)
from wirewatch.settings import IndexerSettings

log = logging.getLogger("wirewatch.indexer.es")


class Stopped(Exception):
    """Shutting down while a batch still waited for Elasticsearch: nothing was committed."""


class GaveUp(Exception):
    """Elasticsearch kept failing for ``max_retries`` attempts: nothing was committed."""


@dataclass
class ItemResult:
    status: int
    result: str  # created | updated | noop | rejected
    error: str | None = None


def client(settings: IndexerSettings) -> Elasticsearch:
    return Elasticsearch(
        settings.es.url,
        **settings.es.client_options(),
        max_retries=0,  # retries are ours: per item, with backoff, observable
        retry_on_timeout=False,
    )


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return text
    return str(error)


class Backoff:
    def __init__(
        self, initial: float, cap: float, stop: threading.Event, rng: random.Random | None = None
    ):
        self.initial, self.cap, self.stop = initial, cap, stop
        self.rng = rng or random.Random()
        self.attempt = 0

    def wait(self) -> None:
        """Sleep a full-jitter exponential delay; raise ``Stopped`` if asked to stop."""
        delay = self.rng.uniform(0, min(self.cap, self.initial * 2**self.attempt))
        self.attempt += 1
        if self.stop.wait(delay):
            raise Stopped()


class EsSink:
    def __init__(self, settings: IndexerSettings, es: Elasticsearch, stop: threading.Event):
        self.settings = settings
        self.es = es
        self.stop = stop
        self.articles = settings.namespace + ARTICLES_ALIAS
        self.alerts = settings.namespace + ALERTS_ALIAS
        self.silences = settings.namespace + SILENCES_ALIAS
        self.claims = settings.namespace + CLAIMS_ALIAS
        self.digests = settings.namespace + DIGESTS_ALIAS
        self.bands = settings.namespace + BANDS_ALIAS
        self._dirty = False

    # -- setup -------------------------------------------------------------------
    def install(self) -> list[str]:
        """Put the composable templates and create the first index behind each alias."""
        done = []
        ns = self.settings.namespace
        backfill = False
        for name, body in templates().items():
            body = dict(body)
            body["index_patterns"] = [ns + p for p in body["index_patterns"]]
            self._call(partial(self.es.indices.put_index_template, name=ns + name, **body))
            alias = ns + name
            if not self._call(partial(self.es.indices.exists_alias, name=alias)):
                # articles indexed before the bands index existed get their bands now
                backfill = backfill or name == BANDS_ALIAS
                index = f"{alias}-000001"
                try:
                    self._call(
                        partial(
                            self.es.indices.create,
                            index=index,
                            aliases={alias: {"is_write_index": True}},
                        )
                    )
                except ApiError as exc:
                    if exc.meta.status != 400 or "already_exists" not in str(exc):
                        raise
            elif name == ARTICLES_ALIAS:
                # An index created by an earlier template lacks the search and story
                # fields, and its strict mapping would refuse every new document: add
                # them (additive).
                props = articles_mappings()["properties"]
                added = {"search": search_mappings()} | {k: props[k] for k in STORY_FIELDS}
                self._call(partial(self.es.indices.put_mapping, index=alias, properties=added))
            elif name == ALERTS_ALIAS:
                props = alerts_mappings()["properties"]
                self._call(
                    partial(
                        self.es.indices.put_mapping,
                        index=alias,
                        properties={k: props[k] for k in (*ALERT_STORY_FIELDS, "delivery")},
                    )
                )
            done.append(alias)
        if backfill:
            self.backfill_bands()
        return done

    def backfill_bands(self) -> int:
        """Band documents for every indexed article (an index from before the bands
        index, once); returns the articles covered."""
        self.refresh_if_needed(force=True)
        rows = self.scan(self.articles, {"match_all": {}}, ["dup_bands"])
        for i in range(0, len(rows), 200):
            part = rows[i : i + 200]
            self.bulk(
                [
                    a
                    for doc_id, src in part
                    for a in band_actions(self, doc_id, src.get("dup_bands") or [])
                ]
            )
        if rows:
            log.info("near-duplicate bands written for %d article(s) indexed before", len(rows))
        return len(rows)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """A request retried on 429/5xx/transport errors with backoff (setup and lookups)."""
        backoff = Backoff(self.settings.backoff_initial, self.settings.backoff_max, self.stop)
        while True:
            try:
                return fn()
            except TransportError as exc:
                cause = "connection"
                err: Exception = exc
            except ApiError as exc:
                if exc.meta.status != 429 and exc.meta.status < 500:
                    raise
                cause = "429" if exc.meta.status == 429 else "5xx"
                err = exc
            metrics.INDEXER_RETRIES.labels(cause).inc()
            self._give_up_check(backoff, err)
            log.warning(
                "elasticsearch-retry cause=%s attempt=%d error=%s", cause, backoff.attempt + 1, err
            )
            backoff.wait()

    def _give_up_check(self, backoff: Backoff, err: Exception) -> None:
        if self.settings.max_retries and backoff.attempt + 1 >= self.settings.max_retries:
            raise GaveUp(f"Elasticsearch at {self.settings.es.url} kept failing: {err}")

    # -- writing -----------------------------------------------------------------
    def bulk(self, actions: list[tuple[str, str, str, dict[str, Any]]]) -> list[ItemResult]:
        """(op, index, id, doc) actions -> one final result per action, in order."""
        results: list[ItemResult | None] = [None] * len(actions)
        todo = list(range(len(actions)))
        backoff = Backoff(self.settings.backoff_initial, self.settings.backoff_max, self.stop)
        while todo:
            ops: list[dict[str, Any]] = []
            for i in todo:
                op, index, doc_id, doc = actions[i]
                if op == "script":  # an update with a script and an upsert: ``doc`` is its body
                    ops.append({"update": {"_index": index, "_id": doc_id}})
                    ops.append(doc)
                    continue
                ops.append({op: {"_index": index, "_id": doc_id}})
                ops.append(doc if op != "update" else {"doc": doc})
            metrics.INDEXER_BULK_SIZE.observe(len(todo))
            try:
                response = self.es.bulk(operations=ops)
            except TransportError as exc:
                metrics.INDEXER_RETRIES.labels("connection").inc(len(todo))
                self._give_up_check(backoff, exc)
                log.warning("bulk-retry cause=connection items=%d error=%s", len(todo), exc)
                backoff.wait()
                continue
            except ApiError as exc:
                status = exc.meta.status
                if status != 429 and status < 500:
                    raise
                cause = "429" if status == 429 else "5xx"
                metrics.INDEXER_RETRIES.labels(cause).inc(len(todo))
                self._give_up_check(backoff, exc)
                log.warning("bulk-retry cause=%s items=%d status=%d", cause, len(todo), status)
                backoff.wait()
                continue
            again = []
            causes: set[str] = set()
            for i, item in zip(todo, response["items"], strict=True):
                ((op, body),) = item.items()
                status = int(body.get("status", 500))
                if status < 300:
                    results[i] = ItemResult(status, body.get("result", "created"))
                elif status == 409 and actions[i][0] == "create":
                    results[i] = ItemResult(status, "exists")
                elif status == 429 or status >= 500:
                    again.append(i)
                    causes.add("429" if status == 429 else "5xx")
                else:
                    results[i] = ItemResult(status, "rejected", _reason(body.get("error")))
            if again:
                for cause in causes:
                    metrics.INDEXER_RETRIES.labels(cause).inc()
                self._give_up_check(backoff, RuntimeError(f"{len(again)} item(s) still failing"))
                log.warning("bulk-retry items=%d of %d", len(again), len(todo))
                backoff.wait()
            todo = again
        self._dirty = True
        return [r for r in results if r is not None]

    # -- reading -----------------------------------------------------------------
    def refresh_if_needed(self, force: bool = False) -> None:
        """Make what this process indexed searchable before a search (story lookups)."""
        if self._dirty or force:
            self._call(lambda: self.es.indices.refresh(index=self.articles))
            self._dirty = False

    def duplicate_candidates(self, keys: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
        """(id, source fields) of indexed articles sharing any of ``keys``: the band
        documents name them, the articles index gives their fingerprints - both real-time
        multi-gets, so what any replica indexed is seen at once, without a refresh."""
        keys = sorted(set(keys))
        if not keys:
            return []
        ids: set[str] = set()
        for doc in self.existing(self.bands, keys, ["ids"]).values():
            ids.update(doc.get("ids") or ())
        fields = ["dup_bands", "fingerprint", "near_duplicate_of", "indexed_at", "sources"]
        return sorted(self.existing(self.articles, sorted(ids), fields).items())

    def scan(
        self, index: str, query: dict[str, Any], fields: list[str], key: str | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """(id, the source ``fields``) of every document of ``index`` matching ``query``,
        paged in the order of the unique field ``key`` (default: the index's id field)."""
        out: list[tuple[str, dict[str, Any]]] = []
        after: list[Any] | None = None
        key = key or ("alert_id" if index == self.alerts else "id")
        while True:
            body: dict[str, Any] = {
                "query": query,
                "_source": fields,
                "size": 1000,
                "sort": [{key: "asc"}],
            }
            if after is not None:
                body["search_after"] = after
            resp = self._call(partial(self.es.search, index=index, **body))
            hits = resp["hits"]["hits"]
            out.extend((hit["_id"], hit["_source"]) for hit in hits)
            if len(hits) < 1000:
                return out
            after = hits[-1]["sort"]

    def refresh_alerts(self) -> None:
        self._call(lambda: self.es.indices.refresh(index=self.alerts))

    def existing_alerts(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return self.existing(self.alerts, ids)

    def existing(
        self, index: str, ids: list[str], fields: list[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The documents of ``index`` among ``ids`` (only ``fields`` of them, when given),
        by real-time multi-gets of at most 1,000 ids: no refresh needed."""
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 1000):
            resp = self._call(
                partial(self.es.mget, index=index, ids=ids[i : i + 1000], source=fields)
            )
            out.update((d["_id"], d["_source"]) for d in resp["docs"] if d.get("found"))
        return out

    def set_delivery(
        self, rule: str, article_id: str, target: str, status: str, attempts: int, error: str | None
    ) -> None:
        """``DeliveryLog``: record a webhook outcome on the alert document."""
        from datetime import UTC, datetime

        doc = {
            "delivery": {
                "state": status,
                "attempts": attempts,
                "error": error,
                "updated_at": datetime.now(UTC).isoformat(),
            }
        }
        self._call(lambda: self.es.update(index=self.alerts, id=f"{rule}:{article_id}", doc=doc))

    def pending_deliveries(self) -> list[tuple[str, str, str, dict]]:
        """``DeliveryLog``: (rule, article id, url, payload) of webhooks not yet delivered."""
        out = []
        for alert in self.pending_alerts():
            payload = {k: v for k, v in alert.items() if k != "delivery"}
            for url in alert.get("delivery", {}).get("targets") or []:
                out.append((alert["rule"], alert["article_id"], url, payload))
        return out

    def pending_alerts(self) -> list[dict[str, Any]]:
        self._call(lambda: self.es.indices.refresh(index=self.alerts))
        resp = self._call(
            lambda: self.es.search(
                index=self.alerts, query={"term": {"delivery.state": "pending"}}, size=1000
            )
        )
        return [h["_source"] for h in resp["hits"]["hits"]]


# appends the article to the band's list once; the list is capped, since a band shared
# by that many articles no longer tells them apart
BAND_SCRIPT = (
    "if (ctx._source.ids.contains(params.id) || ctx._source.ids.size() >= params.cap) "
    "{ ctx.op = 'noop' } else { ctx._source.ids.add(params.id) }"
)
BAND_CAP = 10_000


def band_actions(
    sink: EsSink, article_id: str, keys: Iterable[str]
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Bulk actions adding ``article_id`` to the band document of each key (idempotent:
    a batch redone after a crash adds nothing twice)."""
    return [
        (
            "script",
            sink.bands,
            key,
            {
                "script": {
                    "source": BAND_SCRIPT,
                    "lang": "painless",
                    "params": {"id": article_id, "cap": BAND_CAP},
                },
                "upsert": {"ids": [article_id]},
            },
        )
        for key in keys
    ]
