import pytest
from wirewatch.core.alerts import (
    RuleFileError,
    allowed_host_entry,
    load_rules,
    match,
    webhook_problems,
    webhook_refusal,
)

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
        (
            "rules:\n  - name: a\n    events: [ban]\n    notify: [{webhook: 'http://h:0/t'}]\n",
            "the port of host 'h' is not a number in 1-65535",
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


@pytest.mark.parametrize(
    "url, allowed, refused",
    [
        ("https://hooks.example.org/t", ["hooks.example.org"], None),
        ("https://Hooks.Example.ORG./t", ["hooks.example.org"], None),
        ("https://hooks.example.org/t", ["hooks.example.org:443"], None),
        ("http://hooks.example.org:8080/t", ["hooks.example.org:443"], "is not allowed"),
        ("http://127.0.0.1:8080/t", ["127.0.0.1:8080"], None),
        ("http://127.0.0.2:8080/t", ["127.0.0.1"], "host 127.0.0.2:8080 is not allowed"),
        ("http://[::1]:8080/t", ["::1"], None),
        ("http://[::1]:8080/t", ["[::1]:8080"], None),
        ("http://[::1]:8081/t", ["[::1]:8080"], "host [::1]:8081 is not allowed"),
        ("http://evil.example/t", [], "is not allowed"),
        ("http://u:p@127.0.0.1/t", ["127.0.0.1"], "carries credentials"),
        ("http://127.0.0.1\\@evil.example/t", ["127.0.0.1", "evil.example"], "credentials"),
        ("ftp://127.0.0.1/t", ["127.0.0.1"], "not an http(s) URL"),
        ("http://127.0.0.1:99999/t", ["127.0.0.1"], "not a number in 1-65535"),
    ],
)
def test_webhook_refusal(url, allowed, refused):
    reason = webhook_refusal(url, allowed)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason and "/t" not in reason


@pytest.mark.parametrize(
    "entry, parsed",
    [
        ("Hooks.Example.org", ("hooks.example.org", None)),
        ("hooks.example.org:8443", ("hooks.example.org", 8443)),
        ("::1", ("::1", None)),
        ("[::1]:80", ("::1", 80)),
        ("https://hooks.example.org", ValueError),
        ("host:http", ValueError),
        (":80", ValueError),
        ("[::1", ValueError),
    ],
)
def test_allowed_host_entries(entry, parsed):
    if parsed is ValueError:
        with pytest.raises(ValueError):
            allowed_host_entry(entry)
    else:
        assert allowed_host_entry(entry) == parsed


def test_webhook_problems_name_file_rule_and_host_never_the_path():
    rules = load_rules(
        "rules:\n  - name: a\n    events: [ban]\n    notify: [{log: true}]\n"
        "  - name: b\n    events: [ban]\n"
        "    notify: [{webhook: 'https://hooks.example.org/SECRET-PATH?t=SECRET-QUERY'}]\n",
        "alerts/rules.yaml",
    )
    problems = webhook_problems(rules, "alerts/rules.yaml", ["127.0.0.1"], signed=False)
    assert problems == [
        "alerts/rules.yaml: rule 'b': host hooks.example.org:443 is not allowed; add it to "
        "WIREWATCH_WEBHOOKS__ALLOWED_HOSTS (comma-separated host or host:port entries, "
        "e.g. hooks.example.org:443)",
        "alerts/rules.yaml: rule(s) 'b' post webhooks, but no signing secret is set; set "
        "WIREWATCH_WEBHOOKS__SECRET (or WIREWATCH_WEBHOOKS__SECRET_FILE) and give the same "
        "secret to the receiver",
    ]
    assert webhook_problems(rules, "r.yaml", ["hooks.example.org"], signed=True) == []
    assert webhook_problems(rules[:1], "r.yaml", [], signed=False) == [], "no webhook: no check"
