"""Every Prometheus metric of wirewatch, in one place, and the HTTP endpoint.

Names are ``wirewatch_<what>_<unit>``; labels are low-cardinality (stage, reason,
type, status, and the feed names of the feeds file, which is configuration) and
never carry an article id, a path or a URL.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_E2E_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

FILES_SEEN = Counter(
    "wirewatch_files_seen_total",
    "Complete new or changed files found in the inbox.",
    registry=REGISTRY,
)
FILES_REJECTED = Counter(
    "wirewatch_files_rejected_total",
    "Files refused, by reason (empty, binary, oversize, undecodable, not_language, unreadable, error).",
    ["reason"],
    registry=REGISTRY,
)
ARTICLES_PROCESSED = Counter(
    "wirewatch_articles_processed_total",
    "Articles that completed a stage (enrich, store).",
    ["stage"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "wirewatch_events_total",
    "Policy events found, by type and status.",
    ["type", "status"],
    registry=REGISTRY,
)
NEAR_DUPLICATES = Counter(
    "wirewatch_near_duplicates_total",
    "Articles found to be a near-duplicate of an earlier one.",
    registry=REGISTRY,
)
STORIES = Counter(
    "wirewatch_stories_total",
    "Stories begun: articles that report no event already in a story.",
    registry=REGISTRY,
)
ALERT_UPDATES = Counter(
    "wirewatch_alert_updates_total",
    "Updates of an alert: later articles of its story (one per rule, story and batch).",
    registry=REGISTRY,
)
ALERTS_MUTED = Counter(
    "wirewatch_alerts_muted_total",
    "Rule firings a silence muted (not recorded, not sent).",
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "wirewatch_stage_seconds",
    "Time spent per article in a stage (read, enrich, store).",
    ["stage"],
    buckets=_STAGE_BUCKETS,
    registry=REGISTRY,
)
END_TO_END_SECONDS = Histogram(
    "wirewatch_end_to_end_seconds",
    "From the file being found complete to the article being stored (embedded) or indexed.",
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
WATCHER_BACKLOG = Gauge(
    "wirewatch_watcher_backlog", "Files found but not yet processed.", registry=REGISTRY
)
FILES_CHANGED_WHILE_READ = Counter(
    "wirewatch_files_changed_while_read_total",
    "Files that changed while being read: not processed/published then, picked up again "
    "once they settle.",
    registry=REGISTRY,
)
WATCHER_SETTLING = Gauge(
    "wirewatch_watcher_settling_files",
    "Files still being written (waiting to settle).",
    registry=REGISTRY,
)


ALERTS_FIRED = Counter(
    "wirewatch_alerts_fired_total",
    "Alerts fired, by rule outcome (one per rule and article).",
    registry=REGISTRY,
)
ALERTS_DELIVERED = Counter(
    "wirewatch_alerts_delivered_total",
    "Alert deliveries that succeeded, by channel.",
    ["channel"],
    registry=REGISTRY,
)
ALERTS_FAILED = Counter(
    "wirewatch_alerts_failed_total",
    "Alert deliveries that failed after all retries, by channel.",
    ["channel"],
    registry=REGISTRY,
)

# Per declared channel (``channel`` is its name in the channels file, ``webhook`` for a
# rule's own webhook URL); ``type`` is slack, teams, email or webhook; ``kind`` is
# alert or digest. Names only: URLs and addresses never become labels.
CHANNEL_SENT = Counter(
    "wirewatch_channel_messages_sent_total",
    "Messages a channel accepted (2xx, or the SMTP server took the mail).",
    ["type", "channel", "kind"],
    registry=REGISTRY,
)
CHANNEL_FAILED = Counter(
    "wirewatch_channel_messages_failed_total",
    "Messages given up after all attempts (a digest is tried again later), by reason.",
    ["type", "channel", "reason"],
    registry=REGISTRY,
)
CHANNEL_RETRIED = Counter(
    "wirewatch_channel_retries_total",
    "Attempts that failed and were tried again.",
    ["type", "channel"],
    registry=REGISTRY,
)
CHANNEL_SEND_SECONDS = Histogram(
    "wirewatch_channel_send_seconds",
    "Time to send one message, retries and their backoff included.",
    ["type", "channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
CHANNEL_FAILURE_REASONS = (
    "timeout", "connection", "http_4xx", "http_5xx", "smtp_refused", "tls", "refused", "error",
)  # fmt: skip
DIGESTS_OPENED = Counter(
    "wirewatch_digests_total",
    "Digests made from the alerts of a period (sent, or waiting to be retried).",
    ["channel"],
    registry=REGISTRY,
)


# -- feeds ------------------------------------------------------------------------------
FEED_POLLS = Counter(
    "wirewatch_feed_polls_total",
    "Feed polls (HTTP requests), by feed name.",
    ["feed"],
    registry=REGISTRY,
)
FEED_NOT_MODIFIED = Counter(
    "wirewatch_feed_not_modified_total",
    "Feed polls answered 304 Not Modified (nothing fetched or parsed), by feed name.",
    ["feed"],
    registry=REGISTRY,
)
FEED_ERRORS = Counter(
    "wirewatch_feed_errors_total",
    "Feed polls that failed, by feed name and reason "
    "(timeout, connection, http_4xx, http_5xx, too_large, parse, error).",
    ["feed", "reason"],
    registry=REGISTRY,
)
FEED_ITEMS = Counter(
    "wirewatch_feed_items_total",
    "New feed items handed to the pipeline (not seen before), by feed name.",
    ["feed"],
    registry=REGISTRY,
)
FEED_LAST_SUCCESS = Gauge(
    "wirewatch_feed_last_success_timestamp_seconds",
    "Unix time of the feed's last successful poll (200 or 304), by feed name.",
    ["feed"],
    registry=REGISTRY,
)
FEED_REASONS = ("timeout", "connection", "http_4xx", "http_5xx", "too_large", "parse", "error")


def init_feed_series(feeds: list[str]) -> None:
    """The feeds' counters at zero, so that the first poll, error or item is an increase."""
    for feed in feeds:
        FEED_POLLS.labels(feed)
        FEED_NOT_MODIFIED.labels(feed)
        FEED_ITEMS.labels(feed)
        for reason in FEED_REASONS:
            FEED_ERRORS.labels(feed, reason)


# -- distributed mode ----------------------------------------------------------------
_BULK_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
_LAG_SECONDS_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

FILES_PUBLISHED = Counter(
    "wirewatch_files_published_total",
    "Files published to the raw topic (acknowledged by every in-sync replica).",
    registry=REGISTRY,
)
PUBLISH_ERRORS = Counter(
    "wirewatch_publish_errors_total",
    "Produce requests that failed after the client's retries, by topic.",
    ["topic"],
    registry=REGISTRY,
)
DLQ_MESSAGES = Counter(
    "wirewatch_dlq_messages_total",
    "Messages sent to a dead-letter topic, by stage (watcher, worker, indexer) and reason code.",
    ["stage", "reason"],
    registry=REGISTRY,
)
MESSAGES_CONSUMED = Counter(
    "wirewatch_messages_consumed_total",
    "Messages read from a topic by a consumer stage.",
    ["stage", "topic"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "wirewatch_consumer_lag_messages",
    "Messages on the topic not yet processed by this consumer (high-water mark minus position).",
    ["stage", "topic"],
    registry=REGISTRY,
)
CONSUMER_LAG_SECONDS = Gauge(
    "wirewatch_consumer_lag_seconds",
    "Age of the newest processed message while the consumer is behind (0 when caught up).",
    ["stage", "topic"],
    registry=REGISTRY,
)
INDEXER_BULK_SIZE = Histogram(
    "wirewatch_indexer_bulk_size",
    "Documents per bulk request sent to Elasticsearch.",
    buckets=_BULK_BUCKETS,
    registry=REGISTRY,
)
INDEXER_ITEMS = Counter(
    "wirewatch_indexer_items_total",
    "Bulk items by outcome (created, updated, rejected).",
    ["result"],
    registry=REGISTRY,
)
INDEXER_RETRIES = Counter(
    "wirewatch_indexer_retries_total",
    "Bulk items or requests retried, by cause (429, 5xx, connection).",
    ["cause"],
    registry=REGISTRY,
)
INDEXER_BANDS_REJECTED = Counter(
    "wirewatch_indexer_bands_rejected_total",
    "Near-duplicate band updates Elasticsearch refused (the article is indexed; later "
    "near-duplicates of it may go unnoticed).",
    registry=REGISTRY,
)
INDEXER_BULK_SECONDS = Histogram(
    "wirewatch_indexer_bulk_seconds",
    "Time from a batch being read to Elasticsearch acknowledging all of it.",
    buckets=_STAGE_BUCKETS[4:] + (5.0, 10.0, 30.0),
    registry=REGISTRY,
)
INDEXER_LAST_SUCCESS = Gauge(
    "wirewatch_indexer_last_success_timestamp_seconds",
    "Unix time of the last batch Elasticsearch fully acknowledged.",
    registry=REGISTRY,
)
LAST_INGEST = Gauge(
    "wirewatch_last_ingest_timestamp_seconds",
    "Unix time an article last completed the final stage (stored or indexed).",
    registry=REGISTRY,
)
UP = Gauge(
    "wirewatch_service_info",
    "Always 1; the service label says which wirewatch service this process runs.",
    ["service"],
    registry=REGISTRY,
)

CAPS_HIT = Counter(
    "wirewatch_caps_hit_total",
    "Times a resource cap was hit, by cap: article_bytes (file/feed item too large), "
    "events_per_article, evidence_chars, alert_rate (alerts recorded but not notified), "
    "webhook_response_bytes, webhook_redirect (redirect to another host refused).",
    ["cap"],
    registry=REGISTRY,
)
CAPS = (
    "article_bytes",
    "events_per_article",
    "evidence_chars",
    "alert_rate",
    "webhook_response_bytes",
    "webhook_redirect",
)


def count_rejected(code: str) -> None:
    """A file/message rejected with ``code``; an oversize one also counts as a cap hit."""
    FILES_REJECTED.labels(code).inc()
    if code == "oversize":
        CAPS_HIT.labels("article_bytes").inc()


def count_caps(caps: Iterable[str]) -> None:
    for cap in caps:
        CAPS_HIT.labels(cap).inc()


REASONS = ("empty", "binary", "oversize", "undecodable", "not_language", "unreadable", "error")


def init_series(service: str, topics: tuple[str, ...] = ()) -> None:
    """Create the labelled series a service can emit, at zero.

    ``increase()`` cannot see the first increment of a series that appears at 1, so
    an alert on "webhook deliveries failing" would miss the first failure.
    """
    UP.labels(service).set(1)
    for cap in CAPS:
        CAPS_HIT.labels(cap)
    ALERTS_FAILED.labels("webhook")
    ALERTS_DELIVERED.labels("webhook")
    for topic in topics:
        PUBLISH_ERRORS.labels(topic)
    stage_reasons = {
        "watcher": ("oversize", "unreadable"),
        "worker": (*REASONS, "invalid_message"),
        "indexer": ("invalid_message", "mapping_rejected"),
    }
    for reason in stage_reasons.get(service, ()):
        DLQ_MESSAGES.labels(service, reason)
    if service in ("watcher", "worker", "run"):
        for reason in REASONS:
            FILES_REJECTED.labels(reason)
    if service == "indexer":
        for cause in ("429", "5xx", "connection"):
            INDEXER_RETRIES.labels(cause)
        for result in ("created", "updated", "rejected"):
            INDEXER_ITEMS.labels(result)


class _Handler(BaseHTTPRequestHandler):
    ready: Callable[[], bool] = staticmethod(lambda: True)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, ctype, code = generate_latest(REGISTRY), CONTENT_TYPE_LATEST, 200
        elif path == "/healthz":
            body, ctype, code = b"ok\n", "text/plain", 200
        elif path == "/readyz":
            ok = self.ready()
            body, ctype, code = (
                (b"ready\n" if ok else b"not ready\n"),
                "text/plain",
                200 if ok else 503,
            )
        else:
            body, ctype, code = b"not found: try /metrics, /healthz, /readyz\n", "text/plain", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # silence per-request lines
        return


BIND_RETRY_SECONDS = 30.0


def serve(
    host: str,
    port: int,
    ready: Callable[[], bool],
    retry_seconds: float = BIND_RETRY_SECONDS,
) -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /readyz on (host, port) in a daemon thread.

    A port still taken (a previous instance of the service is still stopping) is
    retried for ``retry_seconds``, with a log line, before the error is raised.
    """
    handler = type("Handler", (_Handler,), {"ready": staticmethod(ready)})
    deadline = time.monotonic() + retry_seconds
    warned = False
    while True:
        try:
            server = ThreadingHTTPServer((host, port), handler)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise
            if not warned:
                logging.getLogger("wirewatch.metrics").warning(
                    "metrics port %s:%s is in use; retrying for up to %.0f s",
                    host,
                    port,
                    retry_seconds,
                )
                warned = True
            time.sleep(0.5)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
