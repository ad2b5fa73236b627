"""The web UI's pure pieces: snippet markup, evidence marking, the chart, links, paging."""

from __future__ import annotations

from wirewatch.core.models import EnrichedArticle, Entities, PolicyEvent, Source
from wirewatch.search import MARK_END, MARK_START
from wirewatch.ui import chart, highlight
from wirewatch.ui.app import State, _page_numbers
from wirewatch.ui.data import marked
from wirewatch.ui.queries import Filters, Timeline, _bucket_range, _granularity, source_label


def article(body: str, evidence: list[list[str]], title: str | None = "A title") -> EnrichedArticle:
    return EnrichedArticle(
        id="0123456789abcdef",
        source=Source(path="inbox/a.txt"),
        encoding="utf-8",
        title=title,
        body=body,
        language="en",
        language_confidence=1.0,
        published=None,
        entities=Entities(),
        events=[
            PolicyEvent(type="ban", status="reported", confidence=0.9, evidence=ev)
            for ev in evidence
        ],
        keywords=[],
        fingerprint=[],
    )


def test_snippet_markers_become_balanced_marks_and_text_is_escaped() -> None:
    s = f"a {MARK_START}<b>{MARK_END} c {MARK_START}open"
    assert str(marked(s)) == "a <mark>&lt;b&gt;</mark> c <mark>open</mark>"
    assert str(marked(f"{MARK_END}x{MARK_END}")) == f"{MARK_END}x{MARK_END}"  # not a mark
    assert str(marked("<script>")) == "&lt;script&gt;"


def test_evidence_is_marked_once_with_whitespace_differences() -> None:
    body = (
        "First line here.\n\nThe  agency   bans the gear. Other text.\n\nThe agency bans the gear."
    )
    a = article(body, [["The agency bans the gear."], ["The agency bans the gear."]])
    evidence = highlight.evidence_list(a)
    assert len(evidence) == 1 and evidence[0].events == [1, 2]
    paras = highlight.paragraphs(a.body, evidence)
    marked_segments = [s for p in paras for s in p if s.anchor]
    assert [s.text for s in marked_segments] == ["The  agency   bans the gear."]
    assert "".join(s.text for s in paras[1]) == "The  agency   bans the gear. Other text."


def test_title_evidence_is_not_looked_for_in_the_body() -> None:
    a = article("Body text.", [["Ministry bans gear"]], title="Ministry  bans gear")
    (ev,) = highlight.evidence_list(a)
    assert ev.in_title
    highlight.paragraphs(a.body, [ev])
    assert not ev.found


def test_granularity_and_buckets() -> None:
    assert _granularity(["2020-01-01", "2020-02-15"], None) == "day"
    assert _granularity(["2019-03", "2023-03-21"], None) == "month"
    assert _granularity(["2001", "2020-01"], None) == "year"
    assert _granularity([], "2020-07") == "day"
    assert _granularity([], "2020") == "month"
    assert _bucket_range("2019-11", "2020-02", "month") == [
        "2019-11",
        "2019-12",
        "2020-01",
        "2020-02",
    ]
    assert _bucket_range("2020-02-28", "2020-03-01", "day") == [
        "2020-02-28",
        "2020-02-29",
        "2020-03-01",
    ]


def test_chart_stacks_in_taxonomy_order_and_scales_to_the_peak() -> None:
    t = Timeline(
        "month",
        ["2020-01", "2020-02", "2020-03"],
        {"2020-01": {"deal": 1, "ban": 3}, "2020-03": {"legal": 2}},
    )
    c = chart.layout(t)
    assert [b.total for b in c.bars] == [4, 0, 2]
    first = c.bars[0]
    assert [p.type for p in first.parts] == ["ban", "deal"]
    assert round(first.parts[-1].y, 1) == c.top  # the highest bar reaches the top
    assert first.summary == "2020-01: 4 events (ban 3, deal 1)"
    assert c.types == ["ban", "deal", "legal"]
    assert c.bars[-1].x + c.bars[-1].width <= c.width


def test_links_keep_the_state_and_go_back_to_page_one() -> None:
    s = State(
        q="huawei verbod", filters=Filters(vendor="Huawei", date="2020-07"), sort="newest", page=3
    )
    assert s.url("/", page=4) == "/?q=huawei+verbod&vendor=Huawei&date=2020-07&sort=newest&page=4"
    assert (
        s.narrowed("type", "ban")
        == "/?q=huawei+verbod&type=ban&vendor=Huawei&date=2020-07&sort=newest"
    )
    assert s.without("vendor", "/timeline") == "/timeline?q=huawei+verbod&date=2020-07&sort=newest"


def test_page_numbers_have_gaps() -> None:
    assert _page_numbers(1, 1) == [1]
    assert _page_numbers(5, 10) == [1, None, 3, 4, 5, 6, 7, None, 10]
    assert _page_numbers(2, 4) == [1, 2, 3, 4]


def test_source_labels() -> None:
    assert source_label("https://news.example.org/a/b?x=1") == "news.example.org"
    assert source_label("examples/inbox/en_01.txt") == "inbox"
    assert source_label("C:\\feeds\\wire\\a.txt") == "wire"
    assert source_label("a.txt") == "."
