"""Silences read through a short cache, for a pipeline that must not ask its store once
per article (the distributed indexer asks Elasticsearch).

``CachedSilences(book, clock, ttl)`` is the ``Silences`` port over any ``SilenceBook``
(``add_silence`` / ``silences`` as the SQLite store and ``EsSilenceStore`` have them):
it reads the running silences at most once per ``ttl`` seconds of the clock's monotonic
time, and filters what it holds by the moment it is asked about, so a silence that ends
stops muting at once and one that is added takes effect within ``ttl``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from wirewatch.pipeline.ports import Clock, Silence, SystemClock


class SilenceBook(Protocol):
    """Where ``wirewatch alerts mute`` keeps silences."""

    def add_silence(self, target: str, until: datetime, reason: str | None = None) -> None:
        """Mute ``target`` (``rule:NAME``, ``vendor:NAME``, ``country:CODE``) until ``until``."""
        ...

    def silences(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """(target, until) per target - the latest ``until`` - of the silences still
        running at ``now`` (``None``: all of them)."""
        ...


class CachedSilences:
    """The ``Silences`` port over a ``SilenceBook``, read at most once per ``ttl`` seconds."""

    def __init__(self, book: SilenceBook, clock: Clock | None = None, ttl: float = 5.0) -> None:
        """``ttl`` must be >= 0 (0: read on every call)."""
        if ttl < 0:
            raise ValueError(f"ttl must be >= 0, not {ttl}")
        self.book = book
        self.clock: Clock = clock or SystemClock()
        self.ttl = ttl
        self._held: list[Silence] = []
        self._read_at: float | None = None

    def silences(self, now: datetime) -> list[Silence]:
        mono = self.clock.monotonic()
        if self._read_at is None or mono - self._read_at >= self.ttl:
            self._held = [Silence(t, u) for t, u in self.book.silences(now)]
            self._read_at = mono
        return [s for s in self._held if s.until > now]

    def forget(self) -> None:
        """Read again on the next call (a silence was just added here)."""
        self._read_at = None
