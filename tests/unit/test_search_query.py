"""The search syntax: parsing, analysis, rendering for SQLite and Elasticsearch, errors."""

from __future__ import annotations

import sqlite3

import pytest
from wirewatch.core.models import EnrichedArticle, Entities, Source
from wirewatch.embedded.store import FTS_SCHEMA, VOCAB_SCHEMA, sqlite_query, vocab_row
from wirewatch.search import (
    MARK_END,
    MARK_START,
    And,
    Filter,
    Not,
    Or,
    Phrase,
    Prefix,
    Query,
    QueryError,
    Word,
    analyse,
    fold,
    parse,
    query_stems,
    search_columns,
    snippet,
    to_elasticsearch,
    to_sqlite,
    vocabulary,
)


def _word(text: str) -> Word:
    return Word(text, query_stems(text))


# -- analysis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Leverantör", "leverantor"),
        ("Ålesund", "alesund"),
        ("équipement", "equipement"),
        ("Straße", "strasse"),
        ("Færøerne", "faeroerne"),
        ("København", "kobenhavn"),
    ],
)
def test_fold_lowers_and_drops_accents(raw, folded):
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("query_word", "text_word", "lang"),
    [
        ("banned", "ban", "en"),
        ("verboden", "verbod", "nl"),
        ("leverantörer", "leverantör", "sv"),
        ("leverantorer", "leverantörerna", "sv"),
        ("Warnungen", "Warnung", "de"),
        ("interdites", "interdite", "fr"),
        ("aftalen", "aftale", "da"),
        ("leverandørene", "leverandører", "nb"),
    ],
)
def test_a_query_word_meets_the_stem_of_an_inflected_form(query_word, text_word, lang):
    indexed = analyse(text_word, lang).stems
    assert indexed in query_stems(query_word)


def test_analyse_gives_stems_and_folded_words_in_text_order():
    a = analyse("Leverantörerna förbjuds, sade ministern.", "sv")
    assert a.words == "leverantorerna forbjuds sade ministern"
    assert a.stems.split()[0] == "leverantor"
    assert len(a.stems.split()) == len(a.words.split())


def test_a_language_without_a_stemmer_is_folded_only():
    assert analyse("Prohibición", "es").stems == "prohibicion"


# -- parsing ----------------------------------------------------------------------------


def test_words_are_and_ed():
    q = parse("huawei verbod")
    assert q == Query(And((_word("huawei"), _word("verbod"))))


def test_or_binds_looser_than_and():
    q = parse("a b OR c")
    assert q.text == Or((And((_word("a"), _word("b"))), _word("c")))


def test_parentheses_group():
    q = parse("(a OR b) c")
    assert q.text == And((Or((_word("a"), _word("b"))), _word("c")))


def test_not_and_minus_exclude():
    assert parse("a -b").text == And((_word("a"), Not(_word("b"))))
    assert parse("a NOT b").text == parse("a -b").text
    assert parse("a AND NOT b").text == parse("a -b").text


def test_lower_case_operators_are_words():
    assert parse("a or b").text == And((_word("a"), _word("or"), _word("b")))


def test_phrase_prefix_and_punctuation():
    q = parse('"Förbud mot" leverant* Huawei - ZTE')
    assert q.text == And(
        (Phrase(("forbud", "mot")), Prefix("leverant"), _word("huawei"), _word("zte"))
    )


def test_a_hyphenated_word_is_its_parts():
    assert parse("5G-nät").text == And((_word("5g"), _word("nät")))


def test_filters():
    q = parse(
        'huawei vendor:"China Mobile" country:se,no type:BAN status:reported lang:SV '
        "since:2019-06 until:2020 -vendor:ZTE"
    )
    assert q.text == _word("huawei")
    assert q.filters == (
        Filter("vendor", ("China Mobile",)),
        Filter("country", ("SE", "NO")),
        Filter("type", ("ban",)),
        Filter("status", ("reported",)),
        Filter("lang", ("sv",)),
        Filter("since", ("2019-06",)),
        Filter("until", ("2020",)),
        Filter("vendor", ("ZTE",), negated=True),
    )


def test_filters_alone_are_a_query():
    q = parse("type:ban")
    assert q.text is None and q.filters == (Filter("type", ("ban",)),)


@pytest.mark.parametrize(
    ("until", "bound"),
    [
        ("2020", "2021"),
        ("2020-12", "2021-01"),
        ("2020-02-29", "2020-03-01"),
        ("2021-06", "2021-07"),
    ],
)
def test_until_includes_the_whole_period(until, bound):
    assert parse(f"until:{until}").filters[0].bound == bound


def test_filter_values_can_be_checked_and_canonicalised():
    q = parse("vendor:huawei country:se x").with_filter_values(
        lambda field, v: v.title() if field == "vendor" else v
    )
    assert q.filters[0].values == ("Huawei",)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty query"),
        ("   ", "empty query"),
        ('"huawei verbod', "unbalanced quote"),
        ("(huawei OR zte", "unbalanced parenthesis"),
        ("huawei)", "unbalanced parenthesis"),
        ("()", "empty parentheses"),
        ('""', "empty phrase"),
        ("author:smith", "unknown field 'author:'"),
        ("since:2020-13", "no month 13"),
        ("until:2021-02-29", "has no day 29"),
        ("since:last-week", "is not a date"),
        ("since:2020,2021", "one date"),
        ("-since:2020", "cannot be negated"),
        ("type:embargo", "type:embargo is not one of"),
        ("status:maybe", "status:maybe is not one of"),
        ("country:Sweden", "two-letter code"),
        ("lang:swedish", "two-letter language code"),
        ("vendor:", "vendor: needs a value"),
        ("type:ban type:deal", "type: is given twice"),
        ("huawei OR", "OR at position 8 needs a term after it"),
        ("AND huawei", "AND at position 1 needs a term before it"),
        ("huawei AND", "needs a term after it"),
        ("NOT", "NOT at position 1 needs a term after it"),
        ("huawei OR -zte", "needs a term beside it"),
        ("huawei (-zte -nokia)", "needs a term beside it"),
        ("huawei OR vendor:ZTE", "cannot be inside OR or parentheses"),
        ("a*", "too short"),
        ("-", "empty query"),
    ],
)
def test_malformed_queries_name_the_problem_in_one_line(query, message):
    with pytest.raises(QueryError) as err:
        parse(query)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


# -- rendering: SQLite -------------------------------------------------------------------


def _no_words(stems: tuple[str, ...]) -> list[str]:
    return []


# what a store that indexed "ban", "bans" and "banning" (stem "ban") answers
def _ban_words(stems: tuple[str, ...]) -> list[str]:
    return ["bans", "ban", "banning"] if "ban" in stems else []


def test_sqlite_rendering():
    sql = to_sqlite(parse('banned "export ban" -zte leverant* lang:en since:2020'), _ban_words)
    # with words, the language is a column of the FTS table: one match
    assert sql.match == (
        '(({title_words body_words} : ("ban" OR "banned" OR "banning" OR "bans") AND '
        '{title_words body_words} : "export ban" AND {title_words body_words} : "leverant"*) '
        'NOT ({title_words body_words} : ("zte"))) AND lang : ("en")'
    )
    assert sql.exclude is None
    assert sql.where == ("a.published >= ?",)
    assert sql.args == ("2020",)
    assert to_sqlite(parse("ban -lang:de,fr"), _ban_words).match == (
        '({title_words body_words} : ("ban" OR "banning" OR "bans")) NOT lang : ("de" OR "fr")'
    )


def test_sqlite_language_without_words_is_a_column():
    # with a date range the language is no index choice (a unary plus): the range is
    sql = to_sqlite(parse("-zte lang:en since:2020"), _ban_words)
    assert sql.where == ("+a.language IN (?)", "a.published >= ?")
    assert sql.args == ("en", "2020")


def test_sqlite_only_negative_words_become_an_exclusion():
    sql = to_sqlite(parse("-zte -huawei"), _no_words)
    assert sql.match is None
    assert (
        sql.exclude == '{title_words body_words} : ("zte") OR {title_words body_words} : ("huawei")'
    )


def test_sqlite_type_and_status_are_one_event():
    sql = to_sqlite(parse("type:ban,sanction status:reported -type:deal"), _no_words)
    assert sql.where[0] == (
        "a.id IN (SELECT ev.article_id FROM events ev WHERE ev.type IN (?,?) AND ev.status IN (?))"
    )
    assert sql.where[1] == "NOT a.id IN (SELECT ev.article_id FROM events ev WHERE ev.type IN (?))"
    assert sql.args == ("ban", "sanction", "reported", "deal")


def test_the_sqlite_rendering_runs_in_fts5():
    db = sqlite3.connect(":memory:")
    db.execute(FTS_SCHEMA)
    db.execute(VOCAB_SCHEMA)
    columns = search_columns("Regeringen förbjuder", "Leverantörer stängs ute.", "sv")
    db.execute(
        "INSERT INTO articles_fts(rowid, title_words, body_words) VALUES (?,?,?)",
        (7, columns[0], columns[1]),
    )
    db.executemany("INSERT INTO search_vocab VALUES (?,?,?)", map(vocab_row, vocabulary(columns)))

    def found(query: str) -> bool:
        match = sqlite_query(db, parse(query)).match
        return bool(
            db.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (match,)
            ).fetchall()
        )

    assert found("leverantör")
    assert found('"leverantorer stangs"') and not found('"stangs leverantorer"')
    assert found("leveran* (förbjuda OR förbjuder)")
    assert not found("leverantör -förbjuder")


# -- rendering: Elasticsearch -------------------------------------------------------------


def test_elasticsearch_rendering():
    dsl = to_elasticsearch(parse("banned -zte vendor:Huawei country:SE until:2020-02"), 0.3)
    must = dsl["bool"]["must"]
    assert must == [
        {
            "multi_match": {
                "query": "ban banned",
                "fields": ["search.title_stems^5", "search.body_stems"],
                "operator": "or",
            }
        }
    ]
    assert dsl["bool"]["must_not"][0]["multi_match"]["query"] == "zte"
    filters = dsl["bool"]["filter"]
    assert {"terms": {"entities.countries": ["SE"]}} in filters
    assert {
        "range": {"published": {"lt": "2020-03", "format": "yyyy-MM-dd||yyyy-MM||yyyy"}}
    } in filters
    assert {"range": {"relevance": {"gte": 0.3}}} in filters
    vendor = filters[0]["bool"]["should"][0]["term"]["entities.vendors"]
    assert vendor == {"value": "Huawei", "case_insensitive": True}


def test_elasticsearch_status_without_type_means_any_type():
    dsl = to_elasticsearch(parse("status:rejected"))
    kinds = dsl["bool"]["filter"][0]["terms"]["event_kinds"]
    assert "ban:rejected" in kinds and "deal:rejected" in kinds and len(kinds) == 7


def test_elasticsearch_phrase_and_prefix():
    dsl = to_elasticsearch(parse('"export ban" OR leverant*'))
    should = dsl["bool"]["must"][0]["bool"]["should"]
    assert should[0]["bool"]["should"][1] == {"match_phrase": {"search.body_words": "export ban"}}
    assert should[1]["bool"]["should"][1] == {"prefix": {"search.body_words": "leverant"}}


def test_elasticsearch_filters_only_or_nothing():
    assert to_elasticsearch(parse("lang:sv")) == {
        "bool": {"filter": [{"terms": {"language": ["sv"]}}]}
    }


# -- snippets -----------------------------------------------------------------------------


def _article(title: str, body: str, language: str) -> EnrichedArticle:
    return EnrichedArticle(
        id="0" * 16,
        source=Source(path="x.txt"),
        encoding="utf-8",
        title=title,
        body=body,
        language=language,
        language_confidence=1.0,
        published=None,
        entities=Entities(),
        events=[],
        keywords=[],
        fingerprint=[],
    )


def test_snippet_marks_stemmed_matches_phrases_and_prefixes():
    art = _article(
        "Titel",
        "Myndigheten stänger ute leverantörerna [enligt beslut] från 5G-näten i dag.",
        "sv",
    )
    text = snippet(art, parse('leverantör "5G-näten" myndig*'))
    assert text == (
        f"{MARK_START}Myndigheten{MARK_END} stänger ute {MARK_START}leverantörerna{MARK_END} "
        f"(enligt beslut) från {MARK_START}5G-näten{MARK_END} i dag."
    )


def test_snippet_is_cut_around_the_matches():
    body = "Inledning. " * 40 + "Här kommer förbudet mot appar. " + "Avslutning. " * 40
    text = snippet(_article("T", body, "sv"), parse("förbud"))
    assert text.startswith("…") and text.endswith("…")
    assert f"{MARK_START}förbudet{MARK_END}" in text
    assert len(text) < 260


def test_snippet_without_a_body_match():
    art = _article("Förbud mot appar", "Ingen träff här.", "sv")
    assert snippet(art, parse("förbud")) == f"{MARK_START}Förbud{MARK_END} mot appar"
    assert snippet(art, parse("lang:sv")) == "Ingen träff här."


@pytest.mark.parametrize(
    "query",
    ["type:sanction", "type:ban status:proposed", "vendor:Huawei", "country:CN,US", "-type:deal"],
)
def test_sqlite_filters_are_not_a_subquery_per_article(query):
    # a correlated subquery on events or entities per article grows with the square of the
    # store (the events_type index scanned for every article)
    from wirewatch.embedded.store import SCHEMA

    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    sql = to_sqlite(parse(query), _no_words)
    plan = " | ".join(
        row[3]
        for row in db.execute(
            f"EXPLAIN QUERY PLAN SELECT count(*) FROM articles a WHERE {' AND '.join(sql.where)}",
            sql.args,
        )
    )
    assert "CORRELATED" not in plan, plan


@pytest.mark.parametrize("language", ["sv", "de", "en", None])
def test_every_indexed_word_pairs_with_its_stem(language):
    # a ligature that decomposes into words, combining marks alone, fractions: each
    # token is one stem and one word, so the store knows the stem of every word it indexes
    text = "Leverantörer \ufdfa stängs \u0301\u0301 ute \ufb01nal 1\u00bd Straße"
    columns = search_columns(text, text, language)
    analysed = analyse(text, language)
    assert columns[:2] == (analysed.words, analysed.words)
    assert len(analysed.stems.split()) == len(analysed.words.split())
    pairs = [p.split(" ") for p in vocabulary(columns)]
    # a word that is its own stem needs no pair; every other word has its own
    for stem, word in zip(analysed.stems.split(), analysed.words.split(), strict=True):
        assert stem == word or [stem, word] in pairs
    assert all(len(p) == 2 and p[0] != p[1] for p in pairs)


@pytest.mark.parametrize(
    ("pair", "row"),
    [
        ("govern government", ("govern", 0, "ment")),  # the word adds letters
        ("verbod verboden", ("verbod", 0, "en")),
        ("happi happy", ("happi", 1, "y")),  # the stem's last letter differs
        ("leverantor leverantorer", ("leverantor", 0, "er")),
        ("bann bans", ("bann", 1, "s")),
    ],
)
def test_a_stem_table_row_gives_its_word_back(pair, row):
    assert vocab_row(pair) == row
    db = sqlite3.connect(":memory:")
    db.execute(VOCAB_SCHEMA)
    db.execute("INSERT INTO search_vocab VALUES (?,?,?)", row)
    (word,) = db.execute(
        "SELECT substr(stem, 1, length(stem) - cut) || tail FROM search_vocab"
    ).fetchone()
    assert word == pair.split(" ")[1]
