"""Costs of the embedded store that grew with it: story candidates built through the model's
default factories (pydantic inspects a factory's signature at every call: 0.65 ms a
candidate), and a filtered text search run as one FTS match per article of the filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wirewatch.core import stories
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.embedded.store import SqliteStore

TEXT = (
    "Ministry orders ZTE kit out of networks\n\n"
    "The Danish interior ministry banned ZTE routers from government networks on 3 March "
    "2021 after a security audit. Agencies must replace the devices by the end of the year."
)


def test_story_members_call_no_default_factory(enricher: Enricher, monkeypatch, tmp_path) -> None:
    article = enricher.analyse(TEXT.encode(), Source(path="a.txt"))
    assert isinstance(article, EnrichedArticle)
    store = SqliteStore(tmp_path / "w.db")
    store.put(article)
    now = datetime.now(UTC)
    keys = sorted(stories.member(article, now).keys)
    assert keys

    def boom() -> list:
        raise AssertionError("a default factory was called")

    for info in EnrichedArticle.model_fields.values():
        if info.default_factory is not None:
            monkeypatch.setattr(info, "default_factory", boom)
    with pytest.raises(AssertionError):
        EnrichedArticle.model_construct(id="x")  # the patch is in force
    members = store.story_members(keys, now - timedelta(days=3650), now + timedelta(days=3650))
    assert [m.article_id for m in members] == [article.id]
    store.close()


@pytest.mark.parametrize("query", ["lang:fr europe", "lang:en since:2004 ban", "type:ban huawei"])
def test_a_text_query_with_filters_is_driven_by_the_fts_match(tmp_path, query) -> None:
    # a filtered article set as the outer loop would run the FTS match once per article
    store = SqliteStore(tmp_path / "w.db")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.search(query)
    store._db.set_trace_callback(None)
    selects = [s for s in statements if "articles_fts MATCH" in s]
    assert len(selects) == 1  # one pass over the matches gives the count and the ranking
    for sql in selects:
        plan = [row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql)]
        assert plan[0].startswith("SCAN articles_fts VIRTUAL TABLE"), plan
        # newest matches first, straight from the index: no sort of every match
        assert not any("TEMP B-TREE" in step for step in plan), plan
    store.close()


class _Recording:
    """The store's connection, recording the SQL text of each statement."""

    def __init__(self, db) -> None:
        self.db, self.sql = db, []

    def execute(self, sql, *args):
        self.sql.append(sql)
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_batch_lookups_are_one_statement_whatever_their_size(tmp_path) -> None:
    # the sqlite3 module keeps the last 128 statements prepared: an IN list of another
    # length per batch made each a new statement, thousands of parameters long
    store = SqliteStore(tmp_path / "w.db")
    now = datetime.now(UTC)
    texts = {}
    for n in (3, 300):
        recording = _Recording(store._db)
        store._db = recording  # type: ignore[assignment]
        keys = [f"{i % 32}:{i:016x}" for i in range(n)]  # shaped as band keys are
        assert list(store.candidates(keys)) == []
        assert store.first_verdicts(keys) == {}
        assert store.stories_of(keys) == {}
        assert store.story_members(keys, now - timedelta(days=3), now) == []
        assert store.story_ids(keys, now - timedelta(days=3), now) == set()
        store._db = recording.db
        texts[n] = recording.sql
    assert texts[3] == texts[300]
    assert all(len(sql) < 1000 for sql in texts[300])
    store.close()
