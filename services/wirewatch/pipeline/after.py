"""After enrichment: near-duplicates, alerts, rate limits and their metrics.

One implementation for both runners. The embedded runner calls it inside the SQLite
transaction of a batch; the distributed indexer around its bulk request. Per batch:

1. ``link_duplicates``: an article stored before keeps its first verdict; a new one is
   compared with the stored articles sharing a MinHash band and with the batch's
   earlier articles (one lookup per batch);
   ``assign_stories``: every article gets a ``story_id`` - the story of the article
   it near-duplicates, else of the stored or earlier article reporting the same event
   (``wirewatch.core.stories``), else its own (one lookup per batch);
2. the caller stores the articles (SQLite rows, or an Elasticsearch bulk request);
3. ``fire``: every rule is matched on every stored article (its query, trend or
   first-seen condition included, silences honoured); the first firing of a rule on
   a story is an alert, later articles of the story make one update per batch ("+2
   sources, now also in sv"); the ledger records each (rule, article) once - a
   near-duplicate does not fire a rule again - and the rate limit decides which new
   alerts and updates may notify; log lines and webhook deliveries come back to the
   caller, to be emitted after its commit;
4. ``held_lines``: one summary line per rule that was over its limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wirewatch import metrics, search
from wirewatch.core import alerts, fingerprint, stories
from wirewatch.core.logic import MemoryDuplicateIndex, near_duplicate_of, register
from wirewatch.core.models import EnrichedArticle
from wirewatch.core.ratelimit import RuleRateLimit
from wirewatch.pipeline import conditions
from wirewatch.pipeline.ports import (
    AlertLedger,
    ArticleState,
    Clock,
    Firing,
    History,
    Prior,
    Silence,
    Silences,
    StoryIndex,
    SystemClock,
)

HELD = "held back: the rule fired more alerts than its per-minute limit"

LogLine = tuple[int, str, tuple[Any, ...]]
Delivery = tuple[str, str, str, dict[str, Any]]  # rule, article id, webhook URL, body


# At most this many look-ups of story candidates per batch (of up to 256 articles): each
# is a round trip to Elasticsearch in the distributed mode. Beyond it the groups closest
# in time merge.
MAX_WINDOWS = 32


def windows(
    members: Sequence[stories.Member], window: timedelta, most: int = MAX_WINDOWS
) -> list[tuple[list[str], datetime, datetime]]:
    """(keys, since, until) per group of ``members`` whose spans, widened by ``window``,
    overlap: what to look up for them, in order of time; at most ``most`` groups (the
    two with the shortest gap between them merge first). Members without keys ask for
    nothing."""
    groups: list[tuple[set[str], datetime, datetime]] = []
    for m in sorted((m for m in members if m.keys), key=lambda m: m.lo):
        since, until = m.lo - window, m.hi + window
        if groups and since <= groups[-1][2]:
            keys, first, last = groups[-1]
            groups[-1] = (keys | m.keys, first, max(last, until))
        else:
            groups.append((set(m.keys), since, until))
    while len(groups) > max(1, most):
        i = min(range(len(groups) - 1), key=lambda n: groups[n + 1][1] - groups[n][2])
        (a, first, _), (b, _, last) = groups[i], groups[i + 1]
        groups[i : i + 2] = [(a | b, first, last)]
    return [(sorted(keys), since, until) for keys, since, until in groups]


@dataclass
class Fired:
    """What ``fire`` decided for one batch."""

    alerts: list[Firing] = field(default_factory=list)  # recorded now (or resent)
    deliveries: list[Delivery] = field(default_factory=list)  # to hand to the notifier
    lines: list[LogLine] = field(default_factory=list)  # to log after the commit
    updates: list[Firing] = field(default_factory=list)  # of these, the story updates
    muted: int = 0  # firings a silence muted


class AfterEnrichment:
    def __init__(
        self,
        rules: Sequence[alerts.AlertRule],
        duplicate_threshold: float,
        max_alerts_per_rule_per_minute: int,
        clock: Clock | None = None,
        story_window: timedelta = stories.WINDOW,
    ) -> None:
        self.rules = list(rules)
        self.duplicate_threshold = duplicate_threshold
        self.clock: Clock = clock or SystemClock()
        self.rate_limit = RuleRateLimit(max_alerts_per_rule_per_minute)
        self.story_window = story_window
        self.queries = {r.name: search.parse(r.query) for r in self.rules if r.query is not None}

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

    def assign_stories(self, articles: Sequence[EnrichedArticle], index: StoryIndex) -> None:
        """Set ``story_id`` on every article (after ``link_duplicates``): an article
        stored before keeps its story; candidates are looked up once per batch, per group
        of articles close in time (``windows``)."""
        if not articles:
            return
        now = self.clock.now()
        ids = {a.id for a in articles} | {
            a.near_duplicate_of for a in articles if a.near_duplicate_of
        }
        known = index.stories_of(sorted(ids))
        fresh = {a.id: stories.member(a, now) for a in articles if a.id not in known}
        # a near-duplicate joins the story of what it repeats (stored, or earlier in this
        # batch): it needs no candidates, and copies of one text are the commonest case
        batch = {a.id for a in articles}
        searching = [
            m
            for a in articles
            if (m := fresh.get(a.id)) is not None
            and not (
                a.near_duplicate_of
                and (a.near_duplicate_of in known or a.near_duplicate_of in batch)
            )
        ]
        # one look-up per group of articles whose windows overlap, with that group's
        # keys: one article dated years back no longer widens the window of the whole
        # batch (which then brought every stored article sharing a key with any of it)
        found: dict[str, stories.Member] = {}
        for keys, since, until in windows(searching, self.story_window):
            for c in index.members(keys, since, until):
                found.setdefault(c.article_id, c)
        # candidates by key: an article is compared only with those sharing a key with it
        # (a popular key brings thousands of candidates to a batch of a large store; every
        # article scanned them all). ``stories.assign`` does not depend on their order.
        by_key: dict[str, list[stories.Member]] = {}

        def file_under_keys(member: stories.Member) -> None:
            for key in member.keys:
                by_key.setdefault(key, []).append(member)

        for c in found.values():
            file_under_keys(c)
        for article in articles:
            if article.id in known:
                article.story_id = known[article.id]
                continue
            dup = article.near_duplicate_of
            m = fresh[article.id]
            sharing = {id(c): c for key in m.keys for c in by_key.get(key, ())}
            article.story_id = stories.assign(
                m,
                sharing.values(),
                known.get(dup) if dup else None,
                self.story_window,
            )
            if article.story_id == article.id:
                metrics.STORIES.inc()
            known[article.id] = article.story_id
            file_under_keys(stories.member(article, now, article.story_id))

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
        history: History | None = None,
        silences: Sequence[Silence] | Silences = (),
        moments: dict[str, datetime] | None = None,
    ) -> Fired:
        """Match, record once, rate-limit; ``on_recorded`` sees every alert and update
        that is new or resent (the distributed mode publishes it to the alerts topic).

        ``history`` answers trend and first-seen rules (without it they do not fire);
        ``silences`` are the silences, or the ``Silences`` port to read them from once
        per batch (SQLite or Elasticsearch: this step does not know which);
        ``moments`` (a backtest) gives each article's time instead of now and counts
        first sightings only before it."""
        out = Fired()
        if not self.rules or not articles:
            return out
        now = self.clock.now()
        fired_at = now.isoformat()
        if not isinstance(silences, Sequence):
            silences = silences.silences(now)
        firings: list[Firing] = []
        for article in articles:
            at = (moments or {}).get(article.id) or stories.moment(article.published, now)
            for rule in self.rules:
                matched = alerts.match(rule, article)
                if not matched:
                    continue
                query = self.queries.get(rule.name)
                if query is not None and not conditions.query_matches(query, article):
                    continue
                if silences and conditions.silenced(rule, article, matched, silences, now):
                    out.muted += 1
                    metrics.ALERTS_MUTED.inc()
                    continue
                group = conditions.group(rule, article, matched, history, at, moments is None)
                if group is None:
                    continue
                body = alerts.payload(rule, article, matched)
                body.update(fired_at=fired_at, kind="alert", story_id=group)
                hooks = [n.webhook for n in rule.notify if n.webhook]
                firings.append(Firing(rule, article, body, hooks, group, at=at))
        if not firings:
            return out
        self._episodes(firings, ledger)
        self._updates(firings, ledger)
        outcomes = ledger.record(firings)
        for firing, outcome in zip(firings, outcomes, strict=True):
            if outcome == "done" or (outcome == "new" and not firing.message):
                continue
            if outcome == "republish":  # the alerts topic only: everything else was done
                if on_recorded is not None:
                    on_recorded(firing)
                continue
            update = firing.body.get("kind") == "update"
            if outcome == "new":
                (metrics.ALERT_UPDATES if update else metrics.ALERTS_FIRED).inc()
            out.alerts.append(firing)
            if update:
                out.updates.append(firing)
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
                    out.lines.append(self._line(firing))
                    metrics.ALERTS_DELIVERED.labels("log").inc()
                if target.webhook:
                    out.deliveries.append(
                        (firing.rule.name, firing.article.id, target.webhook, firing.body)
                    )
        return out

    @staticmethod
    def _line(firing: Firing) -> LogLine:
        body = firing.body
        if body.get("kind") == "update":
            return (
                logging.WARNING,
                "ALERT-UPDATE rule=%s story=%s %s articles=%s title=%s",
                (
                    firing.rule.name,
                    body.get("story_id"),
                    body.get("update"),
                    ",".join(body.get("story_articles") or [firing.article.id]),
                    firing.article.title,
                ),
            )
        kinds = ",".join(f"{e['type']}:{e['status']}" for e in body["events"])
        return (
            logging.WARNING,
            "ALERT rule=%s article=%s events=%s title=%s",
            (firing.rule.name, firing.article.id, kinds, firing.article.title),
        )

    @staticmethod
    def _episodes(firings: list[Firing], ledger: AlertLedger) -> None:
        """Place each trend firing (group ``kind:target``) in an episode of its target:
        the one recorded (or opened by an earlier firing of this batch) whose start is
        less than the rule's window away, else a new one starting at its moment."""
        trend = [
            f
            for f in firings
            if f.group is not None and f.at is not None and conditions.trend_window(f.rule)
        ]
        if not trend:
            return
        keys = sorted({(f.rule.name, f.group) for f in trend if f.group is not None})
        recorded = ledger.episodes(keys)
        starts: dict[tuple[str, str], list[datetime]] = {}
        for key in keys:
            found = (conditions.episode_start(key[1], g) for g in recorded.get(key, ()))
            starts[key] = [s for s in found if s is not None]
        for f in sorted(trend, key=lambda f: (f.at, f.article.id)):
            assert f.group is not None and f.at is not None
            within = conditions.trend_window(f.rule)
            assert within is not None
            known = starts[(f.rule.name, f.group)]
            start = conditions.episode(known, f.at, within)
            if start is None:
                start = f.at
                known.append(start)
            f.group = conditions.episode_key(f.group, start)
            f.body["story_id"] = f.group

    @staticmethod
    def _updates(firings: list[Firing], ledger: AlertLedger) -> None:
        """Per (rule, group): the first firing ever is the alert - claimed in the
        ledger, so of two writers racing only one raises it; the batch's later articles
        (and a lost claim's) join it silently but for one update, carried by the last
        of them, that says what they add. Near-duplicates of what the group holds add
        nothing."""
        keys = sorted({(f.rule.name, f.group) for f in firings if f.group is not None})
        before = ledger.groups(keys)
        pending: dict[tuple[str, str], list[Firing]] = {}
        for f in firings:
            if f.group is None:
                continue
            key = (f.rule.name, f.group)
            prior = before.get(key)
            if prior is not None and f.article.id in prior.article_ids:
                continue  # recorded before: the ledger says whether to resend
            pending.setdefault(key, []).append(f)
        # another replica may be raising the first alert of the same group right now:
        # whoever claims it first alerts, the others update it
        lost = ledger.claim([g[0] for key, g in pending.items() if key not in before])
        before = {**before, **lost}
        for key, group in pending.items():
            prior = before.get(key)
            if prior is None:
                first, rest = group[0], group[1:]
                held = {first.article.id}
                languages = {first.article.language}
            else:
                rest = group
                held = set(prior.article_ids)
                languages = set(prior.languages)
            news = []
            for f in rest:
                f.body["kind"] = "update"
                f.message, f.webhooks = False, []
                if f.article.near_duplicate_of not in held:
                    news.append(f)
                held.add(f.article.id)
            if news:
                carrier = news[-1]
                carrier.message = True
                carrier.webhooks = [n.webhook for n in carrier.rule.notify if n.webhook]
                carrier.body["update"] = stories.update_note(
                    len(news), [f.article.language for f in news], languages
                )
                carrier.body["story_articles"] = [f.article.id for f in news]

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
