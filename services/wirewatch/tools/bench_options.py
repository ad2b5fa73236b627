"""The options of ``wirewatch bench recovery``, apart from the module that runs it: the
command line is built on every ``wirewatch`` call and must not import the benchmark."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

SCENARIOS = ("watcher", "worker", "indexer", "feeds", "elasticsearch")

F = TypeVar("F", bound=Callable[..., Any])


def recovery_options(f: F) -> F:
    """The options of ``wirewatch bench recovery`` on the ``bench`` command."""
    options = [
        click.option("--runs", type=int, default=1, help="recovery: runs per scenario"),
        click.option("--seed", type=int, default=20261204, help="recovery: the kill moments"),
        click.option(
            "--scenarios",
            type=click.Choice(SCENARIOS),
            multiple=True,
            help="recovery: which disruptions, repeatable (default: all)",
        ),
        click.option(
            "--rules",
            type=click.Path(path_type=Path),
            default=Path("examples/rules.yaml"),
            help="recovery: indexer rules",
        ),
        click.option(
            "--before", type=float, default=20.0, help="recovery: steady seconds before the kill"
        ),
        click.option(
            "--jitter", type=float, default=10.0, help="recovery: random extra seconds before it"
        ),
        click.option(
            "--after", type=float, default=45.0, help="recovery: seconds of files after the restart"
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f
