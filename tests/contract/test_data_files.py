"""Rule and gazetteer files: complete for every supported language, and their errors are clear."""

from collections import Counter

import pytest
from wirewatch.core import events as ev
from wirewatch.core import yamlio
from wirewatch.core.logic import DATA_DIR, LANGUAGES, DataError, Resources
from wirewatch.core.models import EVENT_TYPES


def test_every_language_has_rules_for_every_event_type(resources):
    assert set(LANGUAGES) <= set(resources.rules)
    for lang in LANGUAGES:
        types = {rule.type for rule in resources.rules[lang].rules}
        assert types == set(EVENT_TYPES), lang
        assert resources.rules[lang].negation, lang


def test_stopwords_for_every_language(resources):
    for lang in LANGUAGES:
        assert len(resources.stopwords[lang]) > 100, lang


def test_rule_file_errors_name_the_file_and_field():
    with pytest.raises(ev.RuleError, match=r"x.yaml: rules\[0\].type: 'embargo' is not one of"):
        ev.LanguageRules.from_mapping({"rules": [{"type": "embargo", "triggers": ["a"]}]}, "x.yaml")
    with pytest.raises(
        ev.RuleError, match=r"x.yaml: rules\[0\].requires: no term list named 'nope'"
    ):
        ev.LanguageRules.from_mapping(
            {"rules": [{"type": "ban", "triggers": ["a"], "requires": ["nope"]}]}, "x.yaml"
        )
    with pytest.raises(ev.RuleError, match=r"unknown key\(s\) \['trigger'\]"):
        ev.LanguageRules.from_mapping({"rules": [{"type": "ban", "trigger": ["a"]}]}, "x.yaml")
    with pytest.raises(ev.RuleError, match=r"x.yaml: suppress.embargo: not one of"):
        ev.LanguageRules.from_mapping({"suppress": {"embargo": ["a"]}}, "x.yaml")
    with pytest.raises(ev.RuleError, match=r"x.yaml: suppress.ban: expected a list"):
        ev.LanguageRules.from_mapping({"suppress": {"ban": "a"}}, "x.yaml")


def test_broken_data_dir_is_reported_with_the_path(tmp_path):
    (tmp_path / "gazetteer").mkdir()
    (tmp_path / "events").mkdir()
    (tmp_path / "gazetteer" / "vendors.yaml").write_text("- aliases: [X]\n")
    with pytest.raises(DataError, match="vendors.yaml: entry 0 has no 'name'"):
        Resources.load(tmp_path)


def test_bundled_data_is_shipped_with_the_package():
    assert (DATA_DIR / "events" / "nl.yaml").is_file()
    assert (DATA_DIR / "gazetteer" / "vendors.yaml").is_file()


EVENT_FILES = sorted((DATA_DIR / "events").glob("*.yaml"))


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_no_pattern_is_written_twice_in_one_list(path) -> None:
    # a pattern listed twice in one term, suppress, trigger or exclude list does nothing
    # the first does not, and an edit to one copy leaves the other behind
    data = yamlio.load(path.read_text(encoding="utf-8"))
    lists = {f"terms.{k}": v for k, v in (data.get("terms") or {}).items()}
    lists |= {f"suppress.{k}": v for k, v in (data.get("suppress") or {}).items()}
    for n, rule in enumerate(data.get("rules") or []):
        for key in ("triggers", "exclude"):
            lists[f"rules[{n}].{key}"] = rule.get(key) or []
    twice = {
        name: [p for p, c in Counter(patterns).items() if c > 1] for name, patterns in lists.items()
    }
    assert not {k: v for k, v in twice.items() if v}
