"""One table of search cases, run on the embedded store (SQLite FTS5) and on the
Elasticsearch API (the noida-db emulator unless WIREWATCH_TEST_ES names a cluster).

Both backends get the same articles - short texts written for this test, three per
language - and must return the same articles for every query. The index is refreshed
explicitly after loading: the emulator never refreshes on its own.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from wirewatch.core import fingerprint
from wirewatch.core.models import EnrichedArticle, Entities, PolicyEvent, Source
from wirewatch.embedded.store import SqliteStore
from wirewatch.indexer.documents import to_document
from wirewatch.indexer.template import ARTICLES_ALIAS, templates
from wirewatch.search import MARK_END, MARK_START, Not, QueryError, SearchResult, parse

# key: (language, published, title, body, vendors, countries, events "type:status", relevance)
ARTICLES: dict[str, tuple[str, str | None, str, str, list[str], list[str], list[str], float]] = {
    "nl-1": (
        "nl",
        "2021-03-02",
        "Kabinet overweegt verbod op Chinese netwerkapparatuur",
        "Het kabinet overweegt een verbod op apparatuur van Huawei in het mobiele netwerk. "
        "Providers moeten de onderdelen binnen vijf jaar vervangen, schrijft de minister.",
        ["Huawei"],
        ["NL", "CN"],
        ["ban:proposed"],
        0.8,
    ),
    "nl-2": (
        "nl",
        "2022-09-15",
        "Toezichthouder verbiedt datadeling door apps",
        "De toezichthouder heeft het delen van locatiegegevens door twee apps verboden. "
        "De bedrijven krijgen een boete als zij de gegevens blijven verkopen.",
        [],
        ["NL"],
        ["ban:reported"],
        0.6,
    ),
    "nl-3": (
        "nl",
        "2020-01",
        "Gemeente kiest nieuwe leverancier voor glasvezel",
        "De gemeente heeft een contract getekend met een nieuwe leverancier voor het "
        "glasvezelnet in de binnenstad.",
        [],
        ["NL"],
        ["deal:reported"],
        0.3,
    ),
    "sv-1": (
        "sv",
        "2020-10-20",
        "Myndigheten stänger ute leverantörer från 5G-näten",
        "Myndigheten beslutade att Huawei och ZTE inte får bygga de nya 5G-näten. "
        "Operatörerna måste byta ut utrustningen före årets slut.",
        ["Huawei", "ZTE"],
        ["SE", "CN"],
        ["ban:reported"],
        0.9,
    ),
    "sv-2": (
        "sv",
        "2023-03",
        "Förbud mot appar på tjänstetelefoner",
        "Riksdagen föreslår ett förbud mot sociala appar på statligt anställdas telefoner. "
        "Beslutet väntas i höst.",
        [],
        ["SE"],
        ["ban:proposed"],
        0.7,
    ),
    "sv-3": (
        "sv",
        "2019-11-05",
        "Telia tecknar avtal med Ericsson",
        "Operatören har tecknat ett avtal med Ericsson om att bygga ut mobilnätet i norra "
        "Sverige. Avtalet gäller i fem år.",
        ["Ericsson"],
        ["SE"],
        ["deal:reported"],
        0.5,
    ),
    "en-1": (
        "en",
        "2020-07-14",
        "Regulator bans Huawei equipment from core networks",
        "The regulator banned the use of Huawei equipment in the core of mobile networks on "
        "Tuesday. Operators have until 2025 to remove it.",
        ["Huawei"],
        ["GB"],
        ["ban:reported"],
        0.9,
    ),
    "en-2": (
        "en",
        "2022-10",
        "Lawmakers propose sanctions on chip exports",
        "A group of lawmakers proposed sanctions against companies that export advanced "
        "chips. The bill would also require export licences for older chipmaking tools.",
        [],
        ["US"],
        ["sanction:proposed"],
        0.8,
    ),
    "en-3": (
        "en",
        "2021",
        "City council approves new fibre contract",
        "The city council approved a contract for a fibre network with a local supplier. "
        "The decision was unanimous.",
        [],
        [],
        [],
        0.1,
    ),
    "de-1": (
        "de",
        "2024-07-11",
        "Bundesregierung verbietet Bauteile von Huawei",
        "Die Bundesregierung verbietet den Einbau kritischer Bauteile von Huawei im "
        "5G-Kernnetz. Die Betreiber müssen die Komponenten bis 2026 austauschen.",
        ["Huawei"],
        ["DE"],
        ["ban:reported"],
        0.9,
    ),
    "de-2": (
        "de",
        "2022-03-15",
        "Behörde warnt vor Virenschutzsoftware",
        "Die Behörde für Informationssicherheit warnt Unternehmen vor einer russischen "
        "Virenschutzsoftware. Das Außenministerium unterstützt die Warnung.",
        ["Kaspersky"],
        ["DE", "RU"],
        ["warning:reported"],
        0.8,
    ),
    "de-3": (
        "de",
        "2021-04-23",
        "Bundestag lehnt Verbot ab",
        "Der Bundestag hat ein generelles Verbot chinesischer Netzwerkausrüster abgelehnt. "
        "Stattdessen sollen strengere Prüfungen gelten.",
        [],
        ["DE"],
        ["ban:rejected"],
        0.7,
    ),
    "fr-1": (
        "fr",
        "2020-07",
        "Le gouvernement interdit les antennes Huawei",
        "Le gouvernement a interdit l'installation de nouvelles antennes Huawei près des "
        "sites sensibles. Les opérateurs devront remplacer les équipements d'ici 2028.",
        ["Huawei"],
        ["FR"],
        ["ban:reported"],
        0.9,
    ),
    "fr-2": (
        "fr",
        "2023-06-23",
        "Sanctions contre un fabricant de puces",
        "L'Union européenne a adopté des sanctions contre un fabricant de puces accusé de "
        "contourner les règles d'exportation.",
        [],
        ["EU"],
        ["sanction:reported"],
        0.8,
    ),
    "fr-3": (
        "fr",
        "2019-05-02",
        "La région signe un accord pour la fibre",
        "La région a signé un accord avec un opérateur pour déployer la fibre dans les "
        "villages. Les travaux commenceront en été.",
        [],
        ["FR"],
        ["deal:reported"],
        0.4,
    ),
    "da-1": (
        "da",
        "2021-03-01",
        "Styrelsen forbyder kinesisk udstyr i mobilnettet",
        "Styrelsen forbyder teleselskaberne at bruge udstyr fra Huawei i mobilnettets kerne. "
        "Selskaberne skal udskifte udstyret inden 2024.",
        ["Huawei"],
        ["DK", "CN"],
        ["ban:reported"],
        0.9,
    ),
    "da-2": (
        "da",
        "2023-02",
        "Folketinget vil have forbud mod apps på arbejdstelefoner",
        "Et flertal i Folketinget foreslår et forbud mod bestemte apps på ministeriernes "
        "telefoner. Ministeren vil først høre sikkerhedstjenesten.",
        [],
        ["DK"],
        ["ban:proposed"],
        0.7,
    ),
    "da-3": (
        "da",
        "2020-05-20",
        "Kommunen indgår aftale om bredbånd",
        "Kommunen har indgået en aftale med et selskab om hurtigere bredbånd på landet. "
        "Aftalen løber i otte år.",
        [],
        ["DK"],
        ["deal:reported"],
        0.4,
    ),
    "nb-1": (
        "nb",
        "2022-11-30",
        "Regjeringen forbyr kinesiske leverandører i kjernenettet",
        "Regjeringen forbyr operatørene å bruke utstyr fra kinesiske leverandører i "
        "kjernenettet. Leverandørene får to år på seg til å fjerne utstyret.",
        [],
        ["NO", "CN"],
        ["ban:reported"],
        0.9,
    ),
    "nb-2": (
        "nb",
        "2023-03-21",
        "Forbud mot TikTok på jobbtelefoner",
        "Justisdepartementet innfører forbud mot TikTok på telefoner som ansatte bruker i "
        "jobben. Forbudet gjelder fra mandag.",
        ["ByteDance"],
        ["NO"],
        ["ban:reported"],
        0.8,
    ),
    "nb-3": (
        "nb",
        None,
        "Telenor inngår avtale om fiber",
        "Telenor har inngått en avtale om å bygge fiber til tusen husstander i Nordland. "
        "Avtalen er verdt femti millioner kroner.",
        [],
        ["NO"],
        ["deal:reported"],
        0.4,
    ),
}

# (query, the articles it must find); the first word of each group says whose language
# it exercises. Every case runs unchanged on both backends.
CASES: list[tuple[str, set[str]]] = [
    # Dutch
    ("verboden", {"nl-1", "nl-2"}),  # "verbod" and "verboden" share the stem
    ("verbod -huawei", {"nl-2"}),
    ('"nieuwe leverancier"', {"nl-3"}),
    ("leveranciers", {"nl-3"}),
    ("glasvez*", {"nl-3"}),
    ("apparatuur OR locatiegegevens", {"nl-1", "nl-2"}),
    ("contract -fibre", {"nl-3"}),  # one stem in Dutch and English
    # Swedish
    ("leverantör", {"sv-1"}),
    ("leverantorer", {"sv-1"}),  # typed without the accent
    ("förbudet", {"sv-2", "da-2", "nb-2"}),  # the Swedish stem is the Danish word
    ('"tecknat ett avtal"', {"sv-3"}),
    ("mobilnät*", {"sv-3"}),
    ('"5G-näten" zte', {"sv-1"}),
    ("vendor:Ericsson lang:sv", {"sv-3"}),
    # English
    ("banned", {"en-1"}),
    ("ban", {"en-1"}),
    ("sanction", {"en-2", "fr-2"}),  # "sanctions" in English and in French
    ('"export licences"', {"en-2"}),
    ('"licences export"', set()),
    ("chip*", {"en-2"}),
    ("council OR lawmakers", {"en-2", "en-3"}),
    ("equipment", {"en-1", "fr-1"}),  # English "equipment", French "équipements"
    # German
    ("verboten", {"de-3"}),  # "Verbot"; "verbietet" is another stem
    ("Warnungen", {"de-2"}),
    ("aussenministerium", {"de-2"}),  # ß folded to ss
    ("Außenministerium", {"de-2"}),
    ('"generelles Verbot"', {"de-3"}),
    ("Bauteil", {"de-1"}),
    ("type:ban status:rejected", {"de-3"}),
    # French
    ("interdit lang:fr", {"fr-1"}),
    ("règles", {"fr-2"}),
    ("regle", {"fr-2"}),
    ('"déployer la fibre"', {"fr-3"}),
    ("opérat* lang:fr", {"fr-1", "fr-3"}),
    ("accord OR sanctions", {"fr-2", "fr-3", "en-2"}),
    ("antenne AND (huawei OR zte)", {"fr-1"}),
    # Danish
    ("udstyret", {"da-1"}),
    ("aftalen", {"da-3"}),
    ("forbud", {"sv-2", "da-2", "nb-2"}),  # Swedish "förbud" folds to it
    ("forbud lang:da", {"da-2"}),
    ('"hurtigere bredbånd"', {"da-3"}),
    ("bredband", {"da-3"}),
    ("sikkerhed*", {"da-2"}),
    # Norwegian
    ("leverandørene", {"nb-1"}),
    ("leverandorer", {"nb-1"}),
    ("avtalen lang:nb", {"nb-3"}),
    ("forbudet -tiktok", {"sv-2", "da-2"}),
    ('"inngått en avtale"', {"nb-3"}),
    ("kjernenett*", {"nb-1"}),
    ("husstand", {"nb-3"}),
    # filters across languages
    ("vendor:huawei", {"nl-1", "sv-1", "en-1", "de-1", "fr-1", "da-1"}),
    ("huawei -vendor:Huawei", set()),
    ("country:SE,NO type:ban", {"sv-1", "sv-2", "nb-1", "nb-2"}),
    ("since:2023 until:2023-03", {"sv-2", "da-2", "nb-2"}),
    ("type:deal -country:NL,FR,DK", {"sv-3", "nb-3"}),
    ("-vendor:Huawei -vendor:ByteDance country:CN", {"nb-1"}),
    ("status:proposed", {"nl-1", "sv-2", "en-2", "da-2"}),
    ("telefoner -lang:sv", {"da-2", "nb-2"}),
    ("vendor:ERICSSON", {"sv-3"}),  # vendor names match in any case
    ("type:ban vendor:Huawei -country:DE", {"nl-1", "sv-1", "en-1", "fr-1", "da-1"}),
]


def _article(key: str) -> EnrichedArticle:
    lang, published, title, body, vendors, countries, events, relevance = ARTICLES[key]
    text = f"{title}\n\n{body}"
    return EnrichedArticle(
        id=fingerprint.article_id(text),
        source=Source(path=f"{key}.txt"),
        sources=[f"{key}.txt"],
        encoding="utf-8",
        title=title,
        body=body,
        language=lang,
        language_confidence=1.0,
        published=published,
        published_source="header" if published else "none",
        entities=Entities(vendors=vendors, countries=countries),
        events=[
            PolicyEvent(
                type=e.split(":")[0],
                status=e.split(":")[1],
                confidence=0.9,
                evidence=[body.split(". ")[0]],
            )
            for e in events
        ],
        relevance=relevance,
        keywords=[],
        fingerprint=fingerprint.minhash(body.lower().split()),
    )


KEYS = {_article(k).id: k for k in ARTICLES}


class Sqlite:
    name = "sqlite"

    def __init__(self, tmp_path):
        self.store = SqliteStore(tmp_path / "search.db")
        for key in ARTICLES:
            self.store.put(_article(key))

    def search(self, query: str, **kw: Any) -> SearchResult:
        return self.store.search(query, **kw)

    def close(self) -> None:
        self.store.close()


class Elastic:
    name = "elasticsearch"

    def __init__(self, url: str):
        from elasticsearch import Elasticsearch
        from wirewatch.indexer import search as es_search

        self._search = es_search.search
        self.es = Elasticsearch(url, request_timeout=30)
        self.index = f"t{uuid.uuid4().hex[:8]}.{ARTICLES_ALIAS}-000001"
        template = templates()[ARTICLES_ALIAS]["template"]
        self.es.indices.create(
            index=self.index, settings=template["settings"], mappings=template["mappings"]
        )
        now = datetime.now(UTC)
        for key in ARTICLES:
            article = _article(key)
            self.es.index(index=self.index, id=article.id, document=to_document(article, now))
        self.es.indices.refresh(index=self.index)

    def search(self, query: str, **kw: Any) -> SearchResult:
        return self._search(self.es, query, index=self.index, **kw)

    def close(self) -> None:
        self.es.indices.delete(index=self.index)
        self.es.close()


@pytest.fixture(scope="module", params=["sqlite", "elasticsearch"])
def backend(request, tmp_path_factory):
    if request.param == "sqlite":
        b: Sqlite | Elastic = Sqlite(tmp_path_factory.mktemp("search"))
    else:
        b = Elastic(request.getfixturevalue("es_url"))
    yield b
    b.close()


def _keys(result: SearchResult) -> list[str]:
    return [KEYS[h.article.id] for h in result.hits]


def test_the_table_has_five_cases_per_language():
    per_language = {lang: 0 for lang in ("nl", "sv", "en", "de", "fr", "da", "nb")}
    for _query, found in CASES:
        for lang in {k.split("-")[0] for k in found}:
            per_language[lang] += 1
    assert min(per_language.values()) >= 5, per_language


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_search_case(backend, query, expected):
    result = backend.search(query, limit=50)
    assert set(_keys(result)) == expected
    assert result.total == len(expected)
    text = parse(query).text
    for hit in result.hits:
        if text is not None and not isinstance(text, Not):  # words to mark
            assert MARK_START in hit.snippet and MARK_END in hit.snippet, hit.snippet


def test_relevance_ranks_a_title_match_first(backend):
    # "verbod" is in nl-1's title and body, in nl-2's body only ("verboden")
    assert _keys(backend.search("verbod")) == ["nl-1", "nl-2"]


def test_sort_by_date_and_paging(backend):
    # "2023-03-21" is newer than "2023-03" on both backends
    newest = ["de-1", "nb-2", "sv-2", "da-2", "nb-1", "nl-2", "de-3", "nl-1"]
    first = backend.search("type:ban", sort="date", limit=4)
    assert first.total == 12
    assert _keys(first) == newest[:4]
    assert _keys(backend.search("type:ban", sort="date", limit=4, offset=4)) == newest[4:]


def test_min_relevance(backend):
    assert _keys(backend.search("contract OR accord", min_relevance=0.35)) == ["fr-3"]
    assert backend.search("contract OR accord").total == 3


def test_malformed_query(backend):
    with pytest.raises(QueryError, match="unbalanced quote"):
        backend.search('"huawei')


def test_a_database_of_an_earlier_version_gets_its_search_index_rebuilt(tmp_path):
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    for key in ("sv-1", "nl-1"):
        store.put(_article(key))
    store.close()
    db = sqlite3.connect(path)  # back to the plain title/body table of earlier versions
    db.executescript(
        "DROP TABLE articles_fts; DROP TABLE meta; CREATE VIRTUAL TABLE articles_fts USING "
        "fts5(id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2');"
    )
    db.close()
    reopened = SqliteStore(path)
    assert _keys(reopened.search("leverantorer")) == ["sv-1"]
    assert _keys(reopened.search("verboden")) == ["nl-1"]
    reopened.close()


@pytest.mark.parametrize(
    ("analyzer", "text", "tokens"),
    [
        ("wirewatch_sv", "Leverantörerna förbjuds", ["leverantor", "forbjud"]),
        ("wirewatch_de", "Außenministerium Warnungen", ["aussenministerium", "warnung"]),
        ("wirewatch_en", "banned equipment", ["ban", "equip"]),
        ("wirewatch_folded", "Équipements Straße", ["equipements", "strasse"]),
    ],
)
def test_the_templates_analyzers_for_direct_queries_stem_and_fold(backend, analyzer, text, tokens):
    if backend.name != "elasticsearch":
        pytest.skip("Elasticsearch analyzers")
    got = backend.es.indices.analyze(index=backend.index, analyzer=analyzer, text=text)
    assert [t["token"] for t in got["tokens"]] == tokens


def test_storing_an_article_again_replaces_its_row_in_the_contentless_index(tmp_path):
    store = SqliteStore(tmp_path / "again.db")
    store.put(_article("sv-1"))
    again = _article("sv-1")
    again.source, again.sources = Source(path="copy/sv-1.txt"), ["copy/sv-1.txt"]
    store.put(again)  # the same text from another file: the FTS row is replaced
    assert _keys(store.search("leverantorer")) == ["sv-1"]
    assert store.search("leverantorer").total == 1
    # what the index held is removed with the row: a stored document whose words
    # changed (here by hand) leaves no word of the old one behind
    changed = _article("sv-1")
    changed.title, changed.body = "Nya regler", "Nya regler for mobiloperatorer."
    store.put(changed)
    assert store.search("leverantorer").total == 0
    assert _keys(store.search("mobiloperatorer")) == ["sv-1"]
    db = sqlite3.connect(tmp_path / "again.db")
    # the index holds one row, and no stored copy of the columns
    assert db.execute("SELECT count(*) FROM articles_fts_docsize").fetchone() == (1,)
    assert db.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'articles_fts_content'"
    ).fetchone() == (0,)
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    db.close()
    store.close()


def test_a_search_index_with_a_stored_copy_of_its_columns_is_rebuilt_contentless(tmp_path):
    path = tmp_path / "v2.db"
    store = SqliteStore(path)
    for key in ("sv-1", "nl-1"):
        store.put(_article(key))
    store.close()
    db = sqlite3.connect(path)  # the table as version 2 of the search index had it
    db.executescript(
        "DROP TABLE articles_fts; CREATE VIRTUAL TABLE articles_fts USING fts5(id UNINDEXED, "
        "title_stems, body_stems, title_words, body_words, "
        "tokenize = 'unicode61 remove_diacritics 0');"
        "UPDATE meta SET value = '2 pystemmer x' WHERE key = 'search_index';"
    )
    db.close()
    reopened = SqliteStore(path)
    assert _keys(reopened.search("leverantorer")) == ["sv-1"]
    assert _keys(reopened.search("verboden -leverantorer")) == ["nl-1"]
    reopened.close()
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(articles_fts)")]
    assert cols == ["title_words", "body_words", "lang"]


def test_an_index_of_stems_beside_the_words_is_rebuilt_as_words_and_their_stems(tmp_path):
    path = tmp_path / "v3.db"
    store = SqliteStore(path)
    for key in ("sv-1", "nl-2"):
        store.put(_article(key))
    store.close()
    db = sqlite3.connect(path)  # version 3: stems and words, contentless, no stem table
    db.executescript(
        "DROP TABLE articles_fts; DROP TABLE search_vocab; "
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title_stems, body_stems, title_words, "
        "body_words, content = '', tokenize = 'unicode61 remove_diacritics 0');"
        "UPDATE meta SET value = '3 pystemmer x' WHERE key = 'search_index';"
    )
    db.close()
    reopened = SqliteStore(path)
    # "verbod" is no word of the article: it is found through the stem of "verboden"
    assert _keys(reopened.search("verbod")) == ["nl-2"]
    assert _keys(reopened.search("leverantör")) == ["sv-1"]
    reopened.close()
    db = sqlite3.connect(path)
    assert [r[1] for r in db.execute("PRAGMA table_info(articles_fts)")] == [
        "title_words",
        "body_words",
        "lang",
    ]
    assert db.execute(
        "SELECT count(*) FROM search_vocab WHERE substr(stem, 1, length(stem) - cut) || tail "
        "= 'verboden'"
    ).fetchone()[0]
    db.close()


def test_the_stems_of_a_rolled_back_article_are_written_again_with_it(tmp_path):
    store = SqliteStore(tmp_path / "rollback.db")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put(_article("nl-2"))
        raise RuntimeError("the batch fails after the article was put")
    assert store.search("verboden").total == 0
    with store.transaction() as tx:
        tx.put(_article("nl-2"))
    # its stems are in the table although the store had met them in the failed batch
    assert _keys(store.search("verbod")) == ["nl-2"]
    store.close()


def test_counts_and_pages_end_at_the_search_window(backend, monkeypatch):
    from wirewatch import search as searching

    monkeypatch.setattr(searching, "SEARCH_WINDOW", 5)
    newest = ["de-1", "nb-2", "sv-2", "da-2", "nb-1", "nl-2", "de-3", "nl-1"]
    first = backend.search("type:ban", sort="date", limit=20)
    assert (first.total, first.total_exact, first.total_text()) == (5, False, "5+")
    assert _keys(first) == newest[:5]
    assert _keys(backend.search("type:ban", sort="date", limit=4, offset=4)) == newest[4:5]
    beyond = backend.search("type:ban", sort="date", offset=5)
    assert beyond.hits == [] and beyond.total == 5
    monkeypatch.setattr(searching, "SEARCH_WINDOW", 10_000)
    # past the real window: no page, and no error from Elasticsearch's own bound
    assert backend.search("type:ban", offset=10_005).hits == []
    below = backend.search("verbod")  # fewer matches than the window: all counted
    assert (below.total, below.total_exact, below.total_text()) == (2, True, "2")


FILTERS_ALONE = [(q, found) for q, found in CASES if parse(q).text is None]


@pytest.mark.parametrize(("query", "expected"), FILTERS_ALONE, ids=[q for q, _ in FILTERS_ALONE])
def test_filters_alone_give_the_same_newest_page_beyond_the_window(
    backend, monkeypatch, query, expected
):
    # below the window the store sorts what one filter's index gives; beyond it, it
    # walks the date index checking each article: the same page either way
    from wirewatch import search as searching

    everything = backend.search(query, sort="date", limit=50)
    assert set(_keys(everything)) == expected
    monkeypatch.setattr(searching, "SEARCH_WINDOW", 2)
    windowed = backend.search(query, sort="date", limit=50)
    assert _keys(windowed) == _keys(everything)[:2]
    assert (windowed.total, windowed.total_exact) == (min(len(expected), 2), len(expected) <= 2)
    if len(expected) > 2:
        assert (
            _keys(backend.search(query, sort="date", limit=1, offset=1)) == _keys(everything)[1:2]
        )


def test_an_index_of_entity_values_of_an_earlier_version_is_made_case_insensitive(tmp_path):
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP INDEX entities_value")
    db.execute("CREATE INDEX entities_value ON entities(kind, value)")
    db.commit()
    db.close()
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    (sql,) = db.execute("SELECT sql FROM sqlite_schema WHERE name = 'entities_value'").fetchone()
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT article_id FROM entities "
        "WHERE kind = 'vendors' AND value COLLATE NOCASE = 'huawei'"
    ).fetchall()
    db.close()
    assert "NOCASE" in sql
    assert any("entities_value (kind=? AND value=?)" in row[3] for row in plan), plan


def _same_words(title: str, published: str | None) -> EnrichedArticle:
    # the same body and title length: the same relevance score for "huawei"
    body = "Huawei equipment is discussed again by the operators of the networks."
    return EnrichedArticle(
        id=fingerprint.article_id(f"{title}\n\n{body}"),
        source=Source(path=f"{title}.txt"),
        sources=[f"{title}.txt"],
        encoding="utf-8",
        title=title,
        body=body,
        language="en",
        language_confidence=1.0,
        published=published,
        published_source="header" if published else "none",
        entities=Entities(),
        events=[],
        keywords=[],
        fingerprint=fingerprint.minhash(f"{title} {body}".lower().split()),
    )


def test_the_store_ranks_the_newest_matches_of_a_broad_query(tmp_path, monkeypatch):
    from wirewatch import search as searching

    store = SqliteStore(tmp_path / "window.db")
    oldest = _same_words("Huawei", "2020-01-01")  # the best match, stored first
    store.put(oldest)
    ties = [
        _same_words("Alpha", None),
        _same_words("Bravo", "2021-05-01"),
        _same_words("Delta", "2022-05-01"),
        _same_words("Gamma", "2021-05-01"),
    ]
    for a in ties:
        store.put(a)
    everything = store.search("huawei")
    assert [h.article.title for h in everything.hits] == [
        "Huawei",  # in the title too
        "Delta",  # then ties in score: newest published first, by id, undated last
        *sorted(["Bravo", "Gamma"], key=lambda t: _same_words(t, None).id),
        "Alpha",
    ]
    assert everything.total == 5 and everything.total_exact
    monkeypatch.setattr(searching, "SEARCH_WINDOW", 4)
    windowed = store.search("huawei")
    # the four matches stored last are ranked; the oldest is beyond the window
    assert [h.article.title for h in windowed.hits] == [h.article.title for h in everything.hits][
        1:
    ]
    assert (windowed.total, windowed.total_exact) == (4, False)
    # a page of the ties alone comes out in the same order
    assert [h.article.title for h in windowed.hits[1:3]] == [
        h.article.title for h in store.search("huawei", limit=2, offset=1).hits
    ]
    store.close()
