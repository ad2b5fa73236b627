"""Vocabulary coverage: short briefs phrasing each event type in many ways.

tests/data/briefs/<lang>.yaml were written blind: 14 briefs per event type and language,
each phrasing the event differently (synonyms, idioms, passive voice, metonyms, the event
told by its consequence), and 6 briefs per type of ordinary news using that type's words
in their everyday sense. Odd ids are the tuning half, even ids held out (QUALITY.md
reports both). Ordinary briefs must carry no event; the firing briefs' recall per
language has a regression floor.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

pytestmark = pytest.mark.unit

FOLDER = Path(__file__).resolve().parents[1] / "data" / "briefs"
BRIEFS = {
    lang: yaml.safe_load((FOLDER / f"{lang}.yaml").read_text("utf-8"))
    for lang in ("en", "de", "fr", "nl")
}
ORDINARY = [(lang, b) for lang, items in BRIEFS.items() for b in items if not b["events"]]
# regression floors of recall over the firing briefs of each language (both halves)
MIN_RECALL = {"en": 0.75, "de": 0.75, "fr": 0.78, "nl": 0.68}


def _types(enricher: Enricher, text: str) -> set[str]:
    out = enricher.analyse(text.encode("utf-8"), Source(path="brief.txt"))
    assert isinstance(out, EnrichedArticle)
    return {e.type for e in out.events}


def test_briefs_are_well_formed() -> None:
    for lang, items in BRIEFS.items():
        ids = [b["id"] for b in items]
        assert len(ids) == len(set(ids)) == 140, lang
        for b in items:
            kind = b["id"].split("-")[1]
            ordinary = re.search(r"-x\d+$", b["id"]) is not None
            assert ordinary == (not b["events"]), b["id"]
            assert ordinary or any(e.startswith(kind + "/") for e in b["events"]), b["id"]


@pytest.mark.parametrize(("lang", "brief"), ORDINARY, ids=[b["id"] for _, b in ORDINARY])
def test_ordinary_brief_carries_no_event(enricher: Enricher, lang: str, brief: dict) -> None:
    assert _types(enricher, brief["text"]) == set()


@pytest.mark.parametrize("lang", sorted(BRIEFS))
def test_each_phrasing_of_an_event_is_found(enricher: Enricher, lang: str) -> None:
    firing = [b for b in BRIEFS[lang] if b["events"]]
    found = [b["id"] for b in firing if b["id"].split("-")[1] in _types(enricher, b["text"])]
    recall = len(found) / len(firing)
    assert recall >= MIN_RECALL[lang], (lang, round(recall, 3))
