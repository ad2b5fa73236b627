"""Digests in the distributed mode: the digest state in Elasticsearch, for the same
``DigestScheduler`` the embedded mode runs (``wirewatch.embedded.digests``).

Every document is in ``<namespace>wirewatch-digests``, told apart by ``doc_type``:

- ``item``: one per (rule, channel, alert) of a rule with a digest entry, created with
  the alert (``op_type=create``, id ``item:<channel>:<alert id>``) and ``pending`` until
  a digest claims it;
- ``digest``: created once per (rule, channel, period end) (``op_type=create``, id the
  digest key of ``core.channels.digest_id``), so of replicas reaching a boundary together
  one opens it; it claims the pending items one by one with optimistic concurrency
  (``if_seq_no``/``if_primary_term``: an item is in exactly one digest, whichever
  replica claims it), then is ``pending`` until sent; sending is leased the same way,
  a failed round waits 1, 2, 4 ... minutes (at most an hour) and survives restarts;
- ``cursor``: per (rule, channel), the boundary of its last digest.

A digest whose opening stopped half-way (a crash) is finished by the next round; an
item recorded after a digest claimed the others waits for the next one. Nothing is
lost or listed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from elasticsearch import ConflictError

from wirewatch.core import channels
from wirewatch.core.channels import Period
from wirewatch.indexer.sink import EsSink
from wirewatch.pipeline.digests import DigestRow, retry_wait

LEASE = timedelta(minutes=10)  # a digest being sent; then another round may take it


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def item_id(channel: str, alert_id: str) -> str:
    return f"item:{channel}:{alert_id}"


def item_actions(
    sink: EsSink, rule: str, channels_: Sequence[str], alert_id: str, fired_at: str | None
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Bulk ``create`` actions for an alert's digest items (a 409: recorded before)."""
    return [
        (
            "create",
            sink.digests,
            item_id(ch, alert_id),
            {
                "key": item_id(ch, alert_id),
                "doc_type": "item",
                "rule": rule,
                "channel": ch,
                "alert_id": alert_id,
                "fired_at": fired_at,
                "state": "pending",
            },
        )
        for ch in channels_
    ]


class EsDigests:
    """The ``DigestScheduler``'s ledger on Elasticsearch (see the module's docstring)."""

    def __init__(self, sink: EsSink) -> None:
        self.sink = sink
        self.es = sink.es
        self.index = sink.digests

    # -- helpers ---------------------------------------------------------------
    def _get(self, doc_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.sink._call(partial(self.es.get, index=self.index, id=doc_id)))
        except Exception as exc:  # noqa: BLE001 - a 404 is an answer
            if getattr(getattr(exc, "meta", None), "status", None) == 404:
                return None
            raise

    def _create(self, doc_id: str, doc: dict[str, Any]) -> bool:
        """Create ``doc_id``; False when it exists."""
        try:
            self.sink._call(
                partial(self.es.index, index=self.index, id=doc_id, document=doc, op_type="create")
            )
        except ConflictError:
            return False
        return True

    def _swap(self, hit: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Update a document as read (its ``_seq_no``/``_primary_term``); False when
        another writer changed it since."""
        doc = {**hit["_source"], **changes}
        try:
            self.sink._call(
                partial(
                    self.es.index,
                    index=self.index,
                    id=hit["_id"],
                    document=doc,
                    if_seq_no=hit["_seq_no"],
                    if_primary_term=hit["_primary_term"],
                )
            )
        except ConflictError:
            return False
        return True

    def _search(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every matching document with its sequence number, in ``key`` order."""
        self.sink._call(partial(self.es.indices.refresh, index=self.index))
        out: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"bool": {"filter": filters}},
                "size": 1000,
                "sort": [{"key": "asc"}],
                "seq_no_primary_term": True,
            }
            if after is not None:
                body["search_after"] = after
            hits = self.sink._call(partial(self.es.search, index=self.index, **body))["hits"][
                "hits"
            ]
            out.extend(hits)
            if len(hits) < 1000:
                return out
            after = hits[-1]["sort"]

    @staticmethod
    def _cursor_id(rule: str, channel: str) -> str:
        return f"cursor:{rule}:{channel}"

    # -- the ledger ----------------------------------------------------------------
    def cursor(self, rule: str, channel: str) -> datetime | None:
        hit = self._get(self._cursor_id(rule, channel))
        return datetime.fromisoformat(hit["_source"]["boundary"]) if hit else None

    def begin(self, rule: str, channel: str, boundary: datetime) -> None:
        key = self._cursor_id(rule, channel)
        self._create(
            key,
            {"key": key, "doc_type": "cursor", "rule": rule, "channel": channel,
             "boundary": _ts(boundary)},
        )  # fmt: skip

    def open(self, rule: str, channel: str, boundary: datetime, now: datetime) -> str | None:
        """Open the digest of (rule, channel) ending at ``boundary`` - or finish opening
        it, after a crash or beside another replica - and move the cursor there."""
        cursor = self._get(self._cursor_id(rule, channel))
        if cursor is None:
            raise RuntimeError(f"no digest cursor for rule {rule!r} on {channel!r}")
        start = cursor["_source"]["boundary"]
        key = channels.digest_id(rule, channel, Period(None, boundary))
        created = self._create(
            key,
            {"key": key, "doc_type": "digest", "rule": rule, "channel": channel,
             "period_start": start, "period_end": _ts(boundary), "state": "opening",
             "alerts": 0, "rounds": 0, "attempts": 0, "next_try": _ts(now)},
        )  # fmt: skip
        digest = self._get(key)
        assert digest is not None
        if not created and digest["_source"]["state"] != "opening":
            claimed = None  # opened before: only the cursor may lag behind
        else:
            self._claim_items(rule, channel, key)
            count = len(
                self._search([{"term": {"doc_type": "item"}}, {"term": {"digest_id": key}}])
            )
            digest = self._get(key)
            assert digest is not None
            if digest["_source"]["state"] == "opening":
                self._swap(digest, {"state": "pending" if count else "empty", "alerts": count})
            claimed = key if count else None
        self.sink._call(
            partial(
                self.es.update,
                index=self.index,
                id=self._cursor_id(rule, channel),
                doc={"boundary": _ts(boundary)},
            )
        )
        return claimed

    def _claim_items(self, rule: str, channel: str, key: str) -> None:
        pending = self._search(
            [
                {"term": {"doc_type": "item"}},
                {"term": {"rule": rule}},
                {"term": {"channel": channel}},
                {"term": {"state": "pending"}},
            ]
        )
        for hit in pending:
            # lost to another replica's claim: that digest lists it
            self._swap(hit, {"state": "claimed", "digest_id": key})

    def due(self, now: datetime) -> list[DigestRow]:
        """Digests whose try is due, each leased to this replica for sending (a digest
        another replica is sending is not due until its lease ends)."""
        hits = self._search(
            [
                {"term": {"doc_type": "digest"}},
                {"terms": {"state": ["pending", "sending"]}},
                {"range": {"next_try": {"lte": _ts(now)}}},
            ]
        )
        out = []
        for hit in sorted(hits, key=lambda h: (h["_source"]["period_end"], h["_id"])):
            if self._swap(hit, {"state": "sending", "next_try": _ts(now + LEASE)}):
                row = self.get(hit["_id"])
                if row is not None:
                    out.append(row)
        return out

    def get(self, digest_id: str) -> DigestRow | None:
        hit = self._get(digest_id)
        if hit is None:
            return None
        src = hit["_source"]
        start = src.get("period_start")
        period = Period(
            datetime.fromisoformat(start) if start else None,
            datetime.fromisoformat(src["period_end"]),
        )
        return DigestRow(
            digest_id, src["rule"], src["channel"], period, int(src.get("alerts") or 0),
            src["state"], int(src.get("rounds") or 0), src.get("error"),
        )  # fmt: skip

    def bodies(self, digest_id: str) -> list[dict[str, Any]]:
        """The alert bodies a digest lists, in the order they fired."""
        items = self._search([{"term": {"doc_type": "item"}}, {"term": {"digest_id": digest_id}}])
        ids = [h["_source"]["alert_id"] for h in items]
        found = self.sink.existing_alerts(ids)
        bodies = [{k: v for k, v in found[i].items() if k != "delivery"} for i in ids if i in found]
        return sorted(bodies, key=lambda b: (str(b.get("fired_at")), str(b.get("alert_id"))))

    def finish(
        self, digest_id: str, sent: bool, attempts: int, error: str | None, now: datetime
    ) -> None:
        hit = self._get(digest_id)
        if hit is None:
            return
        src = hit["_source"]
        if sent:
            changes: dict[str, Any] = {
                "state": "sent", "attempts": int(src.get("attempts") or 0) + attempts,
                "error": None, "sent_at": _ts(now),
            }  # fmt: skip
        else:
            rounds = int(src.get("rounds") or 0)
            wait = retry_wait(rounds)
            changes = {
                "state": "pending", "rounds": rounds + 1,
                "attempts": int(src.get("attempts") or 0) + attempts,
                "error": (error or "failed")[:500], "next_try": _ts(now + wait),
            }  # fmt: skip
        self.sink._call(
            partial(self.es.update, index=self.index, id=digest_id, doc=changes, refresh=True)
        )

    def listing(self, limit: int = 50) -> list[DigestRow]:
        """The newest digests, for ``wirewatch alerts``."""
        hits = self._search([{"term": {"doc_type": "digest"}}])
        hits.sort(key=lambda h: h["_source"]["period_end"], reverse=True)
        return [r for h in hits[:limit] if (r := self.get(h["_id"])) is not None]
