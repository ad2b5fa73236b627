"""The after-enrichment ports on SQLite: article state and the alert ledger.

Both work inside the runner's transaction for a batch (``SqliteStore.transaction``),
so an alert, its deliveries and the article are committed together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from wirewatch.core.stories import Member
from wirewatch.embedded.store import SqliteStore
from wirewatch.pipeline.ports import Firing, Group, Outcome, Prior, Silence


class SqliteState:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        return self.store.candidates(keys)

    def prior(self, ids: Sequence[str]) -> dict[str, Prior]:
        return {
            aid: Prior(dup, (), datetime.fromisoformat(seen))
            for aid, (dup, seen) in self.store.first_verdicts(ids).items()
        }


class SqliteStories:
    """``StoryIndex`` and ``History`` on the store; ``silences`` as they stand."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        return self.store.stories_of(ids)

    def members(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        return self.store.story_members(keys, since, until)

    def story_ids(
        self, keys: Sequence[str], since: datetime | None, until: datetime | None
    ) -> set[str]:
        return self.store.story_ids(keys, since, until)

    def silences(self, now: datetime) -> list[Silence]:
        return [Silence(t, u) for t, u in self.store.silences(now)]


class SqliteLedger:
    """Alerts and deliveries in the store. A redone batch finds its alerts recorded;
    their pending deliveries are sent by the notifier's start-up sweep, so a firing
    recorded before is ``done`` here."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def record(self, firings: Sequence[Firing]) -> list[Outcome]:
        out: list[Outcome] = []
        for f in firings:
            if not self.store.fire_alert(
                f.rule.name, f.article.id, f.article.near_duplicate_of, f.body
            ):
                out.append("done")
                continue
            for url in f.webhooks:
                self.store.add_delivery(f.rule.name, f.article.id, url)
            out.append("new")
        return out

    def groups(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Group]:
        return {
            k: Group(frozenset(ids), frozenset(langs))
            for k, (ids, langs) in self.store.alert_groups(keys).items()
        }

    def claim(self, firsts: Sequence[Firing]) -> dict[tuple[str, str], Group]:
        # one writer, inside the batch's transaction: the first alert is its own
        return {}

    def episodes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        return self.store.alert_episodes(keys)

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        self.store.set_delivery(firing.rule.name, firing.article.id, url, "rate_limited", 0, reason)
