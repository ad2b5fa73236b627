"""Digests, for both modes: which (rule, channel, period) digests the rules ask for, the
row a digest ledger keeps, its retry schedule, and the ``DigestLedger`` port that
``wirewatch.embedded.digests.DigestScheduler`` drives - on SQLite
(``embedded.digests.SqliteDigests``) or on Elasticsearch (``indexer.digests.EsDigests``).
When a digest leaves is ``wirewatch.core.channels`` (``period_boundary``, ``digest_due``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from wirewatch.core.alerts import AlertRule
from wirewatch.core.channels import Digest, Period

RETRY_CAP = timedelta(hours=1)


def retry_wait(rounds: int) -> timedelta:
    """How long a digest that failed ``rounds`` times before (>= 0) waits after this
    failure: 1, 2, 4 ... minutes, at most ``RETRY_CAP``."""
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, not {rounds}")
    return min(RETRY_CAP, timedelta(minutes=2 ** min(rounds, 16)))


@dataclass(frozen=True)
class DigestRow:
    """A digest made: its id in the ledger (a rowid, or a document id), what it covers."""

    id: Any
    rule: str
    channel: str
    period: Period
    alerts: int
    status: str
    rounds: int
    error: str | None


@dataclass(frozen=True)
class Plan:
    rule: str
    channel: str
    every: Digest


def digest_plans(rules: Sequence[AlertRule]) -> list[Plan]:
    """The (rule, channel, period) of every digest entry in ``rules``."""
    return [
        Plan(r.name, n.channel, n.digest)
        for r in rules
        for n in r.notify
        if n.channel is not None and n.digest != "immediate"
    ]


def digest_channels(rules: Sequence[AlertRule]) -> dict[str, list[str]]:
    """Rule name -> the channels it sends digests to (rules without digests absent)."""
    out: dict[str, list[str]] = {}
    for plan in digest_plans(rules):
        out.setdefault(plan.rule, []).append(plan.channel)
    return out


class DigestLedger(Protocol):
    """Where digests are made and their outcome kept; each alert in exactly one digest."""

    def cursor(self, rule: str, channel: str) -> datetime | None:
        """The boundary of the rule's last digest on ``channel`` (``None``: none yet)."""
        ...

    def begin(self, rule: str, channel: str, boundary: datetime) -> None:
        """Start the rule's digests on ``channel`` at ``boundary``."""
        ...

    def open(self, rule: str, channel: str, boundary: datetime, now: datetime) -> Any:
        """Claim the rule's alerts not yet in a digest into one ending at ``boundary``
        and move the cursor there; the digest's id, ``None`` when no alert came."""
        ...

    def due(self, now: datetime) -> list[DigestRow]:
        """Pending digests whose next attempt is due, oldest first."""
        ...

    def bodies(self, digest_id: Any) -> list[dict[str, Any]]:
        """The alert bodies a digest lists, in the order they were recorded."""
        ...

    def finish(
        self, digest_id: Any, sent: bool, attempts: int, error: str | None, now: datetime
    ) -> None:
        """Mark a digest ``sent``, or count a failed round and set its next try
        (``retry_wait``)."""
        ...
