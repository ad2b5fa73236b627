"""The after-enrichment ports on SQLite: article state and the alert ledger.

Both work inside the runner's transaction for a batch (``SqliteStore.transaction``),
so an alert, its deliveries and the article are committed together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from wirewatch.embedded.store import SqliteStore
from wirewatch.pipeline.ports import Firing, Outcome, Prior


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

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        self.store.set_delivery(firing.rule.name, firing.article.id, url, "rate_limited", 0, reason)
