"""Alert rules: which new policy events someone wants to hear about.

Contract: ``load_rules(text, source)`` returns validated rules or raises
``RuleFileError`` whose message names the file, the rule and the field.
``match(rule, article)`` returns the article's events that satisfy the rule (empty
when it does not fire). Firing once per (rule, article) is the caller's job (the
store remembers what fired).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import yamlio
from .models import EnrichedArticle, EventStatus, EventType, PolicyEvent


class RuleFileError(ValueError):
    """A rules file is invalid; the message says where and what to change."""


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: str | None = None
    log: bool | None = None

    @field_validator("webhook")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parsed = urlparse(v)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @model_validator(mode="after")
    def _one(self) -> Notify:
        if (self.webhook is None) == (self.log is None):
            raise ValueError("each notify entry is either {webhook: URL} or {log: true}")
        return self


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
    notify: list[Notify] = Field(default_factory=lambda: [Notify(log=True)])

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


def payload(rule: AlertRule, article: EnrichedArticle, events: Sequence[PolicyEvent]) -> dict:
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
