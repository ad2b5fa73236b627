"""Swedish and Danish, which no real-news corpus here covers: ordinary news written for
the project carries no event, and technology-policy news carries its events
(tests/data/nordic/, labels in labels.yaml)."""

from pathlib import Path

import pytest
import yaml
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

DIR = Path(__file__).parents[1] / "data" / "nordic"
LABELS = yaml.safe_load((DIR / "labels.yaml").read_text("utf-8"))


def _types(enricher: Enricher, name: str) -> set[str]:
    result = enricher.analyse((DIR / name).read_bytes(), Source(path=name))
    assert isinstance(result, EnrichedArticle)
    return {e.type for e in result.events}


@pytest.mark.parametrize("label", [x for x in LABELS if not x["events"]], ids=lambda x: x["file"])
def test_ordinary_news_carries_no_event(enricher: Enricher, label: dict) -> None:
    assert _types(enricher, label["file"]) == set()


def test_policy_news_events_are_found_with_precision(enricher: Enricher) -> None:
    tp = fp = fn = 0
    for label in (x for x in LABELS if x["events"]):
        got, want = _types(enricher, label["file"]), set(label["events"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9, (tp, fp, fn)


def test_both_languages_and_both_kinds_are_covered() -> None:
    for lang in ("sv", "da"):
        mine = [x for x in LABELS if x["lang"] == lang]
        assert sum(not x["events"] for x in mine) >= 15
        assert sum(bool(x["events"]) for x in mine) >= 5
