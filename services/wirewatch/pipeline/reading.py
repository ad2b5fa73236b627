"""Reading one article file and running the core on it: what every runner shares.

``read_article`` turns a path into bytes and a ``Source`` (or a ``Rejection`` saying why
it cannot be read, or ``FileChanged`` while the file is still being written);
``safe_analyse`` runs the core so that an exception about one article becomes that
article's rejection. Kept apart from the runners so a one-shot command (``wirewatch
enrich``) or the distributed watcher imports only this, not a whole runner.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from wirewatch.core.decode import oversize
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Rejection, RejectReason, Source
from wirewatch.paths import display_path, open_for_reading


def safe_analyse(
    enricher: Enricher,
    data: bytes,
    source: Source,
    language_hint: str | None = None,
    published_hint: str | None = None,
) -> EnrichedArticle | Rejection:
    """The core on one article; an exception is about this article, so it becomes a rejection."""
    try:
        return enricher.analyse(data, source, language_hint, published_hint)
    except Exception as exc:  # noqa: BLE001 - isolate one bad article from the rest
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Rejection(
            source=source,
            rejected=RejectReason(
                code="error",
                reason=f"internal error while enriching ({type(exc).__name__}: {exc} at "
                f"{Path(where.filename).name}:{where.lineno}); the file was skipped, please "
                "report it with the file attached",
            ),
        )


def _unreadable(source: Source, reason: str) -> Rejection:
    return Rejection(source=source, rejected=RejectReason(code="unreadable", reason=reason))


class FileChanged(Exception):
    """The file is not as the scan saw it once read: it is still being written (or was
    replaced), so it is left for a later scan, once it settles."""

    def __init__(self, path: str, what: str):
        super().__init__(f"{display_path(path)}: {what}")
        self.path = path
        self.what = what


def _changes(st: os.stat_result, size: int, mtime_ns: int, ino: int | None, got: int) -> str:
    what = []
    if st.st_size != size:
        what.append(f"size {size} -> {st.st_size}")
    if st.st_mtime_ns != mtime_ns:
        what.append("modification time")
    if ino and st.st_ino != ino:
        what.append("replaced by another file")
    if not what and got != size:
        what.append(f"read {got} of {size} bytes")
    return ", ".join(what)


def read_article(
    path: str,
    limit: int,
    size: int | None = None,
    mtime_ns: int | None = None,
    ino: int | None = None,
    opener: Callable[[str], BinaryIO] = open_for_reading,
) -> tuple[bytes, Source] | Rejection:
    """The bytes of one article file (at most ``limit``), or why they cannot be had.

    ``path`` is exact (surrogate escapes included); ``Source.path`` shows it as
    ``display_path``. Given what the scan saw (``size``, ``mtime_ns``, ``ino``),
    the open file is compared with it after reading and ``FileChanged`` is raised
    when it differs: the bytes may be half-written.
    """
    source = Source(path=display_path(path), seen_at=datetime.now(UTC))
    expected = size is not None and mtime_ns is not None
    try:
        if size is None or mtime_ns is None:
            st = os.stat(path)
            size, mtime_ns = st.st_size, st.st_mtime_ns
        source.size = size
        source.mtime = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
        if size > limit:
            return Rejection(source=source, rejected=oversize(size, limit))
        with opener(path) as fh:
            data = fh.read(limit + 1)
            if expected:
                what = _changes(os.fstat(fh.fileno()), size, mtime_ns, ino, len(data))
                if what:
                    raise FileChanged(path, what)
    except FileNotFoundError:
        return _unreadable(
            source,
            "the file vanished before it could be read (or never existed); check the path, or "
            "drop it again if it was meant to be processed",
        )
    except IsADirectoryError:
        return _unreadable(
            source,
            "a directory, not an article file; pass its files (`wirewatch run` watches directories)",
        )
    except OSError as exc:
        return _unreadable(
            source, f"the file cannot be read ({exc.strerror or exc}); check its permissions"
        )
    if len(data) > limit:
        return Rejection(source=source, rejected=oversize(len(data), limit))
    source.size = len(data)
    return data, source
