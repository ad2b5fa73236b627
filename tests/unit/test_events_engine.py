"""The rule engine's semantics on a small, explicit rule set."""

from wirewatch.core.events import LanguageRules, SentenceInput, classify
from wirewatch.core.text import tokenize

RULES = LanguageRules.from_mapping(
    {
        "language": "xx",
        "terms": {"target": ["equipment", "vendor*"], "security": ["espionage", "*risk*"]},
        "cues": {
            "negation": ["not", "no"],
            "proposed": ["consider*", "plan*"],
            "rejected": ["no plans", "rather than"],
        },
        "rules": [
            {
                "type": "ban",
                "triggers": ["ban*", "*ban", "exclud*", "may ... not ... use*"],
                "requires": ["target"],
            },
            {"type": "warning", "triggers": ["warn*"], "requires": ["security"], "weight": 0.8},
            {
                "type": "deal",
                "triggers": ["contract*"],
                "requires": ["target"],
                "exclude": ["sponsor*"],
            },
        ],
    },
    "test.yaml",
)


def run(*sentences):
    inputs = [SentenceInput(s, [t.lower for t in tokenize(s)], []) for s in sentences]
    return [(e.type, e.status) for e in classify(RULES, inputs)]


def test_trigger_with_required_terms_fires():
    assert run("The regulator will ban the equipment.") == [("ban", "reported")]
    assert run("The regulator will ban smoking.") == []


def test_status_from_cues_near_the_trigger():
    assert run("The minister is considering a ban on the equipment.") == [("ban", "proposed")]
    assert run("The minister has no plans to ban the equipment.") == [("ban", "rejected")]
    assert run("The equipment will not be excluded.") == [("ban", "rejected")]


def test_negation_inside_the_trigger_is_the_prohibition_itself():
    assert run("Agencies may from now on not use the equipment.") == [("ban", "reported")]


def test_exclusions_and_non_rejectable_types():
    assert run("The contract for the equipment is a sponsorship.") == []
    assert run("The firm did not disclose the contract value for the equipment.") == []
    assert run("They signed a contract for equipment.") == [("deal", "reported")]


def test_events_merge_per_type_and_status_with_evidence():
    out = classify(
        RULES,
        [
            SentenceInput(s, [t.lower for t in tokenize(s)], [])
            for s in ("They warn of espionage.", "Officials warn of a security risk.")
        ],
    )
    assert len(out) == 1 and out[0].type == "warning" and len(out[0].evidence) == 2
    assert 0.8 <= out[0].confidence <= 0.99


def test_compound_suffix_and_gap_patterns():
    assert run("The 5G equipment importban was confirmed.") == [("ban", "reported")]


def test_suppress_takes_a_type_from_the_whole_sentence():
    rules = LanguageRules.from_mapping(
        {
            "language": "xx",
            "terms": {"target": ["equipment", "rival*"]},
            "rules": [
                {"type": "ban", "triggers": ["exclud*"], "requires": ["target"]},
                {"type": "deal", "triggers": ["contract*"], "requires": ["target"]},
            ],
            "suppress": {"ban": ["exclud* rival*"]},
        },
        "test.yaml",
    )

    def events(sentence: str) -> list[tuple[str, str]]:
        inputs = [SentenceInput(sentence, [t.lower for t in tokenize(sentence)], [])]
        return [(e.type, e.status) for e in classify(rules, inputs)]

    assert events("The regulator excluded the equipment.") == [("ban", "reported")]
    assert events("The firm excluded rivals from the market.") == []
    # only that type: a deal in the same sentence stays
    assert events("The firm excluded rivals with a contract for equipment.") == [
        ("deal", "reported")
    ]


def test_spellings_give_every_phrase_its_other_spelling():
    rules = LanguageRules.from_mapping(
        {
            "language": "xx",
            "spellings": {"ß": "ss"},
            "terms": {"target": ["maßnahme*", "vendor*"]},
            "rules": [{"type": "ban", "triggers": ["auszuschließen"], "requires": ["target"]}],
        },
        "test.yaml",
    )

    def events(sentence: str) -> list[tuple[str, str]]:
        inputs = [SentenceInput(sentence, [t.lower for t in tokenize(sentence)], [])]
        return [(e.type, e.status) for e in classify(rules, inputs)]

    assert events("Den Vendor auszuschließen.") == [("ban", "reported")]
    assert events("Den Vendor auszuschliessen.") == [("ban", "reported")]
    assert events("Die Massnahme auszuschliessen.") == [("ban", "reported")]
    assert events("Die Ware auszuschliessen.") == []


def test_malformed_spellings_name_the_file():
    import pytest
    from wirewatch.core.events import RuleError

    with pytest.raises(RuleError, match="bad.yaml: spellings"):
        LanguageRules.from_mapping({"language": "xx", "spellings": ["ß"]}, "bad.yaml")
