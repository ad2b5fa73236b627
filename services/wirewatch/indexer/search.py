"""Search the Elasticsearch index with the query syntax of ``wirewatch.search``.

The query runs on the ``search.*`` fields of the indexed documents, which hold the
title and body as ``wirewatch.search.analyse`` made them - the analysis the embedded
store uses too - so a query finds the same articles here as in SQLite. Snippets come
from the same ``wirewatch.search.snippet`` as the embedded store's, for the same
reason: Elasticsearch's highlighter would mark the words its own analyzers match.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from wirewatch import search as searching
from wirewatch.core.models import EnrichedArticle
from wirewatch.indexer.template import ARTICLES_ALIAS

_ARTICLE_FIELDS = sorted(EnrichedArticle.model_fields)


def request_body(
    query: searching.Query,
    *,
    limit: int = 20,
    offset: int = 0,
    sort: str = "relevance",
    min_relevance: float | None = None,
) -> dict[str, Any]:
    """The body of the ``_search`` request for ``query`` (pure)."""
    if sort not in searching.SORTS:
        raise ValueError(f"sort must be one of {', '.join(searching.SORTS)}, not {sort!r}")
    newest: list[dict[str, Any]] = [
        {"published": {"order": "desc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ]
    order = ([{"_score": {"order": "desc"}}] if sort == "relevance" else []) + newest
    return {
        "query": searching.to_elasticsearch(query, min_relevance),
        # pages end at the window (beyond it only the total is asked for: Elasticsearch
        # refuses a "from" past its own window)
        "from": offset if offset < searching.SEARCH_WINDOW else 0,
        "size": max(0, min(limit, searching.SEARCH_WINDOW - offset)),
        "sort": order,
        # counted up to SEARCH_WINDOW, as the embedded store counts
        "track_total_hits": searching.SEARCH_WINDOW,
        # sorting on fields besides _score leaves scores out unless asked for
        "track_scores": True,
        "_source": {"includes": _ARTICLE_FIELDS},
    }


def search(
    es: Elasticsearch,
    query: str | searching.Query,
    *,
    index: str = ARTICLES_ALIAS,
    limit: int = 20,
    offset: int = 0,
    sort: str = "relevance",
    min_relevance: float | None = None,
) -> searching.SearchResult:
    """Articles matching ``query`` in ``index`` (an alias with its namespace prefix, if
    any), as ``SqliteStore.search`` returns them. ``QueryError`` when the query is
    malformed; Elasticsearch's own errors propagate."""
    parsed = searching.parse(query) if isinstance(query, str) else query
    body = request_body(parsed, limit=limit, offset=offset, sort=sort, min_relevance=min_relevance)
    resp = es.search(index=index, **body)
    hits = []
    for h in resp["hits"]["hits"]:
        article = EnrichedArticle.model_validate(h["_source"])
        score = h.get("_score") or 0.0
        hits.append(searching.SearchHit(article, searching.snippet(article, parsed), score))
    total = resp["hits"]["total"]
    if not isinstance(total, dict):
        return searching.SearchResult(total, hits)
    return searching.SearchResult(total["value"], hits, total_exact=total.get("relation") != "gte")
