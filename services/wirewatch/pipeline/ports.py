"""The seams of the after-enrichment step: what it needs from the world.

Each is a small Protocol. The embedded runner implements them with SQLite
(``wirewatch.embedded.ledger``), the distributed indexer with Elasticsearch
(``wirewatch.indexer.ledger``); the tests use in-memory fakes
(``tests/support/fakes.py``). Nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from wirewatch.core.alerts import AlertRule
from wirewatch.core.models import EnrichedArticle
from wirewatch.core.stories import Member


class Clock(Protocol):
    """Wall time for timestamps, a monotonic clock for rate limits."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class Prior:
    """What the store kept of an article seen before: its first near-duplicate
    verdict stays, whatever arrived since."""

    near_duplicate_of: str | None
    sources: tuple[str, ...] = ()
    stored_at: datetime | None = None


class ArticleState(Protocol):
    """The articles kept so far, as far as near-duplicate linking needs them."""

    def prior(self, ids: Sequence[str]) -> dict[str, Prior]:
        """Articles among ``ids`` that are stored already. Asked right after
        ``candidates`` for the same batch: a stored article shares every band with
        itself, so a state may answer from the candidates it has just fetched."""
        ...

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        """(id, MinHash signature) of stored articles sharing one of the band ``keys``."""
        ...


class StoryIndex(Protocol):
    """The stories of stored articles, as far as story assignment needs them."""

    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        """The story id of each stored article among ``ids``."""
        ...

    def members(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        """Stored articles with one of the story ``keys`` whose time span reaches into
        [since, until] (``wirewatch.core.stories.member`` of each)."""
        ...


class History(Protocol):
    """What the stored articles say about a target over time, for trend and
    first-seen rules. Keys are ``wirewatch.core.stories.index_keys``."""

    def story_ids(
        self, keys: Sequence[str], since: datetime | None, until: datetime | None
    ) -> set[str]:
        """Stories with an article carrying one of ``keys`` whose moment
        (``wirewatch.core.stories.moment``) is in [since, until] (None: open)."""
        ...


@dataclass(frozen=True)
class Silence:
    """``rule:NAME``, ``vendor:NAME`` or ``country:CODE`` muted until ``until``."""

    target: str
    until: datetime


class Silences(Protocol):
    """The silences in force: ``wirewatch alerts mute`` on SQLite or Elasticsearch."""

    def silences(self, now: datetime) -> list[Silence]:
        """The silences still running at ``now`` (``until`` after it)."""
        ...


@dataclass(frozen=True)
class Group:
    """What a (rule, story) fired on before: its articles and their languages."""

    article_ids: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()


@dataclass
class Firing:
    """A rule that matched an article, before the ledger decides whether it is new.

    ``group`` is what the rule alerts once about: the article's story, or for a trend
    rule its target and period; ``webhooks`` is empty when the firing only joins a
    group another firing speaks for."""

    rule: AlertRule
    article: EnrichedArticle
    body: dict[str, Any]
    webhooks: list[str] = field(default_factory=list)
    group: str | None = None
    message: bool = True
    at: datetime | None = None  # the article's moment (trend rules place it in an episode)


# new: recorded now; resend: recorded before but its notifications never left (a batch
# redone after a crash); done: recorded and handled before, or the article it repeats
# already fired the rule
# new: recorded now; resend: recorded before, its notifications never left (all again);
# republish: recorded and notified before, but never acknowledged on the alerts topic
# (the distributed mode was stopped in between): the topic only; done: nothing to do
Outcome = Literal["new", "resend", "republish", "done"]


class AlertLedger(Protocol):
    """Where fired alerts are recorded, once per (rule, article)."""

    def record(self, firings: Sequence[Firing]) -> list[Outcome]:
        """Record each firing unless it (or the article it near-duplicates) fired
        the rule before; with its webhook deliveries ``pending``. For ``resend`` the
        ledger may replace ``firing.body`` with the body it stored first."""
        ...

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        """Mark a delivery as held back by the rate limit (recorded, never sent)."""
        ...

    def groups(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Group]:
        """What each (rule, group) among ``keys`` fired on before (absent: never)."""
        ...

    def claim(self, firsts: Sequence[Firing]) -> dict[tuple[str, str], Group]:
        """Claim, atomically against every other writer, the first alert of each
        (rule, group) of ``firsts`` (one firing per key, the first of its group here).
        Returns what the winner holds - its article and language - for each key another
        writer claimed first (absent: this one won, or had won before for the same
        article: a batch redone). A single writer wins every claim."""
        ...

    def episodes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """For each (rule, base) among ``keys`` (a trend rule and ``kind:target``): the
        groups the rule recorded whose key starts with ``base:`` - its episodes of that
        target (``wirewatch.pipeline.conditions.episode_key``). Absent: none."""
        ...


class Notifier(Protocol):
    """Sends webhook deliveries off the pipeline's thread."""

    def submit(self, rule: str, article_id: str, url: str, body: dict[str, Any]) -> None: ...
