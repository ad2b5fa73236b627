"""Alert delivery off the ingestion path: a background thread posts webhooks.

Each (rule, article, webhook) delivery is stored as ``pending`` in the same
transaction that records the alert, then posted with a timeout and retried with
exponential backoff; the outcome (``delivered`` / ``failed`` with the error) is
stored and visible in ``wirewatch alerts``. Pending deliveries left by a stopped
run are sent on the next start. Ingestion never waits for a webhook.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from typing import Protocol

from wirewatch import metrics

log = logging.getLogger("wirewatch.alerts")


class DeliveryLog(Protocol):
    """Where webhook deliveries are recorded: the SQLite store, or the alerts index."""

    def pending_deliveries(self) -> list[tuple[str, str, str, dict]]: ...

    def set_delivery(
        self, rule: str, article_id: str, target: str, status: str, attempts: int, error: str | None
    ) -> None: ...


class WebhookNotifier:
    def __init__(
        self,
        store: DeliveryLog,
        timeout: float = 5.0,
        attempts: int = 4,
        backoff: float = 0.5,
    ):
        self.store = store
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._queue: queue.Queue[tuple[str, str, str, dict] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        for item in self.store.pending_deliveries():
            self._queue.put(item)
        self._thread.start()

    def submit(self, rule: str, article_id: str, url: str, payload: dict) -> None:
        self._queue.put((rule, article_id, url, payload))

    def close(self, drain_seconds: float = 10.0) -> None:
        """Stop after delivering what is queued (or after ``drain_seconds``)."""
        self._queue.put(None)
        self._thread.join(timeout=drain_seconds)
        self._stop.set()
        self._thread.join(timeout=self.timeout + 1)

    def _post(self, url: str, body: bytes) -> None:
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "wirewatch-alerts"},
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only, validated
            resp.read(65536)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            rule, article_id, url, payload = item
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            error = None
            for attempt in range(1, self.attempts + 1):
                try:
                    self._post(url, body)
                    self.store.set_delivery(rule, article_id, url, "delivered", attempt, None)
                    metrics.ALERTS_DELIVERED.labels("webhook").inc()
                    log.info(
                        "delivered rule=%s article=%s to %s (attempt %d)",
                        rule,
                        article_id,
                        url,
                        attempt,
                    )
                    error = None
                    break
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    if attempt < self.attempts and self._stop.wait(
                        self.backoff * 2 ** (attempt - 1)
                    ):
                        break
            if error is not None:
                self.store.set_delivery(rule, article_id, url, "failed", attempt, error[:500])
                metrics.ALERTS_FAILED.labels("webhook").inc()
                log.warning(
                    "delivery failed rule=%s article=%s to %s: %s", rule, article_id, url, error
                )
