"""Digests: one message per rule, channel and period, made from the alerts in the store.

A rule's ``{channel: NAME, digest: hourly|daily}`` entry sends nothing when the rule
fires; the alert is recorded in the store as always. At each period boundary (the full
hour, or the channel's ``daily_at``, in its time zone; after its quiet hours when the
boundary falls inside them) ``DigestScheduler.tick`` opens a digest: in one
transaction it claims every alert of the rule recorded since the previous digest and
moves the rule's cursor past them, so an alert belongs to exactly one digest. The
digest is then sent by the channel's worker and marked ``sent``; one that fails stays
``pending`` and is tried again (after 1, 2, 4 ... minutes, at most an hour apart)
until it is sent - also after a restart. Nothing is lost; a digest is sent twice only
when the channel took it and wirewatch stopped before recording that, and then with
the same id (``alert_id``, ``Message-ID``) for the receiver to drop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from wirewatch import metrics
from wirewatch.core import channels
from wirewatch.core.alerts import AlertRule
from wirewatch.core.channels import Channel, Period
from wirewatch.embedded.notify import Job, WebhookNotifier
from wirewatch.embedded.store import SqliteStore
from wirewatch.pipeline.digests import (
    RETRY_CAP,
    DigestLedger,
    DigestRow,
    Plan,
    digest_plans,
    retry_wait,
)
from wirewatch.pipeline.ports import Clock, SystemClock

__all__ = [
    "RETRY_CAP",
    "DigestRow",
    "DigestScheduler",
    "Plan",
    "SqliteDigests",
    "digest_plans",
]

log = logging.getLogger("wirewatch.alerts")

DIGEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_cursors (
    rule TEXT NOT NULL, channel TEXT NOT NULL, boundary TEXT NOT NULL,
    last_alert INTEGER NOT NULL, PRIMARY KEY (rule, channel)
);
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY, rule TEXT NOT NULL, channel TEXT NOT NULL,
    period_start TEXT, period_end TEXT NOT NULL, first_alert INTEGER NOT NULL,
    last_alert INTEGER NOT NULL, alerts INTEGER NOT NULL, status TEXT NOT NULL,
    rounds INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
    next_try TEXT NOT NULL, sent_at TEXT, UNIQUE (rule, channel, period_end)
);
CREATE INDEX IF NOT EXISTS digests_status ON digests(status, next_try);
"""


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class SqliteDigests:
    """The digests' state in the SQLite store: a cursor per (rule, channel) and the
    digests made, with their outcome. Alerts are referred to by their rowid, the order
    they were recorded in."""

    def __init__(self, store: SqliteStore, create: bool = True) -> None:
        """``create=False`` for reading commands: the tables are made when a digest
        rule first runs, not by a listing."""
        self.store = store
        if create:
            with store._lock:
                store._db.executescript(DIGEST_SCHEMA)

    def cursor(self, rule: str, channel: str) -> datetime | None:
        """The boundary of the rule's last digest on ``channel`` (``None``: none yet)."""
        with self.store._lock:
            row = self.store._db.execute(
                "SELECT boundary FROM digest_cursors WHERE rule = ? AND channel = ?",
                (rule, channel),
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def begin(self, rule: str, channel: str, boundary: datetime) -> None:
        """Start the rule's digests on ``channel`` at ``boundary``: alerts recorded
        before now are not listed (they were notified before the digest existed)."""
        with self.store.transaction() as s:
            (last,) = s._db.execute(
                "SELECT coalesce(max(rowid), 0) FROM alerts WHERE rule = ?", (rule,)
            ).fetchone()
            s._db.execute(
                "INSERT OR IGNORE INTO digest_cursors(rule, channel, boundary, last_alert) "
                "VALUES (?,?,?,?)",
                (rule, channel, _ts(boundary), last),
            )

    def open(self, rule: str, channel: str, boundary: datetime, now: datetime) -> int | None:
        """In one transaction: claim the rule's alerts recorded since its last digest on
        ``channel`` into a new ``pending`` digest ending at ``boundary``, and move the
        cursor to ``boundary``. Returns the digest's id, ``None`` when no alert came."""
        with self.store.transaction() as s:
            row = s._db.execute(
                "SELECT boundary, last_alert FROM digest_cursors WHERE rule = ? AND channel = ?",
                (rule, channel),
            ).fetchone()
            if row is None:
                raise RuntimeError(f"no digest cursor for rule {rule!r} on {channel!r}")
            start, last = row
            first, newest, count = s._db.execute(
                "SELECT min(rowid), max(rowid), count(*) FROM alerts WHERE rule = ? AND rowid > ?",
                (rule, last),
            ).fetchone()
            s._db.execute(
                "UPDATE digest_cursors SET boundary = ?, last_alert = ? "
                "WHERE rule = ? AND channel = ?",
                (_ts(boundary), newest or last, rule, channel),
            )
            if not count:
                return None
            cur = s._db.execute(
                "INSERT INTO digests(rule, channel, period_start, period_end, first_alert, "
                "last_alert, alerts, status, next_try) VALUES (?,?,?,?,?,?,?,'pending',?)",
                (rule, channel, start, _ts(boundary), first, newest, count, _ts(now)),
            )
            return int(cur.lastrowid or 0)

    def due(self, now: datetime) -> list[DigestRow]:
        """Pending digests whose next attempt is due, oldest first."""
        with self.store._lock:
            rows = self.store._db.execute(
                "SELECT id FROM digests WHERE status = 'pending' AND next_try <= ? ORDER BY id",
                (_ts(now),),
            ).fetchall()
        return [d for (i,) in rows if (d := self.get(i)) is not None]

    def get(self, digest_id: int) -> DigestRow | None:
        with self.store._lock:
            row = self.store._db.execute(
                "SELECT id, rule, channel, period_start, period_end, alerts, status, rounds, "
                "error FROM digests WHERE id = ?",
                (digest_id,),
            ).fetchone()
        if row is None:
            return None
        i, rule, channel, start, end, count, status, rounds, error = row
        period = Period(
            datetime.fromisoformat(start) if start else None, datetime.fromisoformat(end)
        )
        return DigestRow(i, rule, channel, period, count, status, rounds, error)

    def bodies(self, digest_id: int) -> list[dict[str, Any]]:
        """The alert bodies a digest lists, in the order they were recorded."""
        import json

        with self.store._lock:
            rows = self.store._db.execute(
                "SELECT a.payload FROM digests d JOIN alerts a ON a.rule = d.rule "
                "AND a.rowid > d.first_alert - 1 AND a.rowid <= d.last_alert "
                "WHERE d.id = ? ORDER BY a.rowid",
                (digest_id,),
            ).fetchall()
        return [json.loads(p) for (p,) in rows]

    def finish(
        self, digest_id: int, sent: bool, attempts: int, error: str | None, now: datetime
    ) -> None:
        """Mark a digest ``sent``, or count a failed round and set its next try."""
        with self.store.transaction() as s:
            if sent:
                s._db.execute(
                    "UPDATE digests SET status = 'sent', attempts = attempts + ?, error = NULL, "
                    "sent_at = ? WHERE id = ?",
                    (attempts, _ts(now), digest_id),
                )
                return
            (rounds,) = s._db.execute(
                "SELECT rounds FROM digests WHERE id = ?", (digest_id,)
            ).fetchone()
            wait = retry_wait(rounds)
            s._db.execute(
                "UPDATE digests SET rounds = rounds + 1, attempts = attempts + ?, error = ?, "
                "next_try = ? WHERE id = ?",
                (attempts, (error or "failed")[:500], _ts(now + wait), digest_id),
            )

    def listing(self, limit: int = 50) -> list[DigestRow]:
        """The newest digests, for ``wirewatch alerts``."""
        with self.store._lock:
            if not self.store._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'digests'"
            ).fetchone():
                return []
            ids = self.store._db.execute(
                "SELECT id FROM digests ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [d for (i,) in ids if (d := self.get(i)) is not None]


class DigestScheduler:
    """Opens digests at their boundaries and hands due ones to the channel workers.

    ``tick()`` does one round (the tests call it with a manual clock); ``start()``
    runs it every ``interval`` seconds on a thread."""

    def __init__(
        self,
        ledger: DigestLedger,
        rules: Sequence[AlertRule],
        notifier: WebhookNotifier,
        clock: Clock | None = None,
        interval: float = 30.0,
    ) -> None:
        self.ledger = ledger
        self.plans = digest_plans(rules)
        self.notifier = notifier
        self.clock: Clock = clock or SystemClock()
        self.interval = interval
        self._in_flight: set[Any] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="digests", daemon=True)

    def _channel(self, name: str) -> Channel:
        return self.notifier.channels[name]

    def tick(self) -> list[Any]:
        """Open the digests due now and queue every pending digest whose try is due;
        returns the ids queued."""
        now = self.clock.now()
        for plan in self.plans:
            channel = self._channel(plan.channel)
            last = self.ledger.cursor(plan.rule, plan.channel)
            if last is None:
                start = channels.period_boundary(now, plan.every, channel.zone, channel.daily_at)
                self.ledger.begin(plan.rule, plan.channel, start)
                continue
            boundary = channels.digest_due(
                now, last, plan.every, channel.zone, channel.daily_at, channel.quiet_hours
            )
            if boundary is None:
                continue
            digest_id = self.ledger.open(plan.rule, plan.channel, boundary, now)
            if digest_id is not None:
                metrics.DIGESTS_OPENED.labels(plan.channel).inc()
                log.info(
                    "digest %s rule=%s channel=%s until %s",
                    digest_id, plan.rule, plan.channel, boundary.isoformat(),
                )  # fmt: skip
        queued = []
        for row in self.ledger.due(now):
            declared = self.notifier.channels.get(row.channel)
            if declared is not None and channels.in_quiet(now, declared.quiet_hours, declared.zone):
                continue
            with self._lock:
                if row.id in self._in_flight:
                    continue
                self._in_flight.add(row.id)
            self.notifier.submit_job(row.channel, self._job(row))
            queued.append(row.id)
        return queued

    def _job(self, row: DigestRow) -> Job:
        def done(ok: bool, attempts: int, error: str | None) -> None:
            try:
                self.ledger.finish(row.id, ok, attempts, error, self.clock.now())
            finally:
                with self._lock:
                    self._in_flight.discard(row.id)

        key = channels.digest_id(row.rule, row.channel, row.period)
        return Job(row.rule, key, self.ledger.bodies(row.id), row.period, done)

    def start(self) -> DigestScheduler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the store busy or a bug: log, and try again next round
                log.exception("digest round failed")
            self._stop.wait(self.interval)
