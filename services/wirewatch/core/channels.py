"""Alert channels: where alerts go, what each message looks like, and when digests leave.

Pure: no I/O. ``load_channels(text, source)`` validates a channels file (errors name
the file, the channel and the field). ``slack_payload``, ``teams_payload``,
``email_text`` and ``webhook_digest`` build one message from one alert or from a
digest of several (the alert bodies are ``AlertMessage`` dicts, see
``core.alerts.payload``). ``in_quiet``, ``quiet_end``, ``period_boundary`` and
``digest_due`` decide when a message may leave: quiet hours and digest periods are
read in the channel's time zone.

Secrets (Slack and Teams URLs, SMTP passwords) are never in a channel declaration:
it names the environment variable or file that holds them (``url_env``,
``password_file``, ...); the sender resolves them at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ChannelType = Literal["slack", "teams", "email", "webhook"]
Digest = Literal["immediate", "hourly", "daily"]
CHANNEL_PREFIX = "channel:"  # a delivery target naming a declared channel, not a URL
RESERVED = ("webhook",)  # a rule's own {webhook: URL} is counted and logged under it
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# Slack: a header's text holds at most 150 characters, a section's 3000, a message 50
# blocks; longer ones are answered with 400 invalid_blocks.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
DIGEST_LISTED_MAX = 40  # alerts listed one by one in a digest; the rest are counted


class ChannelFileError(ValueError):
    """A channels file is invalid; the message names the file, the channel and the field."""


def _clock(text: str) -> time:
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return time(int(m.group(1)), int(m.group(2)))


class QuietHours(BaseModel):
    """No message leaves from ``start`` to ``end`` (local time; may span midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            first, sep, second = value.partition("-")
            if not sep:
                raise ValueError(f"{value!r} is not HH:MM-HH:MM (e.g. 22:00-07:00)")
            return {"start": _clock(first), "end": _clock(second)}
        return value


class Channel(BaseModel):
    """One declared channel. Which fields apply depends on ``type``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: ChannelType
    # slack, teams, webhook: the URL, from an environment variable or a file (a secret:
    # chat webhook URLs carry their token); a generic webhook may name it inline
    url: str | None = None
    url_env: str | None = None
    url_file: Path | None = None
    # teams: an Adaptive Card (Workflows webhooks) or a legacy MessageCard (connectors)
    format: Literal["adaptive", "messagecard"] = "adaptive"
    # email
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)
    ca_file: Path | None = None  # extra CA for the SMTP server's certificate
    # when messages leave
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    daily_at: time = time(8, 0)

    @field_validator("daily_at", mode="before")
    @classmethod
    def _daily(cls, value: Any) -> Any:
        return _clock(value) if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Oslo)"
            ) from None
        return value

    @model_validator(mode="after")
    def _fields_of_type(self) -> Channel:
        http = self.type in ("slack", "teams", "webhook")
        sources = [s for s in (self.url, self.url_env, self.url_file) if s is not None]
        if http:
            if len(sources) != 1:
                raise ValueError(f"a {self.type} channel takes one of url_env or url_file")
            if self.url is not None and self.type != "webhook":
                raise ValueError(
                    f"a {self.type} URL is a secret: put it in an environment variable "
                    "(url_env) or a file (url_file), not in the channels file"
                )
            if self.host or self.to or self.sender or self.username:
                raise ValueError(f"host, from, to and username are for email, not {self.type}")
        else:
            if sources:
                raise ValueError("an email channel has no url; it takes host, from and to")
            if not self.host or not self.sender or not self.to:
                raise ValueError("an email channel needs host, from and to")
            if (self.password_env or self.password_file) and not self.username:
                raise ValueError("a password needs a username")
            if self.password_env and self.password_file:
                raise ValueError("give password_env or password_file, not both")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _ChannelFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, Channel]


def load_channels(text: str, source: str) -> dict[str, Channel]:
    """The channels declared in a YAML file ``{channels: {NAME: {type: ..., ...}}}``.

    Raises ``ChannelFileError`` naming the file, the channel and the field for invalid
    YAML, an unknown or missing field, a field of another channel type, a URL of a
    Slack or Teams channel written inline (a secret), an unknown time zone or a name
    that is not letters, digits, ``_``, ``.`` and ``-``.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChannelFileError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("channels"), dict):
        raise ChannelFileError(f"{source}: expected a mapping 'channels: {{NAME: {{type: ...}}}}'")
    problems = []
    for name in data["channels"]:
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(
                f"{source}: channel {name!r}: a name is letters, digits, '_', '.' and '-'"
            )
        elif name in RESERVED:
            problems.append(
                f"{source}: channel {name!r}: the name is reserved (metrics and logs use it "
                "for a rule's own webhook URL); choose another"
            )
    try:
        parsed = _ChannelFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            where = f"channel {loc[1]!r}" if len(loc) > 1 else "channels"
            field = ".".join(loc[2:])
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{source}: {where}" + (f": {field}" if field else "") + f": {message}")
    if problems:
        raise ChannelFileError("\n".join(problems))
    return parsed.channels


def channel_name(target: str) -> str | None:
    """The channel a delivery target names (``channel:NAME``), or ``None`` for a URL."""
    return target[len(CHANNEL_PREFIX) :] if target.startswith(CHANNEL_PREFIX) else None


# -- what a message says ------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The span a digest covers (``start`` is ``None`` for the first digest of a rule)."""

    start: datetime | None
    end: datetime

    def describe(self, zone: ZoneInfo) -> str:
        end = self.end.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        if self.start is None:
            return f"until {end}"
        return f"{self.start.astimezone(zone).strftime('%Y-%m-%d %H:%M')} to {end}"


def _events_line(body: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{e.get('type')} ({e.get('status')}, {float(e.get('confidence', 0)):.2f})"
        for e in body.get("events", [])
    )


def _evidence(body: Mapping[str, Any], limit: int = 300) -> str:
    for event in body.get("events", []):
        for sentence in event.get("evidence", []):
            text = " ".join(str(sentence).split())
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""


def _title(body: Mapping[str, Any]) -> str:
    return str(body.get("title") or body.get("article_id") or "(untitled)")


def _facts(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = []
    if body.get("digest_articles"):
        langs = ", ".join(body.get("digest_languages") or [])
        facts.append(
            (
                "Story",
                ("new" if body.get("digest_new") else "update of an earlier alert")
                + f": {body['digest_articles']} article(s) in this digest"
                + (f" ({langs})" if langs else ""),
            )
        )
    elif body.get("kind") == "update" and body.get("update"):
        facts.append(("Update", str(body["update"])))
    facts.append(("Events", _events_line(body)))
    if body.get("vendors"):
        facts.append(("Vendors", ", ".join(body["vendors"])))
    if body.get("countries"):
        facts.append(("Countries", ", ".join(body["countries"])))
    facts.append(("Language", str(body.get("language") or "und")))
    if body.get("published"):
        facts.append(("Published", str(body["published"])))
    facts.append(("Look up", str(body.get("lookup") or "")))
    return facts


def headline(rule: str, bodies: Sequence[Mapping[str, Any]], period: Period | None) -> str:
    """The one-line summary of a message: an alert's title (an update's with what it
    adds), or a digest's count of stories."""
    if period is None and len(bodies) == 1:
        body = bodies[0]
        if body.get("kind") == "update" and body.get("update"):
            return f"wirewatch {rule}: {body['update']}: {_title(body)}"
        return f"wirewatch {rule}: {_title(body)}"
    if period is not None:
        articles = sum(int(b.get("digest_articles") or 1) for b in bodies)
        stories = "story" if len(bodies) == 1 else "stories"
        return (
            f"wirewatch {rule}: {len(bodies)} {stories}, "
            f"{articles} article{'' if articles == 1 else 's'}"
        )
    return f"wirewatch {rule}: {len(bodies)} alert(s)"


def digest_stories(bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The alerts of a digest period, one per story, in the order the stories first
    appear: the first alert body of each story, with ``digest_articles`` (how many of
    the period's alerts are of that story), ``digest_languages`` and ``digest_new``
    (whether the story's first alert is in the period, rather than before it). An alert
    without a ``story_id`` is a story of its own."""
    out: dict[str, dict[str, Any]] = {}
    for body in bodies:
        key = str(body.get("story_id") or body.get("alert_id") or id(body))
        entry = out.get(key)
        if entry is None:
            entry = out[key] = {**body, "digest_articles": 0, "digest_languages": []}
            entry["digest_new"] = body.get("kind", "alert") != "update"
        entry["digest_articles"] += 1
        if body.get("kind", "alert") != "update":
            entry["digest_new"] = True
        language = body.get("language")
        if language and language not in entry["digest_languages"]:
            entry["digest_languages"].append(language)
    for entry in out.values():
        entry["digest_languages"].sort()
    return list(out.values())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # & < > are Slack markup (<!channel> would ping everyone)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(
    rule: str, bodies: Sequence[Mapping[str, Any]], period: Period | None, zone: ZoneInfo
) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (notifications, fallback) and
    ``blocks`` (a header, one section per alert, a context line), within Slack's
    limits on text lengths and block count. ``period`` is ``None`` for one alert; a
    digest lists its stories (``digest_stories``)."""
    if period is not None:
        bodies = digest_stories(bodies)
    text = headline(rule, bodies, period)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(text, SLACK_HEADER_MAX)}}
    ]
    listed = bodies[:DIGEST_LISTED_MAX]
    for body in listed:
        lines = [f"*{_slack_escape(_title(body))}*"]
        lines += [f"*{k}:* {_slack_escape(v)}" for k, v in _facts(body)]
        evidence = _evidence(body)
        if evidence:
            lines.append("> " + _slack_escape(evidence))
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), SLACK_SECTION_MAX)},
            }
        )
    context = f"rule {rule}"
    if period is not None:
        context += f" · digest {period.describe(zone)}"
    if len(bodies) > len(listed):
        context += f" · {len(bodies) - len(listed)} more: wirewatch alerts"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks[:SLACK_BLOCKS_MAX]}


def teams_payload(
    rule: str,
    bodies: Sequence[Mapping[str, Any]],
    period: Period | None,
    zone: ZoneInfo,
    card: Literal["adaptive", "messagecard"] = "adaptive",
) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message: a ``message`` with one Adaptive Card
    attachment (Workflows webhooks), or a legacy ``MessageCard`` (Office 365 connectors;
    ``summary`` is required there). A digest lists its stories (``digest_stories``)."""
    if period is not None:
        bodies = digest_stories(bodies)
    text = headline(rule, bodies, period)
    listed = bodies[:DIGEST_LISTED_MAX]
    footer = f"rule {rule}" + (f" · digest {period.describe(zone)}" if period else "")
    if len(bodies) > len(listed):
        footer += f" · {len(bodies) - len(listed)} more: wirewatch alerts"
    if card == "messagecard":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": text,
            "themeColor": "B22222",
            "title": text,
            "sections": [
                {
                    "activityTitle": _title(b),
                    "facts": [{"name": k, "value": v} for k, v in _facts(b)],
                    "text": _evidence(b),
                }
                for b in listed
            ],
            "text": footer,
        }
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Medium", "wrap": True}
    ]
    for b in listed:
        body.append(
            {
                "type": "TextBlock",
                "text": _title(b),
                "weight": "Bolder",
                "wrap": True,
                "separator": True,
            }
        )
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(b)]})
        evidence = _evidence(b)
        if evidence:
            body.append({"type": "TextBlock", "text": evidence, "wrap": True, "isSubtle": True})
    body.append({"type": "TextBlock", "text": footer, "size": "Small", "isSubtle": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def email_text(
    rule: str, bodies: Sequence[Mapping[str, Any]], period: Period | None, zone: ZoneInfo
) -> tuple[str, str]:
    """(subject, plain-text body) of an alert or digest e-mail; a digest lists its
    stories (``digest_stories``)."""
    if period is not None:
        bodies = digest_stories(bodies)
    subject = headline(rule, bodies, period)
    out = [subject, ""]
    if period is not None:
        out += [f"Digest {period.describe(zone)}.", ""]
    for b in bodies:
        out.append(f"* {_title(b)}")
        out += [f"  {k}: {v}" for k, v in _facts(b)]
        evidence = _evidence(b, 600)
        if evidence:
            out.append(f"  Evidence: {evidence}")
        out.append("")
    out.append(f"-- wirewatch, rule {rule}")
    return subject, "\n".join(out) + "\n"


def digest_id(rule: str, channel: str, period: Period) -> str:
    """The key of one digest, the same on every retry: receivers de-duplicate by it."""
    return f"digest:{rule}:{channel}:{period.end.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def webhook_digest(
    rule: str, channel: str, bodies: Sequence[Mapping[str, Any]], period: Period
) -> dict[str, Any]:
    """The JSON body of a digest on a generic webhook: every ``AlertMessage`` body of
    the period under ``alerts`` (a story's later articles are ``kind: update``), the
    number of stories, keyed by ``alert_id`` = the digest's id."""
    return {
        "alert_id": digest_id(rule, channel, period),
        "digest": True,
        "rule": rule,
        "period": {
            "start": period.start.isoformat() if period.start else None,
            "end": period.end.isoformat(),
        },
        "count": len(bodies),
        "stories": len(digest_stories(bodies)),
        "alerts": [dict(b) for b in bodies],
    }


# -- when messages leave -------------------------------------------------------------


def in_quiet(moment: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> bool:
    """Whether ``moment`` (aware) falls in the quiet hours, read in ``zone``."""
    if quiet is None or quiet.start == quiet.end:
        return False
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def quiet_end(moment: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``moment`` outside the quiet hours (``moment``
    itself when it is not quiet)."""
    if not in_quiet(moment, quiet, zone):
        return moment
    assert quiet is not None
    local = moment.astimezone(zone)
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(moment.tzinfo or UTC)


def period_boundary(moment: datetime, every: Digest, zone: ZoneInfo, daily_at: time) -> datetime:
    """The latest digest boundary at or before ``moment``: the full hour, or the day's
    ``daily_at`` (local time in ``zone``); returned in UTC."""
    local = moment.astimezone(zone)
    if every == "hourly":
        boundary = local.replace(minute=0, second=0, microsecond=0)
    elif every == "daily":
        boundary = datetime.combine(local.date(), daily_at, tzinfo=zone)
        if boundary > local:
            boundary = datetime.combine(local.date() - timedelta(days=1), daily_at, tzinfo=zone)
    else:
        raise ValueError(f"{every!r} has no period")
    return boundary.astimezone(UTC)


def digest_due(
    now: datetime,
    last: datetime | None,
    every: Digest,
    zone: ZoneInfo,
    daily_at: time,
    quiet: QuietHours | None,
) -> datetime | None:
    """The boundary a digest closes at ``now``, or ``None`` when none is due.

    ``last`` is the boundary of the previous digest (``None``: the rule is new, so the
    first period starts now and nothing is due). A boundary passed in quiet hours
    waits for their end; the boundaries missed meanwhile make one digest, not several.
    """
    if last is None or in_quiet(now, quiet, zone):
        return None
    boundary = period_boundary(now, every, zone, daily_at)
    return boundary if boundary > last else None
