"""Sub-commands of the distributed mode: watcher, worker, indexer, topics, templates."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("wirewatch.cli")


def _settings(cls: Any, args: argparse.Namespace, names: tuple[str, ...]) -> Any:
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
def cmd_watcher(args: argparse.Namespace) -> int:
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
def cmd_feeds(args: argparse.Namespace) -> int:
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
def cmd_worker(args: argparse.Namespace) -> int:
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


def cmd_indexer(args: argparse.Namespace) -> int:
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
        check_webhooks(rules, settings.rules, settings.webhooks)
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
    if any(n.webhook for r in rules for n in r.notify):
        notifier = WebhookNotifier(sink, settings.webhooks)
    indexer = Indexer(settings, sink, consumer, publisher, rules, notifier)
    _serve_metrics(settings, indexer.ready.is_set, "indexer")
    log.info(
        "indexer: %s on %s -> %s at %s, %d alert rule(s)",
        indexer.topic,
        settings.kafka.describe(),
        sink.articles,
        settings.es.describe(),
        len(rules),
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
def cmd_topics(args: argparse.Namespace) -> int:
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


def cmd_templates(args: argparse.Namespace) -> int:
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
    from wirewatch.indexer.sink import EsSink, GaveUp, client
    from wirewatch.settings import IndexerSettings

    settings = _settings(IndexerSettings, args, ("namespace",))
    settings.max_retries = settings.max_retries or 10
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
    for alias in installed:
        print(f"installed template and write index for {alias}")
    return 0


# -- parsers ---------------------------------------------------------------------------
def _common(sp: argparse.ArgumentParser, metrics_port: int | None) -> None:
    sp.add_argument(
        "--kafka",
        default=None,
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (WIREWATCH_KAFKA__BOOTSTRAP)",
    )
    sp.add_argument(
        "--namespace",
        default=None,
        help="prefix for topics, groups and index aliases (WIREWATCH_NAMESPACE)",
    )
    if metrics_port is not None:
        sp.add_argument(
            "--metrics-host", default=None, help="metrics bind address (default 127.0.0.1)"
        )
        sp.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help=f"/metrics, /healthz, /readyz port (default {metrics_port}, 0 = off)",
        )


def add_commands(sub: Any) -> None:
    w = sub.add_parser("watcher", help="publish inbox files to Kafka (distributed mode)")
    w.add_argument(
        "--inbox",
        nargs="+",
        type=Path,
        default=None,
        metavar="DIR",
        help="inbox director(y/ies) (WIREWATCH_INBOX)",
    )
    w.add_argument(
        "--state", type=Path, default=None, help="state file (default wirewatch-watcher.db)"
    )
    w.add_argument("--poll-interval", type=float, default=None)
    w.add_argument("--settle-seconds", type=float, default=None)
    w.add_argument("--max-bytes", type=int, default=None)
    _common(w, 9464)
    w.set_defaults(func=cmd_watcher)

    f = sub.add_parser("feeds", help="publish new RSS/Atom feed items to Kafka (distributed mode)")
    f.add_argument("--config", type=Path, default=None, help="feed subscriptions (YAML)")
    f.add_argument(
        "--state", type=Path, default=None, help="state file (default wirewatch-feeds.db)"
    )
    f.add_argument("--timeout", type=float, default=None, help="seconds per request (default 20)")
    f.add_argument("--once", action="store_true", help="poll each enabled feed once and exit")
    _common(f, 9467)
    f.set_defaults(func=cmd_feeds)

    k = sub.add_parser("worker", help="the Faust enrichment worker (distributed mode)")
    k.add_argument(
        "--processes", type=int, default=None, help="enrichment processes (default 1; 0 = a thread)"
    )
    k.add_argument("--batch-size", type=int, default=None)
    k.add_argument(
        "--session-timeout", type=float, default=None, help="consumer session timeout, seconds"
    )
    _common(k, 9465)
    k.set_defaults(func=cmd_worker)

    i = sub.add_parser(
        "indexer", help="bulk-index enriched articles into Elasticsearch, fire alerts"
    )
    i.add_argument(
        "--es", default=None, metavar="URL", help="Elasticsearch URL (WIREWATCH_ES__URL)"
    )
    i.add_argument("--rules", type=Path, default=None, help="alert rules (YAML)")
    i.add_argument("--batch-size", type=int, default=None)
    i.add_argument("--session-timeout", type=float, default=None)
    i.add_argument(
        "--max-retries",
        type=int,
        default=None,
        help="give up a batch after N failed attempts (default 0 = never)",
    )
    _common(i, 9466)
    i.set_defaults(func=cmd_indexer)

    t = sub.add_parser("topics", help="create the Kafka topics declared in schemas/topics.yaml")
    t.add_argument("action", choices=["create"])
    t.add_argument(
        "--partitions", type=int, default=None, help="override every topic's partition count"
    )
    t.add_argument("--replication-factor", type=int, default=None)
    _common(t, None)
    t.set_defaults(func=cmd_topics)

    e = sub.add_parser(
        "templates", help="install (or export/check) the Elasticsearch index templates"
    )
    e.add_argument("action", choices=["install", "export", "check"])
    e.add_argument("--es", default=None, metavar="URL")
    e.add_argument("--dir", default="deploy/elasticsearch", help="for export/check")
    e.add_argument("--namespace", default=None)
    e.set_defaults(func=cmd_templates)
