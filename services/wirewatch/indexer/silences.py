"""Silences on Elasticsearch: ``wirewatch alerts mute`` for the distributed mode.

One document per silence in ``<namespace>wirewatch-silences`` (``target``, ``until``,
``created``, ``reason``), so every indexer replica reads the same ones. The indexer
reads them through ``wirewatch.pipeline.silences.CachedSilences`` (at most once every
``WIREWATCH_SILENCES_REFRESH`` seconds), never once per article.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

from wirewatch.indexer.sink import EsSink


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class EsSilenceStore:
    """``SilenceBook`` on the silences index: add, list and end silences."""

    def __init__(self, sink: EsSink) -> None:
        self.sink = sink

    def add_silence(self, target: str, until: datetime, reason: str | None = None) -> None:
        """Mute ``target`` until ``until``; searchable when this returns."""
        silence_id = uuid.uuid4().hex
        doc = {
            "silence_id": silence_id,
            "target": target,
            "until": _utc(until).isoformat(),
            "created": datetime.now(UTC).isoformat(),
            "reason": reason,
        }
        es = self.sink.es
        self.sink._call(
            partial(es.index, index=self.sink.silences, id=silence_id, document=doc, refresh=True)
        )

    def _running(
        self, now: datetime | None, target: str | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        filters: list[dict[str, object]] = []
        if now is not None:
            filters.append({"range": {"until": {"gt": _utc(now).isoformat()}}})
        if target is not None:
            filters.append({"term": {"target": target}})
        query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        return self.sink.scan(self.sink.silences, query, ["target", "until"], key="silence_id")

    def silences(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        latest: dict[str, datetime] = {}
        for _id, src in self._running(now):
            until = _utc(datetime.fromisoformat(src["until"]))
            if src["target"] not in latest or until > latest[src["target"]]:
                latest[src["target"]] = until
        return sorted(latest.items())

    def expire_silence(self, target: str, now: datetime | None = None) -> int:
        """End the silences of ``target`` running at ``now``: their ``until`` becomes
        ``now``. Returns how many were running."""
        now = _utc(now or datetime.now(UTC))
        ended = 0
        es = self.sink.es
        for doc_id, _src in self._running(now, target):
            self.sink._call(
                partial(
                    es.update,
                    index=self.sink.silences,
                    id=doc_id,
                    doc={"until": now.isoformat()},
                    refresh=True,
                )
            )
            ended += 1
        return ended
