"""The pure parts of ``wirewatch bench scale``: composed texts, figures, the section."""

from __future__ import annotations

import math
from datetime import date

import pytest
from wirewatch import search
from wirewatch.tools import bench_scale as b


def _pool() -> list[b.Origin]:
    # made-up sentences, a few articles per language
    out = []
    for lang, word in (("en", "harbour"), ("de", "Hafen"), ("nl", "haven")):
        for i in range(30):
            sentences = tuple(
                f"The {word} w{i}x{j} says y{j}x{i} then z{i}x{j}x{i} moved." for j in range(10)
            )
            out.append(b.Origin(len(out), lang, f"{word} title {i}", sentences))
    return out


def test_split_sentences_at_stops_and_lines() -> None:
    text = "One is here. Two? Three!  Four.\nFive without stop\n\n  \nSix."
    assert b.split_sentences(text) == [
        "One is here.",
        "Two?",
        "Three!",
        "Four.",
        "Five without stop",
        "Six.",
    ]


def test_split_sentences_keeps_abbreviation_free_text_whole() -> None:
    assert b.split_sentences("no stop at all") == ["no stop at all"]
    assert b.split_sentences("") == []


def test_compose_is_deterministic_and_seeded() -> None:
    groups = b.by_language(_pool())
    one = b.compose(groups, 5, seed=1)
    assert one == b.compose(groups, 5, seed=1)
    assert one != b.compose(groups, 5, seed=2)
    assert one != b.compose(groups, 6, seed=1)


def test_compose_stays_in_the_language_of_its_lead() -> None:
    pool = _pool()
    groups = b.by_language(pool)
    for k in range(30):
        c = b.compose(groups, k, seed=3)
        lead = pool[c.origin]
        assert c.title == lead.title
        main, ref = c.body.rsplit("\n\n", 1)
        body_sentences = b.split_sentences(main)
        assert set(body_sentences) <= {s for o in groups[lead.language] for s in o.sentences}
        assert body_sentences[:2] == list(lead.sentences[:2])
        assert ref == f"Ref. 3-{k}."
        assert c.text() == f"{c.title}\n\n{c.body}\n"


def test_compose_gives_distinct_texts_that_are_not_near_duplicates() -> None:
    groups = b.by_language(_pool())
    texts = [b.compose(groups, k, seed=9).text() for k in range(60)]
    assert len(set(texts)) == 60
    assert b.near_duplicate_pairs(texts) == 0


@pytest.mark.parametrize("groups", [{}, {"en": []}])
def test_compose_refuses_an_empty_pool(groups: dict) -> None:
    with pytest.raises(ValueError):
        b.compose(groups, 0, seed=1)


def test_shingles_and_jaccard() -> None:
    assert b.shingles("A b c D") == {"a b c", "b c d"}
    assert b.shingles("two words") == {"two words"}
    assert b.jaccard({"x", "y"}, {"y", "z"}) == pytest.approx(1 / 3)
    assert b.jaccard(set(), set()) == 0.0


def test_near_duplicate_pairs_counts_pairs_over_the_threshold() -> None:
    base = " ".join(f"w{i}" for i in range(40))
    almost = base + " extra tail"
    other = " ".join(f"v{i}" for i in range(40))
    assert b.near_duplicate_pairs([base, almost, other]) == 1
    assert b.near_duplicate_pairs([base, almost, base]) == 3
    assert b.near_duplicate_pairs([base, other]) == 0


def test_arrival_date_follows_the_article_number() -> None:
    assert b.arrival_date(7, 4) == b.arrival_date(7, 4)
    assert b.arrival_date(0, 4) == "2000-01-01"
    days = [date.fromisoformat(b.arrival_date(k, 4, per_day=10)) for k in range(1000)]
    for k, day in enumerate(days):
        on_time = date(2000, 1, 1).toordinal() + k // 10
        assert on_time - 2 <= day.toordinal() <= on_time
    assert len(set(days)) > 90


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 100, 100),
        (list(range(1, 11)), 99, 10),
        ([1.0, 2.0], 50, 1.0),
    ],
)
def test_percentile_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert b.percentile(values, q) == expected


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], 0), ([1.0], 101)])
def test_percentile_refuses(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        b.percentile(values, q)


def test_ratio_and_drift() -> None:
    assert b.ratio(6, 2) == 3
    assert math.isnan(b.ratio(1, 0))
    assert b.drift([100.0, 90.0, 80.0]) == pytest.approx(-0.2)
    assert b.drift([100.0, 110.0]) == pytest.approx(0.1)
    assert math.isnan(b.drift([]))


def test_decades() -> None:
    assert b.decades([10000, 1000, 100000], None) == [1000, 10000, 100000]
    assert b.decades([1000, 10000, 100000], 1_000_000) == [1000, 10000, 100000, 1_000_000]
    assert b.decades([1000], 25000) == [1000, 10000, 25000]
    assert b.decades([1000, 10000], 5000) == [1000, 10000]


def test_parse_sizes() -> None:
    assert b.parse_sizes("1000, 10k,1M,1000") == [1000, 10000, 1_000_000]
    for bad in ("", "ten", "0", "1.5k", "-5"):
        with pytest.raises(ValueError):
            b.parse_sizes(bad)


def test_every_query_is_valid_search_syntax() -> None:
    assert len(b.QUERIES) >= 45
    assert len(set(b.QUERIES)) == len(b.QUERIES)
    for q in b.QUERIES:
        search.parse(q)  # raises QueryError on a malformed or unknown value


def _run(**changes: object) -> b.Run:
    points = [
        b.Point(
            1000,
            store_rate=500,
            e2e_rate=150,
            p50_ms=1.0,
            p99_ms=10.0,
            max_ms=12.0,
            slowest="government",
            db_bytes=9_000_000,
            text_bytes=3_000_000,
            rss_mb=120,
            fill_rate=450,
            articles=1000,
        ),
        b.Point(
            100_000,
            store_rate=440,
            e2e_rate=149,
            p50_ms=3.0,
            p99_ms=250.0,
            max_ms=300.0,
            slowest="regierung",
            db_bytes=400_000_000,
            text_bytes=100_000_000,
            rss_mb=140,
            near_duplicates=2,
            articles=103_000,
        ),
    ]
    run = b.Run(
        points=points,
        batch=1000,
        queries=50,
        rounds=3,
        seed=1,
        pool=10,
        pool_languages={"en": 6, "de": 4},
        sample_pairs=0,
        sample_size=400,
        when="2026-12-04 12:00 UTC",
        machine="x86_64, 2 CPU(s)",
        load_before="1.00, 2.00, 3.00",
        load_after="2.00, 2.00, 3.00",
        e2e_near_duplicates=1,
        e2e_articles=2000,
    )
    for k, v in changes.items():
        setattr(run, k, v)
    return run


def test_verdicts_judge_each_target() -> None:
    lines = b.verdicts(_run())
    text = "\n".join(lines)
    assert "store-only throughput from 1,000 to 100,000 stored: -12%" in text
    assert "end-to-end throughput from 1,000 to 100,000 stored: -1%" in text
    assert text.count("**met**") == 3  # both throughputs and the RSS
    assert "search p99 at 100,000 (the largest measured" in text
    assert "**not met even at this size**" in text
    assert "database / text: at most 4.00x (at 100,000" in text
    assert "peak RSS of the one process: 140 MB" in text


def test_verdicts_on_a_slowdown_and_at_a_million() -> None:
    run = _run()
    run.points[-1].store_rate = 300
    run.points[-1].stored = 1_000_000
    run.points[-1].p99_ms = 80.0
    text = "\n".join(b.verdicts(run))
    assert "-40% (target: within 15%) - **not met**" in text
    assert "search p99 at 1,000,000: 80.0 ms (target: <= 100 ms at 1,000,000) - **met**" in text


def test_render_has_a_row_per_size_the_targets_and_the_plots() -> None:
    text = b.render(_run())
    assert text.startswith("## Scale of the embedded store (`wirewatch bench scale`)")
    assert "| 1,000 | 500 | 150 | 1.0 | 10.0 | 12.0 | 9.0 | 3.0 | 3.00 | 120 | 0 |" in text
    assert "| 100,000 | 440 | 149 | 3.0 | 250.0 | 300.0 | 400.0 | 100.0 | 4.00 | 140 | 0 |" in text
    assert "Filling rate (articles/s) up to each size: 1,000 450." in text
    assert "2 of 103,000 articles at the end; in the end-to-end batches 1 of 2000." in text
    assert "before: 1.00, 2.00, 3.00; after: 2.00, 2.00, 3.00" in text
    assert "![Throughput against articles stored](docs/bench/scale-throughput.png)" in text
    assert "![Search latency against articles stored](docs/bench/scale-search.png)" in text
    assert "docs/bench" not in b.render(_run(), plots=False)


def test_render_shows_a_size_without_throughput_batches() -> None:
    run = _run()
    run.points.append(b.Point(1_000_000, p50_ms=5, p99_ms=90, max_ms=95, db_bytes=1, text_bytes=1))
    assert "| 1,000,000 | - | - | 5.0 | 90.0 | 95.0 |" in b.render(run)
