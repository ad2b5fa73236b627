"""In-memory implementations of the pipeline's ports, for unit tests.

They keep the contracts of ``wirewatch.pipeline.ports`` without a database: a
``MemoryState`` of stored articles (also their stories and history), a
``MemoryLedger`` that records each (rule, article) once, a ``RecordingNotifier`` and
a ``ManualClock``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from wirewatch.core import fingerprint, stories
from wirewatch.core.models import EnrichedArticle
from wirewatch.pipeline.backtest import ReplayLedger
from wirewatch.pipeline.ports import Firing, Group, Outcome, Prior


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.wall = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.mono = 0.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


class MemoryState:
    """Stored articles: ``store`` what the caller would have written."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.articles: dict[str, EnrichedArticle] = {}
        self.stored_at: dict[str, datetime] = {}
        self.clock = clock or ManualClock()

    def store(self, article: EnrichedArticle) -> None:
        if article.id not in self.articles:
            self.articles[article.id] = article.model_copy(deep=True)
            self.stored_at[article.id] = self.clock.now()

    # StoryIndex
    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: a.story_id for i in ids if (a := self.articles.get(i)) and a.story_id}

    def members(
        self, keys: Sequence[str], since: datetime, until: datetime
    ) -> list[stories.Member]:
        out = []
        for aid, a in self.articles.items():
            m = stories.member(a, self.stored_at[aid])
            if m.keys & set(keys) and m.hi >= since and m.lo <= until:
                out.append(m)
        return out

    # History
    def story_ids(
        self, keys: Sequence[str], since: datetime | None, until: datetime | None
    ) -> set[str]:
        out = set()
        for aid, a in self.articles.items():
            at = stories.moment(a.published, self.stored_at[aid])
            if not stories.index_keys(a) & set(keys):
                continue
            if (since is None or at >= since) and (until is None or at <= until):
                out.add(a.story_id or aid)
        return out

    def prior(self, ids: Sequence[str]) -> dict[str, Prior]:
        return {
            i: Prior(self.articles[i].near_duplicate_of, tuple(self.articles[i].sources))
            for i in ids
            if i in self.articles
        }

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        wanted = set(keys)
        for aid, a in self.articles.items():
            if wanted & set(fingerprint.band_keys(a.fingerprint)):
                yield aid, a.fingerprint


class MemoryLedger(ReplayLedger):
    """Alerts by (rule, article id); ``pending`` marks a recorded alert whose
    notifications never left (as after a crash), so it is resent. Trend episodes as the
    backtest's in-memory ledger keeps them."""

    def __init__(self, claims: dict[tuple[str, str], tuple[str, str]] | None = None) -> None:
        """``claims``: (rule, group) -> (article id, language) of first alerts, shared
        with other ledgers to play replicas racing."""
        super().__init__()
        self.deliveries: dict[tuple[str, str, str], str] = {}
        self.pending: set[tuple[str, str]] = set()
        self.claims = {} if claims is None else claims

    def claim(self, firsts: Sequence[Firing]) -> dict[tuple[str, str], Group]:
        lost = {}
        for f in firsts:
            key = (f.rule.name, f.group or f.article.id)
            winner = self.claims.setdefault(key, (f.article.id, f.article.language))
            if winner[0] != f.article.id:
                lost[key] = Group(frozenset([winner[0]]), frozenset([winner[1]]))
        return lost

    def record(self, firings: Sequence[Firing]) -> list[Outcome]:
        out: list[Outcome] = []
        for f in firings:
            key = (f.rule.name, f.article.id)
            dup = f.article.near_duplicate_of
            if dup and (f.rule.name, dup) in self.alerts:
                out.append("done")
            elif key in self.alerts:
                if key in self.pending:
                    f.body = self.alerts[key]
                    out.append("resend")
                else:
                    out.append("done")
            else:
                self.alerts[key] = f.body
                for url in f.webhooks:
                    self.deliveries[(*key, url)] = "pending"
                out.append("new")
        return out

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        self.deliveries[(firing.rule.name, firing.article.id, url)] = "rate_limited"

    def groups(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Group]:
        found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        for (rule, aid), body in self.alerts.items():
            key = (rule, body.get("story_id") or aid)
            if key in keys:
                ids, langs = found.setdefault(key, (set(), set()))
                ids.add(aid)
                langs.add(body.get("language", "und"))
        return {k: Group(frozenset(i), frozenset(lang)) for k, (i, lang) in found.items()}


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []

    def submit(self, rule: str, article_id: str, url: str, body: dict[str, Any]) -> None:
        self.sent.append((rule, article_id, url, body))
