"""Sub-commands of the distributed mode: watcher, worker, indexer, topics, templates."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("wirewatch.cli")


def _settings(cls: Any, args: SimpleNamespace, names: tuple[str, ...]) -> Any:
    """Settings from the environment, overridden by the flags that were given."""
    from wirewatch.settings import build as build_settings

    overrides: dict[str, Any] = {}
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "kafka", None):
        overrides["kafka"] = {"bootstrap": args.kafka}
    if getattr(args, "es", None):
        overrides["es"] = {"url": args.es}
    return build_settings(cls, **overrides)


def _serve_metrics(settings: Any, ready: Any, service: str) -> None:
    from wirewatch import metrics
    from wirewatch.topics import ALERTS, ENRICHED, ENRICHED_DLQ, RAW, RAW_DLQ

    topics = {
        "watcher": (RAW, RAW_DLQ),
        "feeds": (RAW,),
        "worker": (ENRICHED, RAW_DLQ),
        "indexer": (ENRICHED_DLQ, ALERTS),
    }
    metrics.init_series(service, tuple(settings.topic(t) for t in topics.get(service, ())))
    if not settings.metrics_port:
        return
    try:
        metrics.serve(settings.metrics_host, settings.metrics_port, ready)
    except OSError as exc:
        raise SystemExit(
            f"wirewatch: cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} "
            f"({exc.strerror}); pass --metrics-port with a free port, or 0 to turn it off"
        ) from exc
    log.info(
        "metrics on http://%s:%d/metrics (also /healthz, /readyz)",
        settings.metrics_host,
        settings.metrics_port,
    )


def _on_stop(stop: threading.Event, name: str) -> None:
    def handler(signum: int, _frame: object) -> None:
        logging.getLogger(f"wirewatch.{name}").info(
            "%s received: finishing the current batch and stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _kafka_unreachable(bootstrap: str, exc: Exception) -> SystemExit:
    return SystemExit(
        f"wirewatch: cannot reach Kafka at {bootstrap} ({type(exc).__name__}: {exc}); "
        "check --kafka / WIREWATCH_KAFKA__BOOTSTRAP, that the broker is up, and the security "
        "settings (WIREWATCH_KAFKA__SECURITY_PROTOCOL, __SASL_MECHANISM, __USERNAME, "
        "__PASSWORD[_FILE], __SSL_CAFILE); a refused password or certificate shows in the "
        "log lines above (Authentication failed, CERTIFICATE_VERIFY_FAILED)"
    )


def _kafka_preflight(settings: Any, timeout: float = 5.0) -> None:
    """Fail fast, in one line, when no bootstrap server accepts a connection at all
    (a stopped broker, a wrong address): the Kafka clients would retry for a long time
    and Faust would end in a traceback. Only for plain connections: a bare probe of a TLS
    or SASL listener would look like a failed handshake there; security, and those
    listeners, are the clients' to check."""
    import socket

    if settings.kafka.security_protocol != "PLAINTEXT":
        return
    errors = []
    for server in settings.kafka.servers():
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{server}: {getattr(exc, 'strerror', None) or exc}")
    raise _kafka_unreachable(settings.kafka.describe(), ConnectionError("; ".join(errors)))


def _publisher(settings: Any, linger_ms: int) -> Any:
    from kafka.errors import KafkaError

    from wirewatch.watcher.publisher import KafkaPublisher

    try:
        return KafkaPublisher(
            settings.kafka.kafka_python(), linger_ms, settings.kafka.request_timeout_ms
        )
    except KafkaError as exc:
        raise _kafka_unreachable(settings.kafka.describe(), exc) from exc


# -- watcher -------------------------------------------------------------------------
def cmd_watcher(args: SimpleNamespace) -> int:
    from wirewatch.settings import WatcherSettings
    from wirewatch.watcher.service import Watcher, WatcherState

    settings = _settings(
        WatcherSettings,
        args,
        (
            "inbox",
            "state",
            "namespace",
            "metrics_host",
            "metrics_port",
            "poll_interval",
            "settle_seconds",
            "max_bytes",
        ),
    )
    if not settings.inbox:
        raise SystemExit("wirewatch: watcher: no inbox; pass --inbox DIR (or WIREWATCH_INBOX)")
    from wirewatch.paths import check_database, check_inboxes

    check_inboxes(settings.inbox)
    check_database(settings.state, settings.inbox, "--state", "the watcher state")
    publisher = _publisher(settings, settings.linger_ms)
    watcher = Watcher(settings, publisher, WatcherState(settings.state))
    _on_stop(watcher.stop, "watcher")
    _serve_metrics(settings, watcher.ready.is_set, "watcher")
    log.info(
        "watcher: %s -> %s on %s (state %s)",
        ", ".join(map(str, settings.inbox)),
        watcher.raw_topic,
        settings.kafka.describe(),
        settings.state,
    )
    try:
        watcher.run()
    finally:
        publisher.close()
        watcher.state.close()
    log.info("watcher stopped")
    return 0


# -- feeds ---------------------------------------------------------------------------
def cmd_feeds(args: SimpleNamespace) -> int:
    from wirewatch.cli.main import _load_feeds
    from wirewatch.feeds.poller import FeedPoller, FeedState
    from wirewatch.feeds.service import FeedPublisher
    from wirewatch.settings import FeedsSettings

    settings = _settings(
        FeedsSettings,
        args,
        ("config", "state", "namespace", "metrics_host", "metrics_port", "timeout"),
    )
    if settings.config is None:
        raise SystemExit("wirewatch: feeds: no feeds file; pass --config FILE")
    from wirewatch.paths import check_database

    check_database(settings.state, (), "--state", "the feeds state")
    feeds = _load_feeds(settings.config)
    publisher = _publisher(settings, settings.linger_ms)
    poller = FeedPoller(
        feeds,
        FeedState(settings.state),
        timeout=settings.timeout,
        max_bytes=settings.max_feed_bytes,
    )
    service = FeedPublisher(settings, publisher, poller)
    _on_stop(service.stop, "feeds")
    _serve_metrics(settings, service.ready.is_set, "feeds")
    log.info(
        "feeds: %d feed(s) from %s -> %s on %s (state %s)",
        len(poller.feeds),
        settings.config,
        service.topic,
        settings.kafka.describe(),
        settings.state,
    )
    try:
        service.run(once=args.once)
    finally:
        publisher.close()
        poller.state.close()
    log.info("feeds stopped")
    return 0


# -- worker --------------------------------------------------------------------------
def cmd_worker(args: SimpleNamespace) -> int:
    from wirewatch.settings import WorkerSettings
    from wirewatch.worker.app import build_app

    settings = _settings(
        WorkerSettings,
        args,
        ("namespace", "metrics_host", "metrics_port", "processes", "batch_size", "session_timeout"),
    )
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SystemExit(
            f"wirewatch: cannot create the worker's data directory {settings.data_dir} "
            f"({exc.strerror or exc}); point WIREWATCH_DATA_DIR at a writable directory"
        ) from exc
    _kafka_preflight(settings)
    app = build_app(settings)
    processor = app.wirewatch_processor  # type: ignore[attr-defined]
    _serve_metrics(settings, lambda: processor.started, "worker")
    # Faust's own names for the levels
    level = {"warning": "warn", "critical": "crit"}.get(
        args.log_level.lower(), args.log_level.lower()
    )
    sys.argv = ["wirewatch worker", "worker", "--without-web", "--loglevel", level]
    app.main()  # Faust's worker: handles SIGTERM/SIGINT itself (stops the agents cleanly)
    return 0


# -- indexer -------------------------------------------------------------------------
def _es_refused(settings: Any, sink: Any) -> SystemExit | None:
    """Why Elasticsearch refuses this configuration (401, 403, TLS), checked once at start-up.

    The sink retries transport errors, which suits an outage but would turn a wrong
    password or an untrusted certificate into endless retries; those are settings
    errors, reported here with what to set. An unreachable or busy Elasticsearch is
    not: the retrying calls that follow wait for it. Messages name settings, never values.
    """
    from elastic_transport import TlsError, TransportError
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException

    es = settings.es
    where = f"Elasticsearch at {es.describe()}"
    try:
        sink.es.indices.exists_alias(name=sink.articles)
    except AuthenticationException:
        if es.api_key is None and not es.username:
            what = "no credentials are set"
        else:
            what = "the API key was refused" if es.api_key else "the user name or password is wrong"
        return SystemExit(
            f"wirewatch: {where} answered 401: authentication failed ({what}); set "
            "WIREWATCH_ES__USERNAME + WIREWATCH_ES__PASSWORD (or __PASSWORD_FILE), or "
            "WIREWATCH_ES__API_KEY (or __API_KEY_FILE) to the encoded API key"
        )
    except AuthorizationException:
        return SystemExit(
            f"wirewatch: {where} answered 403: authenticated, but not allowed; the user or API "
            "key needs the cluster privilege manage_index_templates and create_index, "
            f"view_index_metadata, write and read on {settings.namespace}wirewatch-*"
        )
    except TlsError as exc:
        if "CERTIFICATE_VERIFY_FAILED" not in str(exc.message):
            return SystemExit(
                f"wirewatch: TLS with {where} failed ({exc.message}); check that the server "
                "speaks https on that port"
            )
        cas = f"the CA bundle {es.ca_certs}" if es.ca_certs else "the system CAs"
        return SystemExit(
            f"wirewatch: TLS with {where} failed: certificate verification against {cas} "
            f"failed ({exc.message}); set WIREWATCH_ES__CA_CERTS to the PEM bundle of the CA "
            "that signed the server's certificate, and use a host name or IP address the "
            "certificate names"
        )
    except (ApiError, TransportError):
        return None
    return None


def cmd_indexer(args: SimpleNamespace) -> int:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from wirewatch.embedded.notify import WebhookNotifier, check_webhooks
    from wirewatch.indexer.service import Indexer
    from wirewatch.indexer.sink import EsSink, GaveUp, Stopped, client
    from wirewatch.settings import IndexerSettings

    settings = _settings(
        IndexerSettings,
        args,
        (
            "namespace",
            "metrics_host",
            "metrics_port",
            "rules",
            "batch_size",
            "session_timeout",
            "max_retries",
        ),
    )
    from wirewatch.cli.main import _load_rules

    rules = _load_rules(settings.rules) if settings.rules else []
    if rules:
        check_webhooks(rules, settings.rules, settings.webhooks, digests=True)
    stop = threading.Event()
    _on_stop(stop, "indexer")
    sink = EsSink(settings, client(settings), stop)
    refused = _es_refused(settings, sink)
    if refused is not None:
        raise refused
    try:
        consumer = KafkaConsumer(
            **settings.kafka.kafka_python(),
            group_id=settings.namespace + "wirewatch-indexer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(settings.session_timeout * 1000),
            heartbeat_interval_ms=int(settings.session_timeout * 1000 / 3),
            max_poll_interval_ms=600_000,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
    except KafkaError as exc:
        raise _kafka_unreachable(settings.kafka.describe(), exc) from exc
    publisher = _publisher(settings, 5)
    notifier = None
    # immediate deliveries (webhooks, channels) and digests (sent per period by the
    # indexer's digest scheduler, through the same channels)
    if any(n.webhook or n.channel for r in rules for n in r.notify):
        notifier = WebhookNotifier(sink, settings.webhooks)
    indexer = Indexer(settings, sink, consumer, publisher, rules, notifier)
    _serve_metrics(settings, indexer.ready.is_set, "indexer")
    log.info(
        "indexer: %s on %s -> %s at %s, %d alert rule(s), %d digest(s) by rule and channel",
        indexer.topic,
        settings.kafka.describe(),
        sink.articles,
        settings.es.describe(),
        len(rules),
        len(indexer.digest_channels),
    )
    code = 0
    try:
        indexer.run()
    except Stopped:
        log.info("stopped while Elasticsearch was failing; the unfinished batch was not committed")
    except GaveUp as exc:
        log.error("%s; the batch was not committed: it is redone on the next start", exc)
        code = 75
    finally:
        if notifier is not None:
            notifier.close()
        consumer.close(autocommit=False)
        publisher.close()
    log.info("indexer stopped after indexing %d article(s)", indexer.indexed)
    return code


# -- one-shot set-up -------------------------------------------------------------------
def cmd_topics(args: SimpleNamespace) -> int:
    from kafka.errors import KafkaError

    from wirewatch import topics
    from wirewatch.settings import ServiceSettings

    settings = _settings(ServiceSettings, args, ("namespace",))
    _kafka_preflight(settings)
    try:
        results = topics.create(
            settings.kafka.kafka_python(),
            settings.namespace,
            args.partitions,
            args.replication_factor,
        )
    except KafkaError as exc:
        raise _kafka_unreachable(settings.kafka.describe(), exc) from exc
    for name, what in results:
        print(f"{what:8} {name}")
    return 0


def cmd_templates(args: SimpleNamespace) -> int:
    from wirewatch.indexer import template

    if args.action == "export":
        for path in template.export(Path(args.dir)):
            print(f"wrote {path}")
        return 0
    if args.action == "check":
        problems = template.check(Path(args.dir))
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    from wirewatch.settings import IndexerSettings

    settings = _settings(IndexerSettings, args, ("namespace",))
    _sink, installed = installed_sink(settings, retries=10)
    for alias in installed:
        print(f"installed template and write index for {alias}")
    return 0


def installed_sink(settings: Any, retries: int) -> tuple[Any, list[str]]:
    """An ``EsSink`` for ``settings`` (``retries`` unless set) with its templates and write
    indices installed, and the aliases installed; a refused configuration or an
    unreachable Elasticsearch ends the command with what to check."""
    from wirewatch.indexer.sink import EsSink, GaveUp, client

    settings.max_retries = settings.max_retries or retries
    sink = EsSink(settings, client(settings), threading.Event())
    refused = _es_refused(settings, sink)
    if refused is not None:
        raise refused
    try:
        installed = sink.install()
    except GaveUp as exc:
        raise SystemExit(
            f"wirewatch: {exc}; check --es / WIREWATCH_ES__URL and that Elasticsearch is up"
        ) from None
    return sink, installed


# -- the commands ---------------------------------------------------------------------
def _common(metrics_port: int | None) -> Callable[[F], F]:
    """``--kafka`` and ``--namespace`` (and the metrics endpoint of a long-running service)."""

    def decorate(f: F) -> F:
        options = [
            click.option(
                "--kafka",
                metavar="HOST:PORT",
                help="Kafka bootstrap servers (WIREWATCH_KAFKA__BOOTSTRAP)",
            ),
            click.option(
                "--namespace",
                help="prefix for topics, groups and index aliases (WIREWATCH_NAMESPACE)",
            ),
        ]
        if metrics_port is not None:
            options += [
                click.option("--metrics-host", help="metrics bind address (default 127.0.0.1)"),
                click.option(
                    "--metrics-port",
                    type=int,
                    help=f"/metrics, /healthz, /readyz port (default {metrics_port}, 0 = off)",
                ),
            ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def add_commands(cli: click.Group) -> None:
    """The services and set-up steps of the distributed mode, on the ``wirewatch`` group."""
    from wirewatch.cli.help import run_command as _run

    path = click.Path(path_type=Path)

    @cli.command(
        "watcher",
        help="Publish inbox files to Kafka (distributed mode).",
    )
    @click.option(
        "--inbox",
        type=path,
        multiple=True,
        metavar="DIR",
        help="inbox directory, repeatable (WIREWATCH_INBOX)",
    )
    @click.option("--state", type=path, help="state file (default wirewatch-watcher.db)")
    @click.option("--poll-interval", type=float, help="seconds between inbox scans (default 0.5)")
    @click.option(
        "--settle-seconds", type=float, help="a file is complete once unchanged this long"
    )
    @click.option("--max-bytes", type=int, help="largest accepted file (default 5 MiB)")
    @_common(9464)
    def watcher_command(**params: Any) -> int:
        return _run(cmd_watcher, params)

    @cli.command(
        "feeds",
        help="Publish new RSS/Atom feed items to Kafka (distributed mode).",
    )
    @click.option("--config", type=path, help="feed subscriptions (YAML)")
    @click.option("--state", type=path, help="state file (default wirewatch-feeds.db)")
    @click.option("--timeout", type=float, help="seconds per request (default 20)")
    @click.option("--once", is_flag=True, help="poll each enabled feed once and exit")
    @_common(9467)
    def feeds_command(**params: Any) -> int:
        return _run(cmd_feeds, params)

    @cli.command(
        "worker",
        help="The Faust enrichment worker (distributed mode).",
    )
    @click.option("--processes", type=int, help="enrichment processes (default 1; 0 = a thread)")
    @click.option("--batch-size", type=int)
    @click.option("--session-timeout", type=float, help="consumer session timeout, seconds")
    @_common(9465)
    def worker_command(**params: Any) -> int:
        return _run(cmd_worker, params)

    @cli.command(
        "indexer",
        short_help="Index enriched articles into Elasticsearch, fire alerts.",
        help="Bulk-index enriched articles into Elasticsearch, fire alerts (distributed mode).",
    )
    @click.option("--es", metavar="URL", help="Elasticsearch URL (WIREWATCH_ES__URL)")
    @click.option("--rules", type=path, help="alert rules (YAML)")
    @click.option("--batch-size", type=int)
    @click.option("--session-timeout", type=float, help="consumer session timeout, seconds")
    @click.option(
        "--max-retries",
        type=int,
        help="give up a batch after N failed attempts (default 0 = never)",
    )
    @_common(9466)
    def indexer_command(**params: Any) -> int:
        return _run(cmd_indexer, params)

    @cli.group(
        "topics",
        help="Create the Kafka topics declared in schemas/topics.yaml.",
    )
    def topics_group() -> None:
        pass

    @topics_group.command("create", help="Create the topics that do not exist yet.")
    @click.option("--partitions", type=int, help="override every topic's partition count")
    @click.option("--replication-factor", type=int)
    @_common(None)
    def topics_create_command(**params: Any) -> int:
        return _run(cmd_topics, params)

    @cli.group(
        "templates",
        help="Install (or export/check) the Elasticsearch index templates.",
    )
    def templates_group() -> None:
        pass

    @templates_group.command(
        "install", help="Install the index templates and the first write index of each alias."
    )
    @click.option("--es", metavar="URL", help="Elasticsearch URL (WIREWATCH_ES__URL)")
    @click.option("--namespace", help="prefix of the index aliases (WIREWATCH_NAMESPACE)")
    def templates_install_command(**params: Any) -> int:
        return _run(cmd_templates, params, action="install")

    directory = click.option(
        "--dir", default="deploy/elasticsearch", show_default=True, help="the templates' folder"
    )

    @templates_group.command("export", help="Write the index templates into --dir.")
    @directory
    def templates_export_command(**params: Any) -> int:
        return _run(cmd_templates, params, action="export")

    @templates_group.command(
        "check", help="Compare the templates in --dir with the code's (exit 1 on a difference)."
    )
    @directory
    def templates_check_command(**params: Any) -> int:
        return _run(cmd_templates, params, action="check")
