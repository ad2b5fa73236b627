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
        click.option(
            "--seed",
            type=int,
            default=20261204,
            help="recovery: the kill moments; scale: the composed articles",
        ),
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


def scale_options(f: F) -> F:
    """The options of ``wirewatch bench scale`` on the ``bench`` command."""
    options = [
        click.option(
            "--sizes",
            default="1000,10000,100000",
            show_default=True,
            help="scale: stored-article counts to measure at (1000, 10k, 1M)",
        ),
        click.option(
            "--batch",
            type=click.IntRange(min=1),
            default=1000,
            show_default=True,
            help="scale: articles stored at each size to measure throughput",
        ),
        click.option(
            "--max",
            "max_size",
            type=click.IntRange(min=1),
            help="scale: search latency and size on up to this many articles (e.g. 1000000)",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f
