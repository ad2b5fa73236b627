"""``wirewatch evaluate --web`` on a small folder written for the test: pages without an
event are counted by where they were found, missing pages are skipped and counted."""

from __future__ import annotations

from pathlib import Path

from wirewatch.core.logic import Enricher
from wirewatch.tools.evaluate_web import (
    evaluate,
    load_labels,
    page_kind,
    render,
    round_number,
    split_of,
)

LABELS = """\
- file: r1/en/ordinary_001.txt
  url: https://example.org/a
  events: []
- file: r1/en/tech_001.txt
  url: https://example.org/b
  events: []
- file: r1/en/policy_001.txt
  url: https://example.org/c
  events: [ban/reported]
- file: r1/en/ordinary_002.txt
  url: https://example.org/d
  events: []
"""

PAGES = {
    "r1/en/ordinary_001.txt": "Local club wins the cup\n\nThe team beat its rivals 2-1 on "
    "Saturday in front of a full stadium, and the coach praised the young players.\n",
    "r1/en/tech_001.txt": "New phone has a bigger screen\n\nThe handset goes on sale next "
    "month with a faster chip and a larger battery, the maker said.\n",
    "r1/en/policy_001.txt": "Britain bans Huawei from its 5G network\n\nThe British "
    "government on Tuesday banned Huawei equipment from the country's 5G networks, "
    "ordering operators to remove the Chinese vendor's gear by 2027.\n",
}


def test_pages_without_an_event_are_counted_by_kind(tmp_path: Path, enricher: Enricher) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "r1-en.yaml").write_text(LABELS, "utf-8")
    pages = tmp_path / "pages"
    for name, text in PAGES.items():
        (pages / name).parent.mkdir(parents=True, exist_ok=True)
        (pages / name).write_text(text, "utf-8")
    report = evaluate(pages, load_labels(labels), enricher)
    out = report.as_dict()
    assert out["missing_files"] == 1  # ordinary_002 has a label but no page
    assert out["no_event_by_kind"] == {
        "ordinary": {"flagged": 0, "articles": 1},
        "tech": {"flagged": 0, "articles": 1},
    }
    assert out["splits"]["tune"]["all"]["tp"] == 1
    assert out["rounds"]["r1"]["articles"] == 1 and out["rounds"]["r1"]["tp"] == 1
    text = render(report)
    assert "| ordinary | 0 | 1 | 0.0 % |" in text
    assert "| r1 | 1 | 1.00 | 1.00 | 1.00 |" in text
    assert "1 labelled files are not in the folder" in text


def test_page_kind_reads_the_file_name() -> None:
    assert page_kind("r2/de/ordinary_014.txt") == "ordinary"
    assert page_kind("r3/nl/tech_003.txt") == "tech"
    assert page_kind("r3/nl/policy_003.txt") == "policy"
    assert page_kind("r3/nl/other.txt") == "other"


def test_rounds_sort_in_numeric_order_and_a_round_is_matched_whole() -> None:
    assert sorted(["r10", "r2", "r1", "r9"], key=round_number) == ["r1", "r2", "r9", "r10"]
    assert split_of("r1/en/policy_001.txt") == "tune"
    # round 1 (and round 10) are tuning data; round 100 is not round 1 or round 10
    assert split_of("r100/en/policy_001.txt") == "fresh"
