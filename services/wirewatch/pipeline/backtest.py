"""Backtest: what rules would have fired on stored articles, sending and recording nothing.

``replay(rules, articles, history, duplicate_threshold)`` runs the after-enrichment step
(``AfterEnrichment.fire``: the same matching, queries, trends, first sightings, one
alert per (rule, story) and updates) over ``articles`` in the order of their moments,
one at a time, with an in-memory ledger; the trend and first-seen rules ask ``history``
(the store, read only) about what came before each article's moment. It returns one
``Would`` per alert or update.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from wirewatch.core.alerts import AlertRule
from wirewatch.core.models import EnrichedArticle
from wirewatch.pipeline.after import AfterEnrichment
from wirewatch.pipeline.ports import Firing, Group, History, Outcome


@dataclass(frozen=True)
class Would:
    """An alert (or a story update) a rule would have raised."""

    day: date
    rule: str
    kind: str  # alert or update
    article_id: str
    story_id: str
    title: str | None
    note: str | None = None


class ReplayLedger:
    """``AlertLedger`` in memory: each (rule, article) once, never a resend."""

    def __init__(self) -> None:
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}

    def record(self, firings: Sequence[Firing]) -> list[Outcome]:
        out: list[Outcome] = []
        for f in firings:
            key = (f.rule.name, f.article.id)
            dup = f.article.near_duplicate_of
            if key in self.alerts or (dup and (f.rule.name, dup) in self.alerts):
                out.append("done")
                continue
            self.alerts[key] = f.body
            out.append("new")
        return out

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        return None

    def groups(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Group]:
        wanted = set(keys)
        found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        for (rule, aid), body in self.alerts.items():
            key = (rule, str(body.get("story_id") or aid))
            if key in wanted:
                ids, langs = found.setdefault(key, (set(), set()))
                ids.add(aid)
                langs.add(str(body.get("language")))
        return {k: Group(frozenset(i), frozenset(lang)) for k, (i, lang) in found.items()}

    def claim(self, firsts: Sequence[Firing]) -> dict[tuple[str, str], Group]:
        return {}  # the only writer

    def episodes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for (rule, _aid), body in self.alerts.items():
            group = str(body.get("story_id") or "")
            for r, base in keys:
                if r == rule and group.startswith(base + ":"):
                    out.setdefault((r, base), set()).add(group)
        return out


class _ReplayClock:
    def __init__(self) -> None:
        self.at = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def replay(
    rules: Sequence[AlertRule],
    articles: Iterable[tuple[EnrichedArticle, datetime]],
    history: History,
    duplicate_threshold: float,
) -> list[Would]:
    """What ``rules`` would have raised on ``articles`` ((article, moment), oldest
    first); nothing is sent or recorded anywhere."""
    clock = _ReplayClock()
    # no rate limit: a backtest shows everything the rules would raise
    after = AfterEnrichment(rules, duplicate_threshold, 1 << 30, clock)
    ledger = ReplayLedger()
    out: list[Would] = []
    for article, at in articles:
        clock.at = at
        fired = after.fire([article], ledger, history=history, moments={article.id: at})
        for f in fired.alerts:
            out.append(
                Would(
                    at.date(),
                    f.rule.name,
                    str(f.body.get("kind", "alert")),
                    f.article.id,
                    str(f.body.get("story_id") or f.article.id),
                    f.article.title,
                    f.body.get("update"),
                )
            )
    return out


def per_rule_and_day(found: Sequence[Would]) -> list[tuple[str, date, int, int]]:
    """(rule, day, alerts, updates), by rule then day."""
    counts: dict[tuple[str, date], list[int]] = {}
    for w in found:
        c = counts.setdefault((w.rule, w.day), [0, 0])
        c[0 if w.kind == "alert" else 1] += 1
    return [(r, d, a, u) for (r, d), (a, u) in sorted(counts.items())]
