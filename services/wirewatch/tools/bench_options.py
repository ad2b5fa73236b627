"""The options of ``wirewatch bench recovery``, apart from the module that runs it: the
command line is built on every ``wirewatch`` call and must not import the benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path

SCENARIOS = ("watcher", "worker", "indexer", "feeds", "elasticsearch")


def add_recovery_arguments(b: argparse.ArgumentParser) -> None:
    """The options of ``wirewatch bench recovery`` on the ``bench`` parser."""
    b.add_argument("--runs", type=int, default=1, help="recovery: runs per scenario")
    b.add_argument("--seed", type=int, default=20261204, help="recovery: the kill moments")
    b.add_argument(
        "--scenarios",
        nargs="+",
        choices=SCENARIOS,
        default=None,
        help="recovery: which disruptions (default: all)",
    )
    b.add_argument(
        "--rules", type=Path, default=Path("examples/rules.yaml"), help="recovery: indexer rules"
    )
    b.add_argument(
        "--before", type=float, default=20.0, help="recovery: steady seconds before the kill"
    )
    b.add_argument(
        "--jitter", type=float, default=10.0, help="recovery: random extra seconds before it"
    )
    b.add_argument(
        "--after", type=float, default=45.0, help="recovery: seconds of files after the restart"
    )
