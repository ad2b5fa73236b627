"""The embedded pipeline against a real SQLite file and real files on disk."""

import shutil
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from wirewatch.core import stories
from wirewatch.embedded.runner import EmbeddedRunner
from wirewatch.embedded.store import _DOC_DICTIONARY, SqliteStore, StoreError, doc_json
from wirewatch.settings import EmbeddedSettings

ARTICLE_EN = (
    "Regulator orders removal of vendor gear\n\n"
    "The Danish telecom regulator on Monday, March 1, 2021 ordered operators to remove Huawei "
    "equipment from their core networks, citing a risk of espionage. Operators must replace the "
    "gear by 1 January 2024, the agency said in Copenhagen. TDC said it would comply."
)


def _runner(tmp_path, inbox, **kw):
    settings = EmbeddedSettings(
        inbox=[inbox],
        db=tmp_path / "w.db",
        once=True,
        settle_seconds=0,
        poll_interval=0.05,
        metrics_port=0,
        **kw,
    )
    store = SqliteStore(settings.db)
    return settings, store


def test_bad_files_are_rejected_with_reasons_and_good_ones_survive(tmp_path, enricher):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.txt").write_text(ARTICLE_EN, encoding="utf-8")
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (inbox / "big.txt").write_bytes(b"word " * 300)
    (inbox / "undecodable.txt").write_bytes(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 40)
    (inbox / "numbers.txt").write_text("1234 5678 9999 0000 ---- 1111 2222", encoding="utf-8")
    (inbox / "half.txt.part").write_text("still uploading")
    settings, store = _runner(tmp_path, inbox)
    enricher.config = type(enricher.config)(max_bytes=1000)
    try:
        summary = EmbeddedRunner(settings, store, enricher).run()
    finally:
        enricher.config = type(enricher.config)()
    rejected = {r[0].rsplit("/", 1)[1]: r[1] for r in store.rejected()}
    assert rejected == {
        "empty.txt": "empty",
        "binary.txt": "binary",
        "big.txt": "oversize",
        "undecodable.txt": "undecodable",
        "numbers.txt": "not_language",
    }
    assert summary.articles == 1 and summary.rejected == 5
    (doc,) = list(store.iter_articles())
    assert doc.published == "2021-03-01"
    assert "Huawei" in doc.entities.vendors and "DK" in doc.entities.countries


def test_vanished_file_is_reported_not_fatal(tmp_path, enricher):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text(ARTICLE_EN, encoding="utf-8")
    (inbox / "b.txt").write_text("Vanishing text about nothing much at all here.", encoding="utf-8")
    settings, store = _runner(tmp_path, inbox)
    runner = EmbeddedRunner(settings, store, enricher)
    original = runner._read

    def read_and_vanish(fs):
        if fs.path.endswith("b.txt"):
            (inbox / "b.txt").unlink()
        return original(fs)

    runner._read = read_and_vanish  # the file disappears between scan and read
    summary = runner.run()
    assert summary.articles == 1
    (row,) = store.rejected()
    assert row[1] == "unreadable" and "vanished" in row[2]


def test_same_text_twice_is_one_document_with_both_paths_and_restart_skips_done_files(
    tmp_path, enricher
):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "a.txt").write_text(ARTICLE_EN, encoding="utf-8")
    (inbox / "sub" / "copy.txt").write_text(ARTICLE_EN + "\n", encoding="utf-8")
    settings, store = _runner(tmp_path, inbox)
    s1 = EmbeddedRunner(settings, store, enricher).run()
    assert s1.files == 2 and s1.new_articles == 1
    (doc,) = list(store.iter_articles())
    assert sorted(p.rsplit("/", 1)[1] for p in doc.sources) == ["a.txt", "copy.txt"]
    s2 = EmbeddedRunner(settings, store, enricher).run()
    assert s2.files == 0
    (inbox / "new.txt").write_text(ARTICLE_EN.replace("Monday", "Tuesday"), encoding="utf-8")
    s3 = EmbeddedRunner(settings, store, enricher).run()
    assert s3.files == 1 and s3.near_duplicates == 1


def test_store_filters_and_search(tmp_path, enricher, analyse):
    store = SqliteStore(tmp_path / "s.db")
    art = analyse(ARTICLE_EN, "x.txt")
    store.put(art)
    assert [h.article.id for h in store.search("huawei copenhagen").hits] == [art.id]
    # accents folded, stemmed in every language: French "équipement" -> "equip"
    assert store.search("équipement").total == 1
    assert store.search("satellite").total == 0
    assert store.events(type="ban", country="dk", vendor="huawei")
    assert not store.events(type="ban", country="SE")
    assert store.events(since="2021-03") and not store.events(since="2022")
    assert store.get(art.id[:8]).id == art.id


def test_workers_pool_gives_same_results(tmp_path, enricher):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    from tests.conftest import EXAMPLES

    files = sorted(EXAMPLES.glob("*.txt"))[:8]
    for f in files:
        shutil.copy(f, inbox / f.name)
    settings, store = _runner(tmp_path, inbox, workers=2)
    summary = EmbeddedRunner(settings, store, enricher).run()
    assert summary.files == len(files)
    for a in store.iter_articles():
        direct = enricher.analyse((inbox / a.source.path.rsplit("/", 1)[1]).read_bytes(), a.source)
        assert direct.events == a.events and direct.entities == a.entities


@pytest.mark.parametrize("earlier", ["json text", "zlib without a dictionary"])
def test_documents_are_compressed_and_those_of_earlier_versions_still_read(
    tmp_path, analyse, earlier
):
    store = SqliteStore(tmp_path / "w.db")
    article = analyse(ARTICLE_EN)
    store.put(article)
    db = sqlite3.connect(tmp_path / "w.db")
    (doc,) = db.execute("SELECT doc FROM articles").fetchone()
    plain = zlib.compress(article.model_dump_json(exclude={"fingerprint"}).encode())
    # compressed with the store's preset dictionary: smaller than without one
    assert isinstance(doc, bytes) and len(doc) < len(plain)
    unpacker = zlib.decompressobj(zdict=_DOC_DICTIONARY)
    # the fingerprint is kept once, in its own table, and put back when read
    assert b'"fingerprint"' not in unpacker.decompress(doc) + unpacker.flush()
    assert store.get(article.id).fingerprint == article.fingerprint
    # a document as earlier versions wrote it
    older = article.model_dump_json() if earlier == "json text" else plain
    db.execute("UPDATE articles SET doc = ?", (older,))
    db.commit()
    db.close()
    for got in (
        store.get(article.id),
        store.search("huawei").hits[0].article,
        store.story_articles(article.story_id or article.id)[0],
        next(store.iter_articles()),
    ):
        assert got is not None
        assert got.model_dump(exclude={"enriched_at"}) == article.model_dump(
            exclude={"enriched_at"}
        )
    now = datetime.now(UTC)
    members = store.story_members(
        sorted(stories.index_keys(article)),
        now - timedelta(days=3650),
        now + timedelta(days=3650),
    )
    assert [m.article_id for m in members] == [article.id]
    store.put(article)  # stored again over the text document: replaced, still found once
    assert store.search("huawei").total == 1
    store.close()


@pytest.mark.parametrize("band_type", ["TEXT", "INTEGER"])
def test_bands_filed_by_article_id_in_an_earlier_version_are_refiled(tmp_path, analyse, band_type):
    from wirewatch.core import fingerprint
    from wirewatch.embedded.store import band_number

    path = tmp_path / "w.db"
    store = SqliteStore(path)
    article = analyse(ARTICLE_EN)
    store.put(article)
    store.close()
    keys = fingerprint.band_keys(article.fingerprint)
    db = sqlite3.connect(path)  # the tables as earlier versions had them
    signature = db.execute("SELECT signature FROM fingerprints").fetchone()[0]
    db.executescript(
        f"DROP TABLE dup_bands; CREATE TABLE dup_bands (band {band_type} NOT NULL, article_id "
        "TEXT NOT NULL, PRIMARY KEY (band, article_id)) WITHOUT ROWID; DROP TABLE fingerprints; "
        "CREATE TABLE fingerprints (article_id TEXT PRIMARY KEY, signature BLOB NOT NULL);"
    )
    db.execute("INSERT INTO fingerprints VALUES (?, ?)", (article.id, signature))
    old = [(k if band_type == "TEXT" else band_number(k), article.id) for k in keys]
    db.executemany("INSERT INTO dup_bands VALUES (?, ?)", old)
    db.commit()
    db.close()
    reopened = SqliteStore(path)
    assert [aid for aid, _ in reopened.candidates(keys)] == [article.id]
    assert reopened.get(article.id).fingerprint == article.fingerprint
    reopened.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT DISTINCT typeof(band), typeof(num) FROM dup_bands").fetchall() == [
        ("integer", "integer")
    ]
    assert db.execute("SELECT count(*) FROM dup_bands").fetchone() == (len(set(keys)),)
    db.close()


def test_bands_move_from_the_recent_table_in_key_order_and_are_found_in_both(
    tmp_path, analyse, monkeypatch
):
    from wirewatch.core import fingerprint
    from wirewatch.embedded import store as store_module

    monkeypatch.setattr(store_module, "RECENT_BANDS", 80)  # the bands of 2.5 articles
    path = tmp_path / "w.db"
    store = SqliteStore(path)
    articles = [analyse(f"{ARTICLE_EN}\nReference {n}: {'word ' * n}\n") for n in range(5)]
    keys = [fingerprint.band_keys(a.fingerprint) for a in articles]
    counts = []
    with store.transaction():
        for article in articles:
            store.put(article)
            counts.append(
                tuple(
                    store._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("dup_bands", "dup_bands_recent")
                )
            )
    # three articles fill the recent table, then their rows move; two stay recent
    assert counts[2][1] == 0 and counts[2][0] > 0
    assert counts[4][1] > 0 and counts[4][0] == counts[2][0]
    for article, article_keys in zip(articles, keys, strict=True):
        assert article.id in {aid for aid, _ in store.candidates(article_keys)}
    store.close()
    reopened = SqliteStore(path)  # the count of recent rows is read when opened
    assert reopened._recent_bands == counts[4][1]
    for article, article_keys in zip(articles, keys, strict=True):
        assert article.id in {aid for aid, _ in reopened.candidates(article_keys)}
    reopened.close()


def test_the_log_is_copied_into_the_database_in_the_background_after_a_commit(
    tmp_path, analyse, monkeypatch
):
    import time

    from wirewatch.embedded import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 0.05)
    path = tmp_path / "w.db"
    store = SqliteStore(path)
    assert store._checkpointer is None  # opening and reading start no thread
    store.search("huawei")
    assert store._checkpointer is None
    with store.transaction():
        store.put(analyse(ARTICLE_EN))
    checkpointer = store._checkpointer
    assert checkpointer is not None
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (
        store_module.BACKSTOP_PAGES
    )
    deadline = time.monotonic() + 10
    while checkpointer.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.runs >= 1
    # every frame of the log is in the database: a second checkpoint has none left to copy
    busy, frames, copied = store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied
    runs = checkpointer.runs
    time.sleep(0.2)
    assert checkpointer.runs == runs  # no commit since: the thread sleeps
    store.close()
    assert not checkpointer._thread.is_alive()
    assert not (tmp_path / "w.db-wal").exists()  # the last connection to close removed it
    reopened = SqliteStore(path)
    assert reopened.counts()["articles"] == 1
    reopened.close()
    memory = SqliteStore(":memory:")
    with memory.transaction():
        memory.put(analyse(ARTICLE_EN))
    assert memory._checkpointer is None
    memory.close()


def test_entities_of_an_earlier_version_are_copied_into_a_table_without_rowid(tmp_path, analyse):
    path = tmp_path / "w.db"
    store = SqliteStore(path)
    article = analyse(ARTICLE_EN)
    store.put(article)
    store.close()
    db = sqlite3.connect(path)  # the table as earlier versions had it
    db.executescript(
        "ALTER TABLE entities RENAME TO e; DROP INDEX entities_value; CREATE TABLE entities ("
        "article_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, "
        "PRIMARY KEY (article_id, kind, value)); INSERT INTO entities SELECT * FROM e; DROP TABLE e;"
        "CREATE INDEX entities_value ON entities(kind, value);"
    )
    db.close()
    reopened = SqliteStore(path)
    assert reopened.search("vendor:huawei").total == 1
    assert reopened.search("-vendor:huawei").total == 0
    reopened.close()
    db = sqlite3.connect(path)
    (sql,) = db.execute("SELECT sql FROM sqlite_schema WHERE name = 'entities'").fetchone()
    assert "WITHOUT ROWID" in sql
    assert db.execute("SELECT count(*) FROM entities WHERE kind = 'vendors'").fetchone()[0]
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT article_id FROM entities WHERE kind = 'vendors' AND value = ?",
        ("Huawei",),
    ).fetchall()
    assert "entities_value" in str(plan)
    db.close()


def test_a_document_of_a_later_version_names_what_to_do():
    # a stream compressed with a preset dictionary this version does not have
    packer = zlib.compressobj(6, zdict=b"a dictionary of some later version")
    doc = packer.compress(b'{"id": "x"}') + packer.flush()
    with pytest.raises(StoreError, match="later version of wirewatch"):
        doc_json(doc)
