"""File paths: how they are shown, keyed and opened, and which ones can be used.

A file name on Linux is bytes. Python hands over names that are not UTF-8 as
``str`` with lone surrogates (``surrogateescape``), which neither SQLite TEXT nor
JSON can carry. So a path has three forms here:

* the path itself (``str``, possibly with surrogates): the only form used to
  open the file;
* ``path_key``: its exact bytes, the key under which processed files are
  recorded (two different names never share a key);
* ``display_path``: valid, printable UTF-8 for people and documents
  (``Source.path``, logs, ``wirewatch rejected``), where undecodable bytes read
  ``\\xe9``, control characters ``\\n`` / ``\\x1b`` and a backslash ``\\\\`` - so
  two different names never display the same either.

The checks at the end run before a service starts and raise ``PathError`` (exit
code 2) naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from wirewatch.settings import SettingsError

# Characters that would break a line, a table or a terminal if shown as they are.
_BIDI = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def path_key(path: str | os.PathLike[str]) -> bytes:
    """The exact bytes of ``path`` as the file system has them (lossless)."""
    return os.fsencode(path)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029):
        return f"\\u{code:04x}"
    if code in _BIDI:
        return f"\\u{code:04x}"
    return ch


# a character shown as it is: printable ASCII but the backslash, or U+00A0 to U+1FFF
_NOT_PLAIN = re.compile(r"[^\x20-\x5b\x5d-\x7e\xa0-\u1fff]")


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as printable UTF-8: the same text for ordinary names, escapes otherwise.

    Undecodable bytes become ``\\xNN`` (NN >= 80), control characters ``\\n``,
    ``\\r``, ``\\t``, ``\\xNN`` (NN < 20) or ``\\uNNNN``, line separators and
    bidirectional controls ``\\uNNNN``, and a backslash ``\\\\``; distinct paths
    give distinct text.
    """
    text = os.fspath(path)
    if not _NOT_PLAIN.search(text):  # one scan in C, not a call per character
        return text
    with contextlib.suppress(UnicodeError):  # the same bytes, however the str was decoded
        text = os.fsencode(text).decode("utf-8", "surrogateescape")
    return "".join(_escape(ch) for ch in text)


# -- opening -------------------------------------------------------------------------
_PATH_MAX = 4000  # bytes per open() call, below Linux's PATH_MAX of 4096


def _open_at_length(path: str, flags: int) -> int:
    """``os.open`` for a path longer than the kernel takes in one call: a few
    directory components at a time, each relative to the one before."""
    raw = os.fsencode(path)
    parts = [p for p in raw.split(b"/") if p]
    fd = os.open(
        b"/" if raw.startswith(b"/") else b".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    )
    try:
        while len(parts) > 1:
            step: list[bytes] = []
            size = 0
            while len(parts) > 1 and size + len(parts[0]) + 1 < _PATH_MAX:
                size += len(parts[0]) + 1
                step.append(parts.pop(0))
            if not step:  # one component longer than any file system allows
                raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), path)
            nxt = os.open(b"/".join(step), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return os.open(parts[0] if parts else b".", flags, dir_fd=fd)
    finally:
        os.close(fd)


def near_path_max(path: str) -> bool:
    """True when ``path`` plus a file name may not fit in one system call."""
    return len(os.fsencode(path)) > _PATH_MAX - 256


def open_fd(path: str, flags: int) -> int:
    """``os.open(path, flags)``, also for paths longer than PATH_MAX."""
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
    return _open_at_length(path, flags)


def open_for_reading(path: str) -> BinaryIO:
    """Open an inbox file to read it. Non-blocking, so a FIFO put where a file was
    scanned cannot hang the reader; any path length."""
    fd = open_fd(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    return os.fdopen(fd, "rb")


# -- checks --------------------------------------------------------------------------
class PathError(SettingsError):
    """A path a service cannot use; the message names it and says what to do."""


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or inner.is_relative_to(outer)


def check_inboxes(inboxes: Sequence[Path]) -> list[Path]:
    """The inboxes with symlinks resolved, once each checked.

    Invalid: a path that does not exist, is not a directory, cannot be listed, or is
    the same directory as (or lies inside) another inbox - its files would be seen
    twice.
    """
    resolved: list[tuple[Path, Path]] = []
    for inbox in inboxes:
        inbox = Path(inbox)
        try:
            st = inbox.stat()
        except FileNotFoundError:
            raise PathError(
                f"{inbox}: the inbox is not a directory (nothing exists there); create it first "
                "or pass an existing directory"
            ) from None
        except OSError as exc:
            raise PathError(
                f"{inbox}: the inbox cannot be reached ({exc.strerror or exc}); check the path "
                "and the permissions of the directories above it"
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise PathError(
                f"{inbox}: the inbox is not a directory; pass the directory articles are "
                "dropped into, not a file"
            )
        if not os.access(inbox, os.R_OK | os.X_OK):
            raise PathError(
                f"{inbox}: the inbox cannot be read (permission denied); give this user read "
                "and search (r-x) permission on it"
            )
        real = inbox.resolve()
        for other, other_real in resolved:
            if real == other_real:
                raise PathError(
                    f"{inbox}: this inbox is given twice ({other} is the same directory); "
                    "pass it once"
                )
            if _within(real, other_real) or _within(other_real, real):
                inner, outer = (inbox, other) if _within(real, other_real) else (other, inbox)
                raise PathError(
                    f"{inner}: this inbox lies inside the inbox {outer}, which is watched "
                    f"recursively - its files would be processed twice; pass only {outer}"
                )
        resolved.append((inbox, real))
    return [real for _, real in resolved]


def check_database(
    path: Path,
    inboxes: Sequence[Path] = (),
    option: str | None = None,
    what: str = "the database",
) -> Path:
    """``path`` with symlinks resolved, once it can be used as a SQLite file.

    Invalid: a directory; a file this user cannot write; a parent directory that is
    missing or not writable (SQLite creates its journal next to the file); a place
    inside one of ``inboxes`` (the file and its journal would be read as articles).
    ``option`` names the flag that sets the path, for the message.
    """
    path = Path(path)
    other = f"pass another {option} path" if option else "use another path"
    real = path.resolve()
    if real.is_dir():
        raise PathError(
            f"{path}: {what} is a directory; {other} naming a file, e.g. {path / 'wirewatch.db'}"
        )
    parent = real.parent
    if not parent.is_dir():
        raise PathError(f"{path}: the directory {parent} does not exist; create it or {other}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PathError(
            f"{path}: the directory {parent} is not writable (SQLite keeps its journal next to "
            f"{what}); make it writable or {other}"
        )
    if real.exists() and not os.access(real, os.R_OK | os.W_OK):
        raise PathError(
            f"{path}: {what} cannot be read and written by this user; fix its permissions or "
            f"{other}"
        )
    for inbox in inboxes:
        inbox_real = Path(inbox).resolve()
        if _within(real, inbox_real):
            raise PathError(
                f"{path}: {what} lies inside the inbox {inbox}, where it (and its journal) "
                f"would be read as articles; {other} outside the inbox"
            )
    return real
