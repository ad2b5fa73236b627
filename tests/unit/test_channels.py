"""Channels without a network: declarations, rule references, message payloads, quiet
hours, digest periods, and the digest ledger and scheduler on a manual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from wirewatch.core import alerts, channels
from wirewatch.core.channels import Channel, Period, QuietHours
from wirewatch.embedded.digests import DigestScheduler, SqliteDigests
from wirewatch.embedded.notify import Job
from wirewatch.embedded.store import SqliteStore

from tests.support.fakes import ManualClock

AMS = ZoneInfo("Europe/Amsterdam")
UTC_ZONE = ZoneInfo("UTC")

CHANNELS = """
channels:
  slack-policy:
    type: slack
    url_env: SLACK_POLICY_URL
    timezone: Europe/Amsterdam
    quiet_hours: "22:00-07:00"
  teams-risk: {type: teams, url_file: /run/secrets/teams, format: messagecard}
  mail-analysts:
    type: email
    host: smtp.example.org
    username: wirewatch
    password_env: SMTP_PASSWORD
    from: wirewatch@example.org
    to: [analysts@example.org]
    daily_at: "07:30"
  hooks: {type: webhook, url: "https://hooks.example.org/in"}
"""


def body(n: int = 0, title: str | None = None, **extra) -> dict:
    out = {
        "alert_id": f"bans:{n:016x}",
        "rule": "bans",
        "article_id": f"{n:016x}",
        "title": title if title is not None else f"Ban number {n}",
        "language": "nl",
        "published": "2019-05-16",
        "source": f"inbox/{n}.txt",
        "vendors": ["Huawei"],
        "countries": ["NL", "CN"],
        "event_types": ["ban"],
        "events": [
            {
                "type": "ban",
                "status": "reported",
                "confidence": 0.93,
                "evidence": ["The ministry excludes Huawei from the core network."],
                "actors": ["NL"],
                "targets": ["Huawei"],
            }
        ],
        "lookup": f"wirewatch show {n:016x}",
    }
    out.update(extra)
    return out


# -- declarations --------------------------------------------------------------------


def test_a_channels_file_declares_each_type():
    declared = channels.load_channels(CHANNELS, "channels.yaml")
    assert sorted(declared) == ["hooks", "mail-analysts", "slack-policy", "teams-risk"]
    assert declared["slack-policy"].quiet_hours == QuietHours(start=time(22), end=time(7))
    assert declared["slack-policy"].zone == AMS
    assert declared["teams-risk"].format == "messagecard"
    mail = declared["mail-analysts"]
    assert (mail.sender, mail.port, mail.daily_at) == ("wirewatch@example.org", 587, time(7, 30))


@pytest.mark.parametrize(
    "entry, expected",
    [
        (
            "{type: slack, url: 'https://hooks.slack.com/services/T/B/x'}",
            "channel 'c': a slack URL is a secret: put it in an environment variable",
        ),
        ("{type: teams}", "channel 'c': a teams channel takes one of url_env or url_file"),
        ("{type: email, host: h, to: [a@b]}", "channel 'c': an email channel needs host, from"),
        ("{type: slack, url_env: X, colour: red}", "channel 'c': colour: Extra inputs"),
        ("{type: slack, url_env: X, timezone: Mars/Base}", "unknown time zone 'Mars/Base'"),
        ("{type: slack, url_env: X, quiet_hours: '22-7'}", "quiet_hours: '22' is not a time"),
        ("{type: pager, url_env: X}", "channel 'c': type: Input should be 'slack'"),
    ],
    ids=["inline-secret", "no-url", "email-fields", "unknown-field", "zone", "quiet", "type"],
)
def test_an_invalid_channel_is_named_with_its_file_and_field(entry, expected):
    with pytest.raises(channels.ChannelFileError) as err:
        channels.load_channels(f"channels:\n  c: {entry}\n", "ops/channels.yaml")
    assert f"ops/channels.yaml: {expected}" in str(err.value) or expected in str(err.value)
    assert str(err.value).startswith("ops/channels.yaml: ")


def test_a_channel_name_is_letters_digits_and_punctuation():
    with pytest.raises(channels.ChannelFileError, match="channel 'no spaces'"):
        channels.load_channels("channels:\n  no spaces: {type: slack, url_env: X}\n", "f")
    with pytest.raises(channels.ChannelFileError, match="channel 'webhook': the name is reserved"):
        channels.load_channels("channels:\n  webhook: {type: slack, url_env: X}\n", "f")


# -- rules name channels ---------------------------------------------------------------

RULES = """
rules:
  - name: bans
    events: [ban]
    notify:
      - channel: slack-policy
      - {channel: mail-analysts, digest: daily}
      - webhook: https://hooks.example.org/hook
      - log: true
"""


def test_rules_name_channels_immediately_or_as_digests():
    (rule,) = alerts.load_rules(RULES, "rules.yaml")
    slack, mail, hook, log = rule.notify
    assert slack.webhook == "channel:slack-policy", "an immediate channel is a delivery"
    assert mail.webhook is None and mail.digest == "daily", "a digest is sent per period"
    assert hook.webhook == "https://hooks.example.org/hook", "{webhook: URL} keeps working"
    assert log.webhook is None and log.log
    assert alerts.webhook_origin("channel:slack-policy") == "channel slack-policy"


@pytest.mark.parametrize(
    "entry, message",
    [
        ("{channel: a, log: true}", "each notify entry is one of"),
        ("{webhook: 'https://h/x', digest: daily}", "digest: hourly/daily goes with a channel"),
        ("{channel: a, digest: weekly}", "digest"),
    ],
)
def test_a_notify_entry_is_one_thing(entry, message):
    text = f"rules:\n  - name: r\n    events: [ban]\n    notify: [{entry}]\n"
    with pytest.raises(alerts.RuleFileError, match=message):
        alerts.load_rules(text, "rules.yaml")


def test_an_unknown_channel_is_named_with_file_rule_and_a_suggestion():
    rules = alerts.load_rules(RULES.replace("channel: slack-policy", "channel: slack-polcy"), "r.y")
    problems = alerts.channel_problems(rules, "r.y", ["slack-policy", "mail-analysts"])
    assert problems == [
        "r.y: rule 'bans': unknown channel 'slack-polcy' - did you mean 'slack-policy'? "
        "(declared: mail-analysts, slack-policy)"
    ]
    far = alerts.channel_problems(rules, "r.y", ["mail-analysts"])
    assert len(far) == 1 and "did you mean" not in far[0]


# -- payloads --------------------------------------------------------------------------


def test_slack_alert_has_fallback_text_and_blocks():
    msg = channels.slack_payload("bans", [body(1)], None, UTC_ZONE)
    assert msg["text"] == "wirewatch bans: Ban number 1"
    kinds = [b["type"] for b in msg["blocks"]]
    assert kinds == ["header", "section", "context"]
    assert msg["blocks"][0]["text"] == {"type": "plain_text", "text": msg["text"]}
    section = msg["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "*Vendors:* Huawei" in section["text"] and "ban (reported, 0.93)" in section["text"]
    assert "> The ministry excludes Huawei" in section["text"]
    assert "wirewatch show 0000000000000001" in section["text"]


def test_slack_escapes_markup_and_keeps_within_its_limits():
    long = body(2, title="<!channel> & " + "x" * 400)
    msg = channels.slack_payload("bans", [long], None, UTC_ZONE)
    assert "<!channel>" not in json.dumps(msg["blocks"][1])
    assert "&lt;!channel&gt; &amp;" in msg["blocks"][1]["text"]["text"]
    assert len(msg["blocks"][0]["text"]["text"]) <= channels.SLACK_HEADER_MAX
    digest = channels.slack_payload(
        "bans", [body(i) for i in range(80)], Period(None, datetime(2026, 1, 1, tzinfo=UTC)), AMS
    )
    assert len(digest["blocks"]) <= channels.SLACK_BLOCKS_MAX
    assert digest["text"] == "wirewatch bans: 80 stories, 80 articles"
    assert "40 more: wirewatch alerts" in digest["blocks"][-1]["elements"][0]["text"]
    assert all(
        len(b["text"]["text"]) <= channels.SLACK_SECTION_MAX
        for b in digest["blocks"]
        if b["type"] == "section"
    )


def test_teams_adaptive_card_and_message_card():
    card = channels.teams_payload("bans", [body(1), body(2)], None, UTC_ZONE)
    assert card["type"] == "message"
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.4"
    assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert [b["type"] for b in content["body"]].count("FactSet") == 2
    legacy = channels.teams_payload("bans", [body(1)], None, UTC_ZONE, "messagecard")
    assert legacy["@type"] == "MessageCard" and legacy["summary"] == "wirewatch bans: Ban number 1"
    assert {"name": "Vendors", "value": "Huawei"} in legacy["sections"][0]["facts"]


def test_email_and_webhook_digest():
    period = Period(datetime(2026, 3, 1, 7, tzinfo=UTC), datetime(2026, 3, 2, 7, tzinfo=UTC))
    subject, text = channels.email_text("bans", [body(1), body(2)], period, AMS)
    assert subject == "wirewatch bans: 2 stories, 2 articles"
    assert "Digest 2026-03-01 08:00 to 2026-03-02 08:00 CET." in text
    assert text.count("* Ban number") == 2
    hook = channels.webhook_digest("bans", "hooks", [body(1)], period)
    assert hook["alert_id"] == "digest:bans:hooks:20260302T070000Z"
    assert (hook["count"], hook["stories"]) == (1, 1)
    assert hook["alerts"][0]["article_id"] == "0000000000000001"


def test_a_digest_lists_each_story_once_and_an_update_says_what_it_adds():
    period = Period(None, datetime(2026, 3, 2, 7, tzinfo=UTC))
    first = body(1, story_id="s1", kind="alert", language="nl")
    same = body(2, story_id="s1", kind="update", language="sv", update="+1 source")
    later = body(3, story_id="s0", kind="update", language="de", update="+1 source")
    alone = body(4)  # no story id: a story of its own
    stories = channels.digest_stories([first, same, later, alone])
    assert [(b["article_id"][-1], b["digest_articles"], b["digest_languages"], b["digest_new"])
            for b in stories] == [
        ("1", 2, ["nl", "sv"], True), ("3", 1, ["de"], False), ("4", 1, ["nl"], True),
    ]  # fmt: skip
    msg = channels.slack_payload("bans", [first, same, later, alone], period, UTC_ZONE)
    assert msg["text"] == "wirewatch bans: 3 stories, 4 articles"
    sections = [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]
    assert "*Story:* new: 2 article(s) in this digest (nl, sv)" in sections[0]
    assert "*Story:* update of an earlier alert: 1 article(s) in this digest (de)" in sections[1]
    update = channels.slack_payload("bans", [same], None, UTC_ZONE)
    assert update["text"] == "wirewatch bans: +1 source: Ban number 2"
    assert "*Update:* +1 source" in update["blocks"][1]["text"]["text"]


# -- quiet hours and periods -----------------------------------------------------------

QUIET = QuietHours(start=time(22), end=time(7))


@pytest.mark.parametrize(
    "local, quiet",
    [("21:59", False), ("22:00", True), ("23:30", True), ("03:00", True), ("06:59", True),
     ("07:00", False), ("12:00", False)],
)  # fmt: skip
def test_quiet_hours_span_midnight_in_the_channel_zone(local, quiet):
    h, m = map(int, local.split(":"))
    moment = datetime(2026, 6, 10, h, m, tzinfo=AMS).astimezone(UTC)
    assert channels.in_quiet(moment, QUIET, AMS) is quiet


def test_quiet_end_is_the_next_morning_and_keeps_daylight_saving():
    # the night the clocks go forward (29 March 2026 in Amsterdam)
    evening = datetime(2026, 3, 28, 23, 0, tzinfo=AMS).astimezone(UTC)
    assert channels.quiet_end(evening, QUIET, AMS) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert channels.quiet_end(noon, QUIET, AMS) == noon
    assert channels.quiet_end(noon, None, AMS) == noon


def test_period_boundaries():
    moment = datetime(2026, 6, 10, 9, 41, tzinfo=UTC)  # 11:41 in Amsterdam
    assert channels.period_boundary(moment, "hourly", AMS, time(8)) == datetime(
        2026, 6, 10, 9, 0, tzinfo=UTC
    )
    assert channels.period_boundary(moment, "daily", AMS, time(8)) == datetime(
        2026, 6, 10, 6, 0, tzinfo=UTC
    )
    early = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 07:00 local, before daily_at
    assert channels.period_boundary(early, "daily", AMS, time(8)) == datetime(
        2026, 6, 9, 6, 0, tzinfo=UTC
    )


def test_hourly_digests_wait_out_the_quiet_hours_and_then_send_one():
    clock = ManualClock(datetime(2026, 6, 10, 19, 30, tzinfo=UTC))  # 21:30 local
    last = channels.period_boundary(clock.now(), "hourly", AMS, time(8))
    sent = []
    for _ in range(12 * 6):  # every ten minutes until 09:30 local
        clock.advance(600)
        due = channels.digest_due(clock.now(), last, "hourly", AMS, time(8), QUIET)
        if due is not None:
            sent.append(due.astimezone(AMS).strftime("%H:%M"))
            last = due
    assert sent == ["07:00", "08:00", "09:00"], "22:00 falls in the quiet hours"
    assert channels.digest_due(clock.now(), None, "hourly", AMS, time(8), QUIET) is None


# -- the digest ledger and scheduler (SQLite in memory, manual clock) ------------------


class FakeNotifier:
    """Takes digest jobs the way ``WebhookNotifier.submit_job`` does."""

    def __init__(self, declared: dict[str, Channel]):
        self.channels = declared
        self.jobs: list[tuple[str, Job]] = []

    def submit_job(self, channel: str, job: Job) -> None:
        self.jobs.append((channel, job))


@pytest.fixture()
def digest_setup():
    store = SqliteStore(":memory:")
    declared = channels.load_channels(
        "channels:\n  mail: {type: email, host: h, from: a@b, to: [c@d], "
        "timezone: Europe/Amsterdam, quiet_hours: '22:00-07:00'}\n",
        "c.yaml",
    )
    rules = alerts.load_rules(
        "rules:\n  - name: bans\n    events: [ban]\n"
        "    notify: [{channel: mail, digest: hourly}]\n",
        "r.yaml",
    )
    clock = ManualClock(datetime(2026, 6, 10, 8, 10, tzinfo=UTC))  # 10:10 local
    notifier = FakeNotifier(declared)
    ledger = SqliteDigests(store)
    scheduler = DigestScheduler(ledger, rules, notifier, clock)  # type: ignore[arg-type]
    yield store, clock, notifier, ledger, scheduler
    store.close()


def fire(store: SqliteStore, n: int) -> None:
    assert store.fire_alert("bans", f"{n:016x}", None, body(n))


def test_a_digest_lists_each_alert_once_and_a_failed_one_is_retried(digest_setup):
    store, clock, notifier, ledger, scheduler = digest_setup
    fire(store, 0)  # before the digest began: notified otherwise, not listed
    assert scheduler.tick() == []
    fire(store, 1)
    fire(store, 2)
    clock.advance(20 * 60)  # 10:30: the hour is not over
    assert scheduler.tick() == [] and notifier.jobs == []
    clock.advance(35 * 60)  # 11:05
    (first,) = scheduler.tick()
    channel, job = notifier.jobs[-1]
    assert channel == "mail" and job.kind == "digest"
    assert [b["article_id"] for b in job.bodies] == [f"{1:016x}", f"{2:016x}"]
    assert job.key == "digest:bans:mail:20260610T090000Z"
    assert scheduler.tick() == [], "queued once while it is in flight"
    fire(store, 3)  # after the boundary's digest was made: the next digest's
    job.done(False, 4, "HTTP 503")
    row = ledger.get(first)
    assert row is not None and (row.status, row.rounds, row.error) == ("pending", 1, "HTTP 503")
    assert scheduler.tick() == [], "a failed digest waits before it is tried again"
    clock.advance(2 * 60)
    assert scheduler.tick() == [first]
    _, again = notifier.jobs[-1]
    assert again.key == job.key and again.bodies == job.bodies, "the same digest, not a new one"
    again.done(True, 1, None)
    assert ledger.get(first).status == "sent"  # type: ignore[union-attr]
    clock.advance(60 * 60)  # 12:07
    (second,) = scheduler.tick()
    _, nxt = notifier.jobs[-1]
    assert [b["article_id"] for b in nxt.bodies] == [f"{3:016x}"]
    nxt.done(True, 1, None)
    clock.advance(60 * 60)
    assert scheduler.tick() == [], "no alert in the period: no message"
    listed = [(d.id, d.alerts, d.status) for d in ledger.listing()]
    assert listed == [(second, 1, "sent"), (first, 2, "sent")]


def test_a_digest_state_survives_a_restart(digest_setup):
    store, clock, notifier, ledger, scheduler = digest_setup
    scheduler.tick()
    fire(store, 5)
    clock.advance(60 * 60)
    (digest,) = scheduler.tick()  # queued, then the process stops before it is sent
    restarted = DigestScheduler(SqliteDigests(store), [], notifier, clock)  # type: ignore[arg-type]
    assert restarted.tick() == [digest], "a pending digest is sent after a restart"


def test_boundaries_in_quiet_hours_make_one_digest_at_their_end(digest_setup):
    store, clock, notifier, ledger, scheduler = digest_setup
    clock.wall = datetime(2026, 6, 10, 19, 30, tzinfo=UTC)  # 21:30 local
    scheduler.tick()
    for n in range(4):
        fire(store, 10 + n)
        clock.advance(2 * 60 * 60)  # 23:30, 01:30, 03:30, 05:30 local: quiet
        assert scheduler.tick() == []
    clock.advance(90 * 60)  # 07:00 local
    (digest,) = scheduler.tick()
    _, job = notifier.jobs[-1]
    assert len(job.bodies) == 4
    assert job.period is not None and job.period.start is not None
    assert job.period.start.astimezone(AMS).hour == 21 and job.period.end.astimezone(AMS).hour == 7
    assert timedelta(hours=10) == job.period.end - job.period.start
