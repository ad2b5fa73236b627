"""The UI's one door to full-text search: the query's meaning, its errors and its hits.

The query syntax (``wirewatch.search``) and the ranked search (``SqliteStore.search``)
are defined outside the UI; the pages call only :func:`parse`, :func:`combined` and
:func:`search`, so a change of that interface is a change here, not in the pages.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from markupsafe import Markup, escape

from wirewatch import search as searching
from wirewatch.embedded.store import SqliteStore, sqlite_query
from wirewatch.search import Filter, Query, QueryError, SearchHit, SearchResult
from wirewatch.ui import queries
from wirewatch.ui.queries import Filters, StoreUnavailable

__all__ = ["QueryError", "SearchHit", "SearchResult", "combined", "marked", "parse", "search"]

MAX_QUERY_CHARS = 500
MARK_START = searching.MARK_START
MARK_END = searching.MARK_END
# the UI's sort names -> the store's
SORTS = {"relevance": "relevance", "newest": "date"}


def parse(text: str) -> Query:
    """The user's query; an empty one is every article. Raises QueryError."""
    text = text.strip()
    if not text:
        return Query(text=None)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS}")
    return searching.parse(text)


def combined(query: Query, filters: Filters) -> Query:
    """The query with the facet selections the search syntax has (type, status, vendor,
    country, language, date) added as its filters; operator and source stay UI filters
    (see ``queries.extra_where``)."""
    added: list[Filter] = []
    for field, value in (
        ("type", filters.type),
        ("status", filters.status),
        ("vendor", filters.vendor),
        ("country", filters.country),
        ("lang", filters.language),
    ):
        if value is not None:
            added.append(Filter(field, (value,)))
    if filters.date is not None:
        added += [Filter("since", (filters.date,)), Filter("until", (filters.date,))]
    return Query(query.text, (*query.filters, *added))


def readonly_store(conn: sqlite3.Connection, path: Path) -> SqliteStore:
    """A ``SqliteStore`` over a read-only connection, for its reading methods only (its
    constructor creates tables and switches the journal mode: both are writes)."""
    store = SqliteStore.__new__(SqliteStore)
    store.path = str(path)
    store._db = conn
    store._lock = threading.RLock()
    return store


def search(
    conn: sqlite3.Connection,
    path: Path,
    query: Query,
    filters: Filters,
    *,
    limit: int = 20,
    offset: int = 0,
    sort: str = "relevance",
) -> SearchResult:
    """The page of hits for ``query`` (already ``combined`` with ``filters``) and how many
    there are. The store ranks them; a selected operator or source, which the search
    syntax cannot express, is applied by ``queries.listing`` with the same query."""
    try:
        if filters.operator is None and filters.source is None:
            return readonly_store(conn, path).search(
                query,
                limit=limit,
                offset=offset,
                sort=SORTS[sort],
                min_relevance=filters.min_relevance,
            )
        sq = sqlite_query(conn, query)
        total = queries.count(conn, sq, filters)
        rows = queries.listing(conn, sq, filters, limit=limit, offset=offset, sort=sort)
        return SearchResult(
            total,
            [
                SearchHit(article, searching.snippet(article, query), score)
                for article, score in rows
            ],
        )
    except sqlite3.OperationalError as exc:
        if "no such column" in str(exc) or "no such table" in str(exc):
            raise StoreUnavailable(
                f"{path}: its search index was written by another version of wirewatch. "
                f"Run `wirewatch run INBOX --db {path} --once` once: opening the store for "
                "writing rebuilds the index."
            ) from exc
        raise


def marked(snippet: str) -> Markup:
    """A snippet as HTML: its text escaped, its hit markers as ``<mark>`` (balanced, so a
    marker can never open an element that is not closed)."""
    out: list[str] = []
    open_ = False
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append(str(escape("".join(buf))))
            buf.clear()

    for ch in snippet:
        if ch == MARK_START and not open_:
            flush()
            out.append("<mark>")
            open_ = True
        elif ch == MARK_END and open_:
            flush()
            out.append("</mark>")
            open_ = False
        else:
            buf.append(ch)
    flush()
    if open_:
        out.append("</mark>")
    return Markup("".join(out))
