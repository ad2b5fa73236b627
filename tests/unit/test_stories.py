"""Stories and the rules beyond a match, on in-memory ports (tests/support/fakes.py):
story assignment (pure), one alert per (rule, story) then updates, query rules,
frequency, spike and first-seen rules, silences - with a manual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from wirewatch import search
from wirewatch.core import stories
from wirewatch.core.alerts import AlertRule, Notify, RuleFileError, load_rules
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.pipeline import conditions
from wirewatch.pipeline.after import AfterEnrichment
from wirewatch.pipeline.backtest import ReplayLedger, per_rule_and_day, replay
from wirewatch.pipeline.ports import Silence
from wirewatch.pipeline.silences import CachedSilences

from tests.support.fakes import ManualClock, MemoryLedger, MemoryState

DATA = Path(__file__).resolve().parents[1] / "data" / "stories"
NL, SV = DATA / "nl_zweden_verbod.txt", DATA / "sv_pts_forbud.txt"
OTHER_BAN = (
    "Ministry orders ZTE kit out of networks\n\n"
    "The Danish interior ministry banned ZTE routers from government networks on 3 March "
    "2021 after a security audit. Agencies must replace the devices by the end of the year."
)
HOOK = "https://hooks.example.org/x"


def article(enricher: Enricher, path: Path | str, text: str | None = None) -> EnrichedArticle:
    data = Path(path).read_bytes() if text is None else text.encode()
    result = enricher.analyse(data, Source(path=str(path)))
    assert isinstance(result, EnrichedArticle)
    return result


def rule(name: str, events: list[str], **kw: object) -> AlertRule:
    kw.setdefault("notify", [Notify(webhook=HOOK), Notify(log=True)])
    return AlertRule(name=name, events=events, min_relevance=0.0, **kw)  # type: ignore[arg-type]


def step(after: AfterEnrichment, state: MemoryState, ledger: MemoryLedger, *arts, **kw):
    """One batch: link, assign stories, store, fire."""
    after.link_duplicates(list(arts), state)
    after.assign_stories(list(arts), state)
    for a in arts:
        state.store(a)
    return after.fire(list(arts), ledger, history=state, **kw)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2020, 10, 21, 9, tzinfo=UTC))


# -- assignment (pure) ------------------------------------------------------------------
def test_the_dutch_and_the_swedish_report_of_one_ban_are_one_story(enricher) -> None:
    nl, sv = article(enricher, NL), article(enricher, SV)
    assert (nl.language, sv.language) == ("nl", "sv") and nl.id != sv.id
    now = datetime(2020, 10, 21, tzinfo=UTC)
    first = stories.member(nl, now)
    assert "ban|vendor:Huawei" in first.keys
    assert stories.assign(first, []) == nl.id  # nothing before it: a story of its own
    assert stories.assign(stories.member(sv, now), [first]) == nl.id


def test_no_story_across_the_window_another_event_or_other_entities(enricher) -> None:
    nl, sv = article(enricher, NL), article(enricher, SV)
    other = article(enricher, "dk.txt", OTHER_BAN)
    now = datetime(2020, 10, 21, tzinfo=UTC)
    first = stories.member(nl, now)
    # the same text three weeks later is news of another week
    later = sv.model_copy(update={"published": "2020-11-12"})
    assert stories.assign(stories.member(later, now), [first]) == sv.id
    # another vendor, another country: no shared key, no story
    assert stories.assign(stories.member(other, now), [first]) == other.id
    # a near-duplicate joins the story of what it repeats, whatever its entities
    assert stories.assign(stories.member(other, now), [], duplicate_story="s1") == "s1"


def test_span_and_moment_follow_the_date_precision() -> None:
    stored = datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert stories.span("2019-06", stored) == (
        datetime(2019, 6, 1, tzinfo=UTC),
        datetime(2019, 7, 1, tzinfo=UTC),
    )
    assert stories.span(None, stored) == (stored, stored)
    assert stories.moment("2019", stored) == datetime(2019, 1, 1, tzinfo=UTC)
    assert stories.update_note(3, ["de", "sv", "nl"], ["nl"]) == "+3 sources, now also in de, sv"
    assert stories.update_note(1, ["nl"], ["nl"]) == "+1 source"


# -- one alert per (rule, story), then updates -------------------------------------------
def test_one_alert_per_story_then_one_update_per_batch(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    after = AfterEnrichment([rule("bans", ["ban"])], 0.8, 10, clock)
    nl, sv = article(enricher, NL), article(enricher, SV)
    first = step(after, state, ledger, nl)
    assert [(f.body["kind"], f.article.id) for f in first.alerts] == [("alert", nl.id)]
    assert [d[1] for d in first.deliveries] == [nl.id]
    clock.advance(60)
    second = step(after, state, ledger, sv)
    assert sv.story_id == nl.id
    assert [(f.body["kind"], f.body["story_id"]) for f in second.alerts] == [("update", nl.id)]
    body = second.deliveries[0][3]
    assert body["update"] == "+1 source, now also in sv" and body["story_articles"] == [sv.id]
    assert second.lines[0][1].startswith("ALERT-UPDATE rule=%s story=%s")
    # redelivered: nothing new, nothing sent again
    again = step(after, state, ledger, article(enricher, SV))
    assert again.alerts == [] and again.deliveries == []


def test_of_two_replicas_racing_on_a_story_one_alerts_and_the_other_updates(
    enricher, clock
) -> None:
    """Each replica's ledger sees none of the other's alerts yet (the index refresh);
    the claims they share decide which first firing is the alert."""
    state, claims = MemoryState(clock), {}
    one, two = MemoryLedger(claims), MemoryLedger(claims)
    a, b = (AfterEnrichment([rule("bans", ["ban"])], 0.8, 10, clock) for _ in range(2))
    nl, sv = article(enricher, NL), article(enricher, SV)
    for x in (nl, sv):
        a.link_duplicates([x], state)
        a.assign_stories([x], state)
        state.store(x)
    first = a.fire([nl], one, history=state)
    second = b.fire([sv], two, history=state)
    assert [f.body["kind"] for f in first.alerts] == ["alert"]
    assert [(f.body["kind"], f.body["update"]) for f in second.alerts] == [
        ("update", "+1 source, now also in sv")
    ]
    assert claims == {("bans", nl.id): (nl.id, "nl")}
    # the winner's batch redone: its own claim is no loss, and nothing is new
    assert a.fire([nl], one, history=state).alerts == []


def test_articles_of_one_story_in_one_batch_make_an_alert_and_one_update(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    after = AfterEnrichment([rule("bans", ["ban"])], 0.8, 10, clock)
    nl, sv = article(enricher, NL), article(enricher, SV)
    fired = step(after, state, ledger, nl, sv)
    assert [f.body["kind"] for f in fired.alerts] == ["alert", "update"]
    assert len(fired.deliveries) == 2
    assert set(ledger.alerts) == {("bans", nl.id), ("bans", sv.id)}  # both recorded


# -- query rules -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query, fires",
    [
        ("huawei", True),
        ("huawei -zte", False),
        ("(huawei OR nokia) 5g*", True),
        ('"tele2 moeten"', True),
        ('"moeten tele2"', False),
        ("vendor:Huawei country:SE type:ban status:reported", True),
        ("type:ban status:proposed", False),
        ("lang:sv", False),
        ("since:2020-10 until:2020-10", True),
        ("until:2019", False),
        ("-vendor:ZTE", False),
        ("verbod", True),
    ],
)
def test_a_query_condition_is_the_search_syntax_on_one_article(enricher, query, fires) -> None:
    nl = article(enricher, NL)
    assert conditions.query_matches(search.parse(query), nl) is fires


def test_a_query_rule_fires_only_where_its_query_matches(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    rules = [rule("sv-only", ["ban"], query="lang:sv pts"), rule("nl", ["ban"], query="verbod")]
    after = AfterEnrichment(rules, 0.8, 10, clock)
    fired = step(after, state, ledger, article(enricher, NL))
    assert [f.rule.name for f in fired.alerts] == ["nl"]


def test_rules_check_refuses_a_bad_query_and_a_rule_of_two_kinds() -> None:
    rules = load_rules(
        "rules:\n  - name: q\n    events: [ban]\n    query: 'huawei (zte'\n", "r.yaml"
    )
    problems = conditions.rule_problems(rules, "r.yaml")
    assert len(problems) == 1 and problems[0].startswith("r.yaml: rule 'q': query:")
    with pytest.raises(RuleFileError, match="one of frequency, spike or first_seen"):
        load_rules(
            "rules:\n  - name: t\n    events: [ban]\n    frequency: {at_least: 2}\n"
            "    first_seen: [vendor]\n",
            "r.yaml",
        )
    with pytest.raises(RuleFileError, match="not a duration"):
        load_rules(
            "rules:\n  - name: t\n    events: [ban]\n    frequency: {at_least: 2, within: 2x}\n",
            "r.yaml",
        )
    spike = load_rules(
        "rules:\n  - name: s\n    events: [ban]\n    spike: {within: 7d, baseline: 1d}\n", "r.yaml"
    )
    assert "baseline" in conditions.rule_problems(spike, "r.yaml")[0]


# -- trends and first sightings -----------------------------------------------------------
def _ban(enricher: Enricher, vendor: str, country: str, day: str, n: int) -> EnrichedArticle:
    text = (
        f"{country} bans {vendor} gear, case {n}\n\n"
        f"The telecoms regulator of {country} banned {vendor} equipment from the country's 5G "
        f"networks on {day}, citing national security. Operators must remove the gear. "
        f"Ref {n} {n * 7919} {n * 104729}."
    )
    return article(enricher, f"{n}.txt", text)


def test_a_frequency_rule_fires_once_the_target_has_enough_stories(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    wave = rule("wave", ["ban"], frequency={"at_least": 3, "within": "7d"})
    after = AfterEnrichment([wave], 0.8, 10, clock)
    days = ["1 March 2021", "3 March 2021", "5 March 2021", "6 March 2021"]
    countries = ["Denmark", "Norway", "Finland", "Iceland"]
    fired = []
    for n, (day, country) in enumerate(zip(days, countries, strict=True)):
        a = _ban(enricher, "ZTE", country, day, n)
        assert a.published and a.events, a
        fired.append(step(after, state, ledger, a))
    assert [len(f.alerts) for f in fired] == [0, 0, 1, 1]
    assert fired[2].alerts[0].body["story_id"].startswith("frequency:vendor:ZTE:")
    assert fired[3].alerts[0].body["kind"] == "update"  # the same target and period


def test_a_spike_rule_compares_with_the_trailing_baseline(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    spike = rule("spike", ["ban"], spike={"within": "2d", "baseline": "60d", "factor": 3})
    after = AfterEnrichment([spike], 0.8, 10, clock)
    a = step(after, state, ledger, _ban(enricher, "ZTE", "Denmark", "1 March 2021", 1))
    assert a.alerts == []  # one story is not yet a spike (at_least 2)
    b = step(after, state, ledger, _ban(enricher, "ZTE", "Norway", "2 March 2021", 2))
    assert [f.body["kind"] for f in b.alerts] == ["alert"]


class _Moments:
    """A ``History`` of stories at given moments, every one carrying every key."""

    def __init__(self, moments: dict[str, datetime]) -> None:
        self.moments = moments

    def story_ids(self, keys, since, until) -> set[str]:
        return {
            s
            for s, at in self.moments.items()
            if (since is None or at >= since) and (until is None or at <= until)
        }


AT = datetime(2021, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("offset", "counted"),
    [
        (-2 * DAY, False),  # exactly one window before: out
        (-2 * DAY + timedelta(milliseconds=1), True),
        (-DAY, True),
        (timedelta(0), True),  # the new event's own moment: in
        (timedelta(milliseconds=1), False),  # after it: out
    ],
)
def test_a_trend_window_slides_and_ends_at_the_event(offset, counted) -> None:
    history = _Moments({"s": AT + offset})
    assert (conditions.recent(history, ["k"], AT, 2 * DAY) == {"s"}) is counted


def test_the_spike_baseline_is_whole_windows_before_the_current_one() -> None:
    assert conditions.baseline_windows(DAY, 30 * DAY) == 30
    assert conditions.baseline_windows(DAY, timedelta(hours=36)) == 1
    assert conditions.baseline_windows(7 * DAY, 30 * DAY) == 4
    history = _Moments(
        {
            "current": AT - DAY + timedelta(milliseconds=1),  # in the window, not the baseline
            "edge": AT - DAY,  # the newest moment of the baseline
            "oldest": AT - 4 * DAY + timedelta(milliseconds=1),
            "older": AT - 4 * DAY,  # before three windows of baseline
        }
    )
    before, n = conditions.baseline(history, ["k"], AT, DAY, 3 * DAY)
    assert (before, n) == ({"edge", "oldest"}, 3)


@pytest.mark.parametrize(
    ("recent", "baseline", "windows", "spike"),
    [
        (2, 20, 30, True),  # 2 >= 3 x 20/30
        (2, 21, 30, False),  # 2 < 3 x 0.7
        (1, 0, 30, False),  # below at_least
        (2, 0, 30, True),
    ],
)
def test_a_spike_is_factor_times_the_mean_baseline_window(recent, baseline, windows, spike) -> None:
    assert conditions.is_spike(recent, baseline, windows, 3.0, 2) is spike


@pytest.mark.parametrize(
    ("offset", "joins"),
    [
        (timedelta(0), True),
        (7 * DAY - timedelta(seconds=1), True),
        (7 * DAY, False),  # a whole window after the episode began: a new one
        (-7 * DAY + timedelta(seconds=1), True),  # a late article from just before it
        (-7 * DAY, False),
    ],
)
def test_a_trend_episode_is_one_window_from_its_start(offset, joins) -> None:
    start = datetime(2021, 3, 3, tzinfo=UTC)
    found = conditions.episode([start], start + offset, 7 * DAY)
    assert (found == start) is joins
    key = conditions.episode_key("frequency:vendor:ZTE", start)
    assert key == "frequency:vendor:ZTE:2021-03-03T00:00:00Z"
    assert conditions.episode_start("frequency:vendor:ZTE", key) == start
    assert conditions.episode_start("frequency:vendor:ZT", key) is None


def test_a_frequency_burst_across_a_calendar_week_alerts_once(enricher, clock) -> None:
    """Epoch-aligned weeks start on Thursday 4 March 2021: a burst from the 1st to the
    8th is one episode; the 10th is a whole window after it began, a new alert."""
    state, ledger = MemoryState(clock), MemoryLedger()
    wave = rule("wave", ["ban"], frequency={"at_least": 3, "within": "7d"})
    after = AfterEnrichment([wave], 0.8, 10, clock)
    days = [1, 2, 3, 5, 8, 10]
    countries = ["Denmark", "Norway", "Finland", "Iceland", "Sweden", "Estonia"]
    kinds = []
    for n, (d, country) in enumerate(zip(days, countries, strict=True)):
        fired = step(after, state, ledger, _ban(enricher, "ZTE", country, f"{d} March 2021", n))
        kinds.append([(f.body["kind"], f.body["story_id"]) for f in fired.alerts])
    first = "frequency:vendor:ZTE:2021-03-03T00:00:00Z"
    assert kinds == [
        [],
        [],
        [("alert", first)],
        [("update", first)],
        [("update", first)],
        [("alert", "frequency:vendor:ZTE:2021-03-10T00:00:00Z")],
    ]


def test_a_first_seen_rule_fires_for_a_vendor_never_seen_in_an_event(enricher, clock) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    after = AfterEnrichment([rule("new", ["ban"], first_seen=["vendor"])], 0.8, 10, clock)
    first = step(after, state, ledger, _ban(enricher, "ZTE", "Denmark", "1 March 2021", 1))
    assert len(first.alerts) == 1
    again = step(after, state, ledger, _ban(enricher, "ZTE", "Iceland", "9 June 2021", 2))
    assert again.alerts == []  # ZTE was seen in another story before
    other = step(after, state, ledger, _ban(enricher, "Nokia", "Iceland", "9 June 2021", 3))
    assert len(other.alerts) == 1


def test_trend_rules_need_a_history(enricher, clock) -> None:
    after = AfterEnrichment([rule("new", ["ban"], first_seen=["vendor"])], 0.8, 10, clock)
    a = _ban(enricher, "ZTE", "Denmark", "1 March 2021", 1)
    assert after.fire([a], MemoryLedger()).alerts == []


# -- silences -----------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["rule:bans", "vendor:huawei", "country:SE"])
def test_a_silence_mutes_until_it_ends(enricher, clock, target) -> None:
    state, ledger = MemoryState(clock), MemoryLedger()
    after = AfterEnrichment([rule("bans", ["ban"])], 0.8, 10, clock)
    silence = [Silence(target, clock.now() + timedelta(hours=2))]
    muted = step(after, state, ledger, article(enricher, NL), silences=silence)
    assert muted.alerts == [] and muted.muted == 1 and ledger.alerts == {}
    clock.advance(2 * 3600)
    fired = step(after, state, ledger, article(enricher, SV), silences=silence)
    assert [f.body["kind"] for f in fired.alerts] == ["alert"]


class _Book:
    """A ``SilenceBook`` that counts its reads."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, datetime]] = []
        self.reads = 0

    def add_silence(self, target: str, until: datetime, reason: str | None = None) -> None:
        self.rows.append((target, until))

    def silences(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        self.reads += 1
        return [(t, u) for t, u in self.rows if now is None or u > now]


def test_cached_silences_are_read_once_per_ttl_and_end_on_time(clock) -> None:
    book = _Book()
    cached = CachedSilences(book, clock, ttl=5.0)
    assert cached.silences(clock.now()) == [] and book.reads == 1
    book.add_silence("rule:bans", clock.now() + timedelta(seconds=8))
    clock.advance(4.9)
    assert cached.silences(clock.now()) == [] and book.reads == 1  # not yet read again
    clock.advance(0.1)
    (running,) = cached.silences(clock.now())
    assert running.target == "rule:bans" and book.reads == 2
    clock.advance(3.5)  # held since the last read, but ended: no longer muting
    assert cached.silences(clock.now()) == [] and book.reads == 2
    cached.forget()
    cached.silences(clock.now())
    assert book.reads == 3
    with pytest.raises(ValueError, match="ttl"):
        CachedSilences(book, clock, ttl=-1)


def test_the_pipeline_reads_silences_through_the_port_once_per_batch(enricher, clock) -> None:
    state, ledger, book = MemoryState(clock), MemoryLedger(), _Book()
    after = AfterEnrichment([rule("bans", ["ban"]), rule("all", ["ban"])], 0.8, 10, clock)
    book.add_silence("vendor:Huawei", clock.now() + timedelta(hours=1))
    cached = CachedSilences(book, clock, ttl=5.0)
    muted = step(after, state, ledger, article(enricher, NL), silences=cached)
    assert muted.alerts == [] and muted.muted == 2 and book.reads == 1
    assert after.fire([], ledger, silences=cached).muted == 0 and book.reads == 1


def test_silence_targets_are_read_from_the_command_line() -> None:
    assert conditions.silence_target("bans") == "rule:bans"
    assert conditions.silence_target("country:se") == "country:SE"
    with pytest.raises(ValueError, match="mute a rule"):
        conditions.silence_target("lang:sv")


# -- backtest -----------------------------------------------------------------------------
def test_a_backtest_replays_in_time_order_and_records_nothing(enricher, clock) -> None:
    state = MemoryState(clock)
    after = AfterEnrichment([], 0.8, 10, clock)
    nl, sv = article(enricher, NL), article(enricher, SV)
    for a in (nl, sv):
        after.link_duplicates([a], state)
        after.assign_stories([a], state)
        state.store(a)
    at = datetime(2020, 10, 20, tzinfo=UTC)
    found = replay([rule("bans", ["ban"])], [(nl, at), (sv, at)], state, 0.8)
    assert [(w.kind, w.article_id, w.note) for w in found] == [
        ("alert", nl.id, None),
        ("update", sv.id, "+1 source, now also in sv"),
    ]
    assert per_rule_and_day(found) == [("bans", at.date(), 1, 1)]
    assert ReplayLedger().groups([("bans", nl.id)]) == {}


def test_a_member_read_from_a_stored_document_is_the_member_of_the_article(enricher) -> None:
    from tests.conftest import EXAMPLES

    seen = datetime(2021, 3, 4, 12, tzinfo=UTC)
    paths = sorted(p for p in EXAMPLES.rglob("*") if p.is_file())
    compared = keyed = 0
    for path in paths:
        result = enricher.analyse(path.read_bytes(), Source(path=str(path)))
        if not isinstance(result, EnrichedArticle):
            continue
        result.story_id = "s-" + result.id[:8] if compared % 2 else None
        doc = json.loads(result.model_dump_json())
        assert stories.member_of_doc(result.id, doc, seen) == stories.member(result, seen)
        assert stories.member_of_doc(result.id, doc, seen, "other") == (
            stories.member(result, seen, "other")
        )
        compared += 1
        keyed += bool(stories.member(result, seen).keys)
    assert compared >= 30 and keyed >= 15


def test_candidate_windows_group_only_articles_close_in_time() -> None:
    """One article dated years back gets a look-up of its own instead of widening the
    window (and so the candidates) of the whole batch."""
    from wirewatch.pipeline.after import windows

    def m(aid: str, day: datetime, *keys: str) -> stories.Member:
        return stories.Member(aid, aid, "en", day, day + timedelta(days=1), frozenset(keys))

    now = datetime(2024, 5, 10, tzinfo=UTC)
    old = datetime(1987, 3, 2, tzinfo=UTC)
    w = timedelta(days=3)
    got = windows(
        [m("a", now, "v:huawei"), m("b", old, "v:ibm"), m("c", now + timedelta(days=2), "c:se")],
        w,
    )
    assert got == [
        (["v:ibm"], old - w, old + timedelta(days=1) + w),
        (["c:se", "v:huawei"], now - w, now + timedelta(days=3) + w),
    ]
    assert windows([m("d", now)], w) == []  # no keys: nothing to look up


def test_candidate_windows_are_few_however_spread_the_dates() -> None:
    """Each window is a look-up (a round trip to Elasticsearch): the closest merge."""
    from wirewatch.pipeline.after import windows

    w = timedelta(days=3)
    base = datetime(2000, 1, 1, tzinfo=UTC)
    days = [0, 10, 11, 400, 401, 2000]  # apart by more than the window, some nearly
    members = [
        stories.Member(
            f"a{d}",
            f"a{d}",
            "en",
            base + timedelta(days=d),
            base + timedelta(days=d + 1),
            frozenset({f"k{d}"}),
        )
        for d in days
    ]
    assert len(windows(members, w)) == 4  # 10 and 11, 400 and 401 overlap
    got = windows(members, w, most=2)
    assert [keys for keys, _, _ in got] == [["k0", "k10", "k11", "k400", "k401"], ["k2000"]]
    assert got[0][1] == base - w and got[1][2] == base + timedelta(days=2001) + w
