"""The embedded store: SQLite with FTS5 full-text search over title and body.

Search (``search``) takes the query syntax of ``wirewatch.search``: the FTS5 table holds
the stems and the folded words of each title and body as that module analyses them.

One database file holds the enriched articles (the JSON document plus columns and
side tables for per-field filters), rejected files with their reasons, the
watcher's record of files already processed (so a restart catches up without
reprocessing), and the near-duplicate band index.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wirewatch import search as searching
from wirewatch import statefile
from wirewatch.core import alerts, fingerprint, stories
from wirewatch.core.models import EnrichedArticle, Rejection
from wirewatch.paths import path_key
from wirewatch.search import SearchColumns, search_columns

# Folded words, space-separated (``wirewatch.search.analyse``): the tokenizer only
# splits them again. Contentless: only the index is kept, not a second copy of the
# columns. A row shares its article's rowid; to remove it, FTS5 is told the values it
# was indexed with, which are worked out again from the stored article
# (``SEARCH_INDEX_VERSION`` pins the analysis). Stems are not indexed: ``search_vocab``
# holds each (stem, word) pair once, and a query word's stems become the words they
# stand for (``sqlite_query``); an index of stems beside the words was as large again.
FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title_words, body_words, lang,
    content = '', tokenize = 'unicode61 remove_diacritics 0'
)"""
# A word is kept as what it adds to its stem: the stem less its last ``cut`` letters,
# then ``tail`` (``vocab_row``); most words only add letters (cut 0, stored in no bytes).
VOCAB_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_vocab (
    stem TEXT NOT NULL, cut INTEGER NOT NULL, tail TEXT NOT NULL, PRIMARY KEY (stem, cut, tail)
) WITHOUT ROWID"""

# Near-duplicate band keys as integers (``band_number``), each with the number of the
# article's fingerprint (its rowid): a band row is a few bytes instead of the key and the
# article id as text. Stores of earlier versions are refiled into these tables when
# opened (``_migrate_bands``).
FINGERPRINTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    num INTEGER PRIMARY KEY, article_id TEXT NOT NULL UNIQUE, signature BLOB NOT NULL
)"""
DUP_BANDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS dup_bands (
    band INTEGER NOT NULL, num INTEGER NOT NULL, PRIMARY KEY (band, num)
) WITHOUT ROWID"""
# New articles' bands go into a small table first and are moved into ``dup_bands`` in
# key order once it holds ``RECENT_BANDS`` rows (``_merge_bands``). Filed one article at
# a time, the 32 bands of an article land on 32 random pages of a large ``dup_bands``,
# and every commit wrote those pages out again: with 100,000 stored that was a fifth of
# the time to store an article. A sorted move changes each page of ``dup_bands`` once
# for many rows. Lookups read both tables.
DUP_BANDS_RECENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS dup_bands_recent (
    band INTEGER NOT NULL, num INTEGER NOT NULL, PRIMARY KEY (band, num)
) WITHOUT ROWID"""
RECENT_BANDS = 32 * 1024  # rows: the bands of 1,024 articles
# One copy of each row, in key order (a table with a rowid kept a second copy in the
# index of its primary key); an index by value for the vendor and country filters.
ENTITIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    article_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (article_id, kind, value)
) WITHOUT ROWID"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    language TEXT,
    published TEXT,
    near_duplicate_of TEXT,
    relevance REAL NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_language ON articles(language);
CREATE TABLE IF NOT EXISTS article_sources (
    article_id TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (article_id, path)
);
CREATE TABLE IF NOT EXISTS events (
    article_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    confidence REAL NOT NULL, actors TEXT NOT NULL, targets TEXT NOT NULL, evidence TEXT NOT NULL,
    PRIMARY KEY (article_id, seq)
);
CREATE INDEX IF NOT EXISTS events_type ON events(type, status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    path TEXT PRIMARY KEY, code TEXT NOT NULL, reason TEXT NOT NULL, size INTEGER, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    article_id TEXT, outcome TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    rule TEXT NOT NULL, article_id TEXT NOT NULL, fired_at TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (rule, article_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    rule TEXT NOT NULL, article_id TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT, at TEXT NOT NULL,
    PRIMARY KEY (rule, article_id, target)
);
CREATE TABLE IF NOT EXISTS story_keys (
    key TEXT NOT NULL, article_id TEXT NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL,
    at TEXT NOT NULL, PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_keys_at ON story_keys(key, at);
-- an article's keys are replaced when it is stored again: found by article, not by a scan
CREATE INDEX IF NOT EXISTS story_keys_article ON story_keys(article_id);
CREATE TABLE IF NOT EXISTS silences (
    target TEXT NOT NULL, until TEXT NOT NULL, created TEXT NOT NULL, reason TEXT
);
"""
SCHEMA += ";\n".join(
    (
        ENTITIES_SCHEMA,
        FINGERPRINTS_SCHEMA,
        DUP_BANDS_SCHEMA,
        DUP_BANDS_RECENT_SCHEMA,
        FTS_SCHEMA,
        VOCAB_SCHEMA,
        "",
    )
)


# The article document is stored as zlib-compressed JSON (a third of its size as text);
# documents written as JSON text by earlier versions are read as they are.
_DOC_LEVEL = 6
# A preset dictionary for the compression: the field names and the usual values of a
# document, which deflate otherwise spells out once in every document (a document is a
# few kilobytes: 15 % of its compressed size). A stream names its dictionary by its
# Adler-32 checksum (RFC 1950), so these bytes never change; another dictionary is added
# beside it. Streams without one (earlier versions) are read as they are.
_DOC_DICTIONARY_1 = (
    b'"type":"ban","type":"sanction","type":"warning","type":"regulation",'
    b'"type":"licensing","type":"legal","status":"proposed","status":"rejected",'
    b'"status":"reported","confidence":0.,"evidence":["."],"actors":[],"targets":[]}'
    b'"the title is about technology","names ","policy events: deal"'
    b'{"schema_version":1,"id":"","source":{"path":"","size":,"mtime":null,'
    b'"seen_at":null},"sources":[".txt"],"encoding":"utf-8","title":"","lead":"",'
    b'"body":"","boilerplate":[],"language":"en","language_confidence":0.99,'
    b'"published":"20","published_source":"body","entities":{"vendors":[],'
    b'"operators":[],"countries":[],"organisations":[],"people":[]},"events":[],'
    b'"relevance":0.,"relevance_reasons":[" sentences about technology"],'
    b'"keywords":[],"near_duplicate_of":null,"story_id":"","enriched_at":"20T:.Z",'
    b'"caps_hit":[]}'
)
_DOC_DICTIONARIES = {zlib.adler32(_DOC_DICTIONARY_1): _DOC_DICTIONARY_1}
_DOC_DICTIONARY = _DOC_DICTIONARY_1  # the one new documents are written with


def pack_doc(article: EnrichedArticle) -> bytes:
    """The stored form of ``article``'s document: without its fingerprint, which the
    ``fingerprints`` table holds as 512 bytes (in the JSON it was a quarter of the
    compressed document)."""
    packer = zlib.compressobj(_DOC_LEVEL, zdict=_DOC_DICTIONARY)
    data = article.model_dump_json(exclude={"fingerprint"}).encode("utf-8")
    return packer.compress(data) + packer.flush()


# What ``read_doc`` takes: the document and its article's fingerprint.
DOC_COLUMNS = "a.doc, (SELECT f.signature FROM fingerprints f WHERE f.article_id = a.id)"


def doc_json(doc: bytes | str) -> bytes | str:
    """The JSON of a stored document, compressed or (written by an earlier version) not."""
    if not isinstance(doc, bytes):
        return doc
    if len(doc) > 6 and doc[1] & 0x20:  # FDICT: a preset dictionary, named by its checksum
        dictionary = _DOC_DICTIONARIES.get(int.from_bytes(doc[2:6], "big"))
        if dictionary is None:
            raise StoreError(
                "a stored document was compressed with a dictionary this version does not "
                "know: it was written by a later version of wirewatch; use that version"
            )
        unpacker = zlib.decompressobj(zdict=dictionary)
        return unpacker.decompress(doc) + unpacker.flush()
    return zlib.decompress(doc)


def read_doc(doc: bytes | str, signature: bytes | None = None) -> EnrichedArticle:
    """The article of a stored document (``DOC_COLUMNS``); a compressed one gets its
    fingerprint back from ``signature``, one of an earlier version has its own."""
    text = doc_json(doc)
    if isinstance(text, str):
        return EnrichedArticle.model_validate_json(text)
    fp = json.dumps(array("I", signature or b"").tolist()).encode()
    return EnrichedArticle.model_validate_json(text[:-1] + b',"fingerprint":' + fp + b"}")


def _doc_text(doc: bytes | str | None) -> str | None:
    """``ww_doc(doc)`` in SQL: the document as JSON text, for ``json_extract``."""
    if doc is None:
        return None
    out = doc_json(doc)
    return out.decode("utf-8") if isinstance(out, bytes) else out


def read_page(
    conn: sqlite3.Connection, page: Sequence[tuple[int, float]]
) -> list[tuple[EnrichedArticle, float]]:
    """The articles of a page of (article rowid, score) rows, in the page's order. A page
    of results is chosen by rowid first and its documents read after: sorting the
    documents of every match only to keep a page of them made broad queries slow on a
    large store."""
    if not page:
        return []
    docs = {
        rowid: (doc, sig)
        for rowid, doc, sig in conn.execute(
            f"SELECT a.rowid, {DOC_COLUMNS} FROM articles a WHERE a.rowid IN {_IN_JSON}",
            [json.dumps([rowid for rowid, _ in page])],
        )
    }
    return [(read_doc(*docs[rowid]), float(score)) for rowid, score in page]


def band_number(key: str) -> int:
    """A near-duplicate band key (``"7:0f3a...``", see ``fingerprint.band_keys``) as the
    integer the store files it under: the band in the top bits, then 58 bits of its hash
    (a signed 64-bit SQLite integer; as text the keys took three times the room)."""
    band, _, digest = key.partition(":")
    return (int(band) << 58) | (int(digest, 16) >> 6)


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the store's statements use, on a connection to a store."""
    conn.create_function("ww_doc", 1, _doc_text, deterministic=True)
    conn.create_function("ww_band", 1, band_number, deterministic=True)


class StoreError(RuntimeError):
    """The database cannot be opened or is not a wirewatch store."""


@dataclass(frozen=True)
class EventRow:
    article_id: str
    title: str | None
    language: str
    published: str | None
    type: str
    status: str
    confidence: float
    actors: list[str]
    targets: list[str]
    evidence: list[str]
    near_duplicate_of: str | None = None


# The keys, ids and band keys of a whole batch as one JSON parameter: one statement
# whatever their number. As ``IN (?,?,...)`` each batch made a statement of another
# length, thousands of parameters long, and the sqlite3 module keeps the last 128 it
# prepared: SQLite's memory grew by ~5 MB per 1,000 articles stored.
_IN_JSON = "(SELECT value FROM json_each(?))"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# What the FTS table was built with: a new analysis (or another stemmer version, whose
# stems may differ) rebuilds it from the stored articles when the store is opened.
# 2: each FTS row has its article's rowid, so replacing one is a lookup, not a scan
# 3: contentless FTS table (no id column, no stored copy of the columns)
# 4: words only; stems in search_vocab
# 5: search_vocab keeps what a word adds to its stem
# 6: the article's language as a third column
SEARCH_INDEX_VERSION = f"6 pystemmer {searching.Stemmer.version}"
# bm25 column weights: title words, body words (the language does not score)
_BM25 = "bm25(articles_fts, 5.0, 1.0, 0.0)"
# newest publication first (none last: SQLite sorts NULL lowest), then by id, as the
# articles_newest index holds them
NEWEST = "a.published DESC, a.id"
# From this many matches of filters alone, a page is read by walking articles_newest
# (country:CN,US at 100,000 stored: 120 -> 23 ms); fewer are sorted after a look-up by
# their own index (a walk would pass over most of the store to find them).
_WALK_FROM = 1000
# The FTS match with its articles, the match as the outer loop (CROSS JOIN): with a
# filter such as lang:fr SQLite otherwise walks every article of the language and runs
# the match once per article.
_FTS_FIRST = "articles_fts CROSS JOIN articles a ON a.rowid = articles_fts.rowid"
_FTS_INSERT = "INSERT INTO articles_fts(rowid, title_words, body_words, lang) VALUES (?,?,?,?)"
_FTS_DELETE = (
    "INSERT INTO articles_fts(articles_fts, rowid, title_words, body_words, lang) "
    "VALUES ('delete',?,?,?,?)"
)
_VOCAB_INSERT = "INSERT OR IGNORE INTO search_vocab(stem, cut, tail) VALUES (?,?,?)"
# SQLite's page cache for the store's connection, in KiB (its default is 2 MB). Articles
# are filed under random keys (ids, band keys, story keys), so from some 10,000 stored
# the pages an insert touches no longer stay in a small cache: storing 1,500 articles
# into 100,000 went from 365 to 393 articles/s (three alternate runs each). Pages are
# taken only as read: a small store stays small in memory.
CACHE_KIB = 64 * 1024
# Pages the write-ahead log may hold before they are copied into the database (SQLite's
# default is 1,000, 4 MB). A transaction of 256 articles into a large store dirties
# some 10,000 pages under random keys, so the default copied them after every commit;
# with a longer log a page changed by several commits is copied once. Storing 2,000
# articles into 100,000: 417 -> 439 articles/s (three alternate runs each).
CHECKPOINT_PAGES = 16_384
# Once the store has written, a thread of its own copies the log into the database every
# CHECKPOINT_EVERY seconds (a PASSIVE checkpoint on a second connection: it waits for no
# reader and blocks no writer), so the writer's commits rarely pay for the copy. SQLite
# leaves the GIL while it copies. The writer's own checkpoint stays as a backstop, at
# BACKSTOP_PAGES, for when the thread falls behind. Storing 2,048 articles into 100,000:
# 484 / 488 / 491 -> 559 / 515 / 527 articles/s (alternate runs).
CHECKPOINT_EVERY = 1.0
BACKSTOP_PAGES = 4 * CHECKPOINT_PAGES
# (stem, word) pairs known to be in search_vocab, so that an article costs a set
# look-up per word and an insert only for the pairs it brings first. Two generations of
# this many each: when the newer is full it becomes the older, and the pairs news keeps
# using stay known. A pair missing here costs only an insert that is ignored.
VOCAB_MEMO = 50_000


def _fts_delete_row(rowid: int, title: str | None, body: str | None, language: str | None) -> tuple:
    return (
        rowid,
        searching.index_words(title or ""),
        searching.index_words(body or ""),
        language or "",
    )


def vocab_row(pair: str) -> tuple[str, int, str]:
    """The ``search_vocab`` row of a ``"stem word"`` pair (``wirewatch.search.vocabulary``)."""
    stem, word = pair.split(" ")
    same = len(os.path.commonprefix([stem, word]))
    return stem, len(stem) - same, word[same:]


def words_for(db: sqlite3.Connection) -> searching.WordsFor:
    """The indexed words of any of some stems, from the store's ``search_vocab``."""

    def of(stems: tuple[str, ...]) -> list[str]:
        try:
            rows = db.execute(
                "SELECT substr(stem, 1, length(stem) - cut) || tail FROM search_vocab "
                f"WHERE stem IN ({','.join('?' * len(stems))})",
                stems,
            ).fetchall()
        except sqlite3.OperationalError as exc:
            # a store of an earlier version, read without converting it (the web UI
            # opens it read-only): the words as typed still match
            if "no such table" not in str(exc) and "no such column" not in str(exc):
                raise
            return []
        return [r[0] for r in rows]

    return of


def sqlite_query(db: sqlite3.Connection, query: searching.Query) -> searching.SqlQuery:
    """``query`` rendered for the store behind ``db`` (``wirewatch.search.to_sqlite``)."""
    return searching.to_sqlite(query, words_for(db))


class SqliteStore:
    """``ArticleStore`` on one SQLite file. Safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(
                    f"{self.path}: the directory {parent} does not exist; create it or pass "
                    "another --db path"
                )
        self._lock = threading.RLock()  # (the migrations take it too)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            register_functions(self._db)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self._checkpointer: _Checkpointer | None = None
            self._opened = False  # (the migrations' commits start no checkpointer)
            self._vocab: set[str] = set()  # "stem word", see VOCAB_MEMO
            self._vocab_older: set[str] = set()
            self._db.executescript(SCHEMA)
            self._migrate()
            # band rows waiting in dup_bands_recent (a count, kept as rows are added; a
            # rolled-back batch leaves it off - high, or low if a move was rolled back -
            # which only moves them a batch sooner or later)
            (self._recent_bands,) = self._db.execute(
                "SELECT count(*) FROM dup_bands_recent"
            ).fetchone()
            self._opened = True
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: cannot use this file as a wirewatch database ({exc}); "
                "pass another --db path"
            ) from exc

    def _add_vocabulary(self, columns: SearchColumns) -> None:
        """Put the (stem, word) pairs of an article's columns into ``search_vocab``."""
        new = searching.vocabulary(columns).difference(self._vocab, self._vocab_older)
        if not new:
            return
        self._db.executemany(_VOCAB_INSERT, map(vocab_row, new))
        if len(self._vocab) + len(new) > VOCAB_MEMO:
            self._vocab_older, self._vocab = self._vocab, set()
        self._vocab.update(new)

    def _forget_vocabulary(self) -> None:
        """After a rollback: pairs of the rolled-back articles may not be in the table."""
        self._vocab = set()
        self._vocab_older = set()

    def _migrate(self) -> None:
        """Bring a database written by an earlier version up to this schema."""
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(articles)")}
        if "relevance" not in cols:
            # Earlier articles keep their stored document; its relevance (0 when the
            # document predates the field) fills the column.
            self._db.execute("ALTER TABLE articles ADD COLUMN relevance REAL NOT NULL DEFAULT 0")
            self._db.execute(
                "UPDATE articles SET relevance = "
                "coalesce(json_extract(ww_doc(doc), '$.relevance'), 0)"
            )
        self._db.execute("CREATE INDEX IF NOT EXISTS articles_relevance ON articles(relevance)")
        # newest first, as searches list them: a page of a broad filter is the first
        # entries of this index, not a sort of every match (it replaces an index on
        # the date alone)
        self._db.execute("DROP INDEX IF EXISTS articles_published")
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS articles_newest ON articles(published DESC, id)"
        )
        self._migrate_stories(cols)
        self._migrate_search()
        self._migrate_bands()
        self._migrate_entities()
        self._index_entity_values()

    def _index_entity_values(self) -> None:
        """The index of entity values, case-insensitive (ASCII, as the vendor filter
        compares): earlier versions indexed the values as they are, which left the
        vendor filter to read every vendor row."""
        row = self._db.execute(
            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'entities_value'"
        ).fetchone()
        if row is not None and "NOCASE" not in row[0]:
            self._db.execute("DROP INDEX entities_value")
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS entities_value ON entities(kind, value COLLATE NOCASE)"
        )

    def _migrate_bands(self) -> None:
        """Earlier versions filed bands under the article id (and before that, their keys
        as text), and fingerprints had no number: both are refiled."""
        bands = {r[1]: r[2].upper() for r in self._db.execute("PRAGMA table_info(dup_bands)")}
        prints = {r[1] for r in self._db.execute("PRAGMA table_info(fingerprints)")}
        if "num" in bands and "num" in prints:
            return
        band = "band" if bands.get("band") == "INTEGER" else "ww_band(band)"
        with self.transaction():
            self._db.execute("ALTER TABLE dup_bands RENAME TO dup_bands_old")
            self._db.execute("ALTER TABLE fingerprints RENAME TO fingerprints_old")
            self._db.execute(FINGERPRINTS_SCHEMA)
            self._db.execute(DUP_BANDS_SCHEMA)
            self._db.execute(
                "INSERT INTO fingerprints(article_id, signature) "
                "SELECT article_id, signature FROM fingerprints_old ORDER BY rowid"
            )
            self._db.execute(
                f"INSERT OR IGNORE INTO dup_bands(band, num) SELECT {band}, f.num "
                "FROM dup_bands_old b JOIN fingerprints f ON f.article_id = b.article_id"
            )
            self._db.execute("DROP TABLE dup_bands_old")
            self._db.execute("DROP TABLE fingerprints_old")

    def _migrate_entities(self) -> None:
        """Earlier versions kept entities in a table with a rowid: copied into one without."""
        row = self._db.execute(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'entities'"
        ).fetchone()
        if row is None or "WITHOUT ROWID" in row[0].upper():
            return
        with self.transaction():
            self._db.execute("DROP INDEX IF EXISTS entities_value")
            self._db.execute("ALTER TABLE entities RENAME TO entities_old")
            self._db.execute(ENTITIES_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO entities(article_id, kind, value) "
                "SELECT article_id, kind, value FROM entities_old"
            )
            self._db.execute("DROP TABLE entities_old")

    def _migrate_stories(self, cols: set[str]) -> None:
        """Stories came later: earlier articles each become a story of their own (their
        near-duplicates join it), with the keys that later articles are matched on."""
        alert_cols = {r[1] for r in self._db.execute("PRAGMA table_info(alerts)")}
        if "story_id" not in alert_cols:
            self._db.execute("ALTER TABLE alerts ADD COLUMN story_id TEXT")
            self._db.execute("ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert'")
            self._db.execute("UPDATE alerts SET story_id = article_id")
        self._db.execute("CREATE INDEX IF NOT EXISTS alerts_story ON alerts(rule, story_id)")
        if "story_id" in cols:
            return
        with self.transaction():
            self._db.execute("ALTER TABLE articles ADD COLUMN story_id TEXT")
            self._db.execute("ALTER TABLE articles ADD COLUMN at TEXT")
            rows = self._db.execute(
                f"SELECT a.id, a.near_duplicate_of, a.first_seen, {DOC_COLUMNS} FROM articles a "
                "ORDER BY a.first_seen, a.id"
            ).fetchall()
            for aid, dup, first_seen, doc, sig in rows:
                article = read_doc(doc, sig)
                article.story_id = dup or aid
                self._put_story(article, datetime.fromisoformat(first_seen))
        self._db.execute("CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id)")

    def _put_story(self, article: EnrichedArticle, stored_at: datetime, new: bool = False) -> None:
        """The article's story, its moment and its story keys (with its time span);
        ``new``: the article had no keys yet."""
        lo, hi = stories.span(article.published, stored_at)
        at = stories.moment(article.published, stored_at).isoformat()
        self._db.execute(
            "UPDATE articles SET story_id = ?, at = ? WHERE id = ?",
            (article.story_id or article.id, at, article.id),
        )
        if not new:
            self._db.execute("DELETE FROM story_keys WHERE article_id = ?", (article.id,))
        self._db.executemany(
            "INSERT OR IGNORE INTO story_keys(key, article_id, lo, hi, at) VALUES (?,?,?,?,?)",
            [
                (k, article.id, lo.isoformat(), hi.isoformat(), at)
                for k in sorted(stories.index_keys(article))
            ],
        )

    def _migrate_search(self) -> None:
        """Rebuild the FTS table from the stored articles when it predates this analysis
        (the plain title/body table of earlier versions included)."""
        fts_cols = [r[1] for r in self._db.execute("PRAGMA table_info(articles_fts)")]
        row = self._db.execute("SELECT value FROM meta WHERE key = 'search_index'").fetchone()
        if (
            fts_cols == list(searching.FTS_COLUMNS)
            and row is not None
            and row[0] == SEARCH_INDEX_VERSION
        ):
            return
        with self.transaction():
            self._db.execute("DROP TABLE IF EXISTS articles_fts")
            self._db.execute("DROP TABLE IF EXISTS search_vocab")
            self._db.execute(VOCAB_SCHEMA)
            self._db.execute(FTS_SCHEMA)
            rows = self._db.execute(
                "SELECT rowid, title, json_extract(ww_doc(doc), '$.body'), language FROM articles"
            )
            for rowid, title, body, language in rows:
                columns = search_columns(title, body or "", language)
                self._db.execute(_FTS_INSERT, (rowid, columns[0], columns[1], language or ""))
                self._add_vocabulary(columns)
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('search_index', ?)",
                (SEARCH_INDEX_VERSION,),
            )

    def close(self) -> None:
        # the checkpointer first: the last connection to close copies the rest of the log
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._db.close()

    def _wrote(self) -> None:
        """A transaction was committed: make sure the log is copied in the background."""
        if self._checkpointer is None and self._opened and self.path != ":memory:":
            try:
                self._checkpointer = _Checkpointer(self.path, CHECKPOINT_EVERY)
            except sqlite3.Error:
                return  # the writer's own checkpoint still copies the log
            self._db.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        if self._checkpointer is not None:
            self._checkpointer.dirty.set()

    # -- transactions ----------------------------------------------------------
    def transaction(self) -> _Tx:
        return _Tx(self)

    # -- ArticleSink ------------------------------------------------------------
    def put(self, article: EnrichedArticle, columns: SearchColumns | None = None) -> None:
        """Store ``article``; ``columns``: its ``search_columns`` if already worked out."""
        with self._lock:
            db = self._db
            row = db.execute(
                "SELECT first_seen, near_duplicate_of, rowid, title, "
                "json_extract(ww_doc(doc), '$.body'), language FROM articles WHERE id = ?",
                (article.id,),
            ).fetchone()
            # A new article has no rows anywhere yet (they are all written in the same
            # transaction as its article row): nothing to look up or replace.
            new = row is None
            paths = (
                []
                if new
                else [
                    r[0]
                    for r in db.execute(
                        "SELECT path FROM article_sources WHERE article_id = ? ORDER BY rowid",
                        (article.id,),
                    )
                ]
            )
            for p in article.sources or [article.source.path]:
                if p not in paths:
                    paths.append(p)
                    db.execute(
                        "INSERT OR IGNORE INTO article_sources(article_id, path) VALUES (?, ?)",
                        (article.id, p),
                    )
            article.sources = paths
            if row is not None:
                # Redelivery of the same text: keep when it was first seen and what it
                # was first found to duplicate.
                article.near_duplicate_of = row[1]
            first_seen = row[0] if row else _now()
            doc = pack_doc(article)
            cur = db.execute(
                "INSERT INTO articles(id, title, language, published, near_duplicate_of, "
                "relevance, doc, first_seen, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET "
                "title=excluded.title, language=excluded.language, published=excluded.published, "
                "near_duplicate_of=excluded.near_duplicate_of, relevance=excluded.relevance, "
                "doc=excluded.doc, updated_at=excluded.updated_at",
                (
                    article.id,
                    article.title,
                    article.language,
                    article.published,
                    article.near_duplicate_of,
                    article.relevance,
                    doc,
                    first_seen,
                    _now(),
                ),
            )
            # the FTS row shares the article's rowid (an upsert keeps it); the old row is
            # removed with the values it was indexed with, from the article as stored
            if new:
                rowid = cur.lastrowid
            else:
                rowid = row[2]
                db.execute(_FTS_DELETE, _fts_delete_row(rowid, row[3], row[4], row[5]))
            columns = columns or search_columns(article.title, article.body, article.language)
            db.execute(_FTS_INSERT, (rowid, columns[0], columns[1], article.language or ""))
            self._add_vocabulary(columns)
            if not new:
                db.execute("DELETE FROM entities WHERE article_id = ?", (article.id,))
            ents = article.entities.model_dump()
            db.executemany(
                "INSERT OR IGNORE INTO entities(article_id, kind, value) VALUES (?,?,?)",
                [(article.id, kind, v) for kind, values in ents.items() for v in values],
            )
            if not new:
                db.execute("DELETE FROM events WHERE article_id = ?", (article.id,))
            db.executemany(
                "INSERT INTO events(article_id, seq, type, status, confidence, actors, targets, "
                "evidence) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        article.id,
                        i,
                        e.type,
                        e.status,
                        e.confidence,
                        json.dumps(e.actors, ensure_ascii=False),
                        json.dumps(e.targets, ensure_ascii=False),
                        json.dumps(e.evidence, ensure_ascii=False),
                    )
                    for i, e in enumerate(article.events)
                ],
            )
            db.execute(f"DELETE FROM rejected WHERE path IN ({','.join('?' * len(paths))})", paths)
            self._put_story(article, datetime.fromisoformat(first_seen), new)
            self.add(article.id, fingerprint.band_keys(article.fingerprint), article.fingerprint)

    def reject(self, rejection: Rejection) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rejected(path, code, reason, size, at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(path) DO UPDATE SET code=excluded.code, reason=excluded.reason, "
                "size=excluded.size, at=excluded.at",
                (
                    rejection.source.path,
                    rejection.rejected.code,
                    rejection.rejected.reason,
                    rejection.source.size,
                    _now(),
                ),
            )

    # -- DuplicateIndex -------------------------------------------------------
    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        if not keys:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT f.article_id, f.signature FROM fingerprints f WHERE f.num IN "
                f"(SELECT b.num FROM dup_bands b WHERE b.band IN {_IN_JSON} "
                f"UNION SELECT r.num FROM dup_bands_recent r WHERE r.band IN {_IN_JSON})",
                [json.dumps([band_number(k) for k in keys])] * 2,
            ).fetchall()
        return [(aid, array("I", sig).tolist()) for aid, sig in rows]

    def add(self, article_id: str, keys: list[str], signature: list[int]) -> None:
        with self._lock:
            packed = array("I", signature).tobytes()
            # (an upsert with RETURNING took five times as long as the rest of the
            # article's rows together)
            cur = self._db.execute(
                "INSERT OR IGNORE INTO fingerprints(article_id, signature) VALUES (?, ?)",
                (article_id, packed),
            )
            if cur.rowcount == 1:
                num = cur.lastrowid
            else:  # stored before: the same number, this signature
                self._db.execute(
                    "UPDATE fingerprints SET signature = ? WHERE article_id = ?",
                    (packed, article_id),
                )
                (num,) = self._db.execute(
                    "SELECT num FROM fingerprints WHERE article_id = ?", (article_id,)
                ).fetchone()
            self._db.executemany(
                "INSERT OR IGNORE INTO dup_bands_recent(band, num) VALUES (?, ?)",
                [(band_number(k), num) for k in keys],
            )
            self._recent_bands += len(keys)
            if self._recent_bands >= RECENT_BANDS:
                self._merge_bands()

    def _merge_bands(self) -> None:
        """Move the rows of ``dup_bands_recent`` into ``dup_bands``, in key order (in the
        caller's transaction, if any)."""
        self._db.execute(
            "INSERT OR IGNORE INTO dup_bands(band, num) "
            "SELECT band, num FROM dup_bands_recent ORDER BY band, num"
        )
        self._db.execute("DELETE FROM dup_bands_recent")
        self._recent_bands = 0

    # -- alerts -----------------------------------------------------------------
    def fire_alert(
        self, rule: str, article_id: str, duplicate_of: str | None, payload: dict
    ) -> bool:
        """Record that ``rule`` fired on the article; False if it (or the article it
        near-duplicates) already fired for this rule."""
        with self._lock:
            if (
                duplicate_of
                and self._db.execute(
                    "SELECT 1 FROM alerts WHERE rule = ? AND article_id = ?", (rule, duplicate_of)
                ).fetchone()
            ):
                return False
            cur = self._db.execute(
                "INSERT OR IGNORE INTO alerts(rule, article_id, fired_at, payload, story_id, kind) "
                "VALUES (?,?,?,?,?,?)",
                (
                    rule,
                    article_id,
                    _now(),
                    json.dumps(payload, ensure_ascii=False),
                    payload.get("story_id") or article_id,
                    payload.get("kind") or "alert",
                ),
            )
            return cur.rowcount == 1

    def alert_groups(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
        """(article ids, languages) each (rule, story) among ``keys`` fired on."""
        out: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        with self._lock:
            for rule, story in keys:
                for aid, lang in self._db.execute(
                    "SELECT article_id, json_extract(payload, '$.language') FROM alerts "
                    "WHERE rule = ? AND story_id = ?",
                    (rule, story),
                ):
                    ids, langs = out.setdefault((rule, story), (set(), set()))
                    ids.add(aid)
                    langs.add(lang)
        return out

    def alert_episodes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """The groups each (rule, base) among ``keys`` recorded whose key starts with
        ``base:`` (a trend rule's episodes of one target)."""
        out: dict[tuple[str, str], set[str]] = {}
        with self._lock:
            for rule, base in keys:
                prefix = base + ":"
                for (group,) in self._db.execute(
                    "SELECT DISTINCT story_id FROM alerts WHERE rule = ? "
                    "AND substr(story_id, 1, ?) = ?",
                    (rule, len(prefix), prefix),
                ):
                    out.setdefault((rule, base), set()).add(group)
        return out

    # -- stories ----------------------------------------------------------------
    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id FROM articles WHERE story_id IS NOT NULL AND "
                f"id IN {_IN_JSON}",
                [json.dumps(list(ids))],
            ).fetchall()
        return dict(rows)

    def story_members(
        self, keys: Sequence[str], since: datetime, until: datetime
    ) -> list[stories.Member]:
        """Stored articles with one of ``keys`` whose span reaches into [since, until]."""
        if not keys:
            return []
        # only what a story compares (not the body or the fingerprint): a popular key
        # can bring many candidates
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id, a.story_id, a.first_seen, a.language, a.published, a.doc "
                "FROM articles a WHERE a.id IN ("
                "SELECT article_id FROM story_keys WHERE hi >= ? AND lo <= ? AND "
                f"key IN {_IN_JSON})",
                [since.isoformat(), until.isoformat(), json.dumps(list(keys))],
            ).fetchall()
        out = []
        # members parsed before (a popular key brings the same ones batch after batch);
        # an article's member changes only with its story or moment, both in the key
        cache: dict[tuple[str, str, str], stories.Member] = self.__dict__.setdefault("_members", {})
        if len(cache) > 100_000:
            cache.clear()
        for aid, story, seen, language, published, doc in rows:
            hit = cache.get((aid, story, seen))
            if hit is not None:
                out.append(hit)
                continue
            member = stories.member_of_doc(
                aid,
                json.loads(doc_json(doc)),
                datetime.fromisoformat(seen),
                story,
                language,
                published,
            )
            cache[(aid, story, seen)] = member
            out.append(member)
        return out

    def story_ids(
        self, keys: Sequence[str], since: datetime | None, until: datetime | None
    ) -> set[str]:
        """Stories with an article carrying one of ``keys`` at a moment in [since, until]."""
        if not keys:
            return set()
        sql = (
            "SELECT DISTINCT a.story_id FROM story_keys k JOIN articles a ON a.id = k.article_id "
            f"WHERE k.key IN {_IN_JSON}"
        )
        args: list[object] = [json.dumps(list(keys))]
        if since is not None:
            sql += " AND k.at >= ?"
            args.append(since.isoformat())
        if until is not None:
            sql += " AND k.at <= ?"
            args.append(until.isoformat())
        with self._lock:
            return {r[0] for r in self._db.execute(sql, args)}

    def stories(
        self, limit: int = 50, since: str | None = None, min_articles: int = 1
    ) -> list[stories.Story]:
        """Stories, the most recently seen first: articles, languages, first/last seen."""
        sql = (
            "SELECT story_id, count(*), group_concat(DISTINCT language), min(at), max(at), "
            "min(first_seen) FROM articles WHERE story_id IS NOT NULL"
        )
        args: list[object] = []
        if since:
            sql += " AND at >= ?"
            args.append(since)
        sql += " GROUP BY story_id HAVING count(*) >= ? ORDER BY max(at) DESC, story_id LIMIT ?"
        args += [min_articles, limit]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            out = []
            for story_id, n, langs, first, last, _seen in rows:
                head = self._db.execute(
                    "SELECT title, (SELECT group_concat(DISTINCT e.type) FROM events e "
                    "JOIN articles b ON b.id = e.article_id WHERE b.story_id = ?) "
                    "FROM articles WHERE id = ? OR story_id = ? ORDER BY id = ? DESC, at LIMIT 1",
                    (story_id, story_id, story_id, story_id),
                ).fetchone()
                out.append(
                    stories.Story(
                        story_id,
                        n,
                        sorted((langs or "").split(",")) if langs else [],
                        (first or "")[:10] or None,
                        (last or "")[:10] or None,
                        head[0] if head else None,
                        sorted((head[1] or "").split(",")) if head and head[1] else [],
                    )
                )
        return out

    def story_articles(self, story_id: str) -> list[EnrichedArticle]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {DOC_COLUMNS} FROM articles a WHERE a.story_id = ? "
                "ORDER BY a.at, a.first_seen, a.id",
                (story_id,),
            ).fetchall()
        return [read_doc(d, sig) for d, sig in rows]

    def articles_between(
        self, since: str | None, until: str | None
    ) -> list[tuple[EnrichedArticle, datetime]]:
        """Stored articles whose moment (published, else first stored) is in
        [since, until), each with it, oldest first."""
        sql, args = f"SELECT {DOC_COLUMNS}, a.at FROM articles a WHERE a.at IS NOT NULL", []
        if since:
            sql += " AND a.at >= ?"
            args.append(since)
        if until:
            sql += " AND a.at < ?"
            args.append(until)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY a.at, a.first_seen, a.id", args).fetchall()
        return [(read_doc(doc, sig), datetime.fromisoformat(at)) for doc, sig, at in rows]

    def story_counts(self) -> tuple[int, int]:
        """(articles, stories)."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*), count(DISTINCT story_id) FROM articles"
            ).fetchone()
        return row[0], row[1]

    # -- silences ---------------------------------------------------------------
    def add_silence(self, target: str, until: datetime, reason: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO silences(target, until, created, reason) VALUES (?,?,?,?)",
                (target, until.isoformat(), _now(), reason),
            )

    def silences(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """(target, until) of the silences still running at ``now`` (default: all)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT target, max(until) FROM silences GROUP BY target ORDER BY target"
            ).fetchall()
        out = [(t, datetime.fromisoformat(u)) for t, u in rows]
        return [(t, u) for t, u in out if now is None or u > now]

    def expire_silence(self, target: str, now: datetime | None = None) -> int:
        """End the silences of ``target`` running at ``now``: their ``until`` becomes
        ``now``. Returns how many were running."""
        at = (now or datetime.now(UTC)).isoformat()
        with self._lock:
            cur = self._db.execute(
                "UPDATE silences SET until = ? WHERE target = ? AND until > ?", (at, target, at)
            )
        return cur.rowcount

    def add_delivery(
        self,
        rule: str,
        article_id: str,
        target: str,
        status: str = "pending",
        error: str | None = None,
    ) -> None:
        """A delivery to send (``pending``), or one held back (``rate_limited``, not sent)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO deliveries(rule, article_id, target, status, at, error) "
                "VALUES (?,?,?,?,?,?)",
                (rule, article_id, target, status, _now(), error),
            )

    def set_delivery(
        self, rule: str, article_id: str, target: str, status: str, attempts: int, error: str | None
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET status=?, attempts=?, error=?, at=? "
                "WHERE rule=? AND article_id=? AND target=?",
                (status, attempts, error, _now(), rule, article_id, target),
            )

    def pending_deliveries(self) -> list[tuple[str, str, str, dict]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT d.rule, d.article_id, d.target, a.payload FROM deliveries d JOIN alerts a "
                "ON a.rule = d.rule AND a.article_id = d.article_id WHERE d.status = 'pending' "
                "ORDER BY d.at"
            ).fetchall()
        return [(r, a, t, json.loads(p)) for r, a, t, p in rows]

    def alerts(self, limit: int = 100) -> list[dict]:
        """The newest alerts with their deliveries; webhook targets shown by origin only
        (``https://host:port/…``): paths and queries of webhook URLs often carry tokens."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule, article_id, fired_at, payload FROM alerts "
                "WHERE kind = 'alert' OR json_extract(payload, '$.update') IS NOT NULL "
                "ORDER BY fired_at DESC, rule LIMIT ?",
                (limit,),
            ).fetchall()
            deliveries: dict[tuple[str, str], list[str]] = {}
            for rule, aid, target, status, attempts, error in self._db.execute(
                "SELECT d.rule, d.article_id, d.target, d.status, d.attempts, d.error "
                "FROM deliveries d JOIN (SELECT rule, article_id FROM alerts "
                "WHERE kind = 'alert' OR json_extract(payload, '$.update') IS NOT NULL "
                "ORDER BY fired_at DESC, rule LIMIT ?) a "
                "ON d.rule = a.rule AND d.article_id = a.article_id ORDER BY d.target",
                (limit,),
            ):
                origin = alerts.webhook_origin(target)
                shown = f"{origin}/…" if "://" in origin else origin
                text = f"{shown} {status} {attempts}" + (f" {error}" if error else "")
                deliveries.setdefault((rule, aid), []).append(text)
        out = []
        for rule, aid, at, payload in rows:
            item = json.loads(payload)
            item.update(
                {
                    "rule": rule,
                    "article_id": aid,
                    "fired_at": at,
                    "deliveries": "; ".join(deliveries.get((rule, aid), [])),
                }
            )
            out.append(item)
        return out

    # -- watcher state ----------------------------------------------------------
    # A file is recorded under the exact bytes of its path (a BLOB): names that are
    # not UTF-8 cannot be TEXT, and any escaping into TEXT could make two names one.
    _file_keys_checked = False

    def _file_keys_as_bytes(self) -> None:
        """Turn keys recorded as TEXT (by earlier versions) into the same bytes."""
        if self._file_keys_checked:
            return
        if self._db.execute("SELECT 1 FROM files WHERE typeof(path) = 'text' LIMIT 1").fetchone():
            self._db.execute(
                "UPDATE files SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'"
            )
        self._file_keys_checked = True

    def record_file(
        self, path: str, size: int, mtime_ns: int, article_id: str | None, outcome: str
    ) -> None:
        """Record that the file at ``path`` (exact, as scanned) was processed."""
        with self._lock:
            self._file_keys_as_bytes()
            self._db.execute(
                "INSERT INTO files(path, size, mtime_ns, article_id, outcome, at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET size=excluded.size, "
                "mtime_ns=excluded.mtime_ns, article_id=excluded.article_id, "
                "outcome=excluded.outcome, at=excluded.at",
                (path_key(path), size, mtime_ns, article_id, outcome, _now()),
            )

    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """``KnownFiles``: (size, mtime_ns) of those of ``paths`` already processed."""
        with self._lock:
            self._file_keys_as_bytes()
            return statefile.known_files(self._db, "files", paths)

    # -- reading ----------------------------------------------------------------
    def exists(self, article_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row is not None

    def first_verdicts(self, ids: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        """Stored articles among ``ids``: (near_duplicate_of, first_seen) each."""
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, near_duplicate_of, first_seen FROM articles WHERE id IN {_IN_JSON}",
                [json.dumps(list(ids))],
            ).fetchall()
        return {aid: (dup, seen) for aid, dup, seen in rows}

    def get(self, article_id: str) -> EnrichedArticle | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {DOC_COLUMNS} FROM articles a WHERE a.id = ? OR a.id LIKE ? "
                "ORDER BY a.id = ? DESC LIMIT 1",
                (article_id, article_id + "%", article_id),
            ).fetchone()
        return read_doc(*row) if row else None

    def search(
        self,
        query: str | searching.Query,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: str = "relevance",
        min_relevance: float | None = None,
    ) -> searching.SearchResult:
        """Articles matching ``query`` (``wirewatch.search`` syntax; ``QueryError`` when
        malformed), best first or newest first (``sort="date"``), with a snippet each.
        ``min_relevance`` keeps articles at least this much about technology policy."""
        if sort not in searching.SORTS:
            raise ValueError(f"sort must be one of {', '.join(searching.SORTS)}, not {sort!r}")
        parsed = searching.parse(query) if isinstance(query, str) else query
        sql = sqlite_query(self._db, parsed)
        # per-article tests: the filters' checks, then the query's own conditions
        checks = [f.check for f in sql.filters]
        args: list[object] = [v for f in sql.filters for v in f.args]
        if sql.exclude is not None:
            checks.append(
                "a.rowid NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
            )
            args.append(sql.exclude)
        if min_relevance is not None:
            checks.append("a.relevance >= ?")
            args.append(min_relevance)
        window = searching.SEARCH_WINDOW
        limit = max(0, min(limit, window - offset))  # pages end at the window
        with self._lock:
            if sql.match is not None and sort == "relevance":
                rows, total = self._ranked(sql.match, checks, args, limit, offset)
            elif sql.match is not None:
                cond = " AND ".join(["articles_fts MATCH ?", *checks])
                (total,) = self._db.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {_FTS_FIRST} WHERE {cond} LIMIT ?)",
                    [sql.match, *args, window + 1],
                ).fetchone()
                rows = self._db.execute(
                    f"SELECT a.rowid, -{_BM25} FROM {_FTS_FIRST} WHERE {cond} "
                    f"ORDER BY {NEWEST} LIMIT ? OFFSET ?",
                    [sql.match, *args, limit, offset],
                ).fetchall()
            else:
                rows, total = self._filtered(sql, checks, args, limit, offset)
            page = read_page(self._db, rows)
        hits = []
        for article, value in page:
            hits.append(searching.SearchHit(article, searching.snippet(article, parsed), value))
        return searching.SearchResult(min(total, window), hits, total_exact=total <= window)

    def _filtered(
        self,
        sql: searching.SqlQuery,
        checks: list[str],
        args: list[object],
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[int, float]], int]:
        """A page of the articles that pass filters alone, newest first, and how many
        pass (up to one more than ``SEARCH_WINDOW``). ``checks`` with ``args``: the
        filters' per-article tests, then any other condition. What each step reads
        stays bounded as the store grows:

        - the filter that keeps the fewest articles drives: each filter's articles are
          counted from its index up to past the window (the subquery filters by their
          index of values, the language and dates by the articles' indexes), and the
          others are checked on each article it gives;
        - when more than the window pass, the page is the first entries of the date
          index that pass every check (one article in ``store / window`` or more
          passes, so the walk is short);
        - otherwise the matches, at most the window, are sorted, unless walking the
          date index reads fewer rows (see below)."""
        cap = searching.SEARCH_WINDOW + 1

        def count(source: str, cond: str, values: list[object]) -> int:
            return self._db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {cond} LIMIT ?)",
                [*values, cap],
            ).fetchone()[0]

        columns = [(f.check, f.args) for f in sql.filters if f.narrows]
        drive, least = None, None
        if columns:
            least = count(
                "articles a",
                " AND ".join(c for c, _ in columns),
                [v for _, a in columns for v in a],
            )
        starts = [0]
        for f in sql.filters:
            starts.append(starts[-1] + len(f.args))
        for i, f in enumerate(sql.filters):
            if f.ids is not None and least != 0:
                n = self._db.execute(
                    f"SELECT count(*) FROM ({f.ids} LIMIT ?)", [*f.args, cap]
                ).fetchone()[0]
                # past the window on both sides, a value beats a language or a span
                # of dates: it usually keeps far fewer articles
                if least is None or n < least or (n == cap and drive is None):
                    drive, least = i, n
        if least == 0:
            return [], 0
        if drive is None:  # the articles' own indexes, or no filter at all
            source = "articles a"
            cond = " AND ".join(checks) or "1"
            total = count(source, cond, args)
            if total >= _WALK_FROM:
                # many match: the newest are the first entries of the date index that
                # pass the filters, found without sorting every match
                source = "articles a INDEXED BY articles_newest"
            rows = self._db.execute(
                f"SELECT a.rowid, 0.0 FROM {source} WHERE {cond} "
                f"ORDER BY {NEWEST} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            return rows, total
        driver = sql.filters[drive]
        assert driver.ids is not None
        rest = checks[:drive] + checks[drive + 1 :]
        rest_args = args[: starts[drive]] + args[starts[drive + 1] :]
        ids = driver.ids.replace("SELECT ", "SELECT DISTINCT ", 1)
        source = f"({ids}) d CROSS JOIN articles a ON a.id = d.article_id"
        cond = " AND ".join(rest) or "1"
        if rest:
            total = count(source, cond, [*driver.args, *rest_args])
        else:  # every id the index gives is a stored article's: no join to count them
            total = count(f"({ids})", "1", list(driver.args))
        # Sorting reads each match's row (a random read in a large store); walking the
        # date index checks the newest articles in turn until the page is full, about
        # (offset + limit) * stored / total of them. Walk when that is the cheaper: from
        # some 800 matches at 100,000 stored, 2,600 at 1,000,000 (a check costs about a
        # third of a row read).
        (stored,) = self._db.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()
        if total >= cap or 3 * total * total > (offset + limit) * stored:
            rows = self._db.execute(
                "SELECT a.rowid, 0.0 FROM articles a INDEXED BY articles_newest "
                f"WHERE {' AND '.join(checks)} ORDER BY {NEWEST} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT a.rowid, 0.0 FROM {source} WHERE {cond} "
                f"ORDER BY {NEWEST} LIMIT ? OFFSET ?",
                [*driver.args, *rest_args, limit, offset],
            ).fetchall()
        return rows, total

    def _ranked(
        self, match: str, where: list[str], args: list[object], limit: int, offset: int
    ) -> tuple[list[tuple[int, float]], int]:
        """A page of the matches best first, and how many matched (up to one more than
        ``SEARCH_WINDOW``). The newest ``SEARCH_WINDOW`` matches (by when they were
        stored) are ranked: the FTS index gives them newest first and stops there, so a
        word in every fifth article costs the same on any size of store. Ties in score
        are ordered newest published first, then by id, as Elasticsearch orders them."""
        window = searching.SEARCH_WINDOW
        if where:
            source = _FTS_FIRST
            cond = " AND ".join(["articles_fts MATCH ?", *where])
        else:  # the index alone
            source, cond = "articles_fts", "articles_fts MATCH ?"
        found = self._db.execute(
            f"SELECT articles_fts.rowid, -{_BM25} FROM {source} WHERE {cond} "
            "ORDER BY articles_fts.rowid DESC LIMIT ?",
            [match, *args, window + 1],
        ).fetchall()
        total = len(found)
        ranked = sorted(found[:window], key=lambda r: -r[1])
        if offset >= len(ranked):
            return [], total
        # the page, and every match tied in score with either end of it: put in order
        # by date and id, which only the articles table knows
        high = ranked[offset][1]
        low = ranked[min(offset + limit, len(ranked)) - 1][1]
        group = [r for r in ranked if low <= r[1] <= high]
        before = sum(1 for r in ranked if r[1] > high)
        keys = {
            rowid: (published or "", aid)
            for rowid, published, aid in self._db.execute(
                f"SELECT rowid, published, id FROM articles WHERE rowid IN {_IN_JSON}",
                [json.dumps([r[0] for r in group])],
            )
        }
        group.sort(key=lambda r: keys[r[0]][1])  # id, ascending
        group.sort(key=lambda r: keys[r[0]][0], reverse=True)  # newest first, none last
        group.sort(key=lambda r: -r[1])  # best first (each sort keeps the order of ties)
        return group[offset - before : offset - before + limit], total

    def events(
        self,
        type: str | None = None,
        status: str | None = None,
        country: str | None = None,
        vendor: str | None = None,
        since: str | None = None,
        limit: int = 100,
        min_relevance: float = 0.0,
    ) -> list[EventRow]:
        sql = [
            "SELECT e.article_id, a.title, a.language, a.published, e.type, e.status, "
            "e.confidence, e.actors, e.targets, e.evidence, a.near_duplicate_of FROM events e "
            "JOIN articles a ON a.id = e.article_id WHERE 1=1"
        ]
        args: list[object] = []
        if type:
            sql.append("AND e.type = ?")
            args.append(type)
        if status:
            sql.append("AND e.status = ?")
            args.append(status)
        if country:
            sql.append(
                "AND e.article_id IN (SELECT article_id FROM entities WHERE kind='countries' "
                "AND value COLLATE NOCASE = ?)"
            )
            args.append(country.upper())
        if vendor:
            sql.append(
                "AND e.article_id IN (SELECT article_id FROM entities WHERE kind='vendors' "
                "AND value COLLATE NOCASE = ?)"
            )
            args.append(vendor)
        if since:
            sql.append("AND a.published >= ?")
            args.append(since)
        if min_relevance > 0:
            sql.append("AND a.relevance >= ?")
            args.append(min_relevance)
        sql.append("ORDER BY a.published DESC, e.article_id, e.seq LIMIT ?")
        args.append(limit)
        with self._lock:
            rows = self._db.execute(" ".join(sql), args).fetchall()
        return [
            EventRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                json.loads(r[7]),
                json.loads(r[8]),
                json.loads(r[9]),
                r[10],
            )
            for r in rows
        ]

    def rejected(self) -> list[tuple[str, str, str, int | None, str]]:
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT path, code, reason, size, at FROM rejected ORDER BY at, path"
                )
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            one = lambda sql: self._db.execute(sql).fetchone()[0]  # noqa: E731
            return {
                "articles": one("SELECT count(*) FROM articles"),
                "events": one("SELECT count(*) FROM events"),
                "rejected": one("SELECT count(*) FROM rejected"),
                "near_duplicates": one(
                    "SELECT count(*) FROM articles WHERE near_duplicate_of IS NOT NULL"
                ),
            }

    def iter_articles(self) -> Iterator[EnrichedArticle]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {DOC_COLUMNS} FROM articles a ORDER BY a.first_seen, a.id"
            ).fetchall()
        for doc, sig in rows:
            yield read_doc(doc, sig)


class _Tx:
    """``with store.transaction():`` groups many writes into one commit."""

    def __init__(self, store: SqliteStore):
        self.store = store

    def __enter__(self) -> SqliteStore:
        self.store._lock.acquire()
        self.store._db.execute("BEGIN")
        return self.store

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type:
                self.store._forget_vocabulary()
                self.store._db.execute("ROLLBACK")
            else:
                try:
                    self.store._db.execute("COMMIT")
                except BaseException:
                    self.store._forget_vocabulary()
                    raise
                self.store._wrote()
        finally:
            self.store._lock.release()


class _Checkpointer:
    """Copies a store's write-ahead log into its database, on a thread and connection of
    its own, every ``every`` seconds after a commit (``SqliteStore._wrote``)."""

    def __init__(self, path: str, every: float):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        self.every = every
        self.dirty = threading.Event()
        self._stopping = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(target=self._run, name="wirewatch-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.dirty.wait()
                if self._stopping.wait(self.every):
                    break
                self.dirty.clear()
                try:
                    self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error:
                    pass  # busy or gone: the writer's own checkpoint is the backstop
        finally:
            self._db.close()

    def stop(self) -> None:
        self._stopping.set()
        self.dirty.set()
        self._thread.join()
