"""Alert rules: which new policy events someone wants to hear about.

Contract: ``load_rules(text, source)`` returns validated rules or raises
``RuleFileError`` whose message names the file, the rule and the field.
``match(rule, article)`` returns the article's events that satisfy the rule (empty
when it does not fire). Firing once per (rule, article) is the caller's job (the
store remembers what fired). ``webhook_refusal(url, allowed_hosts)`` says why a
webhook may not be posted (``None``: it may) and ``webhook_problems(...)`` collects
that for a whole rules file; both name a target by its origin only, never its path
or query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import yamlio
from .channels import CHANNEL_PREFIX, Digest, channel_name
from .models import EnrichedArticle, EventStatus, EventType, PolicyEvent


class RuleFileError(ValueError):
    """A rules file is invalid; the message says where and what to change."""


class Notify(BaseModel):
    """One notify entry of a rule: ``{webhook: URL}``, ``{log: true}`` or ``{channel: NAME}``
    (a channel declared in the channels file), the latter with ``digest: hourly|daily``
    for one message per period instead of one per alert."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str | None = Field(default=None, alias="webhook")
    log: bool | None = None
    channel: str | None = Field(default=None, min_length=1, max_length=100)
    digest: Digest = "immediate"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            webhook_target(v)  # the message names no path or query: they often hold tokens
        return v

    @model_validator(mode="after")
    def _one(self) -> Notify:
        if sum(x is not None for x in (self.url, self.log, self.channel)) != 1:
            raise ValueError(
                "each notify entry is one of {webhook: URL}, {log: true} or {channel: NAME}"
            )
        if self.digest != "immediate" and self.channel is None:
            raise ValueError(
                "digest: hourly/daily goes with a channel: {channel: NAME, digest: daily}"
            )
        return self

    @property
    def webhook(self) -> str | None:
        """The target of an immediate delivery: the webhook URL, or ``channel:NAME``;
        ``None`` for a log line and for digests (sent per period from the store)."""
        if self.url is not None:
            return self.url
        if self.channel is not None and self.digest == "immediate":
            return CHANNEL_PREFIX + self.channel
        return None


DEFAULT_MIN_RELEVANCE = 0.3

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | timedelta) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``2w`` or seconds as a number; raises
    ``ValueError`` for anything else, or for a duration that is not positive."""
    if isinstance(text, timedelta):
        value = text
    elif isinstance(text, int | float):
        value = timedelta(seconds=text)
    else:
        m = _DURATION.fullmatch(str(text).strip().lower())
        if not m:
            raise ValueError(f"{text!r} is not a duration such as 30m, 2h, 7d or 2w")
        value = timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    if value <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration")
    return value


class _Trend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    within: timedelta = timedelta(days=1)

    @field_validator("within", "baseline", mode="before", check_fields=False)
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)


class Frequency(_Trend):
    """At least ``at_least`` stories with an event of the rule's types about one target
    (vendor, operator or country) within ``within``."""

    at_least: int = Field(ge=2)


class Spike(_Trend):
    """Such stories within ``within`` at ``factor`` times the rate of the trailing
    ``baseline`` before it (and at least ``at_least`` of them)."""

    factor: float = Field(default=3.0, gt=1.0)
    baseline: timedelta = timedelta(days=30)
    at_least: int = Field(default=2, ge=1)


def _reported_only() -> list[EventStatus]:
    return ["reported"]


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    events: list[EventType] = Field(min_length=1)
    statuses: list[EventStatus] = Field(default_factory=_reported_only)
    vendors: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    # How much the article must be about technology policy; the default keeps
    # articles that only mention technology in passing from alerting.
    min_relevance: float = Field(default=DEFAULT_MIN_RELEVANCE, ge=0.0, le=1.0)
    notify: list[Notify] = Field(default_factory=lambda: [Notify(log=True)])
    # conditions beyond the match of one article (wirewatch.pipeline.conditions): the
    # search syntax of ``wirewatch search``, a trend over stories, or a first sighting
    query: str | None = Field(default=None, min_length=1)
    frequency: Frequency | None = None
    spike: Spike | None = None
    first_seen: list[Literal["vendor", "country"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> AlertRule:
        kinds = [k for k in ("frequency", "spike", "first_seen") if getattr(self, k)]
        if len(kinds) > 1:
            raise ValueError(f"a rule is one of frequency, spike or first_seen, not {kinds}")
        return self

    @property
    def kind(self) -> str:
        """match, frequency, spike or first_seen."""
        if self.frequency:
            return "frequency"
        if self.spike:
            return "spike"
        return "first_seen" if self.first_seen else "match"

    @field_validator("countries")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            code = str(code).upper()
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code (or EU)")
            out.append(code)
        return out


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[AlertRule]


def load_rules(text: str, source: str) -> list[AlertRule]:
    parsed = yamlio.load_list_file(
        text, source, RuleFile, "rules", "rule", ("name",), RuleFileError
    )
    names = [r.name for r in parsed.rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuleFileError(f"{source}: rule names must be unique; repeated: {', '.join(dupes)}")
    return parsed.rules


def match(rule: AlertRule, article: EnrichedArticle) -> list[PolicyEvent]:
    """The events of ``article`` that make ``rule`` fire (empty: it does not)."""
    if rule.languages and article.language not in rule.languages:
        return []
    if article.relevance < rule.min_relevance:
        return []
    vendors = {v.lower() for v in rule.vendors}
    countries = set(rule.countries)
    out = []
    for ev in article.events:
        if ev.type not in rule.events or ev.status not in rule.statuses:
            continue
        if ev.confidence < rule.min_confidence:
            continue
        if vendors and not vendors & {v.lower() for v in (ev.targets or article.entities.vendors)}:
            continue
        if countries and not countries & (
            {a for a in ev.actors if len(a) == 2} | set(article.entities.countries)
        ):
            continue
        out.append(ev)
    return out


def explain(
    rules: Sequence[AlertRule], article: EnrichedArticle
) -> list[tuple[str, list[PolicyEvent]]]:
    """(rule name, matching events) for every rule that fires on ``article``."""
    return [(r.name, evs) for r in rules if (evs := match(r, article))]


def alert_id(rule_name: str, article_id: str) -> str:
    return f"{rule_name}:{article_id}"


def payload(
    rule: AlertRule, article: EnrichedArticle, events: Sequence[PolicyEvent]
) -> dict[str, Any]:
    """The JSON body of an alert (webhook, log, alerts topic/index): ``AlertMessage`` fields."""
    return {
        "alert_id": alert_id(rule.name, article.id),
        "rule": rule.name,
        "article_id": article.id,
        "title": article.title,
        "language": article.language,
        "published": article.published,
        "source": article.source.path,
        "vendors": list(article.entities.vendors),
        "countries": list(article.entities.countries),
        "event_types": sorted({e.type for e in events}),
        "events": [e.model_dump() for e in events],
        "lookup": f"wirewatch show {article.id}",
    }


# -- webhook targets ------------------------------------------------------------------
# Webhook paths and queries often carry the receiver's token, so nothing here puts
# them in a message: a target is named by its origin (scheme://host:port) only.

ALLOWED_HOSTS_SETTING = "WIREWATCH_WEBHOOKS__ALLOWED_HOSTS"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookTarget(NamedTuple):
    """The origin a webhook URL posts to; ``str()`` is ``scheme://host:port``."""

    scheme: str
    host: str
    port: int

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.hostport}"


def webhook_target(url: str) -> WebhookTarget:
    """The origin of an absolute http(s) URL (host lower-cased, default port filled in).

    Raises ``ValueError`` for another scheme, no host, or a port outside 1-65535; the
    message never contains the URL's path or query.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL (scheme {scheme or 'missing'!r})")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("not an http(s) URL (no host)")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise ValueError(f"the port of host {host!r} is not a number in 1-65535")
    return WebhookTarget(scheme, host, port)


def webhook_origin(url: str) -> str:
    """``scheme://host:port`` of a webhook URL for logs and listings (never its path or
    query, which often carry tokens); a declared channel as ``channel NAME``."""
    name = channel_name(url)
    if name is not None:
        return f"channel {name}"
    try:
        return str(webhook_target(url))
    except ValueError:
        return "(invalid webhook URL)"


def has_credentials(url: str) -> bool:
    """Whether the URL carries ``user[:password]@`` before its host."""
    return "@" in urlsplit(url.strip()).netloc


def allowed_host_entry(entry: str) -> tuple[str, int | None]:
    """``host`` (every port) or ``host:port`` (one port) of an allow-list entry.

    IPv6 addresses are written bare (``::1``) or in brackets (``[::1]:8080``). Raises
    ``ValueError`` for a URL, an empty host or a port that is not a number in 1-65535.
    """
    text = entry.strip().lower()
    if "/" in text or "@" in text:
        raise ValueError(f"{entry!r} is not host or host:port (write the host, not a URL)")
    host, port = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r} is not [IPv6] or [IPv6]:port")
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    host = host.rstrip(".")
    if not host:
        raise ValueError(f"{entry!r} has no host")
    if not port:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{entry!r}: the port is not a number in 1-65535")
    return host, int(port)


def host_allowed(target: WebhookTarget, allowed_hosts: Sequence[str]) -> bool:
    """Whether an allow-list entry names ``target``'s host (and its port, if it gives one)."""
    for entry in allowed_hosts:
        try:
            host, port = allowed_host_entry(entry)
        except ValueError:
            continue
        if host == target.host and port in (None, target.port):
            return True
    return False


def webhook_refusal(url: str, allowed_hosts: Sequence[str]) -> str | None:
    """Why ``url`` may not be posted to (``None``: it may): not http(s), credentials in
    the URL, or a host (and port) missing from ``allowed_hosts``. Names only the origin.
    """
    try:
        target = webhook_target(url)
    except ValueError as exc:
        return f"the webhook URL is {exc}" if str(exc).startswith("not") else str(exc)
    if has_credentials(url):
        return (
            f"the webhook URL for {target} carries credentials (user:password@); remove "
            "them: receivers authenticate wirewatch by the X-Wirewatch-Signature-256 header"
        )
    if not host_allowed(target, allowed_hosts):
        return (
            f"host {target.hostport} is not allowed; add it to {ALLOWED_HOSTS_SETTING} "
            f"(comma-separated host or host:port entries, e.g. {target.hostport})"
        )
    return None


def webhook_problems(
    rules: Sequence[AlertRule], source: str, allowed_hosts: Sequence[str], signed: bool
) -> list[str]:
    """Everything that forbids posting the webhooks of ``rules`` (empty: nothing does).

    ``source`` names the rules file; ``signed`` says whether a signing secret is set.
    Each problem names the file, the rule and the target's origin, and what to do.
    """
    users = [r.name for r in rules if any(n.url for n in r.notify)]
    if not users:
        return []
    problems = []
    for entry in allowed_hosts:
        try:
            allowed_host_entry(entry)
        except ValueError as exc:
            problems.append(f"{ALLOWED_HOSTS_SETTING}: {exc}")
    for rule in rules:
        for n in rule.notify:
            reason = webhook_refusal(n.url, allowed_hosts) if n.url else None
            if reason is not None:
                problems.append(f"{source}: rule {rule.name!r}: {reason}")
    if not signed:
        problems.append(
            f"{source}: rule(s) {', '.join(map(repr, users))} post webhooks, but no signing "
            "secret is set; set WIREWATCH_WEBHOOKS__SECRET (or WIREWATCH_WEBHOOKS__SECRET_FILE) "
            "and give the same secret to the receiver"
        )
    return problems


def channel_problems(rules: Sequence[AlertRule], source: str, declared: Sequence[str]) -> list[str]:
    """Every ``{channel: NAME}`` of ``rules`` that names no declared channel, with the
    file, the rule, the name and the closest declared name when one is close."""
    import difflib

    problems = []
    for rule in rules:
        for n in rule.notify:
            if n.channel is None or n.channel in declared:
                continue
            close = difflib.get_close_matches(n.channel, list(declared), n=1, cutoff=0.6)
            hint = f" - did you mean {close[0]!r}?" if close else ""
            known = (
                f"declared: {', '.join(sorted(declared))}"
                if declared
                else "no channels are declared; set WIREWATCH_WEBHOOKS__CHANNELS_FILE"
            )
            problems.append(
                f"{source}: rule {rule.name!r}: unknown channel {n.channel!r}{hint} ({known})"
            )
    return problems
