"""Resource caps: events per article, evidence length, alert rate per rule.

Each cap is a setting, cuts the result in a stated way, and is counted in
``wirewatch_caps_hit_total{cap=...}`` by the edge that ran the core.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from wirewatch import metrics
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.core.ratelimit import RuleRateLimit
from wirewatch.embedded.runner import EmbeddedRunner
from wirewatch.embedded.store import SqliteStore
from wirewatch.settings import EmbeddedSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inbox"

# several event types in one article: a ban, a sanction, a warning
MANY_EVENTS = (
    "Ministers ban vendor gear after sanctions\n\n"
    "The government on 3 March 2022 banned Huawei equipment from the core of all 5G networks. "
    "The United States imposed sanctions on ZTE and added it to the entity list. "
    "The security service warned operators about espionage risks in Huawei routers. "
    "Operators must remove the equipment by 2025, the minister said in The Hague."
)


def _cap(name: str) -> float:
    value = metrics.REGISTRY.get_sample_value("wirewatch_caps_hit_total", {"cap": name})
    return value or 0.0


def _enrich(enricher: Enricher, text: str) -> EnrichedArticle:
    result = enricher.analyse(text.encode(), Source(path="caps.txt"))
    assert isinstance(result, EnrichedArticle), result
    return result


def test_events_per_article_keeps_the_most_confident(resources):
    full = _enrich(Enricher(resources), MANY_EVENTS)
    assert len(full.events) >= 3 and full.caps_hit == []
    capped = _enrich(
        Enricher(resources, dataclasses.replace(Enricher(resources).config, max_events=2)),
        MANY_EVENTS,
    )
    assert len(capped.events) == 2
    assert capped.caps_hit == ["events_per_article"]
    best = sorted((e.confidence for e in full.events), reverse=True)[:2]
    assert sorted((e.confidence for e in capped.events), reverse=True) == best


def test_evidence_sentences_are_cut_at_the_limit(resources):
    long_sentence = (
        "The government on 3 March 2022 banned Huawei equipment from the core of all 5G "
        "networks, " + "after a long review of suppliers, contracts and risks, " * 8 + "it said."
    )
    text = "Government bans vendor gear\n\n" + long_sentence + " Operators must comply."
    enricher = Enricher(
        resources, dataclasses.replace(Enricher(resources).config, max_evidence_chars=120)
    )
    article = _enrich(enricher, text)
    assert article.events, "the ban sentence should yield an event"
    for event in article.events:
        for evidence in event.evidence:
            assert len(evidence) <= 120
    assert any(ev.endswith("\u2026") for e in article.events for ev in e.evidence)
    assert article.caps_hit == ["evidence_chars"]
    # the default keeps the same sentence whole
    assert _enrich(Enricher(resources), text).caps_hit == []


def test_rule_rate_limit_is_a_sliding_window():
    limit = RuleRateLimit(limit=2, window=60.0)
    assert limit.allow("r", 0.0) and limit.allow("r", 1.0)
    assert not limit.allow("r", 2.0)
    assert limit.allow("other", 2.0)  # per rule
    assert not limit.allow("r", 59.9)
    assert limit.take_held() == {"r": 2}
    assert limit.take_held() == {}
    assert limit.allow("r", 60.0)  # the first one left the window
    assert not limit.allow("r", 60.5)


def test_embedded_run_counts_every_cap_and_records_alerts_over_the_rate(
    tmp_path, resources, caplog
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in (
        "en_01_fcc_huawei_zte.txt",
        "en_02_uk_huawei_2027.txt",
        "nl_01_kpn_kernnetwerk.txt",
        "sv_01_pts_huawei_zte.txt",
        "de_03_bsi_kaspersky.txt",
        "fr_03_huawei_redevances_5g.txt",
    ):
        (inbox / name).write_bytes((EXAMPLES / name).read_bytes())
    (inbox / "huge.txt").write_bytes(b"word " * 5000)
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n  - name: anything\n    events: [ban, sanction, warning, regulation, deal, licensing, legal]\n    statuses: [reported, proposed, rejected]\n    notify:\n      - log: true\n",
        encoding="utf-8",
    )
    from wirewatch.cli.main import _load_rules

    rules = _load_rules(rules_file)
    settings = EmbeddedSettings(
        inbox=[inbox],
        db=tmp_path / "w.db",
        once=True,
        settle_seconds=0,
        poll_interval=0.05,
        metrics_port=0,
        core={"max_bytes": 20000, "max_events": 1},
        caps={"max_alerts_per_rule_per_minute": 2},
    )
    store = SqliteStore(settings.db)
    enricher = Enricher(resources, settings.core.core_config())
    before = {cap: _cap(cap) for cap in metrics.CAPS}
    caplog.set_level("INFO", logger="wirewatch")
    summary = EmbeddedRunner(settings, store, enricher, rules=rules).run()

    assert summary.rejected == 1  # huge.txt
    assert _cap("article_bytes") - before["article_bytes"] == 1
    articles = list(store.iter_articles())
    capped = [a for a in articles if "events_per_article" in a.caps_hit]
    assert capped and all(len(a.events) <= 1 for a in articles)
    assert _cap("events_per_article") - before["events_per_article"] == len(capped)

    fired = store.alerts()
    with_events = [a for a in articles if a.events]
    assert len(fired) == len(with_events) > 2  # every alert is recorded ...
    alert_lines = [r for r in caplog.records if r.getMessage().startswith("ALERT rule=anything")]
    assert len(alert_lines) == 2  # ... but only two were notified within the minute
    held = len(fired) - 2
    assert _cap("alert_rate") - before["alert_rate"] == held
    assert any(f"fired {held} more alert(s)" in r.getMessage() for r in caplog.records)
