"""Alert conditions beyond the match of one article: query rules, silences, trends.

Pure functions over an article (and, for trends, a ``History`` port):

- ``query_matches(query, article)``: the search syntax of ``wirewatch search`` evaluated
  on one article, as the SQLite and Elasticsearch renderings evaluate it on a store
  (stems in title and body, folded phrases and prefixes, the filters);
- ``silenced(rule, article, events, silences)``: the silence that mutes this firing;
- ``group(rule, article, events, history, at)``: what the rule alerts once about - the
  article's story for a plain, query or first-seen rule, ``kind:target`` for a
  frequency or spike rule - or None when its condition does not hold. Trend rules count
  stories in sliding windows ending at the article's moment (``recent``, ``baseline``)
  and alert once per episode of a target (``episode``): a firing less than the window
  away from the start of an earlier episode is an update of it;
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


# ES keeps dates to the millisecond: a window open at one end is shifted by this much,
# so the stores agree on which moments are in it
TICK = timedelta(milliseconds=1)


def recent(history: History, keys: Sequence[str], at: datetime, within: timedelta) -> set[str]:
    """Stories with an event of ``keys`` in the sliding window (at - within, at]: what
    a trend rule counts for the firing at ``at``."""
    return history.story_ids(keys, at - within + TICK, at)


def baseline_windows(within: timedelta, baseline: timedelta) -> int:
    """How many whole windows of ``within`` the trailing ``baseline`` holds (at least 1)."""
    return max(1, baseline // within)


def baseline(
    history: History, keys: Sequence[str], at: datetime, within: timedelta, span: timedelta
) -> tuple[set[str], int]:
    """Stories in the trailing baseline before the window (at - within) - ``n`` windows
    of ``within`` each, (at - (n + 1) * within, at - within] - and ``n``."""
    n = baseline_windows(within, span)
    return history.story_ids(keys, at - (n + 1) * within + TICK, at - within), n


def is_spike(
    recent_count: int, baseline_count: int, windows: int, factor: float, at_least: int
) -> bool:
    """``recent_count`` stories in the window against ``baseline_count`` in ``windows``
    trailing windows of the same length: at least ``at_least``, and at least ``factor``
    times the baseline's mean per window. A zero baseline makes any ``at_least`` a spike."""
    expected = baseline_count / windows
    return recent_count >= at_least and recent_count >= factor * expected


# -- episodes: what a trend rule alerts once about ------------------------------------------
def episode_key(base: str, start: datetime) -> str:
    """``kind:target:START``: the group of a trend episode that began at ``start``."""
    return f"{base}:" + start.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def episode_start(base: str, key: str) -> datetime | None:
    """The start of the episode ``key`` (None: not an episode of ``base``)."""
    if not key.startswith(base + ":"):
        return None
    text = key[len(base) + 1 :].replace("Z", "+00:00")
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        return None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def episode(starts: Sequence[datetime], at: datetime, within: timedelta) -> datetime | None:
    """The start of the episode a trend firing at ``at`` belongs to: the nearest of
    ``starts`` less than ``within`` away (before or after: articles may come late);
    None when there is none and the firing opens an episode of its own."""
    near = [s for s in starts if abs(at - s) < within]
    return min(near, key=lambda s: (abs(at - s), s)) if near else None


def trend_window(rule: AlertRule) -> timedelta | None:
    """The window of a frequency or spike rule (None for the other kinds)."""
    trend = rule.frequency or rule.spike
    return trend.within if trend is not None else None


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
    (a backtest) counts only what came before ``at`` for first sightings.

    A frequency or spike rule answers ``kind:target`` (without a period): the caller
    places the firing in an episode of that target (``episode``)."""
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
        now = recent(history, keys, at, trend.within)
        if rule.frequency is not None:
            if len(now) >= rule.frequency.at_least:
                return f"frequency:{target}"
            continue
        spike = rule.spike
        assert spike is not None
        before, windows = baseline(history, keys, at, trend.within, spike.baseline)
        if is_spike(len(now), len(before - now), windows, spike.factor, spike.at_least):
            return f"spike:{target}"
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
