"""Read-only SQL of the web UI: facet counts, the timeline, filtered listings, the live list.

Every function takes a connection from :func:`connect` (``mode=ro``: nothing here can
write) and reads the schema of ``wirewatch.embedded.store``. ``sq`` is the SQLite
rendering of the query (``wirewatch.embedded.store.sqlite_query``), the facet selections the search
syntax has included; the operator, source and minimum relevance selections are added here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from wirewatch.core.models import EnrichedArticle
from wirewatch.embedded.store import (
    DOC_COLUMNS,
    NEWEST,
    read_doc,
    read_page,
    register_functions,
)
from wirewatch.search import SqlQuery

DATE_PREFIX = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class StoreUnavailable(RuntimeError):
    """The database is missing, locked or not a wirewatch store; the message says what to do."""


def source_label(path: str) -> str:
    """What the source facet shows for a source path: the host of a feed item's link, else
    the name of the directory the file was found in."""
    if "://" in path:
        return urlsplit(path).hostname or path
    parent = (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).parent.name
    return parent or "."


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection to the store at ``path``.

    Raises StoreUnavailable when there is no file, when it is not a wirewatch database, or
    when it stays locked longer than the busy timeout."""
    if not path.is_file():
        raise StoreUnavailable(
            f"{path}: no wirewatch database here. Run `wirewatch run INBOX --db {path}` to "
            "create it, or start the UI with --db pointing at an existing database."
        )
    try:
        conn = sqlite3.connect(
            path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False, timeout=2.0
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{path}: cannot open the database read-only ({exc}).") from exc
    try:
        conn.execute("PRAGMA query_only = 1")
        conn.create_function("ww_source", 1, source_label, deterministic=True)
        register_functions(conn)
        conn.execute("SELECT 1 FROM articles LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        conn.close()
        raise unavailable(path, exc) from exc
    return conn


def unavailable(path: Path, exc: sqlite3.Error) -> StoreUnavailable:
    """A StoreUnavailable that says what went wrong with the database and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreUnavailable(
            f"{path}: the database is locked by another process (a long write or an "
            "exclusive lock). Reload in a moment; if it stays locked, look for a process "
            "holding it open."
        )
    return StoreUnavailable(
        f"{path}: not a readable wirewatch database ({text}). Point --db at the file "
        "`wirewatch run` writes."
    )


@dataclass(frozen=True)
class Filters:
    """The facet selections and narrowing of one request; None means "any"."""

    type: str | None = None
    status: str | None = None
    vendor: str | None = None
    operator: str | None = None
    country: str | None = None
    language: str | None = None
    source: str | None = None
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD (a publication-date prefix)
    min_relevance: float | None = None

    def items(self) -> list[tuple[str, str]]:
        """The selections as (name, value) pairs, for links that keep them."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out.append((f.name, str(value)))
        return out

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


_ENTITY_KINDS = {"vendor": "vendors", "operator": "operators", "country": "countries"}


def _event_clause(f: Filters, alias: str) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if f.type:
        clauses.append(f"{alias}.type = ?")
        args.append(f.type)
    if f.status:
        clauses.append(f"{alias}.status = ?")
        args.append(f.status)
    return clauses, args


def _where(sq: SqlQuery, f: Filters) -> tuple[str, list[object]]:
    """A WHERE clause over ``articles a``: the query's, and the selections it lacks."""
    clauses: list[str] = list(sq.where)
    args: list[object] = list(sq.args)
    if sq.match is not None:
        clauses.append("a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        args.append(sq.match)
    if sq.exclude is not None:
        clauses.append("a.rowid NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        args.append(sq.exclude)
    if f.operator:
        clauses.append(
            "EXISTS (SELECT 1 FROM entities n WHERE n.article_id = a.id AND n.kind = 'operators' "
            "AND n.value = ?)"
        )
        args.append(f.operator)
    if f.source:
        clauses.append(
            "EXISTS (SELECT 1 FROM article_sources s WHERE s.article_id = a.id "
            "AND ww_source(s.path) = ?)"
        )
        args.append(f.source)
    if f.min_relevance is not None:
        clauses.append("a.relevance >= ?")
        args.append(f.min_relevance)
    return (" AND ".join(clauses) or "1 = 1"), args


# -- listing ---------------------------------------------------------------------------
def count(conn: sqlite3.Connection, sq: SqlQuery, f: Filters) -> int:
    where, args = _where(sq, f)
    return int(conn.execute(f"SELECT count(*) FROM articles a WHERE {where}", args).fetchone()[0])


def listing(
    conn: sqlite3.Connection,
    sq: SqlQuery,
    f: Filters,
    *,
    limit: int,
    offset: int,
    sort: str = "relevance",
) -> list[tuple[EnrichedArticle, float]]:
    """One page of the matching articles with their scores: best first for a text query
    (``sort="relevance"``), else newest publication date first."""
    where, args = _where(sq, f)
    newest = NEWEST
    if sq.match is not None and sort == "relevance":
        sql = (
            "SELECT a.rowid, -bm25(articles_fts) FROM articles_fts JOIN articles a "
            f"ON a.rowid = articles_fts.rowid WHERE articles_fts MATCH ? AND {where} "
            f"ORDER BY 2 DESC, {newest} LIMIT ? OFFSET ?"
        )
        params: list[object] = [sq.match, *args, limit, offset]
    else:
        sql = (
            f"SELECT a.rowid, 0.0 FROM articles a WHERE {where} ORDER BY {newest} LIMIT ? OFFSET ?"
        )
        params = [*args, limit, offset]
    return read_page(conn, conn.execute(sql, params).fetchall())


# -- facets ----------------------------------------------------------------------------
FACET_NAMES = ("type", "status", "vendor", "operator", "country", "language", "source")
FACET_LIMIT = 12


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


def facets(conn: sqlite3.Connection, sq: SqlQuery, f: Filters) -> dict[str, list[FacetValue]]:
    """Per facet, its values among the matching articles with article counts (most first)."""
    where, args = _where(sq, f)
    # The matching ids are found once and handed to each facet's query as a JSON array,
    # looked up in the per-article tables by their primary keys (CROSS JOIN keeps that
    # order): seven queries re-evaluating the filters' correlated subqueries cost seconds
    # on a few thousand articles.
    ids = json.dumps(
        [r[0] for r in conn.execute(f"SELECT a.id FROM articles a WHERE {where}", args)]
    )
    out: dict[str, list[FacetValue]] = {}

    def run(name: str, sql: str, extra: Iterable[object] = ()) -> None:
        rows = conn.execute(
            f"WITH m(id) AS (SELECT value FROM json_each(?)) {sql} ORDER BY 2 DESC, 1 LIMIT ?",
            [ids, *extra, FACET_LIMIT],
        ).fetchall()
        out[name] = [FacetValue(str(v), int(c)) for v, c in rows if v is not None]

    # An event facet counts events that also satisfy the other event selection.
    type_only, type_args = _event_clause(Filters(status=f.status), "e")
    status_only, status_args = _event_clause(Filters(type=f.type), "e")
    run(
        "type",
        "SELECT e.type, count(DISTINCT e.article_id) FROM m CROSS JOIN events e "
        "ON e.article_id = m.id "
        + ("WHERE " + " AND ".join(type_only) if type_only else "")
        + " GROUP BY e.type",
        type_args,
    )
    run(
        "status",
        "SELECT e.status, count(DISTINCT e.article_id) FROM m CROSS JOIN events e "
        "ON e.article_id = m.id "
        + ("WHERE " + " AND ".join(status_only) if status_only else "")
        + " GROUP BY e.status",
        status_args,
    )
    for name, kind in _ENTITY_KINDS.items():
        run(
            name,
            "SELECT n.value, count(*) FROM m CROSS JOIN entities n ON n.article_id = m.id "
            "WHERE n.kind = ? GROUP BY n.value",
            [kind],
        )
    run(
        "language",
        "SELECT a.language, count(*) FROM m CROSS JOIN articles a ON a.id = m.id "
        "GROUP BY a.language",
    )
    run(
        "source",
        "SELECT ww_source(s.path), count(DISTINCT s.article_id) FROM m "
        "CROSS JOIN article_sources s ON s.article_id = m.id GROUP BY 1",
    )
    return out


# -- timeline --------------------------------------------------------------------------
@dataclass
class Timeline:
    """Events per publication-date bucket and type, for the matching articles."""

    granularity: str  # "day", "month" or "year"
    buckets: list[str]  # every bucket from the first to the last, empty ones included
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # bucket -> type -> n
    undated: int = 0  # events of articles without a publication date
    coarser: int = 0  # events dated less precisely than the granularity (e.g. month only)

    @property
    def total(self) -> int:
        return sum(sum(t.values()) for t in self.counts.values())


def _as_date(published: str) -> date:
    parts = [int(p) for p in published.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def _granularity(dates: list[str], narrowed: str | None) -> str:
    if narrowed and len(narrowed) == 10:
        return "day"
    if narrowed and len(narrowed) == 7:
        return "day"
    if narrowed and len(narrowed) == 4:
        return "month"
    if not dates:
        return "month"
    span = (_as_date(max(dates)) - _as_date(min(dates))).days
    if span <= 62:
        return "day"
    if span <= 6 * 366:
        return "month"
    return "year"


def _bucket_range(first: str, last: str, granularity: str) -> list[str]:
    if granularity == "year":
        return [str(y) for y in range(int(first[:4]), int(last[:4]) + 1)]
    if granularity == "month":
        y, m = int(first[:4]), int(first[5:7])
        end = (int(last[:4]), int(last[5:7]))
        out = []
        while (y, m) <= end:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    start, stop = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((stop - start).days + 1)]


_WIDTH = {"day": 10, "month": 7, "year": 4}


def timeline(conn: sqlite3.Connection, sq: SqlQuery, f: Filters) -> Timeline:
    """Events per day (or month, or year, by the span of the dates) stacked by type; a
    selected type or status counts only those events."""
    where, args = _where(sq, f)
    ev, ev_args = _event_clause(f, "e")
    rows = conn.execute(
        "SELECT a.published, e.type, count(*) FROM events e JOIN articles a "
        f"ON a.id = e.article_id WHERE {where} "
        + ("AND " + " AND ".join(ev) if ev else "")
        + " GROUP BY a.published, e.type",
        [*args, *ev_args],
    ).fetchall()
    valid = [(p, t, n) for p, t, n in rows if p and DATE_PREFIX.match(p)]
    granularity = _granularity([p for p, _, _ in valid], f.date)
    width = _WIDTH[granularity]
    counts: dict[str, dict[str, int]] = {}
    coarser = 0
    for published, type_, n in valid:
        if len(published) < width:
            coarser += n
            continue
        per_type = counts.setdefault(published[:width], {})
        per_type[type_] = per_type.get(type_, 0) + n
    undated = sum(n for p, _, n in rows if not (p and DATE_PREFIX.match(p)))
    buckets = _bucket_range(min(counts), max(counts), granularity) if counts else []
    return Timeline(granularity, buckets, counts, undated, coarser)


# -- one article -----------------------------------------------------------------------
def article(conn: sqlite3.Connection, article_id: str) -> EnrichedArticle | None:
    """The article with this id (or the one article whose id starts with it)."""
    row = conn.execute(
        f"SELECT {DOC_COLUMNS} FROM articles a WHERE a.id = ?", (article_id,)
    ).fetchone()
    if row is None and len(article_id) >= 6:
        rows = conn.execute(
            f"SELECT {DOC_COLUMNS} FROM articles a WHERE a.id LIKE ? ESCAPE '\\' LIMIT 2",
            (article_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        row = rows[0] if len(rows) == 1 else None
    return read_doc(*row) if row else None


@dataclass(frozen=True)
class Brief:
    id: str
    title: str | None
    published: str | None
    language: str
    first_seen: str
    events: int = 0
    rowid: int = 0  # the store's insertion order: what the live list calls new


def near_duplicates(conn: sqlite3.Connection, article_id: str) -> list[Brief]:
    """Articles that repeat this one (their near_duplicate_of is its id), oldest first."""
    rows = conn.execute(
        "SELECT id, title, published, language, first_seen FROM articles "
        "WHERE near_duplicate_of = ? ORDER BY first_seen, id",
        (article_id,),
    ).fetchall()
    return [Brief(*r) for r in rows]


def brief(conn: sqlite3.Connection, article_id: str) -> Brief | None:
    row = conn.execute(
        "SELECT id, title, published, language, first_seen FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone()
    return Brief(*row) if row else None


# -- stories ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Story:
    id: str
    articles: int
    languages: str
    sources: int
    first_seen: str
    last_seen: str
    title: str | None


def _has_stories(conn: sqlite3.Connection) -> bool:
    cols = {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
    return "story_id" in cols


def stories(conn: sqlite3.Connection, limit: int = 50, offset: int = 0) -> tuple[int, list[Story]]:
    """Stories (articles on the same event) by the latest article, newest first, with
    their article counts, languages and first/last seen; the title of the first article."""
    if not _has_stories(conn):
        return 0, []
    total = int(
        conn.execute("SELECT count(DISTINCT coalesce(story_id, id)) FROM articles").fetchone()[0]
    )
    rows = conn.execute(
        "SELECT coalesce(story_id, id) AS s, count(*), group_concat(DISTINCT language), "
        "(SELECT count(*) FROM article_sources x JOIN articles y ON y.id = x.article_id "
        " WHERE coalesce(y.story_id, y.id) = coalesce(a.story_id, a.id)), "
        "min(first_seen), max(first_seen), "
        "(SELECT title FROM articles z WHERE coalesce(z.story_id, z.id) = coalesce(a.story_id, a.id) "
        " ORDER BY z.first_seen, z.id LIMIT 1) "
        "FROM articles a GROUP BY s ORDER BY max(first_seen) DESC, s LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return total, [
        Story(r[0], r[1], ", ".join(sorted((r[2] or "").split(","))), r[3], r[4], r[5], r[6])
        for r in rows
    ]


def story_articles(conn: sqlite3.Connection, story_id: str) -> list[Brief]:
    """The articles of a story, oldest first (empty for an unknown story)."""
    if not _has_stories(conn):
        rows = conn.execute(
            "SELECT id, title, published, language, first_seen FROM articles WHERE id = ?",
            (story_id,),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT id, title, published, language, first_seen FROM articles "
            "WHERE coalesce(story_id, id) = ? ORDER BY first_seen, id",
            (story_id,),
        ).fetchall()
    return [Brief(*r) for r in rows]


# -- live ------------------------------------------------------------------------------
def newest(conn: sqlite3.Connection, limit: int = 30) -> list[Brief]:
    """The articles stored most recently, newest first, with their event counts."""
    rows = conn.execute(
        "SELECT a.id, a.title, a.published, a.language, a.first_seen, "
        "(SELECT count(*) FROM events e WHERE e.article_id = a.id), a.rowid "
        "FROM articles a ORDER BY a.rowid DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [Brief(*r) for r in rows]


def totals(conn: sqlite3.Connection) -> dict[str, int]:
    one = lambda sql: int(conn.execute(sql).fetchone()[0])  # noqa: E731
    return {
        "articles": one("SELECT count(*) FROM articles"),
        "events": one("SELECT count(*) FROM events"),
        "rejected": one("SELECT count(*) FROM rejected"),
    }


def rule_names(conn: sqlite3.Connection) -> list[tuple[str, int, str]]:
    """Each rule that fired, with how often and when last."""
    return [
        (r, int(n), at)
        for r, n, at in conn.execute(
            "SELECT rule, count(*), max(fired_at) FROM alerts GROUP BY rule ORDER BY rule"
        )
    ]
