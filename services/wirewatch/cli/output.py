"""How results come out: CSV for scripts (``--csv``), one JSON object a line (``--json``),
or a table for people; and progress on long work, on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO


def cell(value: Any) -> Any:
    """A value as a CSV cell: lists joined with commas (as in the tables), None empty."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``header`` then ``rows`` on stdout, written by the csv module (quoted where a cell
    needs it); the header comes even when there are no rows."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])


# Columns people copy (ids, dates, codes, counts): a table never wraps nor cuts them.
UNCUT_COLUMNS = frozenset(
    {
        "id",
        "article",
        "story",
        "published",
        "fired",
        "at",
        "first",
        "last",
        "conf",
        "lang",
        "type",
        "status",
        "code",
        "articles",
        "day",
        "until",
        "alerts",
        "updates",
    }
)
# how far text columns give way: first to their header (at least 12 characters), then
# to 6; a table that still does not fit is wider than the terminal rather than cut ids
_FLOORS = (12, 6)


def terminal_width() -> int | None:
    """Columns of the terminal; None when stdout is not a terminal: pipes and files get
    whole cells."""
    import shutil

    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((120, 24)).columns)
    return None


def render_table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    width: int | None = None,
) -> str:
    """Aligned columns (rich), a rule of dashes under the header, no colours nor styles.

    Within ``width`` (default: the terminal's; none for a pipe, where every cell stays
    whole on its row's line) the widest text columns give way first and wrap, at word
    boundaries where they can; ids, dates and codes (``UNCUT_COLUMNS``) never wrap nor
    give way. A cell may hold several lines (a title and its snippet)."""
    import io

    from rich.box import Box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    widths = [
        max(len(line) for cell in (h, *(row[i] for row in rows)) for line in cell.split("\n"))
        for i, h in enumerate(headers)
    ]
    width = width or terminal_width()
    room = width - 2 * (len(headers) - 1) if width else sum(widths)
    flexible = [i for i, h in enumerate(headers) if h not in UNCUT_COLUMNS]
    for first, floor in zip((True, False), _FLOORS, strict=True):
        floors = {i: max(floor, len(headers[i])) if first else floor for i in flexible}
        while sum(widths) > room:
            over = [i for i in flexible if widths[i] > floors[i]]
            if not over:
                break
            widest = max(over, key=lambda i: widths[i])
            widths[widest] = max(floors[widest], widths[widest] - (sum(widths) - room))
    table = Table(
        box=Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True),
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="",
        highlight=False,
    )
    for i, header in enumerate(headers):
        if header in UNCUT_COLUMNS:
            table.add_column(header, width=widths[i], no_wrap=True)
        else:
            table.add_column(header, width=widths[i], overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console = Console(
        file=io.StringIO(),
        width=sum(widths) + 2 * len(headers),
        color_system=None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.rstrip("\n").split("\n"))


class Progress:
    """A bar with ``done/total`` and the time left (rich), on stderr when it is a terminal;
    silent in pipes and files, so scripts and logs see only the result. Log lines written
    meanwhile scroll above the bar; ``close`` (or the end of a ``with``) removes it."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.on = self.stream.isatty()
        self.done = 0
        self._bar: Any = None
        self._handlers: list[Any] = []
        if self.on:
            self._start()

    def _start(self) -> None:
        import logging

        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=self.stream, highlight=False, soft_wrap=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=self.stream is sys.stderr,
        )
        self._task = self._bar.add_task(self.label, total=self.total)
        original = self.stream
        self._bar.start()
        # the log handlers hold the stream itself: through the bar's console, their lines
        # scroll above it instead of through it
        if sys.stderr is not original:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                    handler.setStream(sys.stderr)
                    self._handlers.append(handler)

    def step(self, n: int = 1, label: str | None = None) -> None:
        """``n`` more done; ``label`` names what comes next."""
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=label or self.label)

    def update(self, done: int, total: int | None = None, label: str | None = None) -> None:
        """``done`` of ``total`` (when it became known or grew)."""
        self.done = done
        self.total = total if total is not None else self.total
        if self._bar is not None:
            self._bar.update(
                self._task, completed=done, total=self.total, description=label or self.label
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            for handler in self._handlers:
                handler.setStream(self.stream)
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
