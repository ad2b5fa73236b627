"""Which sentences may carry an event: anchored ones and their neighbours, and in an
article about technology throughout, sentences up to ``wide_window`` away."""

from __future__ import annotations

import pytest
from wirewatch.core.config import CoreConfig
from wirewatch.core.events import anchored
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

pytestmark = pytest.mark.unit

T, F = True, False


@pytest.fixture(scope="module")
def en_rules(enricher: Enricher):
    return enricher.resources.rules["en"]


def test_neighbours_only_in_an_article_mostly_about_other_things(en_rules) -> None:
    own = [T, F, F, F, F, F, F]  # 1 of 7 anchored: under the density
    assert anchored(en_rules, [None] * 7, own) == [T, T, F, F, F, F, F]  # type: ignore[list-item]


def test_two_away_in_an_article_about_technology_throughout(en_rules) -> None:
    own = [T, T, F, F, F]  # 2 of 5 anchored
    assert anchored(en_rules, [None] * 5, own) == [T, T, T, T, F]  # type: ignore[list-item]
    assert anchored(en_rules, [None] * 5, own, wide_window=1) == [T, T, T, F, F]  # type: ignore[list-item]
    assert anchored(en_rules, [None] * 5, own, wide_density=0.5) == [T, T, T, F, F]  # type: ignore[list-item]


ARTICLE = (
    "Huawei loses Danish 5G contract\n\n"
    "The Danish government has barred Huawei from the core of the country's 5G networks. "
    "Operators must replace the Huawei equipment by 2025. "
    "Officials said the decision followed a review of two years. "
    "The company said it was weighing an appeal in court.\n"
)


def test_a_sentence_two_away_carries_its_event(enricher: Enricher) -> None:
    wide = enricher.analyse(ARTICLE.encode(), Source(path="dk.txt"))
    narrow = Enricher(enricher.resources, CoreConfig(wide_window=1)).analyse(
        ARTICLE.encode(), Source(path="dk.txt")
    )
    assert isinstance(wide, EnrichedArticle) and isinstance(narrow, EnrichedArticle)
    assert ("legal", "proposed") in {(e.type, e.status) for e in wide.events}
    assert "legal" not in {e.type for e in narrow.events}
