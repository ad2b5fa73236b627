"""The small SQLite files services keep their progress in (watcher, feeds)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_state(path: Path, tables: list[str], what: str, hint: str) -> sqlite3.Connection:
    """Open (or create) a state file with ``tables`` (CREATE statements); WAL mode.

    A file that cannot be used ends the program with a message naming it, what it is
    for (``what``) and what to do (``hint``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(str(path), check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        for statement in tables:
            db.execute(statement)
        db.commit()
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"wirewatch: {path}: cannot use it as {what} ({exc}); {hint}") from exc
    return db
