"""Finding complete article files in inbox directories (no broker, no store).

A file is *ready* once it is complete: its size and modification time did not
change for ``settle_seconds`` (writers that copy slowly are waited for). Temp and
hidden files are skipped: dot-files, ``*.part``, ``*.partial``, ``*.tmp``,
``*.crdownload``, ``*.swp`` and names ending in ``~``. A file is *new or changed*
when its (size, mtime) differs from what the ``KnownFiles`` record says was
processed. Directories are walked recursively; symlinks are followed only when
they point inside the inbox.

An inbox may hold far more files than should sit in memory, so a scan streams:
it walks the directories, asks the record about a few hundred paths at a time,
and yields ready files in sorted chunks. Between scans it remembers only the
files it reported that are not recorded yet (bounded: the consumer's queue holds
them) and the files still settling (capped; the rest wait for a later scan).
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wirewatch.paths import near_path_max, open_fd

TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".swp", ".swx", "~")


@dataclass(frozen=True)
class FileState:
    """A file as a scan saw it. ``path`` is exact (it may carry surrogate escapes)."""

    path: str
    size: int
    mtime_ns: int
    ino: int = 0  # 0: unknown


class KnownFiles(Protocol):
    """The record of processed files: (size, mtime_ns) for those of ``paths`` it holds.

    Asked for at most a few hundred paths at a time; paths it does not hold are
    left out of the answer. Implementations: the embedded store, the watcher
    state, and ``MemoryKnownFiles``.
    """

    def known_files(self, paths: Sequence[str]) -> Mapping[str, tuple[int, int]]: ...


class MemoryKnownFiles:
    """``KnownFiles`` over a dict (tests, small tools)."""

    def __init__(self, files: Mapping[str, tuple[int, int]] | None = None):
        self.files = dict(files or {})

    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        return {p: self.files[p] for p in paths if p in self.files}

    def record(self, fs: FileState) -> None:
        self.files[fs.path] = (fs.size, fs.mtime_ns)


def is_candidate(name: str) -> bool:
    """False for hidden and temporary file names."""
    return not (name.startswith(".") or name.endswith(TEMP_SUFFIXES))


def _listing(directory: str) -> tuple[os._ScandirIterator[str], int | None, bool]:
    """``os.scandir`` of ``directory``; near PATH_MAX, of an open descriptor (so that
    the entries' paths need not fit in one system call).

    Returns the iterator, the descriptor to close (or None) and whether the path
    was that long (symlinks there are not followed: they cannot be resolved).
    """
    if not near_path_max(directory):
        return os.scandir(directory), None, False
    fd = open_fd(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return os.scandir(fd), fd, True
    except OSError:
        os.close(fd)
        raise


def _inside(real_root: str, path: str) -> bool:
    """Whether ``path`` (a symlink) resolves to somewhere under ``real_root``."""
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def walk(root: Path) -> Iterator[FileState]:
    """Every candidate file under ``root``, one directory listing at a time."""
    real_root = os.path.realpath(root)
    try:
        st = os.stat(root)
    except OSError:
        return
    stack = [os.fspath(root)]
    seen_dirs = {(st.st_dev, st.st_ino)}  # symlink loops
    while stack:
        directory = stack.pop()
        try:
            it, fd, too_long = _listing(directory)
        except OSError:
            continue
        try:
            with it:
                for entry in it:
                    name = entry.name
                    if not is_candidate(name):
                        continue
                    path = os.path.join(directory, name)
                    try:
                        if entry.is_symlink() and (too_long or not _inside(real_root, path)):
                            continue
                        if entry.is_dir():
                            dst = entry.stat()
                            if (dst.st_dev, dst.st_ino) not in seen_dirs:
                                seen_dirs.add((dst.st_dev, dst.st_ino))
                                stack.append(path)
                            continue
                        if not entry.is_file():
                            continue
                        fst = entry.stat()
                    except (OSError, ValueError):
                        continue
                    yield FileState(path, fst.st_size, fst.st_mtime_ns, fst.st_ino)
        finally:
            if fd is not None:
                os.close(fd)


class InboxScanner:
    """Scans inbox directories and streams the files that became ready since last time.

    ``known`` is the record of processed files (a plain dict works too). Reported
    files count as *unrecorded* until the record holds them with the same size and
    mtime; they are not reported again meanwhile. ``forget`` hands one back (it
    could not be processed now: it changed, or publishing failed) so that a later
    scan reports it again once it settles; it may be called from another thread.
    """

    def __init__(
        self,
        roots: list[Path],
        known: KnownFiles | Mapping[str, tuple[int, int]],
        settle_seconds: float = 1.0,
        clock: Callable[[], float] | None = None,
        *,
        chunk_size: int = 1000,
        lookup_batch: int = 500,
        max_settling: int = 10_000,
        max_unrecorded: int = 20_000,
    ):
        self.roots = roots
        self.known: KnownFiles = MemoryKnownFiles(known) if isinstance(known, Mapping) else known
        self.settle_ns = int(settle_seconds * 1e9)
        self.clock = clock or time.time
        self.chunk_size = chunk_size
        self.lookup_batch = lookup_batch
        self.max_settling = max_settling
        self.max_unrecorded = max_unrecorded
        # path -> (size, mtime_ns, ino, scan number that last saw it)
        self._unrecorded: dict[str, tuple[int, int, int, int]] = {}
        # path -> (size, mtime_ns, since when unchanged)
        self._settling: dict[str, tuple[int, int, float]] = {}
        self._forgotten: deque[str] = deque()
        self._recheck: set[str] = set()
        self._scans = 0
        self._prune_at = 2 * chunk_size
        self.settling = 0
        """Files not ready at the end of the last scan (still being written)."""
        self.deferred = False
        """The last scan stopped early: too many reported files are not recorded yet."""

    # -- the consumer's side ----------------------------------------------------------
    def forget(self, path: str) -> None:
        """Let a reported file be reported again (thread-safe)."""
        self._forgotten.append(path)

    def outstanding(self) -> int:
        """How many reported files are neither recorded nor handed back yet."""
        self._take_back()
        self._prune()
        return len(self._unrecorded)

    def retained(self) -> dict[str, int]:
        """Sizes of what the scanner keeps between scans."""
        return {
            "unrecorded": len(self._unrecorded),
            "settling": len(self._settling),
            "forgotten": len(self._forgotten),
        }

    # -- scanning ---------------------------------------------------------------------
    def _take_back(self) -> None:
        while self._forgotten:
            path = self._forgotten.popleft()
            self._unrecorded.pop(path, None)
            self._recheck.add(path)  # a scan of changed paths looks at it again

    def _prune(self) -> None:
        """Drop the reported files that the record now holds."""
        paths = list(self._unrecorded)
        for i in range(0, len(paths), self.lookup_batch):
            part = paths[i : i + self.lookup_batch]
            known = self.known.known_files(part)
            for p in part:
                entry = self._unrecorded.get(p)
                if entry is not None and known.get(p) == entry[:2]:
                    del self._unrecorded[p]

    def _batched(self, files: Iterable[FileState]) -> Iterator[list[FileState]]:
        """``files`` in lists of ``lookup_batch`` (one lookup in the record each)."""
        batch: list[FileState] = []
        for fs in files:
            batch.append(fs)
            if len(batch) >= self.lookup_batch:
                yield batch
                batch = []
        if batch:
            yield batch

    def _walked(self) -> Iterator[FileState]:
        for root in self.roots:
            yield from walk(root)

    def _root_of(self, path: str) -> str | None:
        for root in self.roots:
            top = os.fspath(root)
            if path == top or path.startswith(top.rstrip(os.sep) + os.sep):
                return top
        return None

    def _looked_at(self, paths: Collection[str]) -> Iterator[FileState]:
        """The given paths as a walk would see them (a directory: everything under it);
        paths outside the roots, hidden, temporary or gone are left out."""
        given: set[str] = set()  # a file named and inside a named directory comes once
        for path in sorted(paths):
            top = self._root_of(path)
            if top is None or not is_candidate(os.path.basename(path)):
                continue
            try:
                st = os.stat(path)
                if os.path.islink(path) and not _inside(os.path.realpath(top), path):
                    continue
            except (OSError, ValueError):
                continue
            if stat.S_ISDIR(st.st_mode):
                found: Iterable[FileState] = walk(Path(path))
            elif stat.S_ISREG(st.st_mode):
                found = [FileState(path, st.st_size, st.st_mtime_ns, st.st_ino)]
            else:
                continue
            for fs in found:
                if fs.path not in given:
                    given.add(fs.path)
                    yield fs

    def scan(self, paths: Collection[str] | None = None) -> Iterator[list[FileState]]:
        """Ready files, in chunks of at most ``chunk_size`` sorted by path.

        ``paths``: look only at these (changed files or directories, from change
        notifications) and at the files still settling, instead of walking the roots.

        Consume the chunks as they come (a chunk's files are recorded or handed back
        by the consumer); at the end ``settling`` and ``deferred`` describe what is
        left for the next scan.
        """
        full = paths is None
        self._take_back()
        if not full and not paths and not self._settling and not self._recheck:
            self.settling = 0
            return
        self._scans += 1
        scan = self._scans
        now = self.clock()
        now_ns = int(now * 1e9)
        settling: dict[str, tuple[int, int, float]] = {}
        waiting = 0
        ready: list[FileState] = []
        self.deferred = False
        recheck, self._recheck = self._recheck, set()
        if paths is None:
            found = self._walked()
        else:
            found = self._looked_at({*paths, *self._settling, *recheck})
        for batch in self._batched(found):
            known = self.known.known_files([fs.path for fs in batch])
            for fs in batch:
                stamp = (fs.size, fs.mtime_ns)
                if known.get(fs.path) == stamp:
                    self._unrecorded.pop(fs.path, None)
                    continue
                reported = self._unrecorded.get(fs.path)
                if reported is not None:
                    if reported[:3] == (fs.size, fs.mtime_ns, fs.ino):
                        self._unrecorded[fs.path] = (*reported[:3], scan)
                        continue
                    del self._unrecorded[fs.path]  # changed since reported: it settles anew
                previous = self._settling.get(fs.path)
                stable_since = previous[2] if previous and previous[:2] == stamp else now
                if now_ns - fs.mtime_ns >= self.settle_ns or (now - stable_since) * 1e9 >= (
                    self.settle_ns
                ):
                    ready.append(fs)
                    continue
                waiting += 1
                if len(settling) < self.max_settling:
                    settling[fs.path] = (*stamp, stable_since)
            while len(ready) >= self.chunk_size:
                chunk, ready = ready[: self.chunk_size], ready[self.chunk_size :]
                if not self._room_for(len(chunk)):
                    self.deferred = True
                    break
                yield self._report(chunk, scan)
                self._take_back()
            if self.deferred:
                break
        if ready and not self.deferred:
            if self._room_for(len(ready)):
                yield self._report(ready, scan)
            else:
                self.deferred = True
        self._settling = settling
        self.settling = waiting
        if full and not self.deferred:  # a full walk: what it did not see has vanished
            self._unrecorded = {p: v for p, v in self._unrecorded.items() if v[3] == scan}

    def _room_for(self, n: int) -> bool:
        """Whether ``n`` more files may be reported; prunes the recorded ones each time
        the set has doubled (so it stays within twice what is really on its way)."""
        if len(self._unrecorded) + n > min(self._prune_at, self.max_unrecorded):
            self._take_back()
            self._prune()
            self._prune_at = max(2 * self.chunk_size, 2 * len(self._unrecorded))
        return len(self._unrecorded) + n <= self.max_unrecorded

    def _report(self, chunk: list[FileState], scan: int) -> list[FileState]:
        chunk.sort(key=lambda f: f.path)
        for fs in chunk:
            self._unrecorded[fs.path] = (fs.size, fs.mtime_ns, fs.ino, scan)
        return chunk

    def poll(self) -> tuple[list[FileState], int]:
        """One whole scan: (every file ready now, sorted; files still settling)."""
        ready = [fs for chunk in self.scan() for fs in chunk]
        ready.sort(key=lambda f: f.path)
        return ready, self.settling
