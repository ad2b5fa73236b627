"""Learned cues (core/learned.py): the file format, the score, and what they may add.

The cues below are written by hand for each test, so that what fires is known; the
shipped files are measured by the held-out halves (test_blind.py, QUALITY.md)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from wirewatch.core import learned
from wirewatch.core.config import CoreConfig
from wirewatch.core.logic import DATA_DIR, Enricher, Resources
from wirewatch.core.models import EVENT_TYPES, EnrichedArticle, Source
from wirewatch.tools import train_cues

# A technology article (every sentence names a vendor or a network) whose wording the
# bundled rules do not read as any event.
ARTICLE = (
    "Quarterly figures from Ericsson\n\n"
    "Ericsson said its network equipment arm shipped more radio units this quarter. "
    "The gizmoquant arrangement with Nokia covers the mobile network of the capital. "
    "Analysts said Ericsson software sales grew in Asia.\n"
)


def _cues(
    weights: dict[str, float], etype: str = "deal", bias: float = -3.0
) -> learned.LearnedCues:
    return learned.LearnedCues.from_mapping(
        {"language": "en", "threshold": 0.5, "types": {etype: {"bias": bias, "weights": weights}}},
        "test.json",
    )


def _enricher(resources: Resources, cues: learned.LearnedCues | None, **config: object) -> Enricher:
    res = dataclasses.replace(resources, learned={"en": cues} if cues else {})
    return Enricher(res, CoreConfig(**config))  # type: ignore[arg-type]


def _events(enricher: Enricher, text: str) -> list:
    out = enricher.analyse(text.encode("utf-8"), Source(path="t.txt"))
    assert isinstance(out, EnrichedArticle), out
    return out.events


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "expected an object"),
        ({"language": "xx", "threshold": 0.5, "types": {}}, "'language'"),
        ({"language": "en", "threshold": 1.5, "types": {}}, "'threshold'"),
        ({"language": "en", "threshold": 0.5, "types": []}, "'types'"),
        ({"language": "en", "threshold": 0.5, "types": {"embargo": {}}}, "types.embargo"),
        (
            {"language": "en", "threshold": 0.5, "types": {"deal": {"weights": {}}}},
            "types.deal.bias",
        ),
        (
            {
                "language": "en",
                "threshold": 0.5,
                "types": {"deal": {"bias": 0, "weights": {"a": "x"}}},
            },
            "types.deal.weights",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_field(data: object, field: str) -> None:
    with pytest.raises(learned.CuesError) as err:
        learned.LearnedCues.from_mapping(data, "data/learned/en.json")  # type: ignore[arg-type]
    assert "data/learned/en.json" in str(err.value) and field in str(err.value)


def test_features_are_stems_and_neighbouring_pairs() -> None:
    stems = learned.stems(["Operators", "signed", "2", "contracts"], "nl")
    assert stems == learned.stems(["operators", "signed", "contracts"], "nl")
    assert learned.stems(["Signed", "contracts"], "en") == ["sign", "contract"]
    assert learned.sentence_features(["sign", "contract"]) == {"sign", "contract", "sign_contract"}
    assert learned.stems(["Kontrakt"], "xx") == ["kontrakt"]  # no stemmer: the word itself


def test_probability_is_the_logistic_of_bias_and_weights() -> None:
    cues = learned.TypeCues(-1.0, {"a": 2.0, "b": 0.5})
    assert learned.probability(cues, ["a", "b", "a", "c"]) == pytest.approx(
        1 / (1 + math.exp(-1.5))
    )
    assert learned.probability(learned.TypeCues(-100.0, {}), []) == 0.0


def test_scores_agree_with_the_probability_over_features() -> None:
    """``LearnedCues.hits`` and ``weigh`` (the core's fast path) give what ``probability``
    gives over ``sentence_features``, the features training learns from."""
    cues = Resources.load().learned["en"]
    sentences = [
        learned.stems(t.split(), "en")
        for t in (
            "The court fined the chipmaker for breaking export rules",
            "The operator signed a contract with the network supplier",
            "The court rejected the appeal of the chipmaker",
        )
    ]
    features: set[str] = set().union(*(learned.sentence_features(s) for s in sentences))
    z = cues.weigh(frozenset().union(*(cues.hits(s) for s in sentences)))
    for etype, type_cues in cues.types.items():
        assert learned.probability(type_cues, features) == pytest.approx(
            1 / (1 + math.exp(-z[etype]))
        )


def test_the_cues_add_a_type_the_rules_missed_with_its_best_sentence(resources: Resources) -> None:
    without = _events(_enricher(resources, None), ARTICLE)
    assert "deal" not in {e.type for e in without}
    events = _events(_enricher(resources, _cues({"gizmoqu": 4.0})), ARTICLE)
    deal = [e for e in events if e.type == "deal"]
    assert len(deal) == 1
    assert deal[0].status == "reported" and deal[0].confidence == pytest.approx(
        1 / (1 + math.exp(-1)), abs=1e-3
    )
    assert deal[0].evidence == [
        "The gizmoquant arrangement with Nokia covers the mobile network of the capital."
    ]
    assert "Nokia" in deal[0].targets


def test_below_the_threshold_nothing_is_added(resources: Resources) -> None:
    events = _events(_enricher(resources, _cues({"gizmoqu": 2.9})), ARTICLE)
    assert "deal" not in {e.type for e in events}


def test_a_type_may_have_its_own_threshold(resources: Resources) -> None:
    cues = learned.LearnedCues.from_mapping(
        {
            "language": "en",
            "threshold": 0.5,
            "types": {"deal": {"threshold": 0.9, "bias": -3.0, "weights": {"gizmoqu": 4.0}}},
        },
        "test.json",
    )
    assert "deal" not in {e.type for e in _events(_enricher(resources, cues), ARTICLE)}


def test_a_warning_needs_an_official_in_its_sentence(resources: Resources) -> None:
    """Words alone cannot tell an official from a company or a researcher: a learned
    warning comes only from a sentence that names a government, agency or acting state."""
    company = (
        "Quarterly figures from Ericsson\n\n"
        "Ericsson said its gizmoquant radio units for the mobile network shipped on time. "
        "Analysts said Ericsson software sales grew in Asia.\n"
    )
    official = company.replace(
        "Ericsson said its gizmoquant", "The government said Ericsson's gizmoquant"
    )
    cues = _cues({"gizmoqu": 4.0}, etype="warning")
    assert "warning" not in {e.type for e in _events(_enricher(resources, cues), company)}
    warned = [e for e in _events(_enricher(resources, cues), official) if e.type == "warning"]
    assert len(warned) == 1 and "government" in warned[0].evidence[0]


def test_the_switch_turns_them_off(resources: Resources) -> None:
    events = _events(_enricher(resources, _cues({"gizmoqu": 4.0}), learned_cues=False), ARTICLE)
    assert "deal" not in {e.type for e in events}


def test_a_planned_one_is_proposed_and_a_declined_deal_is_not_added(resources: Resources) -> None:
    planned = ARTICLE.replace("The gizmoquant arrangement", "A planned gizmoquant arrangement")
    events = _events(_enricher(resources, _cues({"gizmoqu": 4.0})), planned)
    assert [(e.type, e.status) for e in events if e.type == "deal"] == [("deal", "proposed")]
    declined = ARTICLE.replace(
        "The gizmoquant arrangement with Nokia covers",
        "Ericsson has no plans to sign a gizmoquant arrangement with Nokia for",
    )
    events = _events(_enricher(resources, _cues({"gizmoqu": 4.0})), declined)
    assert "deal" not in {e.type for e in events}


def test_sentences_far_from_technology_give_no_event(resources: Resources) -> None:
    sport = (
        "Cup final tonight\n\nThe gizmoquant coach named his side for the cup final. "
        "Fans queued for tickets outside the stadium all morning. The referee was Dutch.\n"
    )
    assert _events(_enricher(resources, _cues({"gizmoqu": 9.0})), sport) == []


def test_a_type_the_rules_found_is_not_added_twice(resources: Resources) -> None:
    text = ARTICLE.replace("The gizmoquant arrangement", "A supply contract signed by Telia")
    with_rules = _events(_enricher(resources, None), text)
    assert "deal" in {e.type for e in with_rules}
    events = _events(_enricher(resources, _cues({"telia": 9.0})), text)
    assert sum(e.type == "deal" for e in events) == sum(e.type == "deal" for e in with_rules)


def test_the_bundled_files_load_and_cover_the_four_labelled_languages() -> None:
    res = Resources.load()
    assert {"en", "de", "fr", "nl"} <= set(res.learned)
    for lang, cues in res.learned.items():
        assert cues.language == lang and set(cues.types) == set(EVENT_TYPES)
        assert set(cues.types) == set(learned.ADDABLE)
    raw = json.loads((DATA_DIR / "learned" / "en.json").read_text("utf-8"))
    assert raw["types"]["legal"]["weights"]["court"] > 0  # the file reads as word -> weight


def test_fit_learns_the_word_that_tells_the_classes_apart() -> None:
    rows = [{"x:court", "x:a"}, {"x:court"}, {"x:a"}, {"x:b"}] * 5
    targets = {"legal": [True, True, False, False] * 5}
    vocabulary, models = train_cues.fit(rows, targets, l2=1.0, iterations=200, min_count=2)
    bias, weights = models["legal"]
    w = dict(zip(vocabulary, weights, strict=True))
    assert w["x:court"] > 1.0 > abs(w["x:a"]) and w["x:b"] < 0 and bias < 0


def _training_args(tmp_path: Path, **changes: object) -> SimpleNamespace:
    """The options of ``wirewatch train-cues`` at their defaults, on a blind set under
    ``tmp_path``."""
    args = {
        "out": str(tmp_path / "out"),
        "real": None,
        "blind": str(tmp_path / "blind"),
        "briefs": str(tmp_path),
        "labels": None,
        "threshold": 0.5,
        "l2": 1.0,
        "iterations": 300,
        "min_count": 2,
        "min_weight": 0.02,
        "min_examples": 5,
        "type_threshold": (),
    }
    return SimpleNamespace(**{**args, **changes})


def test_training_writes_files_the_core_loads(tmp_path: Path, resources: Resources) -> None:
    blind = tmp_path / "blind" / "en"
    blind.mkdir(parents=True)
    labels = []
    for n in range(1, 41):
        deal = n % 4 in (1, 2)
        body = (
            f"Ericsson network news {n}\n\nEricsson said the mobile network upgrade went ahead. "
            + ("The gizmoquant arrangement with Nokia covers the network. " if deal else "")
            + "Analysts said Ericsson software sales grew.\n"
        )
        (blind / f"en_policy_{n:02d}.txt").write_text(body, "utf-8")
        labels.append(
            {
                "file": f"en_policy_{n:02d}.txt",
                "lang": "en",
                "events": ["deal/reported"] if deal else [],
            }
        )
    (blind / "labels.yaml").write_text(json.dumps(labels), "utf-8")
    (tmp_path / "briefs").mkdir()
    out = tmp_path / "learned"
    args = _training_args(tmp_path, out=str(out), briefs=str(tmp_path / "briefs"))
    assert train_cues.main(args) == 0
    cues = learned.LearnedCues.from_mapping(
        json.loads((out / "en.json").read_text("utf-8")), "en.json"
    )
    assert cues.types["deal"].weights["gizmoqu"] > 0.5
    assert not (out / "de.json").exists()  # no German examples: no German file
    events = _events(_enricher(resources, cues), ARTICLE)
    assert "deal" in {e.type for e in events}


def test_training_refuses_a_labelled_file_that_is_missing(tmp_path: Path) -> None:
    blind = tmp_path / "blind" / "en"
    blind.mkdir(parents=True)
    (blind / "labels.yaml").write_text('[{"file": "en_policy_01.txt", "events": []}]', "utf-8")
    args = _training_args(tmp_path, iterations=10)
    assert train_cues.main(args) == 2
