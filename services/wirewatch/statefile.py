"""The small SQLite files services keep their progress in (watcher, feeds)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from wirewatch.paths import check_database, path_key


def open_state(path: Path, tables: list[str], what: str, hint: str) -> sqlite3.Connection:
    """Open (or create) a state file with ``tables`` (CREATE statements); WAL mode.

    A path that cannot hold it (a directory, a missing or read-only directory)
    raises ``PathError``; a file that cannot be used ends the program with a message
    naming it, what it is for (``what``) and what to do (``hint``).
    """
    check_database(path, what=what)
    try:
        db = sqlite3.connect(str(path), check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        for statement in tables:
            db.execute(statement)
        db.commit()
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"wirewatch: {path}: cannot use it as {what} ({exc}); {hint}") from exc
    return db


def known_files(
    db: sqlite3.Connection, table: str, paths: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of those of ``paths`` recorded in ``table`` (path BLOB, size,
    mtime_ns), asked 500 at a time so that a huge inbox is never loaded whole."""
    keys = {path_key(p): p for p in paths}
    batch = list(keys)
    out: dict[str, tuple[int, int]] = {}
    for i in range(0, len(batch), 500):
        part = batch[i : i + 500]
        rows = db.execute(
            f"SELECT path, size, mtime_ns FROM {table} "  # noqa: S608 - table is ours
            f"WHERE path IN ({','.join('?' * len(part))})",
            part,
        )
        for key, size, mtime_ns in rows:
            out[keys[bytes(key)]] = (size, mtime_ns)
    return out
