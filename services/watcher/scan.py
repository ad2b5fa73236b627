"""Finding complete article files in inbox directories (no broker, no store).

A file is *ready* once it is complete: its size and modification time did not
change for ``settle_seconds`` (writers that copy slowly are waited for). Temp and
hidden files are skipped: dot-files, ``*.part``, ``*.partial``, ``*.tmp``,
``*.crdownload``, ``*.swp`` and names ending in ``~``. A file is *new or changed*
when its (size, mtime) differs from what ``known`` says was processed.
Directories are walked recursively; symlinks are followed only when they point
inside the inbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".swp", ".swx", "~")


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int


def is_candidate(name: str) -> bool:
    """False for hidden and temporary file names."""
    return not (name.startswith(".") or name.endswith(TEMP_SUFFIXES))


def walk(root: Path) -> Iterator[FileState]:
    """Every candidate file under ``root`` (iteratively, without listing all at once)."""
    real_root = os.path.realpath(root)
    stack = [str(root)]
    seen_dirs: set[str] = set()
    while stack:
        directory = stack.pop()
        try:
            real = os.path.realpath(directory)
            if real in seen_dirs:
                continue
            seen_dirs.add(real)
            it = os.scandir(directory)
        except OSError:
            continue
        with it:
            for entry in it:
                name = entry.name
                if not is_candidate(name):
                    continue
                try:
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if os.path.commonpath([real_root, target]) != real_root:
                            continue
                    if entry.is_dir():
                        stack.append(entry.path)
                        continue
                    if not entry.is_file():
                        continue
                    st = entry.stat()
                except (OSError, ValueError):
                    continue
                yield FileState(entry.path, st.st_size, st.st_mtime_ns)


class InboxScanner:
    """Polls inbox directories and reports files that became ready since last time."""

    def __init__(
        self,
        roots: list[Path],
        known: dict[str, tuple[int, int]],
        settle_seconds: float = 1.0,
        clock: Callable[[], float] | None = None,
    ):
        import time

        self.roots = roots
        self.known = dict(known)
        self.settle_ns = int(settle_seconds * 1e9)
        self.clock = clock or time.time
        self._pending: dict[str, tuple[int, int, float]] = {}

    def poll(self) -> tuple[list[FileState], int]:
        """(files ready now, files still settling)."""
        now = self.clock()
        ready: list[FileState] = []
        pending: dict[str, tuple[int, int, float]] = {}
        for root in self.roots:
            for fs in walk(root):
                if self.known.get(fs.path) == (fs.size, fs.mtime_ns):
                    continue
                previous = self._pending.get(fs.path)
                age_ns = int(now * 1e9) - fs.mtime_ns
                if previous and previous[:2] == (fs.size, fs.mtime_ns):
                    stable_since = previous[2]
                else:
                    stable_since = now
                if age_ns >= self.settle_ns or (now - stable_since) * 1e9 >= self.settle_ns:
                    ready.append(fs)
                    self.known[fs.path] = (fs.size, fs.mtime_ns)
                else:
                    pending[fs.path] = (fs.size, fs.mtime_ns, stable_since)
        self._pending = pending
        ready.sort(key=lambda f: f.path)
        return ready, len(pending)

    def forget(self, path: str) -> None:
        """Let a file be reported again (e.g. it vanished before it could be read)."""
        self.known.pop(path, None)
