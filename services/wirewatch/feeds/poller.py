"""Polling feeds politely and turning their new items into article text.

One ``FeedPoller`` serves both modes: it fetches each enabled feed when it is due
(conditional GET with ``ETag`` / ``If-Modified-Since``, a timeout, a size limit,
a User-Agent that says who is asking), parses it with feedparser, and hands the
items it has not seen before to a *sink* - the embedded runner's queue, or the
Kafka publisher. Only once the sink says the items are safe (stored, or
acknowledged by Kafka) are their GUIDs and the feed's validators written to the
state file, so a crash re-fetches rather than loses; a restart does not re-ingest.
A feed that fails is retried with exponential backoff; intervals get jitter so
feeds on one host are not polled in lockstep.

Item text for the core: the title line, a blank line, the body - the item's HTML
content (or summary) reduced to its text by trafilatura; a plain-text summary is
kept as it is.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wirewatch import __version__, metrics
from wirewatch.core.models import Source
from wirewatch.feeds.config import Feed
from wirewatch.statefile import open_state

log = logging.getLogger("wirewatch.feeds")

# Who is asking, and where to read about it; deployments can point the URL at their own
# contact page (``user_agent`` of the poller).
USER_AGENT = f"wirewatch/{__version__} (+https://example.org/wirewatch/README.md#feeds)"
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_FEED_BYTES = 10 * 1024 * 1024
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


class FetchError(Exception):
    """A poll failed; ``reason`` is the metric label."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Fetched:
    status: int  # 200 or 304
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_FEED_BYTES,
    user_agent: str = USER_AGENT,
) -> Fetched:
    """One conditional GET; raises ``FetchError`` for anything but 200 and 304."""
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) only
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(
                    "too_large", f"the feed is {int(length)} bytes, over the {max_bytes} limit"
                )
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError("too_large", f"the feed is over the {max_bytes}-byte limit")
            return Fetched(
                resp.status, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, b"", exc.headers.get("ETag"), exc.headers.get("Last-Modified"))
        reason = "http_5xx" if exc.code >= 500 else "http_4xx"
        raise FetchError(reason, f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise FetchError("timeout", f"no answer within {timeout:g}s") from exc
        raise FetchError("connection", f"cannot connect ({exc.reason})") from exc
    except TimeoutError as exc:
        raise FetchError("timeout", f"no answer within {timeout:g}s") from exc
    except (OSError, ValueError) as exc:  # reset connections, malformed responses
        raise FetchError("connection", f"{type(exc).__name__}: {exc}") from exc


# -- items -------------------------------------------------------------------------------
@dataclass
class FeedItem:
    """One new item, ready for the core: the article bytes and where they came from."""

    feed: str
    key: str  # GUID, else link, else a hash of title and text
    data: bytes
    source: Source
    language_hint: str | None = None
    published_hint: str | None = None


def _html_text(html: str) -> str:
    import trafilatura

    doc = (
        html
        if "<html" in html[:500].lower()
        else f"<html><body><article>{html}</article></body></html>"
    )
    text = trafilatura.extract(doc, favor_recall=True, include_comments=False)
    if not text:
        text = trafilatura.html2txt(doc)
    return (text or "").strip()


def _content_text(detail: Any, value: str) -> str:
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, dict) else "text/html"
    value = value or ""
    if kind == "text/plain" or ("<" not in value and "&" not in value):
        return value.strip()
    return _html_text(value)


def item_text(entry: Any) -> tuple[str, str]:
    """(title, body) of a feedparser entry; the body from its content, else its summary."""
    title_detail = entry.get("title_detail")
    title = _content_text(title_detail, entry.get("title", "")) if entry.get("title") else ""
    title = " ".join(title.split())
    body = ""
    for content in entry.get("content") or []:
        body = _content_text(content, content.get("value", ""))
        if body:
            break
    if not body and entry.get("summary"):
        body = _content_text(entry.get("summary_detail"), entry.get("summary", ""))
    return title, body


def _date_hint(entry: Any) -> str | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC).strftime("%Y-%m-%d")
            except (OverflowError, ValueError, OSError):
                continue
    return None


def entry_key(entry: Any, title: str, body: str) -> str:
    key = entry.get("id") or entry.get("link")
    if key:
        return str(key)
    return "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


def make_item(feed: Feed, entry: Any, feed_language: str | None) -> FeedItem | None:
    """The article for one entry, or None when it has neither title nor text."""
    title, body = item_text(entry)
    if not title and not body:
        return None
    text = f"{title}\n\n{body}\n" if title else f"{body}\n"
    data = text.encode("utf-8")
    key = entry_key(entry, title, body)
    # feedparser takes a permalink GUID as the link; anything but a web address is not one
    link = next(
        (u for u in (entry.get("link"), key) if u and str(u).startswith(("http://", "https://"))),
        feed.url,
    )
    source = Source(path=str(link), size=len(data), seen_at=datetime.now(UTC))
    language = feed.language or feed_language
    return FeedItem(feed.label(), key, data, source, language, _date_hint(entry))


# -- state -------------------------------------------------------------------------------
class FeedState:
    """Validators and seen item keys per feed, in a small SQLite file (thread-safe)."""

    def __init__(self, path: Path):
        self._lock = threading.Lock()
        self._db = open_state(
            path,
            [
                "CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT, "
                "last_modified TEXT, last_success REAL)",
                "CREATE TABLE IF NOT EXISTS items (url TEXT, key TEXT, at REAL, "
                "PRIMARY KEY (url, key))",
            ],
            "the feeds state",
            "point --feeds-state at a writable file (a fresh one is fine: items already "
            "stored are recognised by their text)",
        )

    def validators(self, url: str) -> tuple[str | None, str | None]:
        with self._lock:
            row = self._db.execute(
                "SELECT etag, last_modified FROM feeds WHERE url = ?", (url,)
            ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def unseen(self, url: str, keys: Sequence[str]) -> set[str]:
        with self._lock:
            seen = {
                k
                for (k,) in self._db.execute("SELECT key FROM items WHERE url = ?", (url,))
                if k in set(keys)
            }
        return set(keys) - seen

    def success(
        self, url: str, etag: str | None, last_modified: str | None, keys: Sequence[str] = ()
    ) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?)", [(url, k, now) for k in keys]
            )
            self._db.execute(
                "INSERT INTO feeds VALUES (?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET "
                "etag = excluded.etag, last_modified = excluded.last_modified, "
                "last_success = excluded.last_success",
                (url, etag, last_modified, now),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- the poller --------------------------------------------------------------------------
Sink = Callable[[list[FeedItem]], bool]
"""Takes a feed's new items; True once they are safe (stored / acknowledged)."""


@dataclass
class _Schedule:
    due: float = 0.0
    failures: int = 0


@dataclass
class PollResult:
    feed: str
    outcome: str  # new | not_modified | error | unsafe
    items: int = 0
    error: str = ""


@dataclass
class FeedPoller:
    feeds: list[Feed]
    state: FeedState
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_FEED_BYTES
    jitter: float = 0.1
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0
    parser: Callable[[bytes], Any] | None = None  # feedparser.parse unless given
    clock: Callable[[], float] = time.monotonic
    user_agent: str = USER_AGENT
    _schedule: dict[str, _Schedule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.feeds = [f for f in self.feeds if f.enabled]
        self._schedule = {f.url: _Schedule() for f in self.feeds}
        metrics.init_feed_series([f.label() for f in self.feeds])

    def _parse(self, body: bytes) -> Any:
        if self.parser is not None:
            return self.parser(body)
        import feedparser

        return feedparser.parse(body)

    def _items(self, feed: Feed, body: bytes) -> list[FeedItem]:
        parsed = self._parse(body)
        version = parsed.get("version") or ""
        if not version and not parsed.get("entries"):
            problem = parsed.get("bozo_exception") or "no RSS or Atom document"
            raise FetchError("parse", f"not a feed ({problem})")
        language = (parsed.get("feed", {}).get("language") or "")[:2].lower() or None
        items = []
        for entry in reversed(parsed.get("entries") or []):  # feeds list the newest first
            item = make_item(feed, entry, language)
            if item is not None:
                items.append(item)
        return items

    def poll(self, feed: Feed, sink: Sink) -> PollResult:
        """Fetch ``feed`` now; hand its new items to ``sink``; remember what is safe."""
        name = feed.label()
        sched = self._schedule.setdefault(feed.url, _Schedule())
        metrics.FEED_POLLS.labels(name).inc()
        etag, modified = self.state.validators(feed.url)
        try:
            got = fetch(feed.url, etag, modified, self.timeout, self.max_bytes, self.user_agent)
            if got.status == 304:
                metrics.FEED_NOT_MODIFIED.labels(name).inc()
                self.state.success(feed.url, etag, modified)
                result = PollResult(name, "not_modified")
            else:
                items = self._items(feed, got.body)
                new = self.state.unseen(feed.url, [i.key for i in items])
                fresh = [i for i in items if i.key in new]
                # the same GUID twice in one document is one item
                fresh = list({i.key: i for i in fresh}.values())
                if fresh and not sink(fresh):
                    # not safe yet: keep the validators as they were, so the next poll
                    # fetches the whole feed again
                    sched.due = self.clock() + self._delay(feed.interval)
                    return PollResult(name, "unsafe", len(fresh))
                self.state.success(feed.url, got.etag, got.last_modified, [i.key for i in fresh])
                metrics.FEED_ITEMS.labels(name).inc(len(fresh))
                result = PollResult(name, "new", len(fresh))
        except FetchError as exc:
            return self._failed(feed, sched, exc.reason, str(exc))
        except Exception as exc:  # noqa: BLE001 - one feed's problem never stops the others
            return self._failed(feed, sched, "error", f"{type(exc).__name__}: {exc}")
        metrics.FEED_LAST_SUCCESS.labels(name).set(time.time())
        if sched.failures:
            log.info("feed-recovered feed=%s after %d failed poll(s)", name, sched.failures)
        sched.failures = 0
        sched.due = self.clock() + self._delay(feed.interval)
        log.log(
            logging.INFO if result.items else logging.DEBUG,
            "feed-polled feed=%s outcome=%s new=%d",
            name,
            result.outcome,
            result.items,
        )
        return result

    def _failed(self, feed: Feed, sched: _Schedule, reason: str, message: str) -> PollResult:
        name = feed.label()
        sched.failures += 1
        metrics.FEED_ERRORS.labels(name, reason).inc()
        backoff = min(self.backoff_max, self.backoff_initial * 2 ** (sched.failures - 1))
        delay = self._delay(max(backoff, min(feed.interval, self.backoff_initial)))
        sched.due = self.clock() + delay
        log.warning(
            "feed-failed feed=%s url=%s reason=%s: %s; retrying in %.0fs (failure %d)",
            name,
            feed.url,
            reason,
            message,
            delay,
            sched.failures,
        )
        return PollResult(name, "error", error=f"{reason}: {message}")

    def _delay(self, seconds: float) -> float:
        return seconds * (1.0 + random.uniform(-self.jitter, self.jitter))  # noqa: S311

    def due(self) -> list[Feed]:
        now = self.clock()
        return [f for f in self.feeds if self._schedule[f.url].due <= now]

    def failures(self, feed: Feed) -> int:
        return self._schedule[feed.url].failures

    def next_due_in(self) -> float:
        if not self.feeds:
            return 3600.0
        return max(0.0, min(s.due for s in self._schedule.values()) - self.clock())

    def run(self, sink: Sink, stop: threading.Event, once: bool = False) -> None:
        """Poll each feed when it is due until ``stop``; ``once``: each feed once, then return."""
        if once:
            for feed in self.feeds:
                if stop.is_set():
                    return
                self.poll(feed, sink)
            return
        while not stop.is_set():
            for feed in self.due():
                if stop.is_set():
                    return
                self.poll(feed, sink)
            stop.wait(min(5.0, max(0.05, self.next_due_in())))
