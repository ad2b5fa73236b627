"""A blind set per language (tests/data/blind/<lang>/): news articles written for the
project by writers who never saw the rules nor ran the classifier, labelled by
docs/LABELLING.md - modern technology-policy news (bans, export controls, official
warnings, laws, deals, licences, court cases; with several events, proposed and
declined ones) and ordinary news that uses the same words in their everyday senses.

Odd-numbered files are the half the rules may be tuned on, even-numbered ones stay
held out (QUALITY.md reports both). The floors below guard against regressions; they
are not the targets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from wirewatch.core.config import CoreConfig
from wirewatch.core.logic import Enricher, Resources
from wirewatch.core.models import EnrichedArticle, Source

ROOT = Path(__file__).parents[1] / "data" / "blind"
LABELS = [
    (folder, label)
    for folder in sorted(p for p in ROOT.iterdir() if (p / "labels.yaml").is_file())
    for label in yaml.safe_load((folder / "labels.yaml").read_text("utf-8"))
]
ORDINARY = [(f, x) for f, x in LABELS if "_ordinary_" in x["file"]]
POLICY = [(f, x) for f, x in LABELS if "_policy_" in x["file"]]
# regression floors of event-type precision and recall over every policy article (the
# ninth batch, older wire and web news measured at 0.78 / 0.67 on arrival, took recall
# over the whole set from 0.81 to 0.80; the learned cues took it to 0.90; the tenth to
# twelfth batches, 0.76 / 0.79 to 0.80 / 0.82 on arrival, took precision to 0.82)
MIN_PRECISION, MIN_RECALL = 0.80, 0.88


def _types(enricher: Enricher, folder: Path, name: str) -> set[str]:
    result = enricher.analyse((folder / name).read_bytes(), Source(path=name))
    assert isinstance(result, EnrichedArticle), result
    return {e.type for e in result.events}


def half(name: str) -> str:
    """``dev`` (odd-numbered files: rules may be tuned on them) or ``test``."""
    number = re.search(r"(\d+)\.txt$", name)
    assert number, name
    return "dev" if int(number.group(1)) % 2 else "test"


# ordinary articles that raised an event when they arrived, not yet fixed
KNOWN_FALSE_ALARMS: set[str] = set()
ORDINARY_CASES = [
    pytest.param(f, x, marks=pytest.mark.xfail(strict=True, reason="known false alarm"))
    if x["file"] in KNOWN_FALSE_ALARMS
    else pytest.param(f, x)
    for f, x in ORDINARY
]


@pytest.mark.parametrize(("folder", "label"), ORDINARY_CASES, ids=[x["file"] for _, x in ORDINARY])
def test_ordinary_news_carries_no_event(enricher: Enricher, folder: Path, label: dict) -> None:
    assert label["events"] == []
    assert _types(enricher, folder, label["file"]) == set()


def test_policy_news_events_are_found_with_precision(enricher: Enricher) -> None:
    tp = fp = fn = 0
    for folder, label in POLICY:
        got = _types(enricher, folder, label["file"])
        want = {str(e).split("/")[0] for e in label["events"]}
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, (tp, fp, fn)


def test_every_folder_is_complete_and_split_in_halves() -> None:
    assert LABELS, "no blind set"
    for folder in {f for f, _ in LABELS}:
        mine = [x for f, x in LABELS if f == folder]
        files = sorted(p.name for p in folder.glob("*.txt"))
        assert sorted(x["file"] for x in mine) == files, folder
        assert all(x["lang"] == folder.name for x in mine), folder
        assert sum("_ordinary_" in x["file"] for x in mine) >= 10, folder
        assert sum("_policy_" in x["file"] for x in mine) >= 10, folder
        for kind in ("_ordinary_", "_policy_"):
            halves = {half(x["file"]) for x in mine if kind in x["file"]}
            assert halves == {"dev", "test"}, (folder, kind)


def test_learned_cues_find_more_on_the_held_out_half(resources: Resources) -> None:
    """The learned cues are trained on the odd-numbered files only: on the even ones they
    must add events the rules miss (measured: recall 0.77 -> 0.84 at precision 0.79 ->
    0.77) without costing much precision."""
    held_out = [(f, x) for f, x in POLICY if half(x["file"]) == "test"]

    def score(enricher: Enricher) -> tuple[float, float]:
        tp = fp = fn = 0
        for folder, label in held_out:
            got = _types(enricher, folder, label["file"])
            want = {str(e).split("/")[0] for e in label["events"]}
            tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        return tp / (tp + fp), tp / (tp + fn)

    p_rules, r_rules = score(Enricher(resources, CoreConfig(learned_cues=False)))
    p_cues, r_cues = score(Enricher(resources))
    assert r_cues >= r_rules + 0.03 and p_cues >= p_rules - 0.03, (p_rules, r_rules, p_cues, r_cues)
