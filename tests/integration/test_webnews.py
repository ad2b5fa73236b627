"""Quality on public news web pages in en, de, fr, nl, sv and da, collected and labelled
by readers who never ran wirewatch (the pages are read in place from the web-news folder;
only labels, file names and addresses are in the repository). Guards the figures in
QUALITY.md; the floors are a little under them.

The folder may hold only part of the labelled pages (a page whose text could not be
found again is skipped, and the report counts it): the floors are for the pages that are
there, and each split needs enough of them to be a measure."""

from __future__ import annotations

from collections import Counter

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.tools.evaluate_web import DEFAULT_LABELS, evaluate, load_labels, split_of

from tests.conftest import ROOT, WEBNEWS

needs_webnews = pytest.mark.skipif(
    not (WEBNEWS / "r1").is_dir(),
    reason=f"the web-news folder is not at {WEBNEWS} (set WIREWATCH_WEBNEWS)",
)


@pytest.fixture(scope="module")
def report(enricher: Enricher):
    return evaluate(WEBNEWS, load_labels(ROOT / DEFAULT_LABELS), enricher)


def test_labels_cover_the_languages_and_three_splits() -> None:
    labels = load_labels(ROOT / DEFAULT_LABELS)
    with_event = Counter((split_of(x.file), x.language) for x in labels if x.events)
    for split in ("tune", "held-out", "fresh"):
        for lang in ("en", "de", "fr", "nl"):
            assert with_event[(split, lang)] >= 20, (split, lang, with_event)
    assert sum(not x.events for x in labels) >= 400
    assert len({x.file for x in labels}) == len(labels)


@needs_webnews
def test_enough_pages_are_there_to_measure(report) -> None:
    # 641 of the 1,258 labelled pages of rounds 1-3 are in the folder here, and all 270 of
    # round 4, 118 of round 5, 254 of round 6, 221 of round 7, 234 of round 8, 218 of
    # round 9, 221 of round 10, 210 of round 11, 209 of round 12, 177 of round 13, 174 of
    # round 14, 207 of round 16, 162 of round 17, 187 of round 18 (collected as round 15),
    # 208 of round 19, 190 of round 20, 194 of round 21, 233 of round 22 and 211 of round 23
    labels = load_labels(ROOT / DEFAULT_LABELS)
    present = [x for x in labels if (WEBNEWS / x.file).is_file()]
    assert len(present) + report.missing == len(labels)
    with_event = Counter((split_of(x.file), x.language) for x in present if x.events)
    for split in ("tune", "held-out", "fresh"):
        for lang in ("en", "de", "fr", "nl"):
            assert with_event[(split, lang)] >= 15, (split, lang, with_event)
    assert sum(1 for x in present if "/ordinary_" in x.file) >= 100


@needs_webnews
def test_events_on_policy_pages(report) -> None:
    # measured (precision / recall / F1) on all 1,258 pages of rounds 1-3: tune 0.87 / 0.95 /
    # 0.91 (rules and learned cues were tuned on it), held-out 0.74 / 0.79 / 0.76, fresh
    # (round 3) 0.78 / 0.79 / 0.79. Rounds 3-14 and 16-20 were each measured on arrival (with
    # the core of the start of their session: round 4 0.81 / 0.81 / 0.81, round 5 0.77 / 0.85
    # / 0.81, round 6 0.76 / 0.84 / 0.80, round 7 0.81 / 0.83 / 0.82, round 8 0.77 / 0.78 /
    # 0.78, round 9 0.78 / 0.74 / 0.76, round 10 0.79 / 0.81 / 0.80, round 11 0.78 / 0.78 /
    # 0.78, round 12 0.82 / 0.78 / 0.80, round 13 0.79 / 0.80 / 0.79, round 14 0.83 / 0.75 /
    # 0.79, round 16 0.78 / 0.79 / 0.79, round 17 0.80 / 0.74 / 0.77, round 18 0.83 / 0.85 /
    # 0.84, round 19 0.72 / 0.78 / 0.75, round 20 0.75 / 0.73 / 0.74) and then tuned on; on the
    # pages in the folder here, at the start of the fifth session, tune (rounds 1-20) 0.86 /
    # 0.87 / 0.86, held-out 0.79 / 0.84 / 0.82; fresh, measured on arrival and never read for
    # errors: round 21 (beyond the Huawei 5G story: app and camera bans, chip export curbs,
    # data-protection fines, satellite contracts) 0.75 / 0.75 / 0.75 with the core of the start of its session, 0.78 / 0.76 /
    # 0.77 with the core of the moment it arrived; round 22 (regional and trade press:
    # telecom regulators' enforcement, procurement, patent suits) 0.70 / 0.64 / 0.67 and 0.73
    # / 0.63 / 0.68 (its readers split on whether a telecom regulator's fine is `legal` or
    # `regulation`); round 23 (stories of 2008-2025, many from African, Belgian and Quebec
    # news) 0.81 / 0.74 / 0.77 and 0.84 / 0.74 / 0.79. At the end of that session: round 21
    # 0.79 / 0.77 / 0.78, round 22 0.74 / 0.66 / 0.70, round 23 0.84 / 0.74 / 0.79, the fresh
    # split 0.79 / 0.72 / 0.75; tune (rounds 1-20) 0.87 / 0.87 / 0.87, held-out 0.80 / 0.84 /
    # 0.82.
    out = report.as_dict()
    for split, p_floor, f1_floor in (
        ("tune", 0.83, 0.85),
        ("held-out", 0.72, 0.76),
        ("fresh", 0.75, 0.72),
    ):
        s = out["splits"][split]["all"]
        assert s["precision"] >= p_floor and s["f1"] >= f1_floor, (split, s)
    r21 = out["rounds"]["r21"]
    assert r21["articles"] >= 120, r21


@needs_webnews
def test_pages_without_an_event_rarely_get_one(report) -> None:
    # measured 11 of 533 (2.1 %) on all pages of rounds 1-2, en the worst at 3.4 %; on the
    # 1,285 pages here (rounds 1-20) 53 (4.1 %): 34 of 465 plain technology news (results
    # that mention orders and deals, launches), 9 of 791 ordinary pages; on the 1,517 of
    # rounds 1-23, at the end of the fifth session, 59 (3.9 %): 38 of 538 plain technology
    # news, 9 of 927 ordinary pages
    quiet = report.as_dict()
    ordinary = quiet["no_event_by_kind"]["ordinary"]
    assert ordinary["flagged"] / ordinary["articles"] <= 0.03, ordinary
    every = quiet["no_event_articles"]
    assert every["all"]["flagged"] / every["all"]["articles"] <= 0.06, every
    for lang, q in every.items():
        if q["articles"] >= 20:
            assert q["flagged"] / q["articles"] <= 0.08, (lang, q)


@needs_webnews
def test_publication_dates_are_rarely_wrong(report) -> None:
    dates = report.as_dict()["dates"]
    known = sum(dates.values())
    assert known >= 50
    assert dates.get("wrong", 0) / known <= 0.02, dates
