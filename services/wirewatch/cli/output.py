"""How listings come out: CSV for scripts (``--csv``), one JSON object a line (``--json``),
or a table for people."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any


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
