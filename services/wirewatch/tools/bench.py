"""``wirewatch bench``: core and embedded throughput, printed as BENCHMARKS.md (written
there with ``--write``).

* core: the whole enrichment (decode, parse, language, dates, entities, events,
  keywords, fingerprint) on the example inbox in one process, repeated for a few
  seconds -> articles/second per core and per-article latency percentiles;
* embedded: ``wirewatch run --once`` on the example inbox copied N times (each copy
  a distinct text) into a fresh SQLite database, with 1 and with ``--workers``
  processes -> files/second end to end (scan, read, enrich, near-duplicate
  lookup, store, commit).
* scan (``wirewatch bench scan``): one inbox directory of ``--files`` small files
  scanned when none and when all of them are already recorded in the embedded
  store -> seconds, Python heap peak (tracemalloc) and peak RSS per case; its own
  section of BENCHMARKS.md.

Each prints its figures; ``args.output`` (``--write [PATH]``, ``--output PATH``) is the
file to write them into, None for none.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from wirewatch.core.logic import DATA_DIR, Enricher, Resources
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.embedded.runner import EmbeddedRunner
from wirewatch.embedded.store import SqliteStore
from wirewatch.settings import EmbeddedSettings


def _inputs(inbox: Path) -> list[tuple[bytes, Source]]:
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    if not files:
        raise SystemExit(f"wirewatch bench: {inbox}: no files; pass --inbox with example articles")
    return [(p.read_bytes(), Source(path=str(p))) for p in files]


ROUNDS = 3


def bench_core(
    enricher: Enricher, inputs: list[tuple[bytes, Source]], seconds: float = 5.0
) -> dict:
    for data, src in inputs:  # warm-up: lazy tables, CLD2
        enricher.analyse(data, src)
    times: list[float] = []
    articles = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for data, src in inputs:
            t0 = time.perf_counter()
            out = enricher.analyse(data, src)
            times.append(time.perf_counter() - t0)
            articles += isinstance(out, EnrichedArticle)
    total = time.perf_counter() - start
    times.sort()
    return {
        "calls": len(times),
        "articles": articles,
        "rate": len(times) / total,
        "p50_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * times[int(0.99 * (len(times) - 1))],
        "max_ms": 1000 * times[-1],
        "mean_bytes": sum(len(d) for d, _ in inputs) / len(inputs),
    }


# What a fresh process does before its first article: import the core, load the data
# files (from the compiled cache when ``cache`` is given), enrich one article. It prints
# the monotonic clock (system-wide on Linux) when the article is done, so the figure
# ends there: the interpreter's clean-up at exit is not start-up.
_STARTUP = """
import sys, time
from pathlib import Path
from wirewatch.core.logic import DATA_DIR, Enricher, Resources
from wirewatch.core.models import Source
cache = Path(sys.argv[2]) if len(sys.argv) > 2 else None
enricher = Enricher(Resources.load(DATA_DIR, cache))
enricher.analyse(Path(sys.argv[1]).read_bytes(), Source(path=sys.argv[1]))
print(time.perf_counter())
"""
# the same clock at the first statement of a bare interpreter
_BARE = "import time; print(time.perf_counter())"


def bench_startup(article: Path, cache: Path, runs: int = 5) -> dict:
    """Seconds from launching a fresh interpreter to its first enriched article (median
    of ``runs``), with the data files loaded from the compiled cache, and the seconds a
    bare interpreter takes to its first statement."""
    import os
    import subprocess
    import sys

    # Compiled bytecode as an installed package has it (pip compiles at install time),
    # even where PYTHONDONTWRITEBYTECODE is set; kept under ``cache``, not in the tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache / "bytecode")

    def one(*argv: str) -> float:
        t0 = time.perf_counter()
        done = subprocess.run(  # noqa: S603
            [sys.executable, *argv], check=True, capture_output=True, text=True, env=env
        )
        return float(done.stdout.split()[-1]) - t0

    one("-c", _STARTUP, str(article), str(cache))  # builds the cache entry and bytecode
    bare = statistics.median(one("-c", _BARE) for _ in range(runs))
    total = statistics.median(one("-c", _STARTUP, str(article), str(cache)) for _ in range(runs))
    return {"total": total, "interpreter": bare, "to_first_article": total - bare}


def core_rounds(
    enricher: Enricher,
    sets: dict[str, list[tuple[bytes, Source]]],
    rounds: int,
    seconds: float,
    done: Callable[[str], object] = lambda _name: None,
) -> dict[str, dict]:
    """``bench_core`` on each input set, ``rounds`` times in turn (other work on the
    machine then weighs on every set alike); per set the round of median rate. ``done``
    hears the name of each set measured."""
    runs: dict[str, list[dict]] = {name: [] for name in sets}
    for _ in range(rounds):
        for name, inputs in sets.items():
            runs[name].append(bench_core(enricher, inputs, seconds))
            done(name)
    out = {}
    for name, results in runs.items():
        results.sort(key=lambda r: r["rate"])
        out[name] = {**results[len(results) // 2], "rates": [r["rate"] for r in results]}
    return out


def _make_inbox(inputs: list[tuple[bytes, Source]], copies: int, target: Path) -> int:
    n = 0
    for k in range(copies):
        sub = target / f"batch{k:04d}"
        sub.mkdir(parents=True)
        for i, (data, src) in enumerate(inputs):
            # A distinct trailing line per copy gives a distinct article id.
            suffix = f"\n\nRef {k}-{i}.\n".encode()
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                suffix = suffix.decode().encode(
                    "utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be"
                )
            (sub / Path(src.path).name).write_bytes(data + suffix)
            n += 1
    return n


def bench_embedded(
    resources: Resources,
    inputs: list[tuple[bytes, Source]],
    copies: int,
    workers: int,
    files: Sequence[tuple[str, str]] | None = None,
) -> dict:
    """``wirewatch run --once`` over ``copies`` copies of ``inputs`` (each with a distinct
    last line: near-duplicates of each other), or over ``files`` (name, text) as given."""
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
        inbox = Path(tmp) / "inbox"
        if files is None:
            count = _make_inbox(inputs, copies, inbox)
        else:
            inbox.mkdir()
            for name, text in files:
                (inbox / name).write_text(text, encoding="utf-8")
            count = len(files)
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
        runner = EmbeddedRunner(settings, store, Enricher(resources))
        logging.getLogger("wirewatch.run").setLevel(logging.WARNING)
        watch = _ChildPeak()
        t0 = time.perf_counter()
        try:
            summary = runner.run()
        finally:
            watch.stop()
        seconds = time.perf_counter() - t0
        counts = store.counts()
        store.close()
        db_bytes = settings.db.stat().st_size
    return {
        "files": count,
        "seconds": seconds,
        "rate": count / seconds,
        "articles": counts["articles"],
        "near_duplicates": counts["near_duplicates"],
        "rejected": summary.rejected,
        "db_mb": db_bytes / 1e6,
        "workers": workers,
        "worker_rss_mb": watch.peak_mb,
    }


class _ChildPeak:
    """The largest peak RSS (VmHWM) of this process's descendants - the pool workers -
    sampled every 0.2 s while they live. (``RUSAGE_CHILDREN`` will not do: on Linux a
    spawned child's high-water mark includes the parent's pages it had between fork and
    exec.)"""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="child-rss", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from wirewatch.tools.devstack import descendants

        me = os.getpid()
        while not self._done.wait(0.2):
            for pid in descendants(me):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                if "VmHWM:" in status:
                    kb = int(status.split("VmHWM:", 1)[1].split()[0])
                    self.peak_mb = max(self.peak_mb, kb / 1024)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def main(args: SimpleNamespace) -> int:
    resources = Resources.load()
    enricher = Enricher(resources)
    inputs = _inputs(args.inbox)
    t0 = time.perf_counter()
    Resources.load()
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as cache:
        Resources.load(DATA_DIR, Path(cache))  # builds the cache entry
        t0 = time.perf_counter()
        Resources.load(DATA_DIR, Path(cache))
        cached_s = time.perf_counter() - t0
    real_dir = Path(args.real) if args.real else None
    sets = {"examples": inputs}
    if real_dir is not None and real_dir.is_dir():
        real_inputs = [
            (p.read_bytes(), Source(path=str(p)))
            for folder in ("offtopic", "candidates")
            for p in sorted((real_dir / folder).glob("*.txt"))
        ]
        if real_inputs:
            sets["real"] = real_inputs
    from wirewatch.cli.output import Progress

    embedded = [1, args.workers] if args.workers > 1 else [1]
    blended: list[tuple[str, str]] = []
    if real_dir is not None and real_dir.is_dir():
        from wirewatch.tools import loadgen

        blended = list(loadgen.blends(loadgen.real_news(real_dir), args.blends))
    steps = ROUNDS * len(sets) + 1 + len(embedded) * (2 if blended else 1)
    with Progress("core rounds", steps) as progress:
        rounds = core_rounds(
            enricher, sets, ROUNDS, seconds=5.0, done=lambda name: progress.step(label=name)
        )
        core = rounds["examples"]
        real = rounds.get("real")
        if real is not None:
            real["count"] = len(sets["real"])
        progress.step(0, "start-up")
        with tempfile.TemporaryDirectory() as cache:
            startup = bench_startup(Path(inputs[0][1].path), Path(cache))
        progress.step(label="embedded, 1 worker")
        rss_core = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        runs = []
        for workers in embedded:
            progress.step(0, f"embedded, {workers} worker(s)")
            runs.append(bench_embedded(resources, inputs, args.copies, workers))
            progress.step()
        real_runs = []
        for workers in embedded if blended else []:
            progress.step(0, f"embedded on real news, {workers} worker(s)")
            real_runs.append(bench_embedded(resources, [], 0, workers, files=blended))
            progress.step()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_worker = max((r["worker_rss_mb"] for r in [*runs, *real_runs]), default=0.0)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Produced by `wirewatch bench --write` (re-run it to refresh this file). Figures are from one",
        "run on the machine described below; compare runs on the same machine only.",
        "",
        f"- when: {when}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- input: {len(inputs)} example articles from `{args.inbox}` (mean {core['mean_bytes']:.0f} bytes)",
        "",
        "## Core enrichment (one process, one core)",
        "",
        "The whole enrichment per article: decode, parse, language, date, entities,",
        "events, keywords, MinHash fingerprint. Each input set is measured "
        f"{ROUNDS} times in turn, at least 5 s a time; the table gives the round of median "
        "rate (other work on the machine weighs on every round).",
        "",
        "| input | mean bytes | articles/s per core | p50 ms | p99 ms | max ms | calls |",
        "|---|---|---|---|---|---|---|",
        f"| {len(inputs)} example articles | {core['mean_bytes']:.0f} | {core['rate']:.0f} | "
        f"{core['p50_ms']:.2f} | {core['p99_ms']:.2f} | {core['max_ms']:.2f} | {core['calls']} |",
    ]
    if real is not None:
        lines.append(
            f"| {real['count']} real news articles (`{real_dir}`) | {real['mean_bytes']:.0f} | "
            f"{real['rate']:.0f} | {real['p50_ms']:.2f} | {real['p99_ms']:.2f} | "
            f"{real['max_ms']:.2f} | {real['calls']} |"
        )
    else:
        lines.append(f"| real news: `{real_dir}` not found, not measured | | | | | | |")
    lines += [
        "",
        "Rates of the rounds (articles/s): "
        + "; ".join(
            f"{name} {', '.join(f'{r:.0f}' for r in result['rates'])}"
            for name, result in rounds.items()
        )
        + ".",
        "",
        f"Data files: parsed in {load_s:.2f} s, loaded from the compiled cache in "
        f"{cached_s:.2f} s. Peak RSS of this benchmark's process after the core rounds "
        f"(the data files parsed, both input sets in memory): {rss_core:.0f} MB.",
        "",
        f"Start-up to the first article: {startup['to_first_article']:.2f} s in a fresh "
        f"process (imports with their bytecode compiled, data files from the compiled "
        f"cache, one article enriched; the interpreter's clean-up at exit not counted), "
        f"besides the interpreter's own {startup['interpreter']:.2f} s "
        f"(median of 5).",
        "",
        "## Embedded end to end (`wirewatch run --once`)",
        "",
        f"The example inbox copied {args.copies} times (distinct texts) into a fresh inbox: scan,",
        "read, enrich, near-duplicate lookup, SQLite store (FTS5), one commit per batch.",
        "",
        "| workers | files | seconds | files/s | articles stored | rejected | database MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['workers']} | {r['files']} | {r['seconds']:.1f} | {r['rate']:.0f} | "
            f"{r['articles']} | {r['rejected']} | {r['db_mb']:.1f} |"
        )
    lines += [
        "",
        "Every copy of an example is a near-duplicate of its other copies, so each article",
        "finds all the earlier copies in the near-duplicate lookup and joins their story: a",
        "heavier load than a news wire sends. The second table is real news instead:",
    ]
    if real_runs and real is not None:
        mean = sum(len(t.encode()) for _, t in blended) / len(blended)
        lines += [
            "",
            f"{len(blended)} distinct articles blended from the real news of `{real_dir}` "
            f"(mean {mean:.0f} bytes; each joins thirds of three articles of one language, "
            "see `wirewatch/tools/loadgen.py`), into a fresh inbox:",
            "",
            "| workers | files | seconds | files/s | near-duplicates found | "
            "files/s ÷ (workers × core rate on real news) |",
            "|---|---|---|---|---|---|",
        ]
        for r in real_runs:
            ratio = r["rate"] / (r["workers"] * real["rate"])
            lines.append(
                f"| {r['workers']} | {r['files']} | {r['seconds']:.1f} | {r['rate']:.0f} | "
                f"{r['near_duplicates']} | {ratio:.2f} |"
            )
    else:
        lines += ["", f"(real news: `{real_dir}` not found, not measured)"]
    lines += ["", f"Peak RSS of the benchmark process (parent): {rss:.0f} MB."]
    if rss_worker:
        lines += [
            f"Peak RSS of a pool worker (the largest of the runs with {max(embedded)} workers, "
            "sampled from /proc every 0.2 s; a worker enriches and works out the search "
            f"columns, the store is in the parent): {rss_worker:.0f} MB."
        ]
    lines += [""]
    text = "\n".join(lines)
    from wirewatch.tools import bench_scale
    from wirewatch.tools.bench_distributed import END, PROFILE_END, PROFILE_START, START

    if args.output is None:
        print(text)
        print("(not written: --write updates BENCHMARKS.md)", file=sys.stderr)
        return 0
    old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    # keep the figures of the separate commands (distributed, scan, scale), the notes and
    # the before/after comparison of the core's fast path
    for start, end in (
        (FAST_START, FAST_END),
        (START, END),
        (PROFILE_START, PROFILE_END),
        (SCAN_START, SCAN_END),
        (bench_scale.START, bench_scale.END),
        (bench_scale.NOTES_START, bench_scale.NOTES_END),
    ):
        if start in old and end in old:
            text = (
                text.rstrip("\n")
                + "\n\n"
                + start
                + old.split(start, 1)[1].split(end, 1)[0]
                + end
                + "\n"
            )
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.output}")
    return 0


# the core before and after its fast path (interleaved runs; kept when the file is rewritten)
FAST_START, FAST_END = "<!-- core-fast-path:start -->", "<!-- core-fast-path:end -->"


# -- scan ------------------------------------------------------------------------------
SCAN_START, SCAN_END = "<!-- bench-scan:start -->", "<!-- bench-scan:end -->"


def _make_files(inbox: Path, count: int) -> float:
    inbox.mkdir(parents=True)
    t0 = time.perf_counter()
    for i in range(count):
        fd = os.open(inbox / f"article-{i:07d}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, f"Article {i}: a short text.\n".encode())
        os.close(fd)
    return time.perf_counter() - t0


def scan_case(inbox: str, db: str, traced: bool) -> dict:
    """One scan of ``inbox`` against the store ``db`` (run in a fresh process), the
    consumer recording every reported file as ``wirewatch run`` does, a chunk per
    transaction."""
    import tracemalloc

    from wirewatch.watcher.scan import InboxScanner

    store = SqliteStore(db)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if traced:
        tracemalloc.start()
    scanner = InboxScanner([Path(inbox)], store, settle_seconds=0)
    reported = chunks = largest = unrecorded = 0
    recording = 0.0
    t0 = time.perf_counter()
    for chunk in scanner.scan():
        t1 = time.perf_counter()
        with store.transaction() as tx:
            for fs in chunk:
                tx.record_file(fs.path, fs.size, fs.mtime_ns, None, "stored")
        recording += time.perf_counter() - t1
        reported += len(chunk)
        chunks += 1
        largest = max(largest, len(chunk))
        unrecorded = max(unrecorded, scanner.retained()["unrecorded"])
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    store.close()
    return {
        "reported": reported,
        "chunks": chunks,
        "largest": largest,
        "unrecorded": unrecorded,
        "retained": scanner.retained(),
        "seconds": seconds,
        "recording": recording,
        "heap_mb": peak / 1e6,
        "rss_before": rss_before,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_child(inbox: Path, db: Path, traced: bool) -> dict:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A fresh process per case: its peak RSS is that case's alone.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(scan_case, str(inbox), str(db), traced).result()


def bench_scan(count: int) -> dict:
    from wirewatch.cli.output import Progress

    with (
        tempfile.TemporaryDirectory(prefix="wirewatch-bench-scan-") as tmp,
        Progress(f"creating {count} files", 5) as progress,
    ):
        inbox = Path(tmp) / "inbox"
        created = _make_files(inbox, count)
        cases = {}
        for traced, suffix in ((False, ""), (True, "-traced")):
            db = Path(tmp) / f"scan{suffix}.db"
            progress.step(label=f"scan: new{suffix}")
            cases["new" + suffix] = _in_child(inbox, db, traced)  # records every file
            progress.step(label=f"scan: known{suffix}")
            cases["known" + suffix] = _in_child(inbox, db, traced)
        progress.step()
    return {"files": count, "created": created, **cases}


def main_scan(args: SimpleNamespace) -> int:
    figures = bench_scan(args.files)
    n = figures["files"]
    for case in ("new", "known"):
        expected = n if case == "new" else 0
        got = figures[case]["reported"], figures[case + "-traced"]["reported"]
        if got != (expected, expected):
            raise SystemExit(f"wirewatch bench scan: {case}: reported {got}, expected {expected}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for case, what in (
        ("new", "none recorded yet: every file reported once and recorded"),
        ("known", "all already recorded: nothing to report"),
    ):
        r, t = figures[case], figures[case + "-traced"]
        rows.append(
            f"| {what} | {r['seconds']:.2f} (recording {r['recording']:.2f}) | "
            f"{r['reported']} in {r['chunks']} chunk(s) of at most {r['largest']} | "
            f"{t['heap_mb']:.1f} | {r['rss']:.0f} ({r['rss_before']:.0f} before) | "
            f"{r['unrecorded']} |"
        )
    lines = [
        "## Inbox scan (`wirewatch bench scan`)",
        "",
        f"- when: {when}; machine: {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}",
        f"- input: one inbox directory of {n} small files (created in "
        f"{figures['created']:.1f} s); the embedded store as the record of processed files",
        "",
        "One scan each, in a fresh process: walk, look up which files are recorded (500 "
        "paths a query), report ready files in sorted chunks; when files are new the "
        "consumer records each chunk in one transaction, as `wirewatch run` does.",
        "",
        "| case | seconds | files reported | Python heap peak MB (tracemalloc) | "
        "peak RSS MB | largest unrecorded set |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "The heap peak is measured in a second, traced run (tracemalloc slows Python down, "
        "so the seconds come from the untraced one). Peak RSS includes the interpreter, "
        "the imports and SQLite's page cache.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.output is None:
        print("(not written: --write updates BENCHMARKS.md)", file=sys.stderr)
        return 0
    from wirewatch.tools.bench_distributed import write_section

    write_section(args.output, text, SCAN_START, SCAN_END)
    print(f"wrote {args.output}")
    return 0
