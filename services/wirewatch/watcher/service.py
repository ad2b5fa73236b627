"""``wirewatch watcher``: inbox directories -> ``wirewatch.articles.raw`` on Kafka.

A file is published once it is complete (size and mtime settled). What was
published - path, size, mtime, key - is remembered in a small SQLite file, written
only after Kafka acknowledged the message, so a restart catches up on files that
arrived meanwhile without re-sending the rest. Should a file be sent twice anyway
(a crash between the ack and the state write), its key is the article id and the
downstream document id, so the second copy overwrites the first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wirewatch import metrics
from wirewatch.core.logic import article_key
from wirewatch.core.models import RawArticle, Rejection, Source
from wirewatch.paths import check_inboxes, display_path, open_for_reading, path_key
from wirewatch.pipeline.reading import FileChanged, read_article
from wirewatch.settings import WatcherSettings
from wirewatch.statefile import known_files, open_state
from wirewatch.topics import RAW, RAW_DLQ
from wirewatch.watcher.inotify import ScanPlan, open_plan
from wirewatch.watcher.publisher import Headers, Publisher, dlq_headers
from wirewatch.watcher.scan import FileState, InboxScanner

log = logging.getLogger("wirewatch.watcher")

SCHEMA_HEADER = ("wirewatch-schema", b"wirewatch.articles.raw/v1")
_BATCH = 256


class WatcherState:
    """Which files were published (path -> size, mtime, key); SQLite, one transaction a batch."""

    def __init__(self, path: Path):
        self._db = open_state(
            path,
            [
                "CREATE TABLE IF NOT EXISTS published (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, key TEXT, outcome TEXT, at REAL)"
            ],
            "the watcher state",
            "point --state at a writable file (a fresh one is fine: files are re-published, "
            "harmlessly)",
        )
        # Paths are recorded as their exact bytes (BLOB); earlier versions wrote TEXT.
        with self._db:
            self._db.execute(
                "UPDATE published SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'"
            )

    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """``KnownFiles``: (size, mtime_ns) of those of ``paths`` already published."""
        return known_files(self._db, "published", paths)

    def record(self, rows: list[tuple[str, int, int, str, str]]) -> None:
        """(path, size, mtime_ns, key, outcome) of files Kafka acknowledged."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO published VALUES (?, ?, ?, ?, ?, ?)",
                [(path_key(r[0]), *r[1:], now) for r in rows],
            )

    def close(self) -> None:
        self._db.close()


def _shown(path: str) -> str:
    return json.dumps(display_path(path), ensure_ascii=False)


@dataclass
class _Out:
    fs: FileState
    key: str
    outcome: str  # published | dlq
    handle: int
    what: str


def _path_header(path: str) -> bytes:
    """The exact bytes of the path (``Source.path`` only shows them)."""
    return path_key(path)


def raw_message(
    data: bytes, source: Source, content_type: str | None = None, path: str | None = None
) -> tuple[bytes, Headers]:
    """The raw/v1 message of an article; ``path`` is the exact file path when it
    differs from ``source.path`` (which shows it readably)."""
    content_type = content_type or mimetypes.guess_type(source.path)[0] or "text/plain"
    value = RawArticle.from_bytes(data, source, content_type).model_dump_json().encode()
    headers = [
        ("wirewatch-source-path", _path_header(source.path if path is None else path)),
        ("content-type", content_type.encode()),
        SCHEMA_HEADER,
    ]
    return value, headers


class Watcher:
    # how inbox files are opened (tests interleave writes with reads through it)
    opener: Callable[[str], BinaryIO] = staticmethod(open_for_reading)

    def __init__(self, settings: WatcherSettings, publisher: Publisher, state: WatcherState):
        self.settings = settings
        self.publisher = publisher
        self.state = state
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.raw_topic = settings.topic(RAW)
        self.dlq_topic = settings.topic(RAW_DLQ)

    def _prepare(self, fs: FileState, scanner: InboxScanner) -> _Out | None:
        """Send one file (or its dead letter); None when it is still changing."""
        try:
            got = read_article(
                fs.path, self.settings.max_bytes, fs.size, fs.mtime_ns, fs.ino, self.opener
            )
        except FileChanged as exc:
            log.info(
                "changed path=%s while it was read (%s): not published now; it is picked up "
                "again once it settles",
                _shown(fs.path),
                exc.what,
            )
            metrics.FILES_CHANGED_WHILE_READ.inc()
            scanner.forget(fs.path)
            return None
        if isinstance(got, Rejection):
            # the bytes are not there (or too many): the DLQ gets the raw envelope without them
            value = RawArticle.from_bytes(b"", got.source).model_dump_json().encode()
            headers = dlq_headers("watcher", got.rejected.code, got.rejected.reason)
            headers.append(("wirewatch-source-path", _path_header(fs.path)))
            key = "path-" + hashlib.sha256(_path_header(fs.path)).hexdigest()[:16]
            handle = self.publisher.send(self.dlq_topic, key.encode(), value, headers)
            return _Out(fs, key, "dlq", handle, f"{got.rejected.code}: {got.rejected.reason}")
        data, source = got
        key = article_key(data, self.settings.max_bytes)
        value, headers = raw_message(data, source, path=fs.path)
        handle = self.publisher.send(self.raw_topic, key.encode(), value, headers)
        return _Out(fs, key, "published", handle, "")

    def publish(self, files: list[FileState], scanner: InboxScanner) -> int:
        """Send a batch, wait for every ack, record what was acknowledged. Returns failures."""
        outs = [out for fs in files if (out := self._prepare(fs, scanner)) is not None]
        failed = self.publisher.flush(timeout=60.0)
        done = []
        for out in outs:
            err = failed.get(out.handle)
            if err is not None:
                metrics.PUBLISH_ERRORS.labels(
                    self.raw_topic if out.outcome == "published" else self.dlq_topic
                ).inc()
                scanner.forget(out.fs.path)  # try again on a later scan
                log.error(
                    "publish-failed path=%s error=%s: will retry; is Kafka at %s reachable?",
                    _shown(out.fs.path),
                    err,
                    self.settings.kafka.bootstrap,
                )
                continue
            done.append((out.fs.path, out.fs.size, out.fs.mtime_ns, out.key, out.outcome))
            if out.outcome == "published":
                metrics.FILES_PUBLISHED.inc()
                log.info("published path=%s key=%s", _shown(out.fs.path), out.key)
            else:
                code = out.what.split(":", 1)[0]
                metrics.count_rejected(code)
                metrics.DLQ_MESSAGES.labels("watcher", code).inc()
                log.warning("rejected path=%s reason=%s", _shown(out.fs.path), json.dumps(out.what))
        if done:
            self.state.record(done)
        return len(outs) - len(done)

    def run(self) -> None:
        roots = [Path(p) for p in self.settings.inbox]
        check_inboxes(roots)
        scanner = InboxScanner(roots, self.state, self.settings.settle_seconds)
        plan = open_plan(roots, self.settings.rescan_interval)
        try:
            self._loop(scanner, plan)
        finally:
            plan.close()

    def _loop(self, scanner: InboxScanner, plan: ScanPlan) -> None:
        first = True
        backoff = 0.0
        need_full = False
        while not self.stop.is_set():
            paths = plan.next(self.settings.poll_interval + backoff, self.stop, need_full)
            if self.stop.is_set():
                break
            failures = 0
            caught_up = 0
            for chunk in scanner.scan(paths):
                if first:
                    log.info(
                        "catch-up: %d %sfile(s) not yet published",
                        len(chunk),
                        "more " if caught_up else "",
                    )
                    caught_up += len(chunk)
                    self.ready.set()
                metrics.WATCHER_BACKLOG.set(len(chunk))
                for i in range(0, len(chunk), _BATCH):
                    if self.stop.is_set():
                        break
                    batch = chunk[i : i + _BATCH]
                    metrics.FILES_SEEN.inc(len(batch))
                    failures += self.publish(batch, scanner)
                    metrics.WATCHER_BACKLOG.set(max(0, len(chunk) - i - len(batch)))
                if self.stop.is_set():
                    break
            metrics.WATCHER_SETTLING.set(scanner.settling)
            if first:
                first = False
                self.ready.set()
            backoff = min(30.0, max(1.0, backoff * 2)) if failures else 0.0
            # files left for later (too many on their way): only a walk finds them again
            need_full = scanner.deferred
