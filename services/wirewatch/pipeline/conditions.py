"""Alert conditions beyond the match of one article: query rules, silences, trends.

Pure functions over an article (and, for trends, a ``History`` port):

- ``query_matches(query, article)``: the search syntax of ``wirewatch search`` evaluated
  on one article, as the SQLite and Elasticsearch renderings evaluate it on a store
  (stems in title and body, folded phrases and prefixes, the filters);
- ``silenced(rule, article, events, silences)``: the silence that mutes this firing;
- ``group(rule, article, events, history, at)``: what the rule alerts once about - the
  article's story for a plain, query or first-seen rule, ``kind:target:period`` for a
  frequency or spike rule - or None when its condition does not hold;
- ``rule_problems(rules, source)``: what ``rules check`` and ``run --rules`` refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from wirewatch import search
from wirewatch.core import stories
from wirewatch.core.alerts import AlertRule
from wirewatch.core.models import EnrichedArticle, PolicyEvent
from wirewatch.pipeline.ports import History, Silence

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- query rules -----------------------------------------------------------------------
def _node_matches(node: search.Node, stems: set[str], parts: list[list[str]]) -> bool:
    """``parts``: the folded words of the title and of the body (a phrase does not run
    from one into the other)."""
    if isinstance(node, search.Word):
        return any(s in stems for s in node.stems)
    if isinstance(node, search.Prefix):
        return any(w.startswith(node.prefix) for words in parts for w in words)
    if isinstance(node, search.Phrase):
        n = len(node.words)
        return any(
            tuple(words[i : i + n]) == node.words
            for words in parts
            for i in range(len(words) - n + 1)
        )
    if isinstance(node, search.And):
        return all(_node_matches(i, stems, parts) for i in node.items)
    if isinstance(node, search.Or):
        return any(_node_matches(i, stems, parts) for i in node.items)
    return not _node_matches(node.item, stems, parts)


def _filter_matches(f: search.Filter, article: EnrichedArticle) -> bool:
    if f.field in ("since", "until"):
        if article.published is None:
            return False
        return article.published >= f.bound if f.field == "since" else article.published < f.bound
    if f.field == "vendor":
        hit = bool({v.lower() for v in f.values} & {v.lower() for v in article.entities.vendors})
    elif f.field == "country":
        hit = bool(set(f.values) & set(article.entities.countries))
    elif f.field == "lang":
        hit = article.language in f.values
    elif f.field == "type":
        hit = any(e.type in f.values for e in article.events)
    else:
        hit = any(e.status in f.values for e in article.events)
    return hit != f.negated


def query_matches(query: search.Query, article: EnrichedArticle) -> bool:
    """Whether ``article`` is among the hits of ``query`` (``wirewatch.search`` syntax).
    Positive type and status filters must hold for one same event, as in the store."""
    kinds = [f for f in query.filters if f.field in ("type", "status") and not f.negated]
    if kinds and not any(
        all((e.type if f.field == "type" else e.status) in f.values for f in kinds)
        for e in article.events
    ):
        return False
    for f in query.filters:
        if f in kinds:
            continue
        if not _filter_matches(f, article):
            return False
    if query.text is None:
        return True
    title = search.analyse(article.title or "", article.language)
    body = search.analyse(article.body, article.language)
    stems = set(title.stems.split()) | set(body.stems.split())
    return _node_matches(query.text, stems, [title.words.split(), body.words.split()])


# -- silences --------------------------------------------------------------------------
def silence_target(text: str) -> str:
    """``rule:NAME`` for a bare rule name; ``vendor:X`` and ``country:XX`` as given
    (country upper-cased). Raises ``ValueError`` for another ``field:``."""
    field, sep, value = text.partition(":")
    if not sep:
        return f"rule:{text}"
    if field not in ("rule", "vendor", "country") or not value:
        raise ValueError(f"{text!r}: mute a rule (NAME), vendor:NAME or country:CODE")
    return f"country:{value.upper()}" if field == "country" else f"{field}:{value}"


def silenced(
    rule: AlertRule,
    article: EnrichedArticle,
    events: Sequence[PolicyEvent],
    silences: Sequence[Silence],
    now: datetime,
) -> Silence | None:
    """The first silence still running at ``now`` that mutes this firing: one on the
    rule, on a vendor the events target (or the article names), or on a country acting
    in them (or named by the article)."""
    vendors = {v.lower() for e in events for v in e.targets} | {
        v.lower() for v in article.entities.vendors
    }
    countries = {a for e in events for a in e.actors if len(a) == 2} | set(
        article.entities.countries
    )
    for s in silences:
        if s.until <= now:
            continue
        field, _, value = s.target.partition(":")
        if (
            (field == "rule" and value == rule.name)
            or (field == "vendor" and value.lower() in vendors)
            or (field == "country" and value.upper() in countries)
        ):
            return s
    return None


# -- trends and first sightings --------------------------------------------------------
def _targets(rule: AlertRule, article: EnrichedArticle, events: Sequence[PolicyEvent]) -> list[str]:
    """The targets (``vendor:X``, ``operator:X``, ``country:XX``) the matched events are
    about, from their story keys."""
    only = article.model_copy(update={"events": list(events)})
    return sorted({k.split("|", 1)[1] for k in stories.keys(only)})


def _period(at: datetime, within: timedelta) -> str:
    start = EPOCH + ((at - EPOCH) // within) * within
    return start.isoformat(timespec="minutes").replace("+00:00", "Z")


def group(
    rule: AlertRule,
    article: EnrichedArticle,
    events: Sequence[PolicyEvent],
    history: History | None,
    at: datetime,
    live: bool = True,
) -> str | None:
    """What ``rule`` alerts once about for this firing, or None when its trend or
    first-seen condition does not hold. ``at`` is the article's moment; ``live`` False
    (a backtest) counts only what came before ``at`` for first sightings."""
    story = article.story_id or article.id
    if rule.kind == "match" or history is None:
        return story if rule.kind == "match" else None
    if rule.first_seen:
        own = {story}
        for kind in rule.first_seen:
            for ev in events:
                names = ev.targets if kind == "vendor" else [a for a in ev.actors if len(a) == 2]
                for name in names:
                    seen = history.story_ids(
                        [f"{kind}:{name}"], None, None if live else at - timedelta(microseconds=1)
                    )
                    if not seen - own:
                        return story
        return None
    trend = rule.frequency or rule.spike
    assert trend is not None
    for target in _targets(rule, article, events):
        keys = [f"{t}|{target}" for t in rule.events]
        recent = history.story_ids(keys, at - trend.within, at)
        if rule.frequency is not None:
            if len(recent) >= rule.frequency.at_least:
                return f"frequency:{target}:{_period(at, trend.within)}"
            continue
        spike = rule.spike
        assert spike is not None
        before = history.story_ids(
            keys, at - trend.within - spike.baseline, at - trend.within - timedelta(microseconds=1)
        )
        expected = len(before - recent) * (trend.within / spike.baseline)
        if len(recent) >= spike.at_least and len(recent) >= spike.factor * expected:
            return f"spike:{target}:{_period(at, trend.within)}"
    return None


# -- validation ------------------------------------------------------------------------
def rule_problems(rules: Sequence[AlertRule], source: str) -> list[str]:
    """Why rules cannot run (empty: they can): a query that does not parse, a spike
    whose baseline is not longer than its window. Each names the file and the rule."""
    problems = []
    for r in rules:
        if r.query is not None:
            try:
                search.parse(r.query)
            except search.QueryError as exc:
                problems.append(f"{source}: rule {r.name!r}: query: {exc}")
        if r.spike is not None and r.spike.baseline <= r.spike.within:
            problems.append(
                f"{source}: rule {r.name!r}: spike: baseline ({r.spike.baseline}) must be "
                f"longer than within ({r.spike.within})"
            )
    return problems
