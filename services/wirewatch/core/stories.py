"""Stories: the articles that report the same event, across sources and languages.

Contract: ``member(article, stored_at)`` is what a story needs to know of an article
(its story keys, entities, languages and time span); ``assign(member, candidates,
duplicate_story)`` returns the id of the story the article belongs to - the story of
the article it near-duplicates, else the story of the closest candidate that reports
the same event, else a new story whose id is the article's own id (so assignment is
deterministic and a redelivered article lands where it did). Nothing here does I/O:
the candidates come from a ``StoryIndex`` (``wirewatch.pipeline.ports``).

Two articles report the same event when, within ``window`` of each other, they

- share a story key: an event type and its target (a vendor it targets, else an
  operator among its actors, else an acting country), whatever the status;
- do not name disjoint acting countries for that event type (the Dutch and the
  Swedish ban on the same vendor are two stories);
- overlap in their other entities: at least ``min_shared`` entities in common and
  an overlap coefficient (shared / size of the smaller set) of ``min_overlap``;
- in the same language, share at least ``MIN_SHARED_WORDS`` of their keywords (big
  names alone - a vendor, its founder, a country - recur across unrelated news).

An article without events forms a story of its own unless it near-duplicates one.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .models import EnrichedArticle

WINDOW = timedelta(days=3)
MIN_SHARED = 3
MIN_OVERLAP = 0.6
MIN_SHARED_WORDS = 2


@dataclass(frozen=True)
class Member:
    """One article as a story sees it."""

    article_id: str
    story_id: str
    language: str
    lo: datetime  # the span the article's date allows (a day, a month, or a moment)
    hi: datetime
    keys: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    actors: tuple[tuple[str, frozenset[str]], ...] = ()  # (event type, acting countries)
    words: frozenset[str] = frozenset()  # keywords, lower case

    def actor_countries(self, event_type: str) -> frozenset[str]:
        out: set[str] = set()
        for kind, countries in self.actors:
            if kind == event_type:
                out |= countries
        return frozenset(out)


@dataclass
class Story:
    """A story as listed: its articles, languages, sources and when it was seen."""

    id: str
    articles: int = 0
    languages: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    title: str | None = None
    event_types: list[str] = field(default_factory=list)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parts(published: str | None) -> list[int]:
    """Year, month, day of a ``published`` value as far as it gives them and they make
    a date (a message may carry any string there): empty when they do not."""
    try:
        parts = [int(p) for p in (published or "").split("-")][:3]
        year, month, day = (parts + [1, 1])[:3]
        datetime(year, month, day)
    except (ValueError, TypeError):
        return []
    return parts


def span(published: str | None, stored_at: datetime) -> tuple[datetime, datetime]:
    """The time an article's news can be placed in: its published day or month, or the
    moment it was stored when the text gives no date (or only a year)."""
    parts = _parts(published)
    if len(parts) == 3:
        lo = datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        return lo, lo + timedelta(days=1)
    if len(parts) == 2:
        lo = datetime(parts[0], parts[1], 1, tzinfo=UTC)
        return lo, lo + timedelta(days=monthrange(parts[0], parts[1])[1])
    moment = _as_utc(stored_at)
    return moment, moment


def moment(published: str | None, stored_at: datetime) -> datetime:
    """One point in time for windows and per-day counts: the start of the published
    day (or month, or year), else the moment the article was stored."""
    parts = _parts(published)
    if parts:
        year, month, day = (parts + [1, 1])[:3]
        return datetime(year, month, day, tzinfo=UTC)
    return _as_utc(stored_at)


def day(published: str | None, stored_at: datetime) -> date:
    return moment(published, stored_at).date()


def _countries(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v for v in values if len(v) == 2 and v.isupper())


# An event as stories see it: its type, acting countries or bodies, targeted vendors.
EventParts = tuple[str, Sequence[str], Sequence[str]]


def _event_parts(article: EnrichedArticle) -> list[EventParts]:
    return [(ev.type, ev.actors, ev.targets) for ev in article.events]


def _keys(operators: Iterable[str], events: Iterable[EventParts]) -> frozenset[str]:
    known = set(operators)
    out: set[str] = set()
    for kind, actors, targets in events:
        if targets:
            parts = [f"vendor:{t}" for t in targets]
        elif ops := [a for a in actors if a in known]:
            parts = [f"operator:{o}" for o in ops]
        else:
            parts = [f"country:{c}" for c in sorted(_countries(actors))]
        out.update(f"{kind}|{t}" for t in parts)
    return frozenset(out)


def keys(article: EnrichedArticle) -> frozenset[str]:
    """``type|vendor:X``, ``type|operator:X`` or ``type|country:XX`` for each event."""
    return _keys(article.entities.operators, _event_parts(article))


_ENTITY_PREFIX = {
    "vendors": "vendor",
    "operators": "operator",
    "countries": "country",
    "organisations": "org",
    "people": "person",
}


def _entity_set(entities: Mapping[str, Sequence[str]]) -> frozenset[str]:
    return frozenset(
        f"{prefix}:{v}" for kind, prefix in _ENTITY_PREFIX.items() for v in entities.get(kind) or ()
    )


def member(article: EnrichedArticle, stored_at: datetime, story_id: str | None = None) -> Member:
    return _member(
        article.id,
        story_id or article.story_id or article.id,
        article.language,
        article.published,
        stored_at,
        {kind: getattr(article.entities, kind) for kind in _ENTITY_PREFIX},
        _event_parts(article),
        article.keywords,
    )


def member_of_doc(
    article_id: str,
    doc: Mapping[str, Any],
    stored_at: datetime,
    story_id: str | None = None,
    language: str | None = None,
    published: str | None = None,
) -> Member:
    """``member`` of a stored article from its document (the article's JSON, parsed),
    without building the ``EnrichedArticle``: a store reads many candidates for every
    batch, and validating each one's events and entities cost more than comparing
    them. ``language`` and ``published`` default to the document's; the story to
    ``story_id``, the document's, then the article itself."""
    entities = doc.get("entities") or {}
    return _member(
        article_id,
        story_id or doc.get("story_id") or article_id,
        language or doc.get("language") or "und",
        published if published is not None else doc.get("published"),
        stored_at,
        entities,
        [
            (e["type"], e.get("actors") or (), e.get("targets") or ())
            for e in doc.get("events") or ()
        ],
        doc.get("keywords") or (),
    )


def _member(
    article_id: str,
    story_id: str,
    language: str,
    published: str | None,
    stored_at: datetime,
    entities: Mapping[str, Sequence[str]],
    events: Sequence[EventParts],
    keywords: Iterable[str],
) -> Member:
    lo, hi = span(published, stored_at)
    actors: dict[str, set[str]] = {}
    for kind, acting, _targets in events:
        actors.setdefault(kind, set()).update(_countries(acting))
    return Member(
        article_id=article_id,
        story_id=story_id,
        language=language,
        lo=lo,
        hi=hi,
        keys=_keys(entities.get("operators") or (), events),
        entities=_entity_set(entities),
        actors=tuple(sorted((k, frozenset(v)) for k, v in actors.items())),
        words=frozenset(w.lower() for w in keywords),
    )


def _gap(a: Member, b: Member) -> timedelta:
    if a.hi < b.lo:
        return b.lo - a.hi
    if b.hi < a.lo:
        return a.lo - b.hi
    return timedelta(0)


def score(
    a: Member,
    b: Member,
    window: timedelta = WINDOW,
    min_shared: int = MIN_SHARED,
    min_overlap: float = MIN_OVERLAP,
) -> float:
    """How surely ``a`` and ``b`` report the same event: 0 when they do not, else their
    entity overlap coefficient (in (0, 1])."""
    shared_keys = a.keys & b.keys
    if not shared_keys or _gap(a, b) > window:
        return 0.0
    compatible = False
    for key in shared_keys:
        kind = key.split("|", 1)[0]
        ca, cb = a.actor_countries(kind), b.actor_countries(kind)
        if not ca or not cb or ca & cb:
            compatible = True
            break
    if not compatible:
        return 0.0
    if a.language == b.language and len(a.words & b.words) < MIN_SHARED_WORDS:
        return 0.0
    common = a.entities & b.entities
    smaller = min(len(a.entities), len(b.entities))
    if len(common) < min_shared or not smaller:
        return 0.0
    overlap = len(common) / smaller
    return overlap if overlap >= min_overlap else 0.0


def assign(
    article: Member,
    candidates: Iterable[Member],
    duplicate_story: str | None = None,
    window: timedelta = WINDOW,
) -> str:
    """The story id for ``article`` (see the module's contract). Ties go to the story
    seen first (the smaller id among equal scores, for a deterministic answer)."""
    if duplicate_story:
        return duplicate_story
    best: tuple[float, str] | None = None
    for other in candidates:
        if other.article_id == article.article_id:
            continue
        s = score(article, other, window)
        if s and (best is None or s > best[0] or (s == best[0] and other.story_id < best[1])):
            best = (s, other.story_id)
    return best[1] if best else article.article_id


def summarise(story_id: str, rows: Sequence[tuple[str, str | None, datetime, str | None]]) -> Story:
    """A story from its articles' (language, published, stored_at, title), oldest first."""
    story = Story(story_id, articles=len(rows))
    story.languages = sorted({lang for lang, _p, _s, _t in rows})
    moments = sorted(moment(p, s) for _lang, p, s, _t in rows)
    if moments:
        story.first_seen = moments[0].date().isoformat()
        story.last_seen = moments[-1].date().isoformat()
    story.title = next((t for _lang, _p, _s, t in rows if t), None)
    return story


def update_note(
    new_articles: int, new_languages: Sequence[str], before_languages: Iterable[str]
) -> str:
    """``+3 sources, now also in de, sv``: what an update adds to an alert."""
    note = f"+{new_articles} source{'s' if new_articles != 1 else ''}"
    also = sorted(set(new_languages) - set(before_languages))
    if also:
        note += f", now also in {', '.join(also)}"
    return note


def sightings(article: EnrichedArticle) -> frozenset[str]:
    """``vendor:X`` for each vendor an event targets, ``country:XX`` for each country
    acting in one: what first-seen rules look for."""
    out: set[str] = set()
    for ev in article.events:
        out.update(f"vendor:{t}" for t in ev.targets)
        out.update(f"country:{c}" for c in _countries(ev.actors))
    return frozenset(out)


def index_keys(article: EnrichedArticle) -> frozenset[str]:
    """What a store indexes per article for stories and trends: the story keys
    (``type|target``) and the sightings (``vendor:X``, ``country:XX``)."""
    return keys(article) | sightings(article)
