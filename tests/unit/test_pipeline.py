"""The after-enrichment step on in-memory ports (tests/support/fakes.py): near-duplicate
verdicts, one alert per (rule, article), near-duplicates not re-alerting, the rate limit,
resends after a crash, and what goes to the notifier and the log."""

from __future__ import annotations

import logging

import pytest
from wirewatch.core.alerts import AlertRule, Notify
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.pipeline.after import HELD, AfterEnrichment

from tests.support.fakes import ManualClock, MemoryLedger, MemoryState, RecordingNotifier

BAN = (
    "Regulator bans Huawei gear\n\n"
    "The telecoms regulator banned Huawei equipment from the country's 5G networks on "
    "Monday, citing national security. Operators have two years to remove the gear. "
    "The ministry said the decision followed a review of suppliers for mobile networks."
)
# the same story, lightly edited: a near-duplicate
BAN_AGAIN = BAN.replace("on Monday", "on Monday morning") + " Updated."
BAN2 = (
    "Ministry orders ZTE kit out of networks\n\n"
    "The interior ministry banned ZTE routers from government networks on Friday after a "
    "security audit. Agencies must replace the devices by the end of the year."
)
DEAL = (
    "Operator signs network deal\n\n"
    "The operator Telia signed a deal with Ericsson to build its 5G network in Sweden, "
    "the companies said. The contract covers radio equipment and software for five years."
)


def article(enricher: Enricher, text: str, path: str) -> EnrichedArticle:
    result = enricher.analyse(text.encode(), Source(path=path))
    assert isinstance(result, EnrichedArticle)
    return result


def rule(name: str, events: list[str], **kw: object) -> AlertRule:
    return AlertRule(name=name, events=events, min_relevance=0.0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def parts():
    return MemoryState(), MemoryLedger(), RecordingNotifier(), ManualClock()


def test_near_duplicates_link_to_the_first_and_a_stored_article_keeps_its_verdict(
    enricher, parts
) -> None:
    state, _ledger, _notifier, clock = parts
    after = AfterEnrichment([], 0.8, 10, clock)
    first, again = article(enricher, BAN, "a.txt"), article(enricher, BAN_AGAIN, "b.txt")
    assert first.id != again.id
    prior = after.link_duplicates([first, again], state)  # one batch
    assert prior == {} and first.near_duplicate_of is None
    assert again.near_duplicate_of == first.id
    for a in (first, again):
        state.store(a)
    # the second seen again later keeps its first verdict, even if the state changed
    redelivered = article(enricher, BAN_AGAIN, "c.txt")
    prior = after.link_duplicates([redelivered], state)
    assert set(prior) == {again.id} and redelivered.near_duplicate_of == first.id


def test_an_alert_fires_once_per_rule_and_article_and_not_again_for_a_near_duplicate(
    enricher, parts
) -> None:
    state, ledger, notifier, clock = parts
    hook = "https://hooks.example.org/x"
    rules = [rule("bans", ["ban"], notify=[Notify(webhook=hook), Notify(log=True)])]
    after = AfterEnrichment(rules, 0.8, 10, clock)
    first, again, deal = (
        article(enricher, BAN, "a.txt"),
        article(enricher, BAN_AGAIN, "b.txt"),
        article(enricher, DEAL, "d.txt"),
    )
    after.link_duplicates([first, again, deal], state)
    fired = after.fire([first, again, deal], ledger)
    assert [(f.rule.name, f.article.id) for f in fired.alerts] == [("bans", first.id)]
    assert [(r, a, u) for r, a, u, _ in fired.deliveries] == [("bans", first.id, hook)]
    assert fired.deliveries[0][3]["fired_at"] == clock.now().isoformat()
    assert [line[0] for line in fired.lines] == [logging.WARNING]
    assert ledger.deliveries == {("bans", first.id, hook): "pending"}
    for r, a, u, body in fired.deliveries:
        notifier.submit(r, a, u, body)
    # the batch redone (a redelivery): nothing new, nothing sent twice
    again_fired = after.fire([first, again, deal], ledger)
    assert again_fired.alerts == [] and again_fired.deliveries == []
    assert len(notifier.sent) == 1


def test_over_the_rate_limit_alerts_are_recorded_but_held_and_summarised(enricher, parts) -> None:
    state, ledger, _notifier, clock = parts
    hook = "https://hooks.example.org/x"
    after = AfterEnrichment(
        [rule("any", ["ban", "deal"], notify=[Notify(webhook=hook)])], 0.8, 1, clock
    )
    ban, deal = article(enricher, BAN, "a.txt"), article(enricher, DEAL, "d.txt")
    after.link_duplicates([ban, deal], state)
    fired = after.fire([ban, deal], ledger)
    assert len(fired.alerts) == 2 and len(fired.deliveries) == 1
    held = [k for k, v in ledger.deliveries.items() if v == "rate_limited"]
    assert held == [("any", deal.id, hook)]
    lines = after.held_lines()
    assert len(lines) == 1 and lines[0][2][:3] == ("any", 1, 1)
    assert after.held_lines() == []  # summarised once
    assert HELD.startswith("held back")
    clock.advance(61)  # a minute later the rule may notify again
    third = article(enricher, BAN2, "e.txt")
    after.link_duplicates([third], state)
    assert third.near_duplicate_of is None
    assert len(after.fire([third], ledger).deliveries) == 1


def test_an_alert_recorded_before_a_crash_is_resent_without_counting_against_the_limit(
    enricher, parts
) -> None:
    state, ledger, _notifier, clock = parts
    hook = "https://hooks.example.org/x"
    after = AfterEnrichment([rule("bans", ["ban"], notify=[Notify(webhook=hook)])], 0.8, 1, clock)
    ban = article(enricher, BAN, "a.txt")
    ledger.alerts[("bans", ban.id)] = {"alert_id": f"bans:{ban.id}", "events": [], "stored": 1}
    ledger.pending.add(("bans", ban.id))
    fired = after.fire([ban], ledger)
    assert [d[3].get("stored") for d in fired.deliveries] == [1]  # the body stored first
    assert after.held_lines() == []


def test_no_rules_or_no_articles_fire_nothing(enricher, parts) -> None:
    state, ledger, _notifier, clock = parts
    assert (
        AfterEnrichment([], 0.8, 10, clock).fire([article(enricher, BAN, "a")], ledger).alerts == []
    )
    assert AfterEnrichment([rule("b", ["ban"])], 0.8, 10, clock).fire([], ledger).alerts == []
    assert AfterEnrichment([], 0.8, 10, clock).link_duplicates([], state) == {}
