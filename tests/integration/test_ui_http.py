"""The web UI over HTTP (Starlette's TestClient) on a store written by `wirewatch run`:
status codes, security headers, escaping of article text, facets, paging, error pages."""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
import urllib.request
from html import unescape
from pathlib import Path

import pytest
from markupsafe import escape
from starlette.testclient import TestClient
from wirewatch.ui import queries
from wirewatch.ui.app import create_app

from tests.conftest import EXAMPLES, ROOT, ww

# An article of our own whose title and body carry markup and scripts: the UI must show
# them as text.
HOSTILE = """<script>alert("title")</script> Regulator bans <b>Huawei</b> gear from 5G core

The telecom regulator of Ruritania said on Tuesday 3 March 2021 that it bans Huawei equipment from the core of every 5G network, citing a risk of espionage. <script>document.title="owned"</script> Operators get three years to remove the equipment, the regulator said. <img src=x onerror="document.title='img'"> Vodafone said it would comply.
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("ui")
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "en_html_script.txt").write_text(HOSTILE, encoding="utf-8")
    db = tmp / "w.db"
    ww(
        "run",
        str(EXAMPLES),
        str(extra),
        "--db",
        str(db),
        "--once",
        "--metrics-port",
        "0",
        "--rules",
        str(ROOT / "examples" / "rules.yaml"),
    )
    return db


@pytest.fixture(scope="module")
def client(store: Path) -> TestClient:
    from wirewatch.core.alerts import load_rules

    rules_file = ROOT / "examples" / "rules.yaml"
    rules = load_rules(rules_file.read_text(encoding="utf-8"), str(rules_file))
    return TestClient(create_app(store, rules, rules_file))


def hostile_id(store: Path) -> str:
    with sqlite3.connect(store) as conn:
        (aid,) = conn.execute("SELECT id FROM articles WHERE title LIKE '<script>%'").fetchone()
    return str(aid)


def text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_every_page_answers_with_security_headers(client: TestClient, store: Path) -> None:
    for path in (
        "/",
        "/?q=huawei",
        "/timeline",
        "/alerts",
        "/stories",
        "/live",
        "/live/list",
        f"/article/{hostile_id(store)}",
        "/static/style.css",
        "/no/such/page",
        "/?type=nonsense",
    ):
        r = client.get(path)
        assert r.status_code in (200, 400, 404), (path, r.status_code)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_pages_hold_no_inline_script_or_style(client: TestClient, store: Path) -> None:
    for path in ("/?q=huawei", "/timeline", "/alerts", "/live", f"/article/{hostile_id(store)}"):
        html = client.get(path).text
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/htmx.min.js" defer>']
        assert " style=" not in html and "<style" not in html
        assert " on" not in re.sub(r"&[a-z]+;|\"[^\"]*\"|'[^']*'", "", html).split("<body")[0]


def test_article_markup_is_shown_as_text(client: TestClient, store: Path) -> None:
    html = client.get(f"/article/{hostile_id(store)}").text
    assert "<script>alert" not in html and "<script>document" not in html
    assert "<b>Huawei</b>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    # the evidence is marked in the text, still escaped inside the mark
    marks = re.findall(r'<mark class="evidence" id="(ev-\d+)"[^>]*>(.*?)</mark>', html, re.S)
    assert marks, "the ban's evidence sentence is marked in the text"
    assert any("&lt;script&gt;document.title" in body for _, body in marks)
    assert f'href="#{marks[0][0]}"' in html
    # the search results list and the live list escape it too
    for path in ("/?q=Ruritania", "/live"):
        page = client.get(path).text
        assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page, path


def test_search_paging_and_counts(client: TestClient) -> None:
    first = client.get("/")  # no query: every article, newest first
    assert first.status_code == 200
    heading = text(re.search(r'<h2 id="results-h".*?</h2>', first.text, re.S).group(0))
    assert re.search(r"1–20 of 34 articles", " ".join(heading.split())), heading
    second = client.get("/?page=2")
    heading = text(re.search(r'<h2 id="results-h".*?</h2>', second.text, re.S).group(0))
    assert "21–34 of 34" in " ".join(heading.split())
    ids_1 = set(re.findall(r'<h3><a href="/article/(\w+)"', first.text))
    ids_2 = set(re.findall(r'<h3><a href="/article/(\w+)"', second.text))
    assert len(ids_1) == 20 and len(ids_2) == 14 and not ids_1 & ids_2
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text
    assert client.get("/?page=0").status_code == 400
    past = client.get("/?page=3")
    assert past.status_code == 404 and "no page 3: these results have 2 pages" in past.text
    assert client.get("/?page=two").status_code == 400


def test_query_hits_are_highlighted(client: TestClient) -> None:
    html = client.get("/?q=Ericsson").text
    assert "<mark>Ericsson</mark>" in html
    hits = re.findall(r'<h3><a href="/article/(\w+)"', html)
    assert hits


def test_facets_count_and_narrow(client: TestClient, store: Path) -> None:
    html = client.get("/?q=huawei").text
    m = re.search(r'href="(/\?q=huawei&amp;vendor=Huawei)"[^>]*>Huawei <span class="n">(\d+)', html)
    assert m, "a Huawei vendor facet with its count"
    url, n = unescape(m.group(1)), int(m.group(2))
    narrowed = client.get(url).text
    heading = " ".join(
        text(re.search(r'<h2 id="results-h".*?</h2>', narrowed, re.S).group(0)).split()
    )
    assert f"of {n} article" in heading or f"1–{n} of {n}" in heading, heading
    assert 'aria-label="Remove Vendor: Huawei"' in narrowed
    # the counts agree with the database
    with sqlite3.connect(store) as conn:
        (expected,) = conn.execute(
            "SELECT count(*) FROM articles a JOIN articles_fts f ON f.rowid = a.rowid "
            "WHERE articles_fts MATCH 'huawei' AND EXISTS (SELECT 1 FROM entities n "
            "WHERE n.article_id = a.id AND n.kind = 'vendors' AND n.value = 'Huawei')"
        ).fetchone()
    assert n == expected
    # every facet is offered, with counts
    for name in ("type", "status", "vendor", "operator", "country", "language", "source"):
        assert f'id="f-{name}"' in html, name
    # a type and a status hold for the same event
    rejected_bans = client.get("/?type=ban&status=rejected").text
    ids = re.findall(r'<h3><a href="/article/(\w+)"', rejected_bans)
    assert ids
    with sqlite3.connect(store) as conn:
        for aid in ids:
            assert conn.execute(
                "SELECT 1 FROM events WHERE article_id = ? AND type = 'ban' AND status = 'rejected'",
                (aid,),
            ).fetchone()


def test_timeline_buckets_and_narrowing(client: TestClient) -> None:
    html = client.get("/timeline").text
    bars = re.findall(r'<a class="bar" href="([^"]+)" aria-label="([^"]+)"', html)
    assert bars
    assert all("date=" in unescape(href) for href, _ in bars)
    month = client.get("/timeline?date=2020-12").text
    labels = [
        unescape(label)
        for _, label in re.findall(r'<a class="bar" href="([^"]+)" aria-label="([^"]+)"', month)
    ]
    assert labels and all(re.match(r"2020-12-\d\d: \d+ events?", lbl) for lbl in labels), labels
    day = client.get("/?date=2020-12-08").text
    assert all(
        "2020-12-08" in t for t in re.findall(r'<time datetime="([^"]+)"', day)
    ) and re.findall(r'<time datetime="([^"]+)"', day)


def test_alerts_page_lists_rules_and_firings(client: TestClient) -> None:
    html = client.get("/alerts").text
    assert "vendor-ban-europe" in html and "declined-bans" in html
    assert html.count('<a href="/article/') >= 5


def test_bad_input_gets_a_page_not_a_trace(client: TestClient, store: Path) -> None:
    from wirewatch.search import QueryError, parse

    with pytest.raises(QueryError) as err:
        parse("((")
    r = client.get("/?q=((")
    assert r.status_code == 400 and escape(str(err.value)) in r.text
    assert "Traceback" not in r.text
    r = client.get("/article/0123456789abcdef")
    assert r.status_code == 404 and "no article with id" in r.text
    r = client.get("/article/..%2f..%2fetc")
    assert r.status_code == 404
    for bad in ("status=maybe", "date=2020-13-99x", "min_relevance=2", "sort=random"):
        r = client.get("/?" + bad)
        assert r.status_code == 400, bad
        assert "Traceback" not in r.text


def test_missing_store_is_503_with_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    client = TestClient(create_app(missing))
    for path in ("/", "/timeline", "/alerts", "/live", "/article/0123456789abcdef"):
        r = client.get(path)
        assert r.status_code == 503, path
        assert str(missing) in r.text and "wirewatch run" in r.text
        assert r.headers["retry-after"]
        assert "Traceback" not in r.text
    # not a database at all
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    r = TestClient(create_app(junk)).get("/")
    assert r.status_code == 503 and str(junk) in r.text


def test_locked_store_is_503(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    shutil.copy(store, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = TestClient(create_app(db)).get("/")
        assert r.status_code == 503
        assert "locked" in r.text and str(db) in r.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_store_is_never_written(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    shutil.copy(store, db)
    conn = queries.connect(db)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM articles")
    conn.close()


def test_live_fragment_is_204_while_nothing_changes(client: TestClient) -> None:
    html = client.get("/live/list").text
    poll = unescape(re.search(r'hx-get="([^"]+)"', html).group(1))
    assert client.get(poll).status_code == 204


def test_real_http_server_on_loopback(store: Path) -> None:
    """`wirewatch ui`'s server on a thread: real HTTP, the Host header checked."""
    from wirewatch.ui.server import Background

    ui = Background(store, "127.0.0.1", 0).start()
    try:
        with urllib.request.urlopen(ui.url + "?q=huawei", timeout=10) as r:
            assert (
                r.status == 200 and "frame-ancestors 'none'" in r.headers["content-security-policy"]
            )
        req = urllib.request.Request(ui.url, headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 400
    finally:
        ui.stop()
    assert not ui.thread.is_alive()


def test_background_thread_is_not_left_running() -> None:
    assert not [t for t in threading.enumerate() if t.name == "ui"]


def test_footer_names_the_version_and_the_database(client: TestClient, store: Path) -> None:
    from wirewatch import __version__

    for path in ("/", "/live", "/alerts"):
        foot = re.search(r'<footer class="foot">(.*?)</footer>', client.get(path).text, re.S)
        assert (
            foot and f"wirewatch {__version__} ·" in foot.group(1) and str(store) in foot.group(1)
        )


def test_operator_source_and_relevance_narrow_too(client: TestClient, store: Path) -> None:
    """The selections the search syntax has no filter for (operator, source) and the
    relevance floor narrow the hits as they narrow the facet counts."""
    html = client.get("/?q=huawei").text
    m = re.search(r'href="([^"]*operator=Telenor[^"]*)"[^>]*>Telenor <span class="n">(\d+)', html)
    assert m
    narrowed = client.get(unescape(m.group(1))).text
    ids = re.findall(r'<h3><a href="/article/(\w+)"', narrowed)
    assert len(ids) == int(m.group(2))
    with sqlite3.connect(store) as conn:
        for aid in ids:
            assert conn.execute(
                "SELECT 1 FROM entities WHERE article_id = ? AND kind = 'operators' "
                "AND value = 'Telenor'",
                (aid,),
            ).fetchone()
    sources = re.findall(r'href="([^"]*source=[^"]*)"[^>]*>([^<]+) <span class="n">(\d+)', html)
    assert {label.strip() for _, label, _ in sources} == {"inbox", "extra"}
    for href, label, n in sources:
        page = client.get(unescape(href)).text
        assert len(re.findall(r'<h3><a href="/article/', page)) == min(int(n), 20), label
    floor = client.get("/?min_relevance=0.9").text
    shown = [float(x) for x in re.findall(r"relevance (\d\.\d\d)", floor)]
    assert shown and min(shown) >= 0.9
    assert '<option value="0.5">' in floor and '<option value="0.8">' in floor


def test_stories_list_and_a_story_page_with_its_articles(client: TestClient, store: Path) -> None:
    with sqlite3.connect(store) as conn:
        story, n = conn.execute(
            "SELECT story_id, count(*) FROM articles GROUP BY story_id "
            "ORDER BY count(*) DESC, story_id LIMIT 1"
        ).fetchone()
        members = [
            r[0] for r in conn.execute("SELECT id FROM articles WHERE story_id = ?", (story,))
        ]
        total = conn.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]
    assert n >= 2, "the examples hold at least one story of several articles"
    listing = client.get("/stories")
    assert listing.status_code == 200 and f"{total} stories" in text(listing.text)
    assert f'href="/story/{story}"' in listing.text
    page = client.get(f"/story/{story}")
    assert page.status_code == 200 and f"{n} articles" in text(page.text)
    for member in members:
        assert f'href="/article/{member}"' in page.text
    # an article page lists the other articles of its story
    article = client.get(f"/article/{members[0]}")
    assert all(f'href="/article/{m}"' in article.text for m in members[1:])
    assert f'href="/story/{story}"' in article.text
    assert client.get("/story/ffffffffffffffff").status_code == 404
    assert client.get("/story/bad-id!").status_code == 404
    assert client.get("/stories?page=999").status_code == 404
    assert client.get("/stories?page=x").status_code == 400


def test_backtest_form_replays_the_rules_per_day_and_records_nothing(
    client: TestClient, store: Path
) -> None:
    with sqlite3.connect(store) as conn:
        before = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    page = client.get("/alerts")
    assert 'name="since"' in page.text and 'name="until"' in page.text
    result = client.get("/alerts?since=2000&until=2030-01-01")
    assert result.status_code == 200 and 'id="backtest-result"' in result.text
    body = text(result.text)
    assert "stored articles replayed" in body
    rows = re.findall(
        r'<th scope="row">([^<]+)</th><td><time>(\d{4}-\d\d-\d\d)</time>', result.text
    )
    assert rows, "the example rules fire on the example articles"
    assert client.get("/alerts?since=2020-13").status_code == 400
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == before
