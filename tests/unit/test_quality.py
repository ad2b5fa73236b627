"""Quality floors on annotated articles, so a rule change that breaks a language shows.

examples/ is the development set; tests/data/eval/ is a held-out set written
independently of the rules. Current figures are in QUALITY.md (wirewatch evaluate).
"""

import pytest
from wirewatch.tools.evaluate import evaluate

from tests.conftest import EXAMPLES, ROOT

SETS = {
    "examples": (EXAMPLES.parent / "expected.yaml", EXAMPLES, 0.84, 0.92),
    "held-out": (
        ROOT / "tests" / "data" / "eval" / "gold.yaml",
        ROOT / "tests" / "data" / "eval",
        0.80,
        0.90,
    ),
}


@pytest.mark.parametrize("name", SETS)
def test_quality_floor(name, enricher):
    gold, directory, event_floor, entity_floor = SETS[name]
    report = evaluate(gold, directory, enricher)
    d = report.as_dict()
    assert d["articles"] >= 33
    assert d["language_accuracy"] == 1.0, report.misses
    assert d["date_accuracy"] >= 0.9, report.misses
    assert d["duplicate_accuracy"] == 1.0, report.misses
    assert d["event_type_f1"] >= event_floor, report.misses
    assert d["entity_f1"] >= entity_floor, report.misses
