"""The ``wirewatch`` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click

from wirewatch import __version__
from wirewatch.cli.distributed import add_commands as add_distributed_commands
from wirewatch.cli.help import EXIT_USAGE, decorate, pull_global_options, setup_logging
from wirewatch.cli.help import run_command as _run
from wirewatch.cli.options import (
    DB_HELP,
    NON_NEGATIVE,
    PATH,
    POSITIVE,
    UNIT,
    db_option,
    listing_options,
)
from wirewatch.cli.output import cell as csv_cell
from wirewatch.cli.output import render_table, write_csv
from wirewatch.tools.bench_options import recovery_options, scale_options


def _resources(data_dir: Path | None):
    from wirewatch.core.logic import DATA_DIR, DataError, Resources
    from wirewatch.settings import resources_cache_dir

    _check_data_dir(data_dir)
    try:
        return Resources.load(Path(data_dir) if data_dir else DATA_DIR, resources_cache_dir())
    except DataError as exc:
        raise SystemExit(f"wirewatch: {exc}") from exc


def _enricher(core):
    """The core from its settings (``wirewatch.pipeline.build``), with a one-line error
    for a data directory that is missing or holds a broken file."""
    from wirewatch.core.logic import DataError
    from wirewatch.pipeline.build import enricher

    _check_data_dir(core.data_dir)
    try:
        return enricher(core)
    except DataError as exc:
        raise SystemExit(f"wirewatch: {exc}") from exc


def _check_data_dir(data_dir: Path | None) -> None:
    if data_dir and not Path(data_dir).is_dir():
        raise SystemExit(
            f"wirewatch: {data_dir}: no data directory there; pass --data-dir with a copy of "
            "the bundled rule and gazetteer files (or leave it out to use them)"
        )


def _open_store(path: Path):
    from wirewatch.embedded.store import SqliteStore, StoreError

    try:
        return SqliteStore(path)
    except StoreError as exc:
        raise SystemExit(f"wirewatch: {exc}") from exc


def _open_existing_store(path: Path):
    if not path.exists():
        raise SystemExit(
            f"wirewatch: {path}: no database here yet; run `wirewatch run INBOX --db {path}` first "
            "or pass --db"
        )
    return _open_store(path)


# -- commands --------------------------------------------------------------------
def cmd_run(args: SimpleNamespace) -> int:
    from wirewatch import metrics
    from wirewatch.embedded.runner import EmbeddedRunner
    from wirewatch.settings import EmbeddedSettings
    from wirewatch.settings import build as build_settings

    overrides: dict = {"inbox": args.inbox}
    for name in (
        "db",
        "feeds",
        "feeds_state",
        "rules",
        "metrics_port",
        "metrics_host",
        "workers",
        "poll_interval",
        "settle_seconds",
    ):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.once:
        overrides["once"] = True
    settings = build_settings(EmbeddedSettings, **overrides)
    if args.max_bytes is not None:
        settings.core.max_bytes = args.max_bytes
    from wirewatch.paths import check_database, check_inboxes

    check_inboxes(settings.inbox)
    check_database(settings.db, settings.inbox, "--db")
    if settings.feeds:
        check_database(
            settings.feeds_state_path(), settings.inbox, "--feeds-state", "the feeds state"
        )
    rules = _load_rules(settings.rules) if settings.rules else []
    if rules:
        from wirewatch.embedded.notify import check_webhooks

        check_webhooks(rules, settings.rules, settings.webhooks, digests=True)
    enricher = _enricher(settings.core)
    store = _open_store(settings.db)
    stop = threading.Event()
    notifier = None
    digests = None
    if any(n.webhook or n.channel for r in rules for n in r.notify):
        from wirewatch.embedded.digests import DigestScheduler, SqliteDigests, digest_plans
        from wirewatch.embedded.notify import WebhookNotifier

        notifier = WebhookNotifier(store, settings.webhooks)
        notifier.start()
        if digest_plans(rules):
            digests = DigestScheduler(SqliteDigests(store), rules, notifier).start()
    feeds = _feed_poller(settings) if settings.feeds else None
    runner = EmbeddedRunner(settings, store, enricher, stop, rules, notifier, feeds)

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("wirewatch.run").info(
            "%s received: finishing the current batch and stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = None
    metrics.init_series("run")
    if settings.metrics_port:
        try:
            server = metrics.serve(
                settings.metrics_host, settings.metrics_port, runner.ready.is_set
            )
            logging.getLogger("wirewatch.run").info(
                "metrics on http://%s:%d/metrics (also /healthz, /readyz)",
                settings.metrics_host,
                settings.metrics_port,
            )
        except OSError as exc:
            logging.getLogger("wirewatch.run").warning(
                "metrics endpoint not started: %s:%d is not available (%s); pass --metrics-port "
                "with a free port, or 0 to disable",
                settings.metrics_host,
                settings.metrics_port,
                exc,
            )
    ui = _start_ui(settings.db, args.ui_port, rules, settings.rules) if args.ui else None
    mode = "once over" if settings.once else "watching"
    logging.getLogger("wirewatch.run").info(
        "%s %s -> %s (Ctrl-C to stop)", mode, ", ".join(map(str, settings.inbox)), settings.db
    )
    if feeds is not None:
        logging.getLogger("wirewatch.run").info(
            "polling %d feed(s) from %s (state %s)",
            len(feeds.feeds),
            settings.feeds,
            settings.feeds_state_path(),
        )
    end_progress = _backlog_progress(runner) if sys.stderr.isatty() else None
    try:
        summary = runner.run()
    finally:
        if end_progress is not None:
            end_progress()
        if ui is not None:
            ui.stop()
        if server is not None:
            server.shutdown()
        if digests is not None:
            digests.close()
        if notifier is not None:
            notifier.close()
        if feeds is not None:
            feeds.state.close()
    counts = store.counts()
    store.close()
    print(summary.line(alerting=bool(rules)))
    if feeds is not None:
        print(f"feeds: {summary.feed_items} new item(s) from {len(feeds.feeds)} feed(s)")
    for path, reason in summary.rejected_paths[:20]:
        print(f"  rejected {path}: {reason}")
    if len(summary.rejected_paths) > 20:
        print(
            f"  ... and {len(summary.rejected_paths) - 20} more (wirewatch rejected --db {settings.db})"
        )
    print(
        f"database {settings.db}: {counts['articles']} articles, {counts['events']} events, "
        f"{counts['rejected']} rejected files. Try: wirewatch events --db {settings.db}"
    )
    return 0


def _backlog_progress(runner) -> Callable[[], None]:
    """A progress bar over the files already in the inbox when ``run`` starts (stderr, a
    terminal), until they are done or the returned function is called; a handful of
    files get none."""
    done = threading.Event()

    def show() -> None:
        from wirewatch.cli.output import Progress

        while not done.wait(0.25):
            processed, total, listed = runner.backlog()
            if listed and total < 200:
                return
            if total:
                break
        else:
            return
        with Progress("backlog", None) as progress:
            while not done.wait(0.25):
                processed, total, listed = runner.backlog()
                label = "backlog" if listed else "backlog (still listing)"
                progress.update(processed, total if listed else None, label)
                if listed and processed >= total:
                    return

    thread = threading.Thread(target=show, name="progress", daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join(timeout=2)

    return stop


def _start_ui(db: Path, port: int, rules: list, rules_path: Path | None):
    """``run --ui``: the web UI on a thread of this process (loopback), or None if the port
    is taken (the pipeline runs on)."""
    from wirewatch.ui.server import Background, PortUnavailable

    try:
        ui = Background(db, "127.0.0.1", port, rules, rules_path).start()
    except PortUnavailable as exc:
        logging.getLogger("wirewatch.run").warning("web UI not started: %s", exc)
        return None
    logging.getLogger("wirewatch.run").info("web UI on %s", ui.url)
    return ui


def cmd_ui(args: SimpleNamespace) -> int:
    from wirewatch.ui.server import PortUnavailable, serve_forever

    rules = _load_rules(args.rules) if args.rules else None
    try:
        serve_forever(args.db, args.host, args.port, rules, args.rules)
    except PortUnavailable as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 2
    return 0


def _load_feeds(path: Path):
    from wirewatch.feeds.config import FeedFileError, read_feeds

    try:
        return read_feeds(path)
    except FeedFileError as exc:
        raise SystemExit(f"wirewatch: invalid feeds file:\n{exc}") from exc


def _feed_poller(settings):
    from wirewatch.feeds.poller import FeedPoller, FeedState

    feeds = _load_feeds(settings.feeds)
    return FeedPoller(
        feeds,
        FeedState(settings.feeds_state_path()),
        timeout=settings.feed_timeout,
        max_bytes=settings.feed_max_bytes,
    )


def _load_rules(path: Path):
    from wirewatch.core.alerts import RuleFileError, load_rules

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(
            f"wirewatch: {path}: cannot read the rules file ({exc.strerror or exc})"
        ) from exc
    try:
        rules = load_rules(text, str(path))
    except RuleFileError as exc:
        raise SystemExit(f"wirewatch: invalid alert rules:\n{exc}") from exc
    from wirewatch.pipeline.conditions import rule_problems

    if problems := rule_problems(rules, str(path)) + _vocabulary_problems(rules, path):
        raise SystemExit("wirewatch: invalid alert rules:\n" + "\n".join(problems))
    return rules


def _vocabulary_problems(rules: list, path: Path) -> list[str]:
    """Vendors, countries and languages a rule names that no gazetteer knows: such a rule
    would never fire, so every command that loads rules refuses it (with a suggestion)."""
    from wirewatch.vocab import UnknownValue

    if not any(r.vendors or r.countries or r.languages for r in rules):
        return []
    vocab = _vocabulary()
    problems = []
    for r in rules:
        checks = [
            *((vocab.name, "vendors", v) for v in r.vendors),
            *((lambda _k, v: vocab.country(v), "countries", c) for c in r.countries),
            *((lambda _k, v: vocab.language(v), "languages", x) for x in r.languages),
        ]
        for check, kind, value in checks:
            try:
                check(kind, value)
            except UnknownValue as exc:
                problems.append(f"{path}: rule {r.name!r}: {kind}: {exc}")
    return problems


def cmd_alerts(args: SimpleNamespace) -> int:
    store = _open_existing_store(args.db)
    rows = store.alerts(args.limit)
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return 0
    if args.csv:
        write_csv(
            ["fired_at", "rule", "article_id", "events", "deliveries", "title", "alert_id"],
            (
                [
                    r["fired_at"],
                    r["rule"],
                    r["article_id"],
                    [f"{e['type']}:{e['status']}" for e in r["events"]],
                    r["deliveries"],
                    r["title"],
                    r.get("alert_id"),
                ]
                for r in rows
            ),
        )
        return 0
    table = [
        [
            r["fired_at"],
            r["rule"],
            r["article_id"],
            ",".join(f"{e['type']}:{e['status']}" for e in r["events"]),
            r["deliveries"] or "log",
            r["title"] or "",
        ]
        for r in rows
    ]
    print(render_table(table, ["fired", "rule", "article", "events", "deliveries", "title"]))
    print(f"{len(rows)} alert(s)")
    from wirewatch.embedded.digests import SqliteDigests

    made = SqliteDigests(store, create=False).listing(args.limit)
    if made:
        print()
        print(
            render_table(
                [
                    [d.period.end.isoformat(), d.rule, d.channel, str(d.alerts), d.status,
                     str(d.rounds), d.error or ""]
                    for d in made
                ],
                ["until", "rule", "channel", "alerts", "status", "failed rounds", "error"],
            )
        )  # fmt: skip
        print(f"{len(made)} digest(s)")
    return 0


def cmd_stories(args: SimpleNamespace) -> int:
    from wirewatch.cli import stories

    return stories.cmd_stories(args, _open_existing_store(args.db), render_table)


def cmd_rules(args: SimpleNamespace) -> int:
    rules = _load_rules(args.file)
    if args.action == "check":
        for r in rules:
            print(f"ok  {r.name}: events={','.join(r.events)} statuses={','.join(r.statuses)}")
        if any(n.webhook or n.channel for r in rules for n in r.notify):
            from wirewatch.embedded.notify import check_webhooks
            from wirewatch.settings import EmbeddedSettings
            from wirewatch.settings import build as build_settings

            # the webhooks' targets and secret, the channels and their secrets, as
            # `wirewatch run` here would see them
            check_webhooks(
                rules, args.file, build_settings(EmbeddedSettings).webhooks, digests=True
            )
        print(f"{args.file}: {len(rules)} valid rule(s)")
        return 0
    if args.since or args.until or not args.articles:
        from wirewatch.cli.stories import cmd_backtest
        from wirewatch.settings import CoreSettings

        return cmd_backtest(
            args,
            rules,
            lambda: _open_existing_store(args.db),
            render_table,
            CoreSettings().duplicate_threshold,
        )
    from wirewatch.core import alerts
    from wirewatch.core.models import Rejection, Source
    from wirewatch.settings import EmbeddedSettings
    from wirewatch.settings import build as build_settings

    # the same core settings (WIREWATCH_CORE__*) as `wirewatch run`
    enricher = _enricher(build_settings(EmbeddedSettings).core)
    failed = 0
    machine = args.json or args.csv
    header = ["path", "article_id", "rule", "type", "status", "confidence", "targets", "evidence"]
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
    for name in args.articles:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"wirewatch: {path}: cannot read it ({exc.strerror or exc})", file=sys.stderr)
            failed += 1
            continue
        result = enricher.analyse(data, Source(path=str(path)))
        if isinstance(result, Rejection):
            print(
                f"{path}: rejected ({result.rejected.reason}); no rule can fire",
                file=sys.stderr if machine else sys.stdout,
            )
            continue
        fired = alerts.explain(rules, result)
        if machine:
            for rule_name, evs in fired:
                for e in evs:
                    row = [str(path), result.id, rule_name, e.type, e.status]
                    row += [round(e.confidence, 2), e.targets, e.evidence[0]]
                    if args.json:
                        print(json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False))
                    else:
                        writer.writerow([csv_cell(v) for v in row])
            continue
        if not fired:
            kinds = (
                ", ".join(f"{e.type}/{e.status} {e.confidence:.2f}" for e in result.events)
                or "none"
            )
            print(f"{path}: no rule fires (events: {kinds})")
        for rule_name, evs in fired:
            for e in evs:
                print(
                    f"{path}: {rule_name} fires on {e.type}/{e.status} ({e.confidence:.2f}) "
                    f"targets={','.join(e.targets) or '-'}: {e.evidence[0][:120]}"
                )
    return 1 if failed else 0


def cmd_enrich(args: SimpleNamespace) -> int:
    from dataclasses import replace

    from wirewatch.core.logic import MemoryDuplicateIndex, near_duplicate_of, register
    from wirewatch.core.models import Rejection
    from wirewatch.pipeline.reading import read_article, safe_analyse
    from wirewatch.settings import EmbeddedSettings
    from wirewatch.settings import build as build_settings

    # The same core settings as `wirewatch run` (WIREWATCH_CORE__*), so both agree.
    core = build_settings(EmbeddedSettings).core
    if args.data_dir:
        core = core.model_copy(update={"data_dir": args.data_dir})
    enricher = _enricher(core)
    if args.max_bytes:
        enricher.config = replace(enricher.config, max_bytes=args.max_bytes)
    index = MemoryDuplicateIndex()
    unreadable = 0
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_ENRICH_COLUMNS)
    for name in args.files:
        path = Path(name)
        read = read_article(str(path), enricher.config.max_bytes)
        result = read if isinstance(read, Rejection) else safe_analyse(enricher, *read)
        if isinstance(result, Rejection) and result.rejected.code == "unreadable":
            # not an article's verdict but a file that could not be read: a failure (its
            # line stays in the output, in input order)
            print(f"wirewatch: {path}: {result.rejected.reason}", file=sys.stderr)
            unreadable += 1
        if isinstance(result, Rejection):
            if args.json:
                print(
                    json.dumps(
                        {"source": {"path": str(path)}, "rejected": result.rejected.model_dump()},
                        ensure_ascii=False,
                    )
                )
            elif args.csv:
                rejected = [result.rejected.code, result.rejected.reason]
                writer.writerow([str(path)] + [""] * 9 + rejected)
            else:
                print(f"{path}: REJECTED ({result.rejected.code}) {result.rejected.reason}")
            continue
        result.near_duplicate_of = near_duplicate_of(
            result, index, enricher.config.duplicate_threshold
        )
        register(result, index)
        if args.json:
            print(result.model_dump_json())
        elif args.csv:
            ents = result.entities
            row: list[Any] = [str(path), result.id, result.language, result.published]
            row += [result.title, ents.vendors, ents.operators, ents.countries]
            row += [sorted({e.type for e in result.events}), result.near_duplicate_of, "", ""]
            writer.writerow([csv_cell(v) for v in row])
        else:
            ents = result.entities
            print(
                f"{path}: {result.id} [{result.language}] {result.published or '-'} {result.title or ''}"
            )
            print(
                f"  vendors={', '.join(ents.vendors) or '-'} operators={', '.join(ents.operators) or '-'} "
                f"countries={', '.join(ents.countries) or '-'}"
            )
            print(
                f"  organisations={', '.join(ents.organisations) or '-'} people={', '.join(ents.people) or '-'}"
            )
            for ev in result.events:
                print(
                    f"  event {ev.type}/{ev.status} {ev.confidence:.2f} actors={','.join(ev.actors) or '-'} "
                    f"targets={','.join(ev.targets) or '-'}: {ev.evidence[0][:100]}"
                )
            if result.near_duplicate_of:
                print(f"  near-duplicate of {result.near_duplicate_of}")
    return 1 if unreadable else 0


_ENRICH_COLUMNS = [
    "path",
    "article_id",
    "language",
    "published",
    "title",
    "vendors",
    "operators",
    "countries",
    "events",
    "near_duplicate_of",
    "rejected",
    "reason",
]


def cmd_search(args: SimpleNamespace) -> int:
    from wirewatch.search import QueryError, parse

    try:
        query = parse(" ".join(args.query))
    except QueryError as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 2
    query = _checked_query(query)
    store = _open_existing_store(args.db)
    result = store.search(
        query,
        limit=args.limit,
        offset=args.offset,
        sort=args.sort,
        min_relevance=args.min_relevance or None,
    )
    if args.json:
        for rank, hit in enumerate(result.hits, start=args.offset + 1):
            doc = hit.article.model_dump(mode="json")
            doc["search"] = {
                "rank": rank,
                "score": hit.score,
                "snippet": hit.snippet,
                "total": result.total,
                "total_exact": result.total_exact,
            }
            print(json.dumps(doc, ensure_ascii=False))
        return 0
    if args.csv:
        write_csv(
            ["id", "language", "published", "events", "title", "rank", "score", "snippet"],
            (
                [
                    h.article.id,
                    h.article.language,
                    h.article.published,
                    sorted({e.type for e in h.article.events}),
                    h.article.title,
                    rank,
                    h.score,
                    h.snippet,
                ]
                for rank, h in enumerate(result.hits, start=args.offset + 1)
            ),
        )
        return 0
    header = ["id", "lang", "published", "events", "title"]
    rows = [
        [
            h.article.id,
            h.article.language,
            h.article.published or "-",
            ",".join(sorted({e.type for e in h.article.events})) or "-",
            f"{h.article.title or ''}\n{h.snippet}",  # the snippet under the title
        ]
        for h in result.hits
    ]
    print(render_table(rows, header))
    shown = (
        f"{args.offset + 1}-{args.offset + len(result.hits)}" if args.offset else len(result.hits)
    )
    print(f"{shown} of {result.total_text()} article(s)")
    return 0


def _checked_query(query):
    """Vendor, country and language filters of a query against their vocabularies (exit 2
    with a hint, as for ``events``); vendors come back under their canonical names."""
    from wirewatch.vocab import UnknownValue

    if not any(f.field in ("vendor", "country", "lang") for f in query.filters):
        return query
    vocab = _vocabulary()
    checks = {
        "vendor": lambda v: vocab.name("vendors", v),
        "country": vocab.country,
        "lang": vocab.language,
    }
    try:
        return query.with_filter_values(lambda field, v: checks.get(field, str)(v))
    except UnknownValue as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _vocabulary():
    from wirewatch.vocab import Vocabulary

    return Vocabulary.from_resources(_resources(None))


def _checked_filters(args: SimpleNamespace) -> None:
    """Vendor, country and date filters against their vocabularies (exit 2 with a hint)."""
    from wirewatch.vocab import UnknownValue, date_prefix

    try:
        if getattr(args, "since", None):
            args.since = date_prefix(args.since)
        if getattr(args, "vendor", None) or getattr(args, "country", None):
            vocab = _vocabulary()
            if args.vendor:
                args.vendor = vocab.name("vendors", args.vendor)
            if args.country:
                args.country = vocab.country(args.country)
    except UnknownValue as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_events(args: SimpleNamespace) -> int:
    _checked_filters(args)
    store = _open_existing_store(args.db)
    rows = store.events(
        args.type,
        args.status,
        args.country,
        args.vendor,
        args.since,
        args.limit,
        min_relevance=args.min_relevance,
    )
    if args.json:
        for r in rows:
            print(json.dumps(r.__dict__, ensure_ascii=False))
        return 0
    if args.csv:  # every event, as --json: near_duplicate_of says which ones the table folds
        columns = ["published", "type", "status", "confidence", "actors", "targets"]
        columns += ["article_id", "title", "language", "near_duplicate_of"]
        write_csv(columns, ([getattr(r, c) for c in columns] for r in rows))
        return 0
    shown, folded = _fold_near_duplicates(rows) if not args.all else (rows, {})
    table = [
        [
            r.published or "-",
            r.type,
            r.status,
            f"{r.confidence:.2f}",
            ",".join(r.actors) or "-",
            ",".join(r.targets) or "-",
            r.article_id,
            (r.title or "")
            + (
                f" (+{folded[id(r)]} near-duplicate{'s' if folded[id(r)] > 1 else ''})"
                if folded.get(id(r))
                else ""
            ),
        ]
        for r in shown
    ]
    print(
        render_table(
            table, ["published", "type", "status", "conf", "actors", "targets", "article", "title"]
        )
    )
    hidden = len(rows) - len(shown)
    print(
        f"{len(rows)} event(s)"
        + (
            f", {hidden} of them on near-duplicates folded under the first (--all)"
            if hidden
            else ""
        )
    )
    return 0


def _fold_near_duplicates(rows: list) -> tuple[list, dict[int, int]]:
    """One row per (story of near-duplicates, type, status): the article the others repeat,
    or the first listed; the count of the folded ones by ``id(row)``."""
    first: dict[tuple[str, str, str], object] = {}
    folded: dict[int, int] = {}
    shown = []
    for r in rows:
        key = (r.near_duplicate_of or r.article_id, r.type, r.status)
        if key in first:
            folded[id(first[key])] = folded.get(id(first[key]), 0) + 1
            continue
        first[key] = r
        shown.append(r)
    return shown, folded


def cmd_show(args: SimpleNamespace) -> int:
    store = _open_existing_store(args.db)
    article = store.get(args.id)
    if article is None:
        print(f"wirewatch: no article with id {args.id!r} in {args.db}", file=sys.stderr)
        return 1
    if args.json:
        print(article.model_dump_json(indent=2))
        return 0
    e = article.entities
    print(f"{article.title or '(no title)'}\n")
    print(f"id          {article.id}")
    print(f"sources     {', '.join(article.sources)}")
    print(f"language    {article.language} ({article.language_confidence:.2f})")
    print(f"published   {article.published or '-'} (from {article.published_source})")
    print(f"vendors     {', '.join(e.vendors) or '-'}")
    print(f"operators   {', '.join(e.operators) or '-'}")
    print(f"countries   {', '.join(e.countries) or '-'}")
    print(f"orgs        {', '.join(e.organisations) or '-'}")
    print(f"people      {', '.join(e.people) or '-'}")
    print(f"keywords    {', '.join(article.keywords) or '-'}")
    print(f"duplicate   {article.near_duplicate_of or '-'}")
    reasons = "; ".join(article.relevance_reasons)
    print(f"relevance   {article.relevance:.2f}" + (f" ({reasons})" if reasons else ""))
    for ev in article.events:
        print(
            f"\n{ev.type} ({ev.status}, confidence {ev.confidence:.2f}) "
            f"actors={', '.join(ev.actors) or '-'} targets={', '.join(ev.targets) or '-'}"
        )
        for s in ev.evidence:
            print(f"  > {s}")
    return 0


def cmd_rejected(args: SimpleNamespace) -> int:
    store = _open_existing_store(args.db)
    rows = store.rejected()
    if args.json:
        for path, code, reason, size, at in rows:
            print(
                json.dumps(
                    {"path": path, "code": code, "reason": reason, "size": size, "at": at},
                    ensure_ascii=False,
                )
            )
        return 0
    if args.csv:
        write_csv(
            ["at", "code", "path", "reason", "size"],
            ([at, code, path, reason, size] for path, code, reason, size, at in rows),
        )
        return 0
    print(
        render_table(
            [[at, code, path, reason] for path, code, reason, _, at in rows],
            ["at", "code", "path", "reason"],
        )
    )
    print(f"{len(rows)} rejected file(s)")
    return 0


def cmd_schemas(args: SimpleNamespace) -> int:
    from wirewatch.schemas import check, export

    if args.action == "export":
        for path in export(args.dir):
            print(f"wrote {path}")
        return 0
    drift = check(args.dir)
    for line in drift:
        print(line, file=sys.stderr)
    return 1 if drift else 0


_BENCH_FILES = {
    "embedded": "BENCHMARKS.md",
    "scan": "BENCHMARKS.md",
    "scale": "BENCHMARKS.md",
    "distributed": "BENCHMARKS.md",
    "recovery": "RELIABILITY.md",
}


def _bench_target(what: str, write: str | None, output: Path | None) -> Path | None:
    """Where ``bench WHAT`` writes its figures: nowhere unless asked - ``--write`` (the
    tracked file of WHAT), ``--write PATH`` or ``--output PATH``."""
    if write in _BENCH_FILES:
        raise click.UsageError(
            f"--write took {write!r} as the file to write; put WHAT first: "
            f"`wirewatch bench {write} --write`"
        )
    path = Path(write or _BENCH_FILES[what]) if write is not None else None
    if path is not None and output is not None and path != output:
        raise click.UsageError("--write PATH and --output PATH name the same thing: give one")
    return output or path


def cmd_bench(args: SimpleNamespace) -> int:
    args.output = _bench_target(args.what, args.write, args.output)
    if args.what == "distributed":
        from wirewatch.tools.bench_distributed import main as distributed_main

        return distributed_main(args)
    if args.what == "recovery":
        from wirewatch.tools.bench_recovery import main as recovery_main

        return recovery_main(args)
    if args.what == "scale":
        from wirewatch.tools.bench_scale import main as scale_main

        return scale_main(args)
    if args.what == "scan":
        from wirewatch.tools.bench import main_scan

        return main_scan(args)
    from wirewatch.tools.bench import main as bench_main

    return bench_main(args)


def cmd_evaluate(args: SimpleNamespace) -> int:
    if args.web is not None:
        if args.real is not None or args.gold is not None:
            print("wirewatch: evaluate takes one of GOLD, --real DIR or --web DIR", file=sys.stderr)
            return 2
        if args.split is not None:
            print(
                "wirewatch: --split is for --real; --web reports its tune, held-out and fresh "
                "splits together",
                file=sys.stderr,
            )
            return 2
        from wirewatch.tools.evaluate_web import main as web_main

        return web_main(args)
    if args.real is not None:
        from wirewatch.tools.evaluate_real import main as real_main

        return real_main(args)
    if args.gold is None:
        print(
            "wirewatch: evaluate needs a gold file (e.g. examples/expected.yaml) or "
            "--real DIR (e.g. ../shared/realnews-dev)",
            file=sys.stderr,
        )
        return 2
    from wirewatch.tools.evaluate import main as evaluate_main

    return evaluate_main(args)


def cmd_train_cues(args: SimpleNamespace) -> int:
    from wirewatch.tools.train_cues import main as train_main

    return train_main(args)


# -- the command tree -------------------------------------------------------------------
# Each command takes its parameters from click and hands them, as attributes, to its
# ``cmd_*`` function above; ``_run`` turns the errors a command may end in into exit codes.


def _inherited(params: dict[str, Any]) -> dict[str, Any]:
    """A sub-command's parameters, with the ones it was not given taken from its group
    (``wirewatch alerts --db X silences`` as ``wirewatch alerts silences --db X``)."""
    parent = click.get_current_context().parent
    given = parent.params if parent is not None else {}
    return {k: given.get(k, v) if v is None or v is False else v for k, v in params.items()}


@click.group(
    context_settings={"help_option_names": ["--help", "-h"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="wirewatch", message="%(prog)s %(version)s")
@click.option(
    "--log-level",
    default="INFO",
    metavar="LEVEL",
    help="DEBUG, INFO, WARNING, ERROR (default INFO); anywhere on the line",
)
@click.option(
    "--log-format",
    default="text",
    metavar="FORMAT",
    help="text or json (one JSON object per line); anywhere on the line",
)
def cli(log_level: str, log_format: str) -> None:
    """Watch the news wire for technology-policy events."""


@cli.command(
    "run",
    short_help="Run the embedded pipeline over inbox directories.",
    help="Run the embedded pipeline over inbox directories (INBOX: watched recursively).",
)
@click.argument("inbox", nargs=-1, required=True, type=PATH)
@click.option("--db", type=PATH, default=None, help=DB_HELP)
@click.option(
    "--once",
    is_flag=True,
    help="process what is there now (and poll each enabled feed once) and exit",
)
@click.option("--feeds", type=PATH, help="also poll the RSS/Atom feeds in this YAML file")
@click.option(
    "--feeds-state",
    type=PATH,
    help="SQLite state of the feeds (default: <db name>-feeds.db next to the database)",
)
@click.option("--rules", type=PATH, help="alert rules (YAML); see `wirewatch rules check`")
@click.option(
    "--metrics-port", type=int, help="/metrics, /healthz, /readyz port (default 9464, 0 = off)"
)
@click.option("--metrics-host", help="address to bind the metrics endpoint (default 127.0.0.1)")
@click.option("--workers", type=POSITIVE, help="enrichment processes (default 1)")
@click.option("--max-bytes", type=POSITIVE, help="largest accepted file (default 5 MiB)")
@click.option("--poll-interval", type=float, help="seconds between inbox scans (default 0.5)")
@click.option(
    "--settle-seconds", type=float, help="a file is complete once unchanged this long (default 1)"
)
@click.option("--ui", is_flag=True, help="also serve the web UI (127.0.0.1)")
@click.option("--ui-port", type=int, default=8470, show_default=True, help="web UI port")
def run_command(**params: Any) -> int:
    return _run(cmd_run, params)


@cli.command("enrich", help="Enrich files and print the result (no store).")
@click.argument("files", nargs=-1, required=True)
@listing_options
@click.option("--max-bytes", type=POSITIVE, help="largest accepted file (default 5 MiB)")
@click.option("--data-dir", type=PATH, help="alternative rule/gazetteer data directory")
def enrich_command(**params: Any) -> int:
    return _run(cmd_enrich, params)


@cli.command(
    "search",
    short_help="Full-text search over title and body (see --help for the syntax).",
    help='Full-text search over title and body (words, AND/OR/NOT, -word, "phrase", '
    "prefix*, vendor: country: type: status: lang: since: until:).",
)
@click.argument("query", nargs=-1, required=True)
@db_option
@click.option("--limit", type=POSITIVE, default=20, show_default=True)
@click.option("--offset", type=NON_NEGATIVE, default=0, help="skip this many hits (paging)")
@click.option(
    "--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True
)
@click.option(
    "--min-relevance",
    type=UNIT,
    default=0.0,
    help="only articles at least this much about technology policy (0-1)",
)
@listing_options
def search_command(**params: Any) -> int:
    return _run(cmd_search, params)


@cli.command("events", help="List policy events.")
@db_option
@click.option(
    "--type",
    type=click.Choice(["ban", "sanction", "warning", "regulation", "deal", "licensing", "legal"]),
)
@click.option("--status", type=click.Choice(["reported", "proposed", "rejected"]))
@click.option("--country", help="ISO code, e.g. NL, or EU")
@click.option("--vendor", help="e.g. Huawei")
@click.option("--since", help="YYYY, YYYY-MM or YYYY-MM-DD (publication date)")
@click.option("--limit", type=POSITIVE, default=100, show_default=True)
@click.option("--all", is_flag=True, help="list near-duplicates too instead of folding them")
@click.option(
    "--min-relevance",
    type=UNIT,
    default=0.0,
    help="only articles at least this much about technology policy (0-1)",
)
@listing_options
def events_command(**params: Any) -> int:
    return _run(cmd_events, params)


@cli.command("show", help="Show one article (ID: an id or a unique id prefix).")
@click.argument("id")
@db_option
@click.option("--json", is_flag=True, help="the whole article as JSON")
def show_command(**params: Any) -> int:
    return _run(cmd_show, params)


@cli.command("rejected", help="List rejected files and why.")
@db_option
@listing_options
def rejected_command(**params: Any) -> int:
    return _run(cmd_rejected, params)


ES_SILENCES_HELP = (
    "the distributed mode: the silences index of this Elasticsearch, which the indexer "
    "reads (WIREWATCH_NAMESPACE, WIREWATCH_ES__*)"
)


@cli.group(
    "alerts",
    invoke_without_command=True,
    short_help="List fired alerts; mute them for a while, list the silences.",
    help="List fired alerts and their deliveries (and digests); mute rules, vendors or "
    "countries for a while.",
)
@db_option
@click.option("--limit", type=POSITIVE, default=100, show_default=True)
@listing_options
@click.pass_context
def alerts_group(ctx: click.Context, **params: Any) -> int:
    if ctx.invoked_subcommand is not None:
        return 0
    return _run(cmd_alerts, params)


@alerts_group.command("list", help="List fired alerts (what `wirewatch alerts` does).")
@click.option("--db", type=PATH, default=None, help=DB_HELP)
@click.option("--limit", type=POSITIVE, default=None, help="(default 100)")
@listing_options
def alerts_list_command(**params: Any) -> int:
    return _run(cmd_alerts, _inherited(params))


@alerts_group.command(
    "mute",
    help="Silence alerts of a rule, a vendor or a country for a while (TARGET: RULE, "
    "vendor:NAME or country:CODE).",
)
@click.argument("target")
@click.option(
    "--for", "duration", required=True, metavar="DURATION", help="how long, e.g. 30m, 2h, 7d"
)
@click.option("--reason", help="why (kept with the silence)")
@click.option("--db", type=PATH, default=None, help=DB_HELP)
@click.option("--es", metavar="URL", help=ES_SILENCES_HELP)
def alerts_mute_command(**params: Any) -> int:
    from wirewatch.cli import stories

    return _run(lambda args: stories.cmd_mute(args, _silence_book(args)), _inherited(params))


@alerts_group.command(
    "unmute", help="End the running silences of a rule, a vendor or a country now."
)
@click.argument("target")
@click.option("--db", type=PATH, default=None, help=DB_HELP)
@click.option("--es", metavar="URL", help=ES_SILENCES_HELP)
def alerts_unmute_command(**params: Any) -> int:
    from wirewatch.cli import stories

    return _run(lambda args: stories.cmd_unmute(args, _silence_book(args)), _inherited(params))


@alerts_group.command("silences", help="List the running silences.")
@click.option("--db", type=PATH, default=None, help=DB_HELP)
@click.option("--es", metavar="URL", help=ES_SILENCES_HELP)
@listing_options
def alerts_silences_command(**params: Any) -> int:
    from wirewatch.cli import stories

    return _run(
        lambda args: stories.cmd_silences(args, _silence_book(args), render_table),
        _inherited(params),
    )


def _silence_book(args: SimpleNamespace) -> Any:
    from wirewatch.cli import stories

    return stories.silence_book(args, lambda: _open_existing_store(args.db))


@cli.command(
    "stories",
    short_help="List stories (articles on the same event), or one.",
    help="List stories (articles on the same event), or the articles of one (STORY: its id).",
)
@click.argument("story", required=False)
@db_option
@click.option("--limit", type=POSITIVE, default=50, show_default=True)
@click.option("--min-articles", type=int, default=1, show_default=True)
@click.option("--since", help="last seen on or after YYYY[-MM[-DD]]")
@listing_options
def stories_command(**params: Any) -> int:
    return _run(cmd_stories, params)


@cli.command("ui", help="Serve the read-only web UI over the database.")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind (loopback)")
@click.option("--port", type=int, default=8470, help="port (default 8470, 0 = any free)")
@click.option("--rules", type=PATH, help="alert rules to list on /alerts")
def ui_command(**params: Any) -> int:
    return _run(cmd_ui, params)


@cli.group(
    "rules",
    help="Check alert rules, or test which rules fire on articles.",
)
def rules_group() -> None:
    pass


@rules_group.command(
    "check",
    short_help="Validate an alert rules file.",
    help="Validate an alert rules file: errors name the file, the rule and the field.",
)
@click.argument("file", type=PATH)
def rules_check_command(**params: Any) -> int:
    return _run(cmd_rules, params, action="check", articles=None)


@rules_group.command(
    "test",
    short_help="Which rules fire on articles; a backtest on the stored ones.",
    help="Which rules fire on these ARTICLES, and why; without articles (or with --since, "
    "--until) replay the stored ones: nothing is sent or recorded.",
)
@click.argument("file", type=PATH)
@click.argument("articles", nargs=-1)
@db_option
@click.option("--since", help="replay stored articles from this date")
@click.option("--until", help="... to this date (inclusive)")
@listing_options
@click.option("--es", metavar="URL", help="replay the Elasticsearch index instead")
def rules_test_command(**params: Any) -> int:
    return _run(cmd_rules, params, action="test")


@cli.group(
    "schemas",
    help="Export or check the JSON Schemas in schemas/.",
)
def schemas_group() -> None:
    pass


@schemas_group.command("export", help="Write the JSON Schemas of the event models.")
@click.option("--dir", type=PATH, default=Path("schemas"), show_default=True)
def schemas_export_command(**params: Any) -> int:
    return _run(cmd_schemas, params, action="export")


@schemas_group.command(
    "check", help="Compare the committed JSON Schemas with the models (exit 1 on drift)."
)
@click.option("--dir", type=PATH, default=Path("schemas"), show_default=True)
def schemas_check_command(**params: Any) -> int:
    return _run(cmd_schemas, params, action="check")


@cli.command(
    "evaluate",
    short_help="Score the core against annotations or labelled real news.",
    help="Score the core against a hand-annotated GOLD file (e.g. examples/expected.yaml), "
    "or on labelled real news (--real) or labelled news web pages (--web).",
)
@click.argument("gold", type=PATH, required=False)
@click.option(
    "--real",
    metavar="DIR",
    help="a real-news folder (offtopic/, candidates/, manifest.jsonl), e.g. "
    "../shared/realnews-dev: per-type F1 on the labels, false alarms, dates",
)
@click.option(
    "--web",
    metavar="DIR",
    help="a web-news folder (r1/, r2/, r3/ of <lang>/ pages): per-split and per-language F1 "
    "on the labels of tests/data/webnews/labels, false alarms, dates",
)
@click.option(
    "--labels",
    metavar="DIR",
    help="labels for --real or --web (default tests/data/realnews/labels, "
    "tests/data/webnews/labels)",
)
@click.option("--split", type=click.Choice(["dev", "test"]), help="only this half of the labels")
@click.option(
    "--dir",
    type=PATH,
    help="directory of the articles (default: inbox/ next to the gold file, else its directory)",
)
@click.option("--json", is_flag=True, help="the report as one JSON document")
@click.option("--misses", is_flag=True, help="list every difference")
def evaluate_command(**params: Any) -> int:
    return _run(cmd_evaluate, params)


@cli.command(
    "train-cues",
    short_help="Learn the event cues of data/learned/ from the labelled tuning halves.",
    help="Learn the learned cues (data/learned/<lang>.json) from the tuning halves of the "
    "blind set, the briefs, the labelled real news (odd numbers and ids, the dev split) and, "
    "with --web, the tune split of the labelled web news; the other halves stay a fair measure.",
)
@click.option(
    "--real", metavar="DIR", help="the real-news folder of the labels, e.g. ../shared/realnews-dev"
)
@click.option(
    "--labels", metavar="DIR", help="real-news labels (default tests/data/realnews/labels)"
)
@click.option(
    "--web",
    metavar="DIR",
    help="the web-news folder of tests/data/webnews/labels (its tune split is learned from)",
)
@click.option("--blind", metavar="DIR", help="the blind set (default tests/data/blind)")
@click.option("--briefs", metavar="DIR", help="the briefs (default tests/data/briefs)")
@click.option(
    "--out", metavar="DIR", help="where to write <lang>.json (default: the core's data/learned)"
)
@click.option(
    "--threshold", type=float, default=0.5, show_default=True, help="probability that adds a type"
)
@click.option(
    "--type-threshold",
    multiple=True,
    default=("legal=0.65", "warning=0.6"),
    show_default=True,
    metavar="TYPE=P",
    help="a type's own threshold (court and warning words have the most everyday senses)",
)
@click.option("--l2", type=float, default=1.0, show_default=True, help="L2 regularisation")
@click.option("--iterations", type=int, default=300, show_default=True)
@click.option("--min-count", type=int, default=2, show_default=True, help="examples a stem needs")
@click.option(
    "--min-weight", type=float, default=0.02, show_default=True, help="weights kept in the files"
)
@click.option(
    "--min-examples",
    type=int,
    default=50,
    show_default=True,
    help="tuning examples with an event a language needs for a file",
)
def train_cues_command(**params: Any) -> int:
    return _run(cmd_train_cues, params)


@cli.command(
    "bench",
    short_help="Measure throughput, latency, an inbox scan, the store's scale or recovery.",
    help="Measure throughput and latency (WHAT: embedded, the default, or distributed), an "
    "inbox scan (scan), the embedded store as it grows (scale) or recovery after kill -9 "
    "(recovery). Every mode prints its figures "
    "and writes no file unless asked: --write updates its section of BENCHMARKS.md "
    "(recovery: RELIABILITY.md), --write PATH or --output PATH that of PATH.",
)
@click.argument(
    "what",
    type=click.Choice(["embedded", "distributed", "scan", "scale", "recovery"]),
    default="embedded",
    required=False,
    metavar="[WHAT]",
)
@click.option("--files", type=int, default=100_000, help="scan: files in the generated inbox")
@click.option("--inbox", type=PATH, default=Path("examples/inbox"), show_default=True)
@click.option(
    "--real",
    default="../shared/realnews-dev",
    show_default=True,
    help="core: also measure on this real-news folder when it exists",
)
@click.option("--kafka", help="distributed: a broker (default: start Tansu)")
@click.option("--es", help="distributed: Elasticsearch (default: start noida-db)")
@click.option("--count", type=int, default=1000, help="distributed: articles in the burst")
@click.option("--trickle", type=int, default=100, help="distributed: files for latency")
@click.option("--rate", type=float, help="trickle files/s (distributed 10, recovery 4)")
@click.option("--processes", type=int, default=1, help="distributed: per worker")
@click.option(
    "--copies",
    type=int,
    default=150,
    help="copies of the inbox (distinct texts) for the end-to-end run",
)
@click.option(
    "--blends",
    type=int,
    default=3300,
    show_default=True,
    help="distinct articles blended from the real news for the end-to-end run",
)
@click.option(
    "--write",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PATH]",
    help="write the figures into their section of PATH (default BENCHMARKS.md; "
    "recovery: RELIABILITY.md)",
)
@click.option("--output", type=PATH, metavar="PATH", help="the same as --write PATH")
@click.option(
    "--workers", type=int, default=2, help="embedded: processes; distributed: worker services"
)
@recovery_options
@scale_options
def bench_command(**params: Any) -> int:
    return _run(cmd_bench, params)


add_distributed_commands(cli)
decorate(cli)


def parse_args(argv: list[str]) -> SimpleNamespace:
    """What ``main(argv)`` would run, without running it: ``command`` (its path) and the
    parameters of the command and of its groups; a usage error raises click's."""
    ctx = cli.make_context("wirewatch", list(argv))
    params = dict(ctx.params)
    path = ["wirewatch"]
    group = ctx.command
    while isinstance(group, click.Group):
        rest = [*ctx._protected_args, *ctx.args]  # noqa: SLF001 - where click keeps them
        if not rest:
            break
        name, command, rest = group.resolve_command(ctx, rest)
        assert name is not None and command is not None
        ctx = command.make_context(name, rest, parent=ctx)
        path.append(name)
        params.update({k: v for k, v in ctx.params.items() if v is not None or k not in params})
        group = command
    return SimpleNamespace(command=" ".join(path), **params)


def main(argv: list[str] | None = None) -> int:
    rest, options = pull_global_options(list(sys.argv[1:] if argv is None else argv))
    level, fmt = options["--log-level"], options["--log-format"]
    if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        given = f"--log-level {level}" if level else "--log-level needs a value"
        print(f"wirewatch: {given}: use DEBUG, INFO, WARNING or ERROR", file=sys.stderr)
        return EXIT_USAGE
    if fmt not in ("text", "json"):
        given = f"--log-format {fmt}" if fmt else "--log-format needs a value"
        print(f"wirewatch: {given}: use text or json", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(level, fmt)
    try:
        code = cli.main(
            ["--log-level", level, "--log-format", fmt, *rest] if rest else [],
            prog_name="wirewatch",
            standalone_mode=False,
        )
    except click.ClickException as exc:  # a usage error (exit 2)
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("wirewatch: aborted", file=sys.stderr)
        return 1
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        return int(exc.code or 0)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
