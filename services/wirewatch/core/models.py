"""The article contracts: what crosses a process boundary, modelled once.

JSON Schema for each model is generated into ``schemas/`` (``wirewatch schemas
export``) and a contract test fails when the committed files drift from here.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["ban", "sanction", "warning", "regulation", "deal", "licensing", "legal"]
EventStatus = Literal["reported", "proposed", "rejected"]
EVENT_TYPES: tuple[str, ...] = (
    "ban",
    "sanction",
    "warning",
    "regulation",
    "deal",
    "licensing",
    "legal",
)
EVENT_STATUSES: tuple[str, ...] = ("reported", "proposed", "rejected")

SCHEMA_VERSION = 1


def _new_list() -> list:  # type: ignore[type-arg]
    """An empty list for a list field. A Python function rather than ``list``: pydantic
    reads a default factory's signature, and a builtin's signature is parsed from text
    (the tokenizer's patterns compiled on the first article: about 20 ms of start-up)."""
    return []


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


class Source(_Model):
    """Where an article came from."""

    path: str = Field(
        description="Path of the file (or URL of the feed item) as seen by the source."
    )
    size: int | None = Field(default=None, ge=0, description="Size in bytes of the raw content.")
    mtime: datetime | None = Field(default=None, description="Modification time of the file.")
    seen_at: datetime | None = Field(default=None, description="When the source first saw it.")


class RawArticle(_Model):
    """A file as published by a source, before any interpretation (topic articles.raw)."""

    schema_version: Literal[1] = 1
    source: Source
    content_type: str = Field(
        default="text/plain", description="MIME type as guessed by the source."
    )
    content_base64: str = Field(description="The raw bytes, base64-encoded.")

    @classmethod
    def from_bytes(
        cls, data: bytes, source: Source, content_type: str = "text/plain"
    ) -> RawArticle:
        return cls(
            source=source,
            content_type=content_type,
            content_base64=base64.b64encode(data).decode("ascii"),
        )

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class Entities(_Model):
    """Entities normalised across languages (canonical English names, ISO codes)."""

    vendors: list[str] = Field(default_factory=_new_list)
    operators: list[str] = Field(default_factory=_new_list)
    countries: list[str] = Field(
        default_factory=_new_list, description="ISO 3166-1 alpha-2 codes, plus EU for the Union."
    )
    organisations: list[str] = Field(default_factory=_new_list)
    people: list[str] = Field(default_factory=_new_list)


class PolicyEvent(_Model):
    """One policy event an article reports, proposes or rejects."""

    type: EventType
    status: EventStatus
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[str] = Field(description="The sentence(s) the event was read from.")
    actors: list[str] = Field(
        default_factory=_new_list,
        description="Acting countries (ISO codes), organisations, operators.",
    )
    targets: list[str] = Field(default_factory=_new_list, description="Targeted vendors.")


class EnrichedArticle(_Model):
    """An article after enrichment and classification (topic articles.enriched)."""

    schema_version: Literal[1] = 1
    id: str = Field(description="Deterministic id from the normalised text (16 hex chars).")
    source: Source
    sources: list[str] = Field(
        default_factory=_new_list, description="Every path this same text was seen at."
    )
    encoding: str = Field(description="The encoding the bytes were decoded with.")
    title: str | None
    lead: str | None = Field(default=None, description="The first sentence of the body.")
    body: str = Field(description="The article text without boilerplate.")
    boilerplate: list[str] = Field(
        default_factory=_new_list,
        description="Photo captions, copyright and agency lines kept aside.",
    )
    language: str = Field(description="ISO 639-1 code, or 'und' when undetermined.")
    language_confidence: float = Field(ge=0.0, le=1.0)
    published: str | None = Field(
        description="YYYY-MM or YYYY-MM-DD, as precise as the text gives; null when it gives none."
    )
    published_source: Literal["header", "body", "feed", "none"] = Field(
        default="none",
        description="Where the date came from: the text's date line (header), its body, "
        "the feed item's date when the text gives none (feed), or nowhere (none).",
    )
    entities: Entities
    events: list[PolicyEvent]
    relevance: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="How much the article is about technology policy (0 = not at all).",
    )
    relevance_reasons: list[str] = Field(
        default_factory=_new_list, description="Why the article got its relevance, in words."
    )
    keywords: list[str]
    fingerprint: list[int] = Field(description="MinHash signature of the body's word shingles.")
    near_duplicate_of: str | None = None
    story_id: str | None = Field(
        default=None,
        description="The story this article reports: the id of the story's first article "
        "(articles on the same event across sources and languages share it). Set after "
        "enrichment, when the article is stored; null before.",
    )
    enriched_at: datetime | None = None
    caps_hit: list[Literal["events_per_article", "evidence_chars"]] = Field(
        default_factory=_new_list,
        description="Resource caps this article hit: its events or evidence were cut there "
        "(the limits are settings: WIREWATCH_CORE__MAX_EVENTS, __MAX_EVIDENCE_CHARS).",
    )


class Rejection(_Model):
    """A file the core refused, with the reason (topic articles.raw.dlq)."""

    source: Source
    rejected: RejectReason


class RejectReason(_Model):
    code: Literal[
        "empty", "binary", "oversize", "undecodable", "not_language", "unreadable", "error"
    ]
    reason: str = Field(description="A sentence that says what was wrong and what to do.")


Rejection.model_rebuild()


class AlertMessage(_Model):
    """One alert: a rule that fired on an article (webhook body, topic wirewatch.alerts)."""

    alert_id: str = Field(description="Rule name + ':' + article id; unique per (rule, article).")
    kind: Literal["alert", "update"] = Field(
        default="alert",
        description="alert: the rule's first firing on a story; update: later articles of "
        "the same story (one message per batch, see ``update``).",
    )
    story_id: str | None = Field(default=None, description="The story the alert is about.")
    update: str | None = Field(
        default=None, description="What an update adds, e.g. '+3 sources, now also in de, sv'."
    )
    story_articles: list[str] = Field(
        default_factory=_new_list, description="An update's new articles (ids), oldest first."
    )
    rule: str
    article_id: str
    title: str | None
    language: str
    published: str | None
    source: str = Field(description="Path or URL the article came from.")
    vendors: list[str]
    countries: list[str]
    event_types: list[EventType]
    events: list[PolicyEvent] = Field(description="The events that matched, with evidence.")
    lookup: str = Field(description="How to look the article up.")
    fired_at: datetime | None = None
