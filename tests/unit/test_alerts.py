import pytest
from wirewatch.core.alerts import RuleFileError, load_rules, match

RULES = """
rules:
  - name: huawei-ban-europe
    events: [ban, sanction]
    statuses: [reported, proposed]
    vendors: [Huawei, ZTE]
    countries: [EU, NL, SE, DE]
    languages: [nl, sv, en]
    min_confidence: 0.6
    notify:
      - webhook: http://127.0.0.1:8080/hook
      - log: true
  - name: any-deal
    events: [deal]
"""

ARTICLE = (
    "Dutch regulator bans Huawei gear\n\n"
    "The Dutch government on Tuesday, March 2, 2021 banned Huawei equipment from the core of "
    "all mobile networks in the Netherlands, citing the risk of espionage."
)


def test_valid_rules_load_with_defaults():
    rules = load_rules(RULES, "rules.yaml")
    assert [r.name for r in rules] == ["huawei-ban-europe", "any-deal"]
    assert rules[1].statuses == ["reported"] and rules[1].notify[0].log is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("rules:\n  - name: a\n    events: [embargo]\n", "rule 1 ('a'): field events.0"),
        ("rules:\n  - name: a\n    events: [ban]\n    vendor: [X]\n", "field vendor: Extra inputs"),
        (
            "rules:\n  - name: a\n    events: [ban]\n    notify: [{webhook: 'ftp://x'}]\n",
            "not an http(s) URL",
        ),
        ("rules:\n  - name: a\n    events: []\n", "field events"),
        (
            "rules:\n  - name: a\n    events: [ban]\n    countries: [Netherlands]\n",
            "not an ISO 3166-1",
        ),
        (
            "rules:\n  - name: a\n    events: [ban]\n  - name: a\n    events: [deal]\n",
            "repeated: a",
        ),
        ("- just a list", "expected a mapping"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_invalid_rules_name_file_rule_and_field(text, message):
    with pytest.raises(RuleFileError) as err:
        load_rules(text, "alerts/rules.yaml")
    assert "alerts/rules.yaml" in str(err.value) and message in str(err.value)


def test_match_filters(analyse):
    rule, deal_rule = load_rules(RULES, "r.yaml")
    article = analyse(ARTICLE)
    assert [e.type for e in match(rule, article)] == ["ban"]
    assert match(deal_rule, article) == []
    strict = rule.model_copy(update={"min_confidence": 0.999})
    assert match(strict, article) == []
    other_country = rule.model_copy(update={"countries": ["FR"]})
    assert match(other_country, article) == []
    other_language = rule.model_copy(update={"languages": ["de"]})
    assert match(other_language, article) == []
