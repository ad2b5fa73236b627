"""Quality on real news written by journalists (../shared/realnews-dev, read in place;
only labels and file names are in the repository). Guards the figures in QUALITY.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.tools.evaluate_real import DEFAULT_LABELS, evaluate, load_labels, split_of

from tests.conftest import REALNEWS, ROOT, ww

needs_realnews = pytest.mark.skipif(
    not (REALNEWS / "offtopic").is_dir(),
    reason=f"the real-news folder is not at {REALNEWS} (set WIREWATCH_REALNEWS)",
)


@pytest.fixture(scope="module")
def report(enricher: Enricher):
    return evaluate(REALNEWS, load_labels(ROOT / DEFAULT_LABELS), enricher)


def test_labels_are_valid_and_split_in_halves() -> None:
    labels = load_labels(ROOT / DEFAULT_LABELS)
    assert len(labels) >= 200
    dev = sum(split_of(name) == "dev" for name in labels)
    assert 0.4 < dev / len(labels) < 0.6


@needs_realnews
def test_ordinary_news_rarely_carries_an_event(report) -> None:
    d = report.as_dict()["offtopic"]
    # ceilings a little over the figures in QUALITY.md (6 of 937; fr, the worst, 1.7 %)
    assert d["rate"] <= 0.01, d
    for lang, (flagged, total) in d["by_language"].items():
        assert flagged / total <= 0.03, (lang, flagged, total)


@needs_realnews
def test_publication_dates_are_rarely_wrong(report) -> None:
    dates = report.as_dict()["dates"]["all"]
    known = sum(dates.values())
    assert known >= 100
    assert dates.get("wrong", 0) / known <= 0.02, dates


@needs_realnews
def test_labelled_events_are_found_with_precision(report) -> None:
    # floors a little under the figures in QUALITY.md (precision / F1: dev 0.92 / 0.95,
    # held-out test 0.67 / 0.67, with the 343 labels of batches e to i, each scored
    # before any rule was changed for it; the learned cues, trained on dev, took the
    # test half from 0.70 / 0.63 to 0.67 / 0.67 precision / recall: more found on the
    # policy articles, more false events on plain technology news)
    for split, p_floor, f1_floor in (("dev", 0.87, 0.81), ("test", 0.65, 0.63)):
        s = report.as_dict()["splits"][split]
        assert s["articles"] >= 100
        assert s["event_type_precision"] >= p_floor, (split, s)
        assert s["event_type_f1"] >= f1_floor, (split, s)


def test_the_command_says_plainly_when_the_folder_is_absent(tmp_path: Path) -> None:
    proc = ww("evaluate", "--real", str(tmp_path / "absent"), check=False)
    assert proc.returncode == 2
    assert "absent" in proc.stderr and "Traceback" not in proc.stderr
