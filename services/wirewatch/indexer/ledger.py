"""The after-enrichment ports on Elasticsearch: article state and the alert ledger.

The index is the state, so both hold across restarts and between indexer replicas:
near-duplicate candidates come from the articles index (one query per batch), each
(rule, article) alert is created once in the alerts index (``op_type=create``) with
its webhook deliveries ``pending`` in the same document, and the first alert of each
(rule, story or trend episode) is claimed once in the claims index (``op_type=create``
on an id derived from the pair): of two replicas racing on one story, one alerts and
the other updates.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from wirewatch.core import stories
from wirewatch.core.alerts import alert_id
from wirewatch.core.models import EnrichedArticle
from wirewatch.core.stories import Member
from wirewatch.indexer.digests import item_actions
from wirewatch.indexer.sink import EsSink
from wirewatch.pipeline.ports import Firing, Group, Outcome, Prior

log = logging.getLogger("wirewatch.indexer")


class EsState:
    """Candidates through the bands index; ``prior`` answers from the same lookup (a
    stored article shares every band with itself)."""

    def __init__(self, sink: EsSink) -> None:
        self.sink = sink
        self._docs: dict[str, dict[str, Any]] = {}

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        self._docs = dict(self.sink.duplicate_candidates(keys))
        return [(doc_id, src.get("fingerprint") or []) for doc_id, src in self._docs.items()]

    def prior(self, ids: Sequence[str]) -> dict[str, Prior]:
        out: dict[str, Prior] = {}
        for article_id in ids:
            src = self._docs.get(article_id)
            if src is None:
                continue
            stored_at = src.get("indexed_at")
            out[article_id] = Prior(
                src.get("near_duplicate_of"),
                tuple(src.get("sources") or ()),
                datetime.fromisoformat(stored_at) if stored_at else None,
            )
        return out


class EsStories:
    """``StoryIndex`` and ``History`` on the articles index (``story_id``,
    ``story_keys``, ``story_span``, ``story_at``: see ``indexer.documents``)."""

    def __init__(self, sink: EsSink) -> None:
        self.sink = sink

    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        found = self.sink.existing(self.sink.articles, list(ids), ["story_id"])
        return {i: src["story_id"] for i, src in found.items() if src.get("story_id")}

    def members(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        if not keys:
            return []
        self.sink.refresh_if_needed()
        query = {
            "bool": {
                "filter": [
                    {"terms": {"story_keys": sorted(keys)}},
                    {"range": {"story_span.hi": {"gte": since.isoformat()}}},
                    {"range": {"story_span.lo": {"lte": until.isoformat()}}},
                ]
            }
        }
        fields = [
            "id",
            "story_id",
            "language",
            "published",
            "entities",
            "events",
            "keywords",
            "indexed_at",
        ]
        out = []
        for _id, src in self.sink.scan(self.sink.articles, query, fields):
            seen = datetime.fromisoformat(src["indexed_at"]) if src.get("indexed_at") else since
            out.append(stories.member_of_doc(src["id"], src, seen))  # story, language: src's
        return out

    def story_ids(
        self, keys: Sequence[str], since: datetime | None, until: datetime | None
    ) -> set[str]:
        if not keys:
            return set()
        self.sink.refresh_if_needed()
        window: dict[str, str] = {}
        if since is not None:
            window["gte"] = since.isoformat()
        if until is not None:
            window["lte"] = until.isoformat()
        filters: list[dict[str, Any]] = [{"terms": {"story_keys": sorted(keys)}}]
        if window:
            filters.append({"range": {"story_at": window}})
        hits = self.sink.scan(self.sink.articles, {"bool": {"filter": filters}}, ["story_id"])
        return {src["story_id"] for _i, src in hits if src.get("story_id")}


def articles_between(
    sink: EsSink, since: str | None, until: str | None
) -> list[tuple[EnrichedArticle, datetime]]:
    """Indexed articles whose moment (``story_at``) is in [since, until), each with it,
    oldest first: what a backtest replays."""
    window: dict[str, str] = {}
    if since:
        window["gte"] = since
    if until:
        window["lt"] = until
    query: dict[str, Any] = {"range": {"story_at": window}} if window else {"match_all": {}}
    fields = sorted(EnrichedArticle.model_fields) + ["story_at", "indexed_at"]
    sink.refresh_if_needed()
    rows = []
    for _id, src in sink.scan(sink.articles, query, fields):
        at = src.pop("story_at", None) or src.get("indexed_at")
        src.pop("indexed_at", None)
        if at is None:
            continue
        rows.append((EnrichedArticle.model_validate(src), datetime.fromisoformat(at)))
    rows.sort(key=lambda r: (r[1], r[0].id))
    return rows


def claim_id(rule: str, group: str) -> str:
    """The id of the claim on the first alert of (rule, group): the same in every replica."""
    return hashlib.sha256(f"{rule}\n{group}".encode()).hexdigest()[:40]


class EsLedger:
    """``AlertLedger`` on the alerts index; first alerts claimed in the claims index."""

    def __init__(self, sink: EsSink, digests: dict[str, list[str]] | None = None) -> None:
        """``digests``: rule -> the channels it sends digests to
        (``pipeline.digests.digest_channels``); each alert of such a rule waits there."""
        self.sink = sink
        self.digests = digests or {}

    def groups(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Group]:
        if not keys:
            return {}
        self.sink.refresh_alerts()
        query = {
            "bool": {
                "filter": [
                    {"terms": {"rule": sorted({r for r, _ in keys})}},
                    {"terms": {"story_id": sorted({g for _, g in keys})}},
                ]
            }
        }
        wanted = set(keys)
        found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        for _id, src in self.sink.scan(
            self.sink.alerts, query, ["rule", "story_id", "article_id", "language"]
        ):
            key = (src["rule"], src["story_id"])
            if key in wanted:
                ids, langs = found.setdefault(key, (set(), set()))
                ids.add(src["article_id"])
                langs.add(src.get("language") or "und")
        return {k: Group(frozenset(i), frozenset(lang)) for k, (i, lang) in found.items()}

    def claim(self, firsts: Sequence[Firing]) -> dict[tuple[str, str], Group]:
        if not firsts:
            return {}
        now = datetime.now(UTC).isoformat()
        keyed = {}
        for f in firsts:
            group = f.group or f.article.id
            cid = claim_id(f.rule.name, group)
            keyed[cid] = ((f.rule.name, group), f)
        actions = [
            (
                "create",
                self.sink.claims,
                cid,
                {
                    "claim_id": cid,
                    "rule": key[0],
                    "group": key[1],
                    "article_id": f.article.id,
                    "language": f.article.language,
                    "claimed_at": now,
                },
            )
            for cid, (key, f) in keyed.items()
        ]
        results = self.sink.bulk(actions)
        taken = [a[2] for a, r in zip(actions, results, strict=True) if r.result == "exists"]
        for action, res in zip(actions, results, strict=True):
            if res.result == "rejected":  # a mapping problem: fail the batch, never alert twice
                raise RuntimeError(f"alert claim {action[2]} refused: {res.error}")
        lost: dict[tuple[str, str], Group] = {}
        for cid, src in self.sink.existing(self.sink.claims, taken).items():
            key, f = keyed[cid]
            if src.get("article_id") != f.article.id:  # the same article: a batch redone
                lost[key] = Group(
                    frozenset([src["article_id"]]), frozenset([src.get("language") or "und"])
                )
        return lost

    def episodes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        if not keys:
            return {}
        self.sink.refresh_alerts()
        out: dict[tuple[str, str], set[str]] = {}
        for rule, base in keys:
            query = {
                "bool": {"filter": [{"term": {"rule": rule}}, {"prefix": {"story_id": base + ":"}}]}
            }
            for _id, src in self.sink.scan(self.sink.alerts, query, ["story_id"]):
                out.setdefault((rule, base), set()).add(src["story_id"])
        return out

    def record(self, firings: Sequence[Firing]) -> list[Outcome]:
        outcomes: list[Outcome] = ["done"] * len(firings)
        # a near-duplicate does not fire a rule that already fired on the article it repeats
        dup_ids = [
            alert_id(f.rule.name, f.article.near_duplicate_of)
            for f in firings
            if f.article.near_duplicate_of
        ]
        fired_before = self.sink.existing_alerts(dup_ids) if dup_ids else {}
        in_batch: set[str] = set()
        keep: list[int] = []
        for k, f in enumerate(firings):
            dup = f.article.near_duplicate_of
            if dup and (
                alert_id(f.rule.name, dup) in fired_before or alert_id(f.rule.name, dup) in in_batch
            ):
                continue
            in_batch.add(f.body["alert_id"])
            keep.append(k)
        if not keep:
            return outcomes
        actions = []
        for k in keep:
            body = firings[k].body
            doc = dict(body)
            doc["delivery"] = {
                "state": "pending" if firings[k].webhooks else "delivered",
                "targets": firings[k].webhooks,
                "attempts": 0,
                "error": None,
                "updated_at": body.get("fired_at"),
                "topic": "pending",  # until Kafka acknowledged it on the alerts topic
            }
            actions.append(("create", self.sink.alerts, body["alert_id"], doc))
        # each alert's digest items, created once (a redone batch finds them: 409)
        items = [
            action
            for k in keep
            for action in item_actions(
                self.sink,
                firings[k].rule.name,
                self.digests.get(firings[k].rule.name, []),
                firings[k].body["alert_id"],
                firings[k].body.get("fired_at"),
            )
        ]
        results = self.sink.bulk(actions + items)
        for res in results[len(actions) :]:
            if res.result == "rejected":
                raise RuntimeError(f"digest item refused: {res.error}")
        results = results[: len(actions)]
        existing = self.sink.existing_alerts(
            [
                firings[k].body["alert_id"]
                for k, res in zip(keep, results, strict=True)
                if res.result == "exists"
            ]
        )
        for k, res in zip(keep, results, strict=True):
            f = firings[k]
            if res.result == "rejected":
                log.error("alert-not-stored alert=%s error=%s", f.body["alert_id"], res.error)
            elif res.result == "exists":
                stored = existing.get(f.body["alert_id"], {})
                delivery = stored.get("delivery", {})
                if delivery.get("state") == "pending":
                    # fired before, notifications never left (a batch redone): again
                    f.body = {key: v for key, v in stored.items() if key != "delivery"}
                    outcomes[k] = "resend"
                elif delivery.get("topic") == "pending":
                    # notified, but stopped before Kafka acknowledged it: the topic again
                    f.body = {key: v for key, v in stored.items() if key != "delivery"}
                    outcomes[k] = "republish"
            else:
                outcomes[k] = "new"
        return outcomes

    def hold(self, firing: Firing, url: str, reason: str) -> None:
        self.sink.set_delivery(firing.rule.name, firing.article.id, url, "rate_limited", 0, reason)
