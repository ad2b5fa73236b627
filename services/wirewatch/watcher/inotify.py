"""Change notifications for inbox directories (Linux inotify, through libc).

A scanner that walks a large inbox at every poll spends its time on files it has seen
(a walk of 3,300 files and their lookups in the record take ~50 ms). With
notifications, a poll looks only at the paths that changed and at the files still
settling; a full walk still runs every ``rescan_interval`` seconds and after any lost
notification (queue overflow, a directory that could not be watched), so nothing
depends on a notification arriving.

Where inotify is not available (not Linux, no libc symbols, the watch limit
``fs.inotify.max_user_watches`` reached) ``InboxEvents.open`` returns None and the
caller walks at every poll, as without notifications.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("wirewatch.watcher")

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

# what makes a path worth a look: written, closed, moved in, created (a directory),
# touched; deletions and moves out are left to the next full walk
WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
        libc.inotify_init1  # noqa: B018 - the symbol must exist
        libc.inotify_add_watch  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


class InboxEvents:
    """Paths that changed under the inbox roots since the last ``wait``."""

    def __init__(self, libc: ctypes.CDLL, fd: int):
        self._libc = libc
        self._fd = fd
        self._dirs: dict[int, str] = {}  # watch descriptor -> directory path
        self._lost = False  # a notification may be missing: walk everything next

    @classmethod
    def open(cls, roots: Iterable[Path]) -> InboxEvents | None:
        """Watch every directory under ``roots``; None where notifications cannot be had."""
        if not hasattr(os, "O_CLOEXEC") or not Path("/proc/self").exists():
            return None
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.info("inbox change notifications unavailable (%s): walking at every poll",
                     os.strerror(ctypes.get_errno()))  # fmt: skip
            return None
        events = cls(libc, fd)
        for root in roots:
            if not events.add_tree(os.fspath(root)):
                events.close()
                return None
        events._lost = False  # what happened before the first walk, the walk sees
        return events

    def add_tree(self, top: str) -> bool:
        """Watch ``top`` and the directories under it (symlinks not followed: the full
        walk covers those). False when the watch limit is reached."""
        stack = [top]
        while stack:
            directory = stack.pop()
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), WATCH_MASK)
            if wd < 0:
                err = ctypes.get_errno()
                if err == errno.ENOSPC:
                    log.warning(
                        "inbox change notifications off: the inotify watch limit is reached "
                        "at %s (raise fs.inotify.max_user_watches); walking at every poll",
                        directory,
                    )
                    return False
                self._lost = True  # vanished or unreadable: the next full walk decides
                continue
            self._dirs[wd] = directory
            try:
                with os.scandir(directory) as it:
                    stack.extend(
                        e.path for e in it if e.is_dir(follow_symlinks=False) and e.name[:1] != "."
                    )
            except OSError:
                self._lost = True
        return True

    def wait(
        self, timeout: float, stop: threading.Event | None = None, settle: float = 0.02
    ) -> tuple[set[str], bool]:
        """Up to ``timeout`` seconds for changes; returns (changed paths, whether some
        were lost - walk everything then). Once something changed it gathers for
        ``settle`` more seconds, so a burst of files comes as one set."""
        deadline = time.monotonic() + timeout
        paths: set[str] = set()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop.is_set()):
                break
            ready, _, _ = select.select([self._fd], [], [], min(left, 0.2))
            if ready:
                self._read(paths)
                if paths or self._lost:
                    deadline = min(deadline, time.monotonic() + settle)
        lost, self._lost = self._lost, False
        return paths, lost

    def _read(self, paths: set[str]) -> None:
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            if not data:
                return
            pos = 0
            while pos + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, pos)
                pos += _HEADER.size
                name = data[pos : pos + length].rstrip(b"\0")
                pos += length
                self._event(wd, mask, name, paths)

    def _event(self, wd: int, mask: int, name: bytes, paths: set[str]) -> None:
        if mask & IN_Q_OVERFLOW:
            self._lost = True
            return
        directory = self._dirs.get(wd)
        if mask & IN_IGNORED:
            self._dirs.pop(wd, None)
            return
        if directory is None:
            return
        if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
            self._lost = True  # a watched directory went away or moved: walk again
            return
        if not name:
            return
        path = os.path.join(directory, os.fsdecode(name))
        if mask & IN_ISDIR:
            if mask & (IN_CREATE | IN_MOVED_TO) and not self.add_tree(path):
                self._lost = True
            paths.add(path)  # the scanner walks it: files may be in it already
            return
        paths.add(path)

    @property
    def watched(self) -> int:
        return len(self._dirs)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ScanPlan:
    """What each poll scans: everything, or only what changed (and what is settling).

    Without notifications every poll walks the inbox. With them, a poll walks it only
    every ``rescan_interval`` seconds, after lost notifications, or when the scanner
    asks for it; otherwise it looks at the changed paths alone.
    """

    def __init__(
        self,
        events: InboxEvents | None,
        rescan_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.events = events
        self.rescan_interval = rescan_interval
        self.clock = clock
        self._last_full: float | None = None
        self.full_walks = 0
        self.partial_scans = 0

    def next(
        self, timeout: float, stop: threading.Event, need_full: bool = False
    ) -> set[str] | None:
        """Wait for the next poll; the paths to look at, or None for a full walk."""
        if self.events is None:
            if self._last_full is not None:
                stop.wait(timeout)
            self._full()
            return None
        if self._last_full is None:
            self._full()  # the first walk, right after the watches were set
            return None
        paths, lost = self.events.wait(timeout, stop)
        if lost or need_full or self.clock() - self._last_full >= self.rescan_interval:
            self._full()
            return None
        self.partial_scans += 1
        return paths

    def _full(self) -> None:
        self._last_full = self.clock()
        self.full_walks += 1

    def close(self) -> None:
        if self.events is not None:
            self.events.close()


def open_plan(roots: Iterable[Path], rescan_interval: float) -> ScanPlan:
    """Notifications when ``rescan_interval`` > 0 and the platform has them."""
    events = InboxEvents.open(roots) if rescan_interval > 0 else None
    if events is not None:
        log.info(
            "inbox: change notifications on %d director(y/ies); a full walk every %gs",
            events.watched,
            rescan_interval,
        )
    return ScanPlan(events, rescan_interval)
