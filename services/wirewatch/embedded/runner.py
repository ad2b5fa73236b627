"""``wirewatch run``: inbox watcher -> in-process queue -> core -> SQLite, in one process.

The watcher thread polls the inbox and puts complete files on a bounded queue;
the processing loop takes them in batches, reads the bytes, runs the core (in a
process pool when ``workers > 1``), looks up near-duplicates and stores the
results in one transaction per batch. A file is recorded as processed only in
that transaction, so an interrupted run picks up exactly where it stopped.

With feeds (``feeds=``), a second thread polls them and puts their new items on
the same queue as ``FeedEntry``s: bytes and a ``Source`` whose path is the item's
link, plus the feed's language and date hints. They go through the same batches,
enrichment and store; the feed thread marks an item seen only after the
transaction that stored it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

from wirewatch import metrics, procpool
from wirewatch.core.alerts import AlertRule
from wirewatch.core.decode import oversize
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Rejection
from wirewatch.embedded.ledger import SqliteLedger, SqliteState, SqliteStories
from wirewatch.embedded.notify import WebhookNotifier
from wirewatch.embedded.pool import Input, analyse_chunk, init_worker
from wirewatch.embedded.store import SqliteStore
from wirewatch.paths import check_inboxes, display_path, open_for_reading
from wirewatch.pipeline.after import AfterEnrichment, LogLine
from wirewatch.pipeline.reading import FileChanged, read_article, safe_analyse
from wirewatch.search import SearchColumns
from wirewatch.settings import EmbeddedSettings
from wirewatch.watcher.inotify import ScanPlan, open_plan
from wirewatch.watcher.scan import FileState, InboxScanner

if TYPE_CHECKING:
    from wirewatch.feeds.poller import FeedItem, FeedPoller

log = logging.getLogger("wirewatch.run")
_DONE = object()


@dataclass
class FeedEntry:
    """A feed item on the runner's queue; ``stored`` is set once its batch is committed."""

    item: FeedItem
    stored: threading.Event = field(default_factory=threading.Event)

    @property
    def path(self) -> str:
        return self.item.source.path


Entry: TypeAlias = FileState | FeedEntry


@dataclass
class RunSummary:
    files: int = 0
    feed_items: int = 0
    articles: int = 0
    new_articles: int = 0
    near_duplicates: int = 0
    rejected: int = 0
    events: int = 0
    alerts: int = 0  # first alerts of a (rule, story)
    updates: int = 0  # story updates of an alert raised before
    seconds: float = 0.0
    rejected_paths: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0

    def line(self, alerting: bool) -> str:
        """The one-line summary ``wirewatch run`` prints; ``alerting``: rules were given."""
        return (
            f"processed {self.files} file(s) in {self.seconds:.1f}s "
            f"({self.rate:.0f} files/s): {self.articles} article(s) stored "
            f"({self.new_articles} new, {self.near_duplicates} near-duplicate), "
            f"{self.rejected} rejected, {self.events} event(s)"
            + (f", {self.alerts} alert(s) fired, {self.updates} update(s)" if alerting else "")
        )


@dataclass
class _Pending:
    """A batch whose enrichment has started; stored by ``_finish_batch``."""

    batch: Sequence[tuple[Entry, float]]
    inputs: list[Input | Rejection]
    futures: list[Future] | None
    analysed: list[EnrichedArticle | Rejection]
    started: float


class EmbeddedRunner:
    def __init__(
        self,
        settings: EmbeddedSettings,
        store: SqliteStore,
        enricher: Enricher,
        stop: threading.Event | None = None,
        rules: list[AlertRule] | None = None,
        notifier: WebhookNotifier | None = None,
        feeds: FeedPoller | None = None,
    ):
        self.feeds = feeds
        self.rules = rules or []
        self.notifier = notifier
        self.settings = settings
        self.store = store
        self.enricher = enricher
        self.stop = stop or threading.Event()
        self.queue: queue.Queue[object] = queue.Queue(maxsize=10000)
        self.ready = threading.Event()
        self.summary = RunSummary()
        self.after = AfterEnrichment(
            self.rules,
            enricher.config.duplicate_threshold,
            settings.caps.max_alerts_per_rule_per_minute,
        )
        self._backlog_total = 0
        self._backlog_listed = False
        self._scanner: InboxScanner | None = None
        self._plan: ScanPlan | None = None
        self._retried = 0  # files handed back to the scanner: they changed while being read
        self._watch_error: BaseException | None = None
        self._feeds_error: BaseException | None = None

    def backlog(self) -> tuple[int, int, bool]:
        """The first scan's files processed so far, the files it found (so far), and
        whether it has finished listing them; (0, 0, ...) once an inbox had nothing."""
        total = self._backlog_total
        return min(self.summary.files, total), total, self._backlog_listed

    # -- watcher thread ---------------------------------------------------------
    def _watch(self) -> None:
        try:
            scanner = InboxScanner(
                [Path(p) for p in self.settings.inbox],
                self.store,
                self.settings.settle_seconds,
                # what can be on its way: the queue, a batch being enriched, one being stored
                max_unrecorded=self.queue.maxsize + 2 * self.settings.batch_size + 1000,
            )
            self._scanner = scanner
            # a one-off run walks; a watching run is told what changed between walks
            plan = open_plan(
                [Path(p) for p in self.settings.inbox],
                0 if self.settings.once else self.settings.rescan_interval,
            )
            self._plan = plan
            first = True
            need_full = False
            while not self.stop.is_set():
                paths = plan.next(self.settings.poll_interval, self.stop, need_full)
                if self.stop.is_set():
                    break
                retried = self._retried
                for chunk in scanner.scan(paths):
                    if first:
                        self._backlog_total += len(chunk)
                        self.ready.set()
                    for fs in chunk:
                        metrics.FILES_SEEN.inc()
                        if not self._put(fs):
                            break
                    metrics.WATCHER_BACKLOG.set(self.queue.qsize())
                    if self.stop.is_set():
                        break
                metrics.WATCHER_SETTLING.set(scanner.settling)
                if first:
                    if self._backlog_total:
                        log.info("backlog: %d file(s) already in the inbox", self._backlog_total)
                    self._backlog_listed = True
                    first = False
                    self.ready.set()
                if self.settings.once and not scanner.settling and not scanner.deferred:
                    # Done once every reported file is stored; one handed back because it
                    # changed while it was read needs another scan.
                    while scanner.outstanding() and not self.stop.is_set():
                        self.stop.wait(0.2)
                    if self._retried == retried:
                        break
                need_full = scanner.deferred
        except BaseException as exc:  # surfaces in the main loop
            self._watch_error = exc
        finally:
            if self._plan is not None:
                self._plan.close()
            self.queue.put(_DONE)

    # -- feeds thread -------------------------------------------------------------
    def _put(self, entry: Entry) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put((entry, time.monotonic()), timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _feed_sink(self, items: list[FeedItem]) -> bool:
        """Queue a feed's new items and wait until they are stored (False: stopped first)."""
        entries = [FeedEntry(item) for item in items]
        for entry in entries:
            if not self._put(entry):
                return False
        for entry in entries:
            while not entry.stored.wait(0.2):
                if self.stop.is_set():
                    return False
        return True

    def _poll_feeds(self) -> None:
        assert self.feeds is not None
        try:
            self.feeds.run(self._feed_sink, self.stop, once=self.settings.once)
        except BaseException as exc:  # surfaces in the main loop
            self._feeds_error = exc
        finally:
            self.queue.put(_DONE)

    # -- processing ---------------------------------------------------------------
    # how inbox files are opened (tests interleave writes with reads through it)
    opener: Callable[[str], BinaryIO] = staticmethod(open_for_reading)

    def _read(self, entry: Entry) -> Input | Rejection | None:
        """The entry's input, why it is rejected, or None: the file is still changing."""
        limit = self.enricher.config.max_bytes
        if isinstance(entry, FeedEntry):
            item = entry.item
            if len(item.data) > limit:
                return Rejection(source=item.source, rejected=oversize(len(item.data), limit))
            return item.data, item.source, item.language_hint, item.published_hint
        try:
            got = read_article(
                entry.path, limit, entry.size, entry.mtime_ns, entry.ino, self.opener
            )
        except FileChanged as exc:
            log.info(
                "changed path=%s while it was read (%s): not processed now; it is picked up "
                "again once it settles",
                display_path(entry.path),
                exc.what,
            )
            metrics.FILES_CHANGED_WHILE_READ.inc()
            self._retried += 1
            if self._scanner is not None:
                self._scanner.forget(entry.path)
            return None
        return got if isinstance(got, Rejection) else (*got, None, None)

    def _start_batch(self, batch: Sequence[tuple[Entry, float]], pool) -> _Pending:
        """Read the files and start enriching them (in the pool, or right here)."""
        t0 = time.perf_counter()
        read = [(item, self._read(item[0])) for item in batch]
        metrics.STAGE_SECONDS.labels("read").observe((time.perf_counter() - t0) / len(batch))
        batch = [item for item, x in read if x is not None]  # changing files wait
        inputs: list[Input | Rejection] = [x for _, x in read if x is not None]
        todo = [x for x in inputs if not isinstance(x, Rejection)]
        started = time.perf_counter()
        if pool is not None and len(todo) > 1:
            size = max(1, len(todo) // (2 * self.settings.workers))
            futures = [
                pool.submit(analyse_chunk, todo[i : i + size]) for i in range(0, len(todo), size)
            ]
            return _Pending(batch, inputs, futures, [], started)
        analysed = [safe_analyse(self.enricher, *x) for x in todo]
        return _Pending(batch, inputs, None, analysed, started)

    def _finish_batch(self, pending: _Pending) -> None:
        """Collect the enrichment results and store the batch in one transaction."""
        batch, inputs = pending.batch, pending.inputs
        if not batch:
            return
        columns: dict[int, SearchColumns] = {}  # by id() of the article, for this batch
        if pending.futures is not None:
            analysed = []
            for future in pending.futures:
                for result, cols in future.result():
                    analysed.append(result)
                    if cols is not None:
                        columns[id(result)] = cols
        else:
            analysed = pending.analysed
        if analysed:
            per = (time.perf_counter() - pending.started) / len(analysed)
            for _ in analysed:
                metrics.STAGE_SECONDS.labels("enrich").observe(per)
        it = iter(analysed)
        results = [x if isinstance(x, Rejection) else next(it) for x in inputs]
        t2 = time.perf_counter()
        lines: list[LogLine] = []
        with self.store.transaction() as store:
            articles = [r for r in results if isinstance(r, EnrichedArticle)]
            prior = self.after.link_duplicates(articles, SqliteState(store))
            known = SqliteStories(store)
            self.after.assign_stories(articles, known)
            in_batch: set[str] = set()
            for (fs, _seen), result in zip(batch, results, strict=True):
                self.summary.files += 1
                if isinstance(fs, FeedEntry):
                    self.summary.feed_items += 1
                if isinstance(result, Rejection):
                    store.reject(result)
                    if isinstance(fs, FileState):
                        store.record_file(
                            fs.path, fs.size, fs.mtime_ns, None, f"rejected:{result.rejected.code}"
                        )
                    self.summary.rejected += 1
                    shown = result.source.path  # readable; fs.path is exact
                    self.summary.rejected_paths.append((shown, result.rejected.reason))
                    metrics.count_rejected(result.rejected.code)
                    lines.append(
                        (
                            logging.WARNING,
                            "rejected path=%s reason=%s: %s",
                            (shown, result.rejected.code, result.rejected.reason),
                        )
                    )
                    continue
                metrics.ARTICLES_PROCESSED.labels("enrich").inc()
                metrics.count_caps(result.caps_hit)
                existing = result.id in prior or result.id in in_batch
                in_batch.add(result.id)
                store.put(result, columns.get(id(result)))
                if isinstance(fs, FileState):
                    store.record_file(fs.path, fs.size, fs.mtime_ns, result.id, "stored")
                self.after.count_stored(result, new=not existing)
                self.summary.articles += 1
                if not existing:
                    self.summary.new_articles += 1
                    self.summary.events += len(result.events)
                if result.near_duplicate_of:
                    self.summary.near_duplicates += 1
                events = ",".join(f"{e.type}:{e.status}" for e in result.events) or "-"
                lines.append(
                    (
                        logging.INFO,
                        "article path=%s id=%s lang=%s published=%s events=%s dup=%s%s",
                        (
                            result.source.path,
                            result.id,
                            result.language,
                            result.published or "-",
                            events,
                            result.near_duplicate_of or "-",
                            " (same text seen before)" if existing else "",
                        ),
                    )
                )
            fired = self.after.fire(
                articles,
                SqliteLedger(store),
                history=known,
                silences=known,
            )
            self.summary.updates += len(fired.updates)
            self.summary.alerts += len(fired.alerts) - len(fired.updates)
            lines.extend(fired.lines)
        done = time.monotonic()
        per_store = (time.perf_counter() - t2) / len(batch)
        for entry, _seen in batch:
            if isinstance(entry, FeedEntry):
                entry.stored.set()
        for _fs, seen in batch:
            metrics.STAGE_SECONDS.labels("store").observe(per_store)
            metrics.END_TO_END_SECONDS.observe(done - seen)
        metrics.LAST_INGEST.set(time.time())
        for level, fmt, args in [*lines, *self.after.held_lines()]:
            log.log(level, fmt, *args)
        if self.notifier is not None:
            for item in fired.deliveries:  # only after the alert and its deliveries are committed
                self.notifier.submit(*item)

    def run(self) -> RunSummary:
        check_inboxes(self.settings.inbox)
        pool = None
        if self.settings.workers > 1:
            data_dir = self.settings.core.data_dir
            pool = procpool.pool(
                self.settings.workers,
                init_worker,
                (str(data_dir) if data_dir else None, self.enricher.config),
            )
        threads = [threading.Thread(target=self._watch, name="watcher", daemon=True)]
        if self.feeds is not None:
            threads.append(threading.Thread(target=self._poll_feeds, name="feeds", daemon=True))
        producers = len(threads)
        start = time.perf_counter()
        last_progress = start
        for thread in threads:
            thread.start()
        pending: _Pending | None = None
        try:
            while True:
                try:
                    item = self.queue.get(timeout=0.2)
                except queue.Empty:
                    if self.stop.is_set():
                        break
                    if pending is not None:  # nothing new: store what is in flight
                        self._finish_batch(pending)
                        pending = None
                    continue
                if item is _DONE:
                    producers -= 1
                    if producers == 0:
                        break
                    continue
                batch = [item]
                while len(batch) < self.settings.batch_size:
                    try:
                        nxt = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _DONE:
                        producers -= 1
                        if producers == 0:
                            break
                        continue
                    batch.append(nxt)
                # Enrichment of this batch overlaps with storing the previous one.
                started = self._start_batch(batch, pool)  # type: ignore[arg-type]
                if pending is not None:
                    self._finish_batch(pending)
                pending = started
                metrics.WATCHER_BACKLOG.set(self.queue.qsize())
                now = time.perf_counter()
                if self._backlog_total and now - last_progress >= 2.0:
                    last_progress = now
                    done = min(self.summary.files, self._backlog_total)
                    if self._backlog_listed:
                        log.info(
                            "progress: %d/%d backlog files (%.0f%%), %.0f files/s",
                            done,
                            self._backlog_total,
                            100.0 * done / self._backlog_total,
                            self.summary.files / (now - start),
                        )
                    else:  # the inbox is still being listed: the total is not known yet
                        log.info(
                            "progress: %d backlog files of %d found so far, %.0f files/s",
                            done,
                            self._backlog_total,
                            self.summary.files / (now - start),
                        )
                if self.stop.is_set() or producers == 0:
                    break
            if pending is not None:
                self._finish_batch(pending)
                pending = None
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=5)
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            self.summary.seconds = time.perf_counter() - start
        if self._watch_error is not None:
            raise self._watch_error
        if self._feeds_error is not None:
            raise self._feeds_error
        return self.summary
