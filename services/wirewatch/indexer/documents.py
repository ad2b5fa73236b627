"""Enriched article -> Elasticsearch document (pure; the mapping is in ``template``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wirewatch import search
from wirewatch.core import fingerprint, stories
from wirewatch.core.models import EnrichedArticle
from wirewatch.indexer.template import LANGUAGE_ANALYZERS


def to_document(article: EnrichedArticle, indexed_at: datetime) -> dict[str, Any]:
    """The indexed form: the article plus per-language text fields and facet helpers.

    ``title_lang.<lang>`` / ``body_lang.<lang>`` are filled only for the article's own
    language (when it has an analyzer), so each text is analysed once per language
    that fits it; ``event_types`` / ``event_kinds`` make the dashboards' facets flat;
    ``search`` holds the title and body as ``wirewatch.search`` analyses them (the fields
    its queries run on); ``story_keys``, ``story_span`` and ``story_at`` are what story
    assignment and trend rules look up.
    """
    doc = article.model_dump(mode="json")
    lang = article.language
    if lang in LANGUAGE_ANALYZERS:
        if article.title:
            doc["title_lang"] = {lang: article.title}
        doc["body_lang"] = {lang: article.body}
    title = search.analyse(article.title or "", lang)
    body = search.analyse(article.body, lang)
    doc["search"] = {
        "title_stems": title.stems,
        "body_stems": body.stems,
        "title_words": title.words,
        "body_words": body.words,
    }
    doc["event_types"] = sorted({e.type for e in article.events})
    doc["event_kinds"] = sorted({f"{e.type}:{e.status}" for e in article.events})
    doc["dup_bands"] = fingerprint.band_keys(article.fingerprint)
    doc["is_near_duplicate"] = article.near_duplicate_of is not None
    # what story assignment and trend rules look up (wirewatch.core.stories)
    lo, hi = stories.span(article.published, indexed_at)
    doc["story_keys"] = sorted(stories.index_keys(article))
    doc["story_span"] = {"lo": lo.isoformat(), "hi": hi.isoformat()}
    doc["story_at"] = stories.moment(article.published, indexed_at).isoformat()
    doc["indexed_at"] = indexed_at.isoformat()
    return doc
