"""After enrichment: near-duplicates, alerts, rate limits and their metrics.

One implementation for both runners. The embedded runner calls it inside the SQLite
transaction of a batch; the distributed indexer around its bulk request. Per batch:

1. ``link_duplicates``: an article stored before keeps its first verdict; a new one is
   compared with the stored articles sharing a MinHash band and with the batch's
   earlier articles (one lookup per batch);
2. the caller stores the articles (SQLite rows, or an Elasticsearch bulk request);
3. ``fire``: every rule is matched on every stored article; the ledger records each
   (rule, article) once - a near-duplicate does not fire a rule again - and the rate
   limit decides which new alerts may notify; log lines and webhook deliveries come
   back to the caller, to be emitted after its commit;
4. ``held_lines``: one summary line per rule that was over its limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wirewatch import metrics
from wirewatch.core import alerts, fingerprint
from wirewatch.core.logic import MemoryDuplicateIndex, near_duplicate_of, register
from wirewatch.core.models import EnrichedArticle
from wirewatch.core.ratelimit import RuleRateLimit
from wirewatch.pipeline.ports import AlertLedger, ArticleState, Clock, Firing, Prior, SystemClock

HELD = "held back: the rule fired more alerts than its per-minute limit"

LogLine = tuple[int, str, tuple[Any, ...]]
Delivery = tuple[str, str, str, dict[str, Any]]  # rule, article id, webhook URL, body


@dataclass
class Fired:
    """What ``fire`` decided for one batch."""

    alerts: list[Firing] = field(default_factory=list)  # recorded now (or resent)
    deliveries: list[Delivery] = field(default_factory=list)  # to hand to the notifier
    lines: list[LogLine] = field(default_factory=list)  # to log after the commit


class AfterEnrichment:
    def __init__(
        self,
        rules: Sequence[alerts.AlertRule],
        duplicate_threshold: float,
        max_alerts_per_rule_per_minute: int,
        clock: Clock | None = None,
    ) -> None:
        self.rules = list(rules)
        self.duplicate_threshold = duplicate_threshold
        self.clock: Clock = clock or SystemClock()
        self.rate_limit = RuleRateLimit(max_alerts_per_rule_per_minute)

    # -- 1. near-duplicates ----------------------------------------------------
    def link_duplicates(
        self, articles: Sequence[EnrichedArticle], state: ArticleState
    ) -> dict[str, Prior]:
        """Set ``near_duplicate_of`` on every article; returns the ones stored before."""
        if not articles:
            return {}
        keys = sorted({k for a in articles for k in fingerprint.band_keys(a.fingerprint)})
        index = MemoryDuplicateIndex()
        for article_id, signature in state.candidates(keys):
            index.add(article_id, fingerprint.band_keys(signature), signature)
        prior = state.prior(sorted({a.id for a in articles}))
        for article in articles:
            before = prior.get(article.id)
            if before is not None:
                article.near_duplicate_of = before.near_duplicate_of
            else:
                article.near_duplicate_of = near_duplicate_of(
                    article, index, self.duplicate_threshold
                )
                if article.near_duplicate_of:
                    metrics.NEAR_DUPLICATES.inc()
            register(article, index)
        return prior

    # -- 2. what was stored ------------------------------------------------------
    @staticmethod
    def count_stored(article: EnrichedArticle, new: bool, stage: str = "store") -> None:
        """Metrics for an article the caller has stored (events count once per article)."""
        metrics.ARTICLES_PROCESSED.labels(stage).inc()
        if new:
            for event in article.events:
                metrics.EVENTS.labels(event.type, event.status).inc()

    # -- 3. alerts ---------------------------------------------------------------
    def fire(
        self,
        articles: Sequence[EnrichedArticle],
        ledger: AlertLedger,
        on_recorded: Callable[[Firing], None] | None = None,
    ) -> Fired:
        """Match, record once, rate-limit; ``on_recorded`` sees every alert that is new
        or resent (the distributed mode publishes it to the alerts topic)."""
        out = Fired()
        if not self.rules or not articles:
            return out
        fired_at = self.clock.now().isoformat()
        firings: list[Firing] = []
        for article in articles:
            for rule in self.rules:
                matched = alerts.match(rule, article)
                if not matched:
                    continue
                body = alerts.payload(rule, article, matched)
                body["fired_at"] = fired_at
                hooks = [n.webhook for n in rule.notify if n.webhook]
                firings.append(Firing(rule, article, body, hooks))
        if not firings:
            return out
        outcomes = ledger.record(firings)
        for firing, outcome in zip(firings, outcomes, strict=True):
            if outcome == "done":
                continue
            if outcome == "new":
                metrics.ALERTS_FIRED.inc()
            out.alerts.append(firing)
            if on_recorded is not None:
                on_recorded(firing)
            # a resent alert was counted against the limit when it first fired
            if outcome == "new" and not self.rate_limit.allow(
                firing.rule.name, self.clock.monotonic()
            ):
                metrics.CAPS_HIT.labels("alert_rate").inc()
                for url in firing.webhooks:
                    ledger.hold(firing, url, HELD)
                continue
            for target in firing.rule.notify:
                if target.log:
                    kinds = ",".join(f"{e['type']}:{e['status']}" for e in firing.body["events"])
                    out.lines.append(
                        (
                            logging.WARNING,
                            "ALERT rule=%s article=%s events=%s title=%s",
                            (firing.rule.name, firing.article.id, kinds, firing.article.title),
                        )
                    )
                    metrics.ALERTS_DELIVERED.labels("log").inc()
                if target.webhook:
                    out.deliveries.append(
                        (firing.rule.name, firing.article.id, target.webhook, firing.body)
                    )
        return out

    # -- 4. rate-limit summary ---------------------------------------------------
    def held_lines(self) -> list[LogLine]:
        return [
            (
                logging.WARNING,
                "rule=%s fired %d more alert(s) than its limit of %d a minute: recorded, "
                "not notified (see `wirewatch alerts`; "
                "WIREWATCH_CAPS__MAX_ALERTS_PER_RULE_PER_MINUTE)",
                (rule_name, held, self.rate_limit.limit),
            )
            for rule_name, held in self.rate_limit.take_held().items()
        ]
