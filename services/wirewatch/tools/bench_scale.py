"""``wirewatch bench scale``: how the embedded store holds up as it grows.

At each stored-article count of ``--sizes`` (1,000, 10,000, 100,000 by default):

* store-only throughput: ``--batch`` further pre-enriched articles through what the
  runner does after enrichment (near-duplicate lookup, stories, ``SqliteStore.put``
  with its FTS rows and band keys), one transaction per 256 articles;
* end-to-end throughput: ``--batch`` further article files through ``wirewatch run
  --once`` on the same database (scan, read, enrichment in one process, the same store
  path);
* search latency: p50/p99 of ``SqliteStore.search`` (the ``wirewatch search`` syntax,
  20 hits, by relevance) over ``QUERIES``;
* database size (pages after a WAL checkpoint) against the bytes of article text
  stored, and the process's peak RSS.

Search latency and size go on to ``--max`` stored articles (by tenfold steps) when it
is larger than the largest size.

Articles are made from the real news of ``--real``: each one a title and the first
sentences of one article followed by sentences drawn from other articles of the same
language, and a reference line of its own (``compose``), so every text is distinct and
two texts share little. The store is filled to each size quickly: a pool of real
articles is enriched once and each composed text takes the entities, events and
keywords of the article it starts with, with its own id, MinHash fingerprint and date
(``synthesise``); those go through the store-only path above, in larger transactions.

Prints its section; ``--write`` puts it into BENCHMARKS.md (between markers) with two
plots under ``docs/bench/`` next to that file.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import random
import re
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

START, END = "<!-- bench-scale:start -->", "<!-- bench-scale:end -->"
# what the figures showed, written by hand (kept when the file is rewritten)
NOTES_START, NOTES_END = "<!-- bench-scale-notes:start -->", "<!-- bench-scale-notes:end -->"
PLOT_DIR = Path("docs/bench")
THROUGHPUT_PNG = "scale-throughput.png"
SEARCH_PNG = "scale-search.png"
STORE_BATCH = 256  # articles per transaction, as ``wirewatch run`` batches them
FILL_BATCH = 2000  # articles per transaction while filling

# Targets users stated.
TARGET_DRIFT = 0.15  # throughput within 15 % from the smallest size to the largest
TARGET_P99_MS = 100.0  # at 1,000,000 stored articles
TARGET_RATIO = 3.0  # database bytes per byte of article text
TARGET_RSS_MB = 150.0  # per process

# What people search for, in the project's syntax and the languages of the news it
# watches: words (stemmed), phrases, prefixes, OR/NOT, and the filters.
QUERIES: tuple[str, ...] = (
    "huawei",
    "huawei ban",
    "huawei OR zte",
    "(huawei OR zte) 5g",
    "export controls",
    '"export controls"',
    "sanctions russia",
    "chip tariffs",
    "semiconductor*",
    "antitrust lawsuit",
    "patent infringement",
    "licence spectrum",
    "government",
    "market shares -football",
    "election",
    "music album review",
    "microsoft NOT google",
    "vendor:Huawei",
    "vendor:Apple since:2015",
    "type:ban status:proposed",
    "type:sanction",
    "country:CN,US",
    "lang:en since:2004 until:2005",
    "lang:de",
    "regierung",
    "verbot huawei",
    "klage gericht",
    "datenschutz",
    "regier*",
    "apple iphone",
    '"in den USA"',
    "fußball OR tennis",
    "gouvernement",
    "interdiction",
    "sanctions économiques",
    "élections",
    "président NOT macron",
    "lang:fr europe",
    "regering",
    "verbod",
    "rechter OR rechtbank",
    "lang:nl minister",
    "regjeringen",
    "film anmeldelse",
    "forbud",
    "lang:nb musikk",
    "regeringen förbud",
    "leverantör*",
    "sanktioner",
    "forbud mod huawei",
)


# -- composing distinct texts (pure) ------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``: split after ``.``, ``!`` or ``?`` and white space,
    each stripped; lines and paragraphs count as boundaries too; none empty."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


@dataclass(frozen=True)
class Origin:
    """One real article to compose from: its index in the pool, language, title and
    sentences (at least one)."""

    index: int
    language: str
    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Composed:
    """A composed article: the origin it starts with, its title and body."""

    origin: int
    title: str
    body: str

    def text(self) -> str:
        """As an article file: title, blank line, body."""
        return f"{self.title}\n\n{self.body}\n"


def by_language(pool: Sequence[Origin]) -> dict[str, list[Origin]]:
    """The pool per language, languages in sorted order."""
    out: dict[str, list[Origin]] = {}
    for origin in sorted(pool, key=lambda o: (o.language, o.index)):
        out.setdefault(origin.language, []).append(origin)
    return out


def compose(groups: dict[str, list[Origin]], k: int, seed: int) -> Composed:
    """Article number ``k``: the same for the same (``groups``, ``k``, ``seed``).

    A language is drawn in proportion to its articles; the title and first 2-4
    sentences come from one article of it, 10-20 more sentences each from a random
    article of the language, in paragraphs of three, and a last line names ``seed``
    and ``k``. ``groups`` must not be empty and no group may be empty (ValueError)."""
    if not groups or any(not g for g in groups.values()):
        raise ValueError("compose needs at least one article in every language given")
    rng = random.Random(f"{seed}:{k}")
    languages = sorted(groups)
    weights = [len(groups[lang]) for lang in languages]
    group = groups[rng.choices(languages, weights)[0]]
    lead = group[rng.randrange(len(group))]
    sentences = list(lead.sentences[: rng.randint(2, 4)])
    for _ in range(rng.randint(10, 20)):
        other = group[rng.randrange(len(group))]
        sentences.append(other.sentences[rng.randrange(len(other.sentences))])
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    paragraphs.append(f"Ref. {seed}-{k}.")
    return Composed(lead.index, lead.title, "\n\n".join(paragraphs))


def shingles(text: str, size: int = 3) -> set[str]:
    """The word ``size``-grams of ``text`` (lower case, split on white space); the text
    itself when it has fewer words."""
    words = text.lower().split()
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b|; 0.0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def near_duplicate_pairs(texts: Sequence[str], threshold: float = 0.5) -> int:
    """Pairs of ``texts`` whose word-trigram Jaccard similarity is at least
    ``threshold`` (exact, every pair: for samples of a few hundred)."""
    sets = [shingles(t) for t in texts]
    return sum(
        1
        for i in range(len(sets))
        for j in range(i + 1, len(sets))
        if jaccard(sets[i], sets[j]) >= threshold
    )


PER_DAY = 100  # composed articles published per day, as a feed brings them


def arrival_date(k: int, seed: int, first: date = date(2000, 1, 1), per_day: int = PER_DAY) -> str:
    """A publication day for article ``k`` as news arrives: ``per_day`` articles a day in
    order of ``k`` from ``first``, each up to two days earlier at random (a batch spans a
    few days, as a live feed's do)."""
    late = random.Random(f"date:{seed}:{k}").randrange(3)
    return (first + timedelta(days=max(0, k // per_day - late))).isoformat()


# -- figures (pure) -----------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values`` (not empty)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} outside (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0."""
    return numerator / denominator if denominator else math.nan


def drift(rates: Sequence[float]) -> float:
    """How far the last rate is from the first, as a signed fraction of the first."""
    return ratio(rates[-1] - rates[0], rates[0]) if rates else math.nan


def decades(sizes: Sequence[int], largest: int | None) -> list[int]:
    """``sizes`` (sorted, distinct) then tenfold steps from the last up to ``largest``
    (included even when not a tenfold step)."""
    out = sorted(set(sizes))
    if largest is None or not out:
        return out
    step = out[-1]
    while step * 10 <= largest:
        step *= 10
        out.append(step)
    if out[-1] < largest:
        out.append(largest)
    return out


def parse_sizes(text: str) -> list[int]:
    """``"1000,10k,1M"`` -> [1000, 10000, 1000000]; ValueError on anything else."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1000, "m": 1_000_000}.get(part[-1:], 1)
        digits = part[:-1] if scale > 1 else part
        if not digits.isdigit() or int(digits) * scale <= 0:
            raise ValueError(f"{text!r}: sizes are positive whole numbers (1000, 10k, 1M)")
        out.append(int(digits) * scale)
    return sorted(set(out))


@dataclass
class Point:
    """The figures at one stored-article count."""

    stored: int
    store_rate: float | None = None  # articles/s, store-only path
    e2e_rate: float | None = None  # files/s, wirewatch run --once
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    slowest: str = ""  # the query of the slowest median
    db_bytes: int = 0
    text_bytes: int = 0
    rss_mb: float = 0.0  # the process's peak so far
    rss_now_mb: float = 0.0  # its resident set at the end of this size
    fill_rate: float | None = None  # articles/s filling up to this size
    near_duplicates: int = 0
    articles: int = 0

    @property
    def db_ratio(self) -> float:
        return ratio(self.db_bytes, self.text_bytes)


@dataclass
class Run:
    """A whole run: the points and what the section says about them."""

    points: list[Point]
    batch: int
    queries: int
    rounds: int
    seed: int
    pool: int
    pool_languages: dict[str, int]
    sample_pairs: int
    sample_size: int
    when: str
    machine: str
    load_before: str
    load_after: str
    e2e_near_duplicates: int = 0
    e2e_articles: int = 0
    rss_base_mb: float = 0.0  # peak RSS before the store: imports, data files, the pool
    notes: list[str] = field(default_factory=list)


def _fmt_size(n: int) -> str:
    return f"{n:,}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def verdicts(run: Run) -> list[str]:
    """One line per target: met or not, with the figure it is judged on."""
    pts = run.points
    out = []
    for label, key in (("store-only", "store_rate"), ("end-to-end", "e2e_rate")):
        rated = [(p.stored, getattr(p, key)) for p in pts if getattr(p, key) is not None]
        if len(rated) >= 2:
            d = drift([r for _, r in rated])
            ok = abs(d) <= TARGET_DRIFT or d > 0
            out.append(
                f"- {label} throughput from {_fmt_size(rated[0][0])} to "
                f"{_fmt_size(rated[-1][0])} stored: {d:+.0%} "
                f"(target: within {TARGET_DRIFT:.0%}) - **{'met' if ok else 'not met'}**"
            )
    top = pts[-1]
    where = f"at {_fmt_size(top.stored)}"
    if top.stored >= 1_000_000:
        ok = top.p99_ms <= TARGET_P99_MS
        out.append(
            f"- search p99 {where}: {top.p99_ms:.1f} ms (target: <= {TARGET_P99_MS:.0f} ms at "
            f"1,000,000) - **{'met' if ok else 'not met'}**"
        )
    else:
        ok = top.p99_ms <= TARGET_P99_MS
        out.append(
            f"- search p99 {where} (the largest measured; the target is for 1,000,000): "
            f"{top.p99_ms:.1f} ms (target: <= {TARGET_P99_MS:.0f} ms) - "
            f"**{'met at this size' if ok else 'not met even at this size'}**"
        )
    worst = max(pts, key=lambda p: p.db_ratio)
    out.append(
        f"- database / text: at most {worst.db_ratio:.2f}x (at {_fmt_size(worst.stored)}; "
        f"target: <= {TARGET_RATIO:.0f}x) - "
        f"**{'met' if worst.db_ratio <= TARGET_RATIO else 'not met'}**"
    )
    rss = max(p.rss_mb for p in pts)
    out.append(
        f"- peak RSS of the one process: {rss:.0f} MB (target: <= {TARGET_RSS_MB:.0f} MB "
        f"per worker) - **{'met' if rss <= TARGET_RSS_MB else 'not met'}** by this process, "
        "which holds the store, the enrichment and the pool of enriched articles at once; "
        "the pool workers of `wirewatch run --workers N` are measured by `wirewatch bench` "
        "(Embedded end to end)"
    )
    return out


def render(run: Run, plots: bool = True) -> str:
    """The section of BENCHMARKS.md for ``run`` (``plots``: with the two images)."""
    pts = run.points
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(run.pool_languages.items()))
    lines = [
        "## Scale of the embedded store (`wirewatch bench scale`)",
        "",
        f"- when: {run.when}; machine: {run.machine}",
        f"- load average (1, 5, 15 min) before: {run.load_before}; after: {run.load_after} "
        "(other work shares the machine when it is above 1: wall-clock figures move with it)",
        f"- articles: composed from {run.pool} real news articles ({langs}; "
        "`../shared/realnews-dev`, read at run time): the title and first sentences of "
        "one article, sentences of other articles of its language, a reference line of "
        f"its own (seed {run.seed}). Of {run.sample_size} composed texts, "
        f"{run.sample_pairs} pair(s) are near-duplicates (word-trigram Jaccard >= 0.5, "
        "every pair compared).",
        "- filling: a pool of the real articles is enriched once; each composed text "
        "takes the entities, events and keywords of the article it starts with, with its "
        "own id, MinHash fingerprint and a publication day in order of arrival "
        f"({PER_DAY} a day from 2000-01-01, up to two days late), and goes through the store-only path below in transactions of {FILL_BATCH}.",
        "",
        "At each size: **store-only** - "
        f"{_fmt_size(run.batch)} further pre-enriched articles through what `wirewatch run` "
        "does after enrichment (near-duplicate lookup by band keys, stories, "
        f"`SqliteStore.put` with its FTS5 rows), one transaction per {STORE_BATCH}; "
        f"**end to end** - {_fmt_size(run.batch)} further article files through "
        "`wirewatch run --once` on the same database (scan, read, enrichment in one "
        "process, the same store path); **search** - "
        f"{run.queries} queries in seven languages (words, phrases, prefixes, OR/NOT, "
        "filters), 20 hits by relevance as `wirewatch search` asks, "
        f"{run.rounds} rounds after a warm-up round; **database / text** - page_count x "
        "page_size after a WAL checkpoint, over the UTF-8 bytes of the titles and bodies "
        "stored (the files' bytes for the end-to-end batches).",
        "",
        "| stored articles | store-only articles/s | end-to-end files/s | search p50 ms | "
        "search p99 ms | search max ms | database MB | text MB | database / text | "
        "peak RSS MB | RSS now MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in pts:
        lines.append(
            f"| {_fmt_size(p.stored)} | {_rate(p.store_rate)} | {_rate(p.e2e_rate)} | "
            f"{p.p50_ms:.1f} | {p.p99_ms:.1f} | {p.max_ms:.1f} | {p.db_bytes / 1e6:.1f} | "
            f"{p.text_bytes / 1e6:.1f} | {p.db_ratio:.2f} | {p.rss_mb:.0f} | "
            f"{p.rss_now_mb:.0f} |"
        )
    fills = [p for p in pts if p.fill_rate is not None]
    if fills:
        lines += [
            "",
            "Filling rate (articles/s) up to each size: "
            + ", ".join(f"{_fmt_size(p.stored)} {p.fill_rate:.0f}" for p in fills)
            + ".",
        ]
    last = pts[-1]
    lines += [
        "",
        f"Peak RSS before the store was opened (imports, data files, the enriched pool of "
        f"{run.pool} articles): {run.rss_base_mb:.0f} MB. Everything runs in one process "
        "(the end-to-end batches enrich in it, without a pool of workers).",
        "",
        f"Near-duplicates found by the store among what it holds: {last.near_duplicates} "
        f"of {_fmt_size(last.articles)} articles at the end"
        + (
            f"; in the end-to-end batches {run.e2e_near_duplicates} of {run.e2e_articles}."
            if run.e2e_articles
            else "."
        ),
        f"Slowest query (median) at {_fmt_size(last.stored)}: `{last.slowest}`.",
        "",
        "Targets:",
        "",
        *verdicts(run),
    ]
    if run.notes:
        lines += ["", *run.notes]
    if plots:
        lines += [
            "",
            f"![Throughput against articles stored]({PLOT_DIR.as_posix()}/{THROUGHPUT_PNG})",
            "",
            f"![Search latency against articles stored]({PLOT_DIR.as_posix()}/{SEARCH_PNG})",
        ]
    return "\n".join(lines) + "\n"


def plot(run: Run, directory: Path) -> list[Path]:
    """The throughput and search plots of ``run`` as PNGs in ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    pts = run.points
    out = []
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key, label, marker in (
        ("store_rate", "store-only (articles/s)", "o"),
        ("e2e_rate", "end to end, one process (files/s)", "s"),
    ):
        xs = [p.stored for p in pts if getattr(p, key) is not None]
        ys = [getattr(p, key) for p in pts if getattr(p, key) is not None]
        if xs:
            ax.plot(xs, ys, marker=marker, label=label)
            ax.fill_between(
                xs, [ys[0] * (1 - TARGET_DRIFT)] * len(xs), [ys[0]] * len(xs), alpha=0.08
            )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("articles stored")
    ax.set_ylabel("rate of a further batch")
    ax.set_title(f"Embedded store: throughput of {run.batch:,} more articles")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.append(directory / THROUGHPUT_PNG)
    fig.savefig(out[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    xs = [p.stored for p in pts]
    ax.plot(xs, [p.p50_ms for p in pts], marker="o", label="p50")
    ax.plot(xs, [p.p99_ms for p in pts], marker="s", label="p99")
    ax.axhline(TARGET_P99_MS, color="grey", linestyle="--", label="p99 target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("articles stored")
    ax.set_ylabel("ms per search (20 hits)")
    ax.set_title(f"Embedded store: search latency, {run.queries} queries")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.append(directory / SEARCH_PNG)
    fig.savefig(out[-1])
    plt.close(fig)
    return out


# -- measuring (I/O) ----------------------------------------------------------------
def load_pool(real: Path) -> list[Origin]:
    """The real articles of ``real`` (``offtopic/`` and ``candidates/``): language from
    the file name, title from the first line when a blank line follows it."""
    pool: list[Origin] = []
    files = sorted(
        p for folder in ("offtopic", "candidates") for p in (real / folder).glob("*.txt")
    )
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace").strip()
        head, sep, rest = text.partition("\n\n")
        title, body = (head.strip(), rest) if sep and "\n" not in head.strip() else ("", text)
        sentences = tuple(split_sentences(body))
        if len(sentences) < 3:
            continue
        lang = p.name.split("_", 1)[0]
        pool.append(Origin(len(pool), lang, title or sentences[0][:80], sentences))
    return pool


class Maker:
    """Composed articles, as files or as pre-enriched articles; numbered in order."""

    def __init__(self, pool: list[Origin], templates: list, seed: int) -> None:
        self.groups = by_language(pool)
        self.templates = templates  # EnrichedArticle per pool index
        self.seed = seed
        self.next = 0

    def compose(self) -> Composed:
        k = self.next
        self.next += 1
        return compose(self.groups, k, self.seed)

    def article(self):  # -> EnrichedArticle
        from wirewatch.core import fingerprint
        from wirewatch.core.models import Source

        k = self.next
        c = self.compose()
        t = self.templates[c.origin]
        text = f"{c.title}\n{c.body}"
        path = f"scale/{self.seed}/{k}.txt"
        return t.model_copy(
            update={
                "id": fingerprint.article_id(text),
                "source": Source(path=path, size=len(text.encode())),
                "sources": [path],
                "title": c.title,
                "lead": c.body.split("\n", 1)[0][:300],
                "body": c.body,
                "published": arrival_date(k, self.seed),
                "published_source": "body",
                "fingerprint": fingerprint.minhash(c.body.lower().split()),
                "near_duplicate_of": None,
                "story_id": None,
            }
        )


def text_bytes(article) -> int:
    return len((article.title or "").encode()) + len(article.body.encode())


def store_articles(store, after, articles: Sequence) -> None:
    """What the runner does with a batch after enrichment, in one transaction."""
    from wirewatch.embedded.ledger import SqliteLedger, SqliteState, SqliteStories

    with store.transaction() as tx:
        after.link_duplicates(articles, SqliteState(tx))
        known = SqliteStories(tx)
        after.assign_stories(articles, known)
        for a in articles:
            tx.put(a)
        after.fire(articles, SqliteLedger(tx), history=known, silences=known)


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def db_size(path: Path) -> int:
    """Bytes of the database after a checkpoint that empties its WAL."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    return int(pages * size)


def time_searches(store, queries: Sequence[str], rounds: int) -> tuple[list[float], str]:
    """Seconds of every search of every round (after a warm-up round), and the query
    with the slowest median."""
    from wirewatch import search as searching

    parsed = [searching.parse(q) for q in queries]
    for q in parsed:
        store.search(q, limit=20)
    times: list[float] = []
    per: list[list[float]] = [[] for _ in queries]
    for _ in range(rounds):
        for i, q in enumerate(parsed):
            t0 = time.perf_counter()
            store.search(q, limit=20)
            dt = time.perf_counter() - t0
            times.append(dt)
            per[i].append(dt)
    slowest = max(range(len(queries)), key=lambda i: sorted(per[i])[len(per[i]) // 2])
    return times, queries[slowest]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mb() -> float:
    """The resident set now (Linux), 0.0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def measure(
    real: Path,
    sizes: Sequence[int],
    batch: int,
    largest: int | None,
    seed: int,
    workdir: Path,
    rounds: int = 3,
    step: Callable[[str], object] = lambda _label: None,
) -> Run:
    """Fill a fresh store in ``workdir`` and measure at each size (see the module)."""
    from wirewatch.core.logic import Enricher, Resources
    from wirewatch.core.models import EnrichedArticle, Source
    from wirewatch.embedded.runner import EmbeddedRunner
    from wirewatch.embedded.store import SqliteStore
    from wirewatch.pipeline.after import AfterEnrichment
    from wirewatch.settings import EmbeddedSettings

    load_before = _load()
    pool = load_pool(real)
    if not pool:
        raise SystemExit(f"wirewatch bench scale: {real}: no real news articles found; pass --real")
    enricher = Enricher(Resources.load())
    step("enriching the pool")
    templates = []
    for o in pool:
        out = enricher.analyse(
            f"{o.title}\n\n{' '.join(o.sentences)}\n".encode(), Source(path=f"pool/{o.index}")
        )
        if not isinstance(out, EnrichedArticle):
            raise SystemExit(f"wirewatch bench scale: pool article {o.index} was rejected")
        templates.append(out)
    rss_base = _rss_mb()
    maker = Maker(pool, templates, seed)
    sample = [maker.compose().text() for _ in range(min(400, max(sizes[0], 50)))]
    pairs = near_duplicate_pairs(sample)
    db = workdir / "scale.db"
    store = SqliteStore(db)
    after = AfterEnrichment([], enricher.config.duplicate_threshold, 1000)
    logging.getLogger("wirewatch.run").setLevel(logging.WARNING)
    stored = text = 0
    e2e_dups = e2e_articles = 0
    points = []
    measured = decades(sizes, largest)
    for size in measured:
        fill_rate = None
        if stored < size:
            step(f"filling to {size:,}")
            t0 = time.perf_counter()
            todo = size - stored
            while stored < size:
                chunk = [maker.article() for _ in range(min(FILL_BATCH, size - stored))]
                store_articles(store, after, chunk)
                stored += len(chunk)
                text += sum(map(text_bytes, chunk))
            fill_rate = todo / (time.perf_counter() - t0)
        point = Point(stored, fill_rate=fill_rate)
        step(f"searching at {size:,}")
        times, point.slowest = time_searches(store, QUERIES, rounds)
        point.p50_ms = 1000 * percentile(times, 50)
        point.p99_ms = 1000 * percentile(times, 99)
        point.max_ms = 1000 * max(times)
        point.db_bytes = db_size(db)
        point.text_bytes = text
        if size in sizes:
            step(f"store-only batch at {size:,}")
            articles = [maker.article() for _ in range(batch)]
            t0 = time.perf_counter()
            for part in _chunks(articles, STORE_BATCH):
                store_articles(store, after, part)
            point.store_rate = batch / (time.perf_counter() - t0)
            stored += batch
            text += sum(map(text_bytes, articles))
            step(f"end-to-end batch at {size:,}")
            inbox = workdir / f"inbox-{size}"
            inbox.mkdir()
            for i in range(batch):
                data = maker.compose().text().encode()
                (inbox / f"a{i:06d}.txt").write_bytes(data)
                text += len(data)
            settings = EmbeddedSettings(
                inbox=[inbox],
                db=db,
                once=True,
                settle_seconds=0,
                metrics_port=0,
                workers=1,
                batch_size=STORE_BATCH,
            )
            summary = EmbeddedRunner(settings, store, enricher).run()
            point.e2e_rate = summary.rate
            stored += summary.new_articles
            e2e_dups += summary.near_duplicates
            e2e_articles += summary.articles
            for p in inbox.iterdir():
                p.unlink()
            inbox.rmdir()
        counts = store.counts()
        point.near_duplicates, point.articles = counts["near_duplicates"], counts["articles"]
        point.rss_mb = _rss_mb()
        point.rss_now_mb = _rss_now_mb()
        points.append(point)
    store.close()
    languages: dict[str, int] = {}
    for o in pool:
        languages[o.language] = languages.get(o.language, 0) + 1
    return Run(
        points=points,
        batch=batch,
        queries=len(QUERIES),
        rounds=rounds,
        seed=seed,
        pool=len(pool),
        pool_languages=languages,
        sample_pairs=pairs,
        sample_size=len(sample),
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{platform.machine()}, {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        load_before=load_before,
        load_after=_load(),
        e2e_near_duplicates=e2e_dups,
        e2e_articles=e2e_articles,
        rss_base_mb=rss_base,
    )


def main(args: SimpleNamespace) -> int:
    import click

    from wirewatch.cli.output import Progress

    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sizes") from None
    largest = args.max_size
    if args.output is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise click.UsageError(
                "--write draws plots with matplotlib, which is not installed: "
                "pip install 'wirewatch[bench]'"
            ) from None
    real = Path(args.real)
    if not real.is_dir():
        raise click.BadParameter(
            f"{real}: no such folder (the real news to compose articles from)", param_hint="--real"
        )
    total = 1 + 2 * len(decades(sizes, largest)) + 2 * len(sizes)
    with (
        tempfile.TemporaryDirectory(prefix="wirewatch-bench-scale-") as tmp,
        Progress("bench scale", total) as progress,
    ):
        run = measure(
            real,
            sizes,
            args.batch,
            largest,
            args.seed,
            Path(tmp),
            step=lambda s: progress.step(label=s),
        )
    if args.output is None:
        print(render(run, plots=False))
        print("(not written: --write updates BENCHMARKS.md and its plots)", file=sys.stderr)
        return 0
    from wirewatch.tools.bench_distributed import write_section

    images = plot(run, args.output.parent / PLOT_DIR)
    text = render(run)
    write_section(args.output, text, START, END)
    print(text)
    print(f"wrote {args.output}, {', '.join(str(p) for p in images)}")
    return 0
