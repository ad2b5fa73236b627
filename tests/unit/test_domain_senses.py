"""Domain anchoring: a trigger fires in its technology-policy sense and stays silent in
its ordinary-news sense, in every supported language (cases in tests/data/senses.yaml).

The cases test the rule files, so the article-level filter of weak second event types
(``CoreConfig.secondary_below``, tested in test_secondary_events.py) is off here: a case
whose one sentence is both a ban and a law keeps both."""

from pathlib import Path

import pytest
import yaml
from wirewatch.core.config import CoreConfig
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "senses.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def rules_only(resources) -> Enricher:
    return Enricher(resources, CoreConfig(secondary_below=0.0))


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['lang']}-{c['text'].splitlines()[0][:30]}" for c in CASES]
)
def test_sense(rules_only: Enricher, case: dict) -> None:
    result = rules_only.analyse(
        case["text"].encode("utf-8"), Source(path="case.txt"), language_hint=case["lang"]
    )
    assert isinstance(result, EnrichedArticle)
    got = sorted({e.type for e in result.events})
    assert got == sorted(case["events"]), [(e.type, e.evidence) for e in result.events]


def test_every_language_has_firing_and_silent_cases() -> None:
    for lang in ("en", "de", "fr", "nl", "sv", "da", "nb"):
        mine = [c for c in CASES if c["lang"] == lang]
        assert any(c["events"] for c in mine), lang
        assert any(not c["events"] for c in mine), lang
