"""A second event type that rests on one weak sentence is dropped; strong ones stay."""

from __future__ import annotations

import pytest
from wirewatch.core.config import CoreConfig
from wirewatch.core.events import secondary_dropped
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, PolicyEvent, Source

pytestmark = pytest.mark.unit


def ev(etype: str, conf: float, *evidence: str, status: str = "reported") -> PolicyEvent:
    return PolicyEvent(type=etype, status=status, confidence=conf, evidence=list(evidence))


def types(events: list[PolicyEvent]) -> list[tuple[str, str]]:
    return [(e.type, e.status) for e in events]


def test_weak_second_type_on_one_sentence_is_dropped() -> None:
    got = secondary_dropped([ev("ban", 0.97, "a", "b"), ev("regulation", 0.74, "c")])
    assert types(got) == [("ban", "reported")]


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (ev("regulation", 0.74, "c", "d"), "two sentences"),
        (ev("regulation", 0.88, "c"), "confident enough"),
        (ev("regulation", 0.9, "c"), "not under the leading type by the gap"),
    ],
)
def test_second_type_stays(second: PolicyEvent, why: str) -> None:
    got = secondary_dropped([ev("ban", 0.97, "a"), second])
    assert ("regulation", "reported") in types(got), why


def test_leading_type_stays_however_weak() -> None:
    assert types(secondary_dropped([ev("deal", 0.64, "a")])) == [("deal", "reported")]
    got = secondary_dropped([ev("deal", 0.64, "a"), ev("legal", 0.64, "b")])
    assert len(got) == 2  # neither is under the other by the gap


def test_statuses_of_one_type_count_together() -> None:
    """A type's evidence is all its sentences and its confidence its best event's."""
    got = secondary_dropped(
        [
            ev("sanction", 0.99, "a"),
            ev("ban", 0.64, "b", status="proposed"),
            ev("ban", 0.7, "c"),
        ]
    )
    assert types(got) == [("sanction", "reported"), ("ban", "proposed"), ("ban", "reported")]
    got = secondary_dropped(
        [ev("sanction", 0.99, "a"), ev("ban", 0.64, "b", status="proposed"), ev("ban", 0.7, "b")]
    )
    assert types(got) == [("sanction", "reported")]


def test_zero_keeps_every_type() -> None:
    events = [ev("ban", 0.97, "a"), ev("regulation", 0.64, "c")]
    assert secondary_dropped(events, below=0.0) == events


def test_the_enricher_applies_it_and_the_config_turns_it_off(enricher: Enricher) -> None:
    text = (
        b"Sweden bans Huawei and ZTE from its 5G networks\n\n"
        b"The Swedish regulator PTS has banned Huawei and ZTE equipment from the new 5G "
        b"networks, the agency said on Tuesday. Operators must remove the existing Huawei "
        b"gear by 2025, the regulator ruled. The decision rests on the network security law "
        b"the government passed last year.\n"
    )
    on = enricher.analyse(text, Source(path="sv.txt"))
    off = Enricher(enricher.resources, CoreConfig(secondary_below=0.0)).analyse(
        text, Source(path="sv.txt")
    )
    assert isinstance(on, EnrichedArticle) and isinstance(off, EnrichedArticle)
    # the law is background to the ban: one sentence, a confidence under the bar
    assert [(e.type, len(e.evidence)) for e in on.events] == [("ban", 3)]
    weak = [e for e in off.events if e.type == "regulation"]
    assert len(weak) == 1 and len(weak[0].evidence) == 1 and weak[0].confidence < 0.85
    assert {e.type for e in off.events} == {"ban", "regulation"}


def test_a_warning_is_dropped_only_under_its_own_lower_bar() -> None:
    """An official warning is often said once, as the reason for a sanction: kept down to
    0.7; "national security grounds" said once beside an export listing is not one."""
    got = secondary_dropped([ev("sanction", 0.99, "a", "b"), ev("warning", 0.74, "c")])
    assert types(got) == [("sanction", "reported"), ("warning", "reported")]
    got = secondary_dropped([ev("sanction", 0.99, "a", "b"), ev("warning", 0.64, "c")])
    assert types(got) == [("sanction", "reported")]
    # on two sentences, or with the bar at 0, the weak warning stays
    got = secondary_dropped([ev("sanction", 0.99, "a", "b"), ev("warning", 0.64, "c", "d")])
    assert types(got) == [("sanction", "reported"), ("warning", "reported")]
    got = secondary_dropped(
        [ev("sanction", 0.99, "a", "b"), ev("warning", 0.64, "c")], warning_below=0.0
    )
    assert types(got) == [("sanction", "reported"), ("warning", "reported")]


def test_a_weak_warning_beside_a_leading_ban_stays() -> None:
    """The fear of espionage a vendor's exclusion answers is the warning of the story."""
    got = secondary_dropped([ev("ban", 0.99, "a", "b"), ev("warning", 0.64, "c")])
    assert types(got) == [("ban", "reported"), ("warning", "reported")]
    # a ban that is not the leading type does not keep it
    got = secondary_dropped(
        [ev("sanction", 0.99, "a", "b"), ev("ban", 0.8, "d"), ev("warning", 0.64, "c")]
    )
    assert ("warning", "reported") not in types(got)


def test_a_planned_rule_stays_when_the_rule_type_is_weak() -> None:
    """Proposed regulation is kept; the same type's reported event on that sentence is not."""
    got = secondary_dropped(
        [ev("ban", 0.97, "a", "b"), ev("regulation", 0.74, "c", status="proposed")]
    )
    assert types(got) == [("ban", "reported"), ("regulation", "proposed")]
    got = secondary_dropped(
        [
            ev("ban", 0.97, "a", "b"),
            ev("regulation", 0.74, "c", status="proposed"),
            ev("regulation", 0.7, "c"),
        ]
    )
    assert types(got) == [("ban", "reported"), ("regulation", "proposed")]
    got = secondary_dropped([ev("ban", 0.97, "a", "b"), ev("legal", 0.74, "c", status="proposed")])
    assert types(got) == [("ban", "reported")]  # only planned rules


def test_a_declined_ban_stays_when_the_ban_type_is_weak() -> None:
    """ "No plans to exclude the vendor" is news beside a bigger case; a weak reported ban
    on one sentence is not."""
    got = secondary_dropped([ev("legal", 0.97, "a", "b"), ev("ban", 0.64, "c", status="rejected")])
    assert types(got) == [("legal", "reported"), ("ban", "rejected")]
    got = secondary_dropped([ev("legal", 0.97, "a", "b"), ev("ban", 0.64, "c")])
    assert types(got) == [("legal", "reported")]
