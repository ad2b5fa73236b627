"""Option types and options that several ``wirewatch`` commands share.

Kept apart from the commands so that ``wirewatch --help`` imports click and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class WholeNumber(click.ParamType):
    """A whole number of at least ``minimum``; ``below`` says what a smaller one is."""

    name = "integer"

    def __init__(self, minimum: int, below: str) -> None:
        self.minimum, self.below = minimum, below

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(value)
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if number < self.minimum:
            self.fail(f"{number} {self.below}", param, ctx)
        return number


class UnitInterval(click.ParamType):
    """A number in [0, 1]."""

    name = "number"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number between 0 and 1", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{value} is not between 0 and 1", param, ctx)
        return number


POSITIVE = WholeNumber(1, "is less than 1")
NON_NEGATIVE = WholeNumber(0, "is negative")
UNIT = UnitInterval()
PATH = click.Path(path_type=Path)

DB_HELP = "SQLite database of the embedded store (default wirewatch.db, env WIREWATCH_DB)"


def db_option(f: F) -> F:
    """``--db``: the embedded store, ``WIREWATCH_DB`` when not given."""
    return click.option(
        "--db", type=PATH, default="wirewatch.db", envvar="WIREWATCH_DB", help=DB_HELP
    )(f)


def listing_options(f: F) -> F:
    """``--json`` and ``--csv``, for scripts: one JSON object a line, or CSV with a header
    row; not both (checked when the command runs)."""
    f = click.option("--csv", is_flag=True, help="CSV with a header row (not with --json)")(f)
    return click.option("--json", is_flag=True, help="one JSON object per line")(f)
