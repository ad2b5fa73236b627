"""``wirewatch stories``, ``wirewatch alerts mute|silences`` and the backtest of
``wirewatch rules test RULES --since ... --until ...`` (embedded store)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from wirewatch.cli.output import write_csv


def _date_bound(name: str, value: str | None) -> str | None:
    """``--since``/``--until`` as the search syntax takes them; ``until`` inclusive."""
    if value is None:
        return None
    from wirewatch import search

    try:
        search.parse(f"{name}:{value}")
    except search.QueryError as exc:
        raise SystemExit(f"wirewatch: --{name}: {exc}") from None
    return search.Filter(name, (value,)).bound


def cmd_stories(args: SimpleNamespace, store: Any, table: Any) -> int:
    if args.story:
        articles = store.story_articles(args.story)
        if not articles:
            raise SystemExit(f"wirewatch: no story {args.story!r}; `wirewatch stories` lists them")
        if args.json:
            for a in articles:
                print(json.dumps({"story_id": args.story, **_brief(a)}, ensure_ascii=False))
            return 0
        if args.csv:
            columns = ["story_id", "article_id", "language", "published", "events"]
            columns += ["source", "title"]
            briefs = ({"story_id": args.story, **_brief(a)} for a in articles)
            write_csv(columns, ([b[c] for c in columns] for b in briefs))
            return 0
        rows = [
            [
                a.id,
                a.language,
                a.published or "-",
                ",".join(sorted({e.type for e in a.events})) or "-",
                a.source.path,
                a.title or "",
            ]
            for a in articles
        ]
        print(table(rows, ["article", "lang", "published", "events", "source", "title"]))
        print(f"story {args.story}: {len(articles)} article(s)")
        return 0
    found = store.stories(args.limit, _date_bound("since", args.since), args.min_articles)
    if args.json:
        for s in found:
            print(json.dumps(s.__dict__, ensure_ascii=False))
        return 0
    if args.csv:
        columns = ["id", "articles", "languages", "first_seen", "last_seen", "event_types"]
        columns += ["title"]
        write_csv(columns, ([getattr(s, c) for c in columns] for s in found))
        return 0
    rows = [
        [
            s.id,
            str(s.articles),
            ",".join(s.languages),
            s.first_seen or "-",
            s.last_seen or "-",
            ",".join(s.event_types) or "-",
            s.title or "",
        ]
        for s in found
    ]
    print(table(rows, ["story", "articles", "languages", "first", "last", "events", "title"]))
    total, stories = store.story_counts()
    print(f"{len(found)} story(ies) shown; {total} article(s) in {stories} story(ies)")
    return 0


def _brief(a: Any) -> dict[str, Any]:
    return {
        "article_id": a.id,
        "language": a.language,
        "published": a.published,
        "title": a.title,
        "source": a.source.path,
        "events": sorted({e.type for e in a.events}),
    }


def cmd_mute(args: SimpleNamespace, store: Any) -> int:
    from wirewatch.core.alerts import parse_duration

    if not args.target or not args.duration:
        raise SystemExit(
            "wirewatch: alerts mute RULE|vendor:NAME|country:CODE --for DURATION (e.g. 2h)"
        )
    try:
        until = datetime.now(UTC) + parse_duration(args.duration)
    except ValueError as exc:
        raise SystemExit(f"wirewatch: alerts mute: {exc}") from None
    target = _checked_target(args.target, "mute")
    store.add_silence(target, until, args.reason)
    print(f"muted {target} until {until.isoformat(timespec='minutes')}")
    return 0


def _checked_target(text: str, action: str) -> str:
    """A silence target as stored: ``RULE``, ``vendor:NAME`` or ``country:CODE`` with the
    vendor's and country's names as the gazetteer spells them (a suggestion if unknown)."""
    from wirewatch.pipeline.conditions import silence_target

    try:
        target = silence_target(text)
    except ValueError as exc:
        raise SystemExit(f"wirewatch: alerts {action}: {exc}") from None
    field, _, value = target.partition(":")
    if field in ("vendor", "country"):
        from wirewatch.cli.main import _vocabulary
        from wirewatch.vocab import UnknownValue

        vocab = _vocabulary()
        try:
            value = vocab.name("vendors", value) if field == "vendor" else vocab.country(value)
        except UnknownValue as exc:
            raise SystemExit(f"wirewatch: alerts {action}: {exc}") from None
        target = f"{field}:{value}"
    return target


def silence_book(args: SimpleNamespace, sqlite: Callable[[], Any]) -> Any:
    """Where silences are kept: with ``--es URL`` the silences index the distributed
    indexer reads (``WIREWATCH_NAMESPACE`` and ``WIREWATCH_ES__*`` as the indexer takes
    them), else the embedded store (``sqlite()`` opens it)."""
    if not getattr(args, "es", None):
        return sqlite()
    from wirewatch.cli.distributed import installed_sink
    from wirewatch.indexer.silences import EsSilenceStore
    from wirewatch.settings import IndexerSettings
    from wirewatch.settings import build as build_settings

    settings = build_settings(IndexerSettings)
    settings.es.url = args.es
    sink, _installed = installed_sink(settings, retries=3)
    return EsSilenceStore(sink)


def cmd_unmute(args: SimpleNamespace, store: Any) -> int:
    target = _checked_target(args.target, "unmute")
    ended = store.expire_silence(target)
    print(f"ended {ended} silence(s) of {target}" if ended else f"no silence of {target} ran")
    return 0


def cmd_silences(args: SimpleNamespace, store: Any, table: Any) -> int:
    now = datetime.now(UTC)
    rows = store.silences(now)
    if args.json:
        for target, until in rows:
            print(json.dumps({"target": target, "until": until.isoformat()}))
        return 0
    if args.csv:
        write_csv(["target", "until"], ([t, u.isoformat()] for t, u in rows))
        return 0
    print(table([[t, u.isoformat(timespec="minutes")] for t, u in rows], ["muted", "until"]))
    print(f"{len(rows)} silence(s) running")
    return 0


def cmd_backtest(
    args: SimpleNamespace,
    rules: list[Any],
    store: Callable[[], Any],
    table: Any,
    threshold: float,
) -> int:
    """Replay the embedded store (``store()`` opens it), or with ``--es URL`` the
    Elasticsearch index (``WIREWATCH_NAMESPACE`` and ``WIREWATCH_ES__*`` as the indexer
    takes them)."""
    from wirewatch.pipeline.backtest import per_rule_and_day, replay

    since, until = _date_bound("since", args.since), _date_bound("until", args.until)
    if getattr(args, "es", None):
        import threading

        from wirewatch.indexer.ledger import EsStories, articles_between
        from wirewatch.indexer.sink import EsSink, client
        from wirewatch.settings import IndexerSettings
        from wirewatch.settings import build as build_settings

        settings = build_settings(IndexerSettings)
        settings.es.url = args.es
        sink = EsSink(settings, client(settings), threading.Event())
        articles = articles_between(sink, since, until)
        found = replay(rules, articles, EsStories(sink), threshold)
    else:
        from wirewatch.embedded.ledger import SqliteStories

        articles = store().articles_between(since, until)
        found = replay(rules, articles, SqliteStories(store()), threshold)
    if args.json:
        for w in found:
            print(json.dumps({**w.__dict__, "day": w.day.isoformat()}, ensure_ascii=False))
        return 0
    if args.csv:  # one row per alert or update, as --json; the table sums them per day
        from dataclasses import fields

        from wirewatch.pipeline.backtest import Would

        columns = [f.name for f in fields(Would)]
        write_csv(columns, ([getattr(w, c) for c in columns] for w in found))
        return 0
    rows = [[r, d.isoformat(), str(a), str(u)] for r, d, a, u in per_rule_and_day(found)]
    print(table(rows, ["rule", "day", "alerts", "updates"]))
    totals: dict[str, list[int]] = {r.name: [0, 0] for r in rules}
    for w in found:
        totals[w.rule][0 if w.kind == "alert" else 1] += 1
    for name, (a, u) in totals.items():
        print(f"{name}: {a} alert(s), {u} update(s)")
    print(
        f"replayed {len(articles)} stored article(s)"
        + (f" from {args.since}" if args.since else "")
        + (f" until {args.until}" if args.until else "")
        + ": nothing sent, nothing recorded",
        file=sys.stderr,
    )
    return 0


def db_path(args: SimpleNamespace) -> Path:
    return Path(args.db)
