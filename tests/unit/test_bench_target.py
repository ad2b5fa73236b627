"""Where ``wirewatch bench WHAT`` writes its figures: nowhere unless asked."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from wirewatch.cli.main import _bench_target, parse_args


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "scan"], None),
        (["bench", "scan", "--write"], Path("BENCHMARKS.md")),
        (["bench", "recovery", "--write"], Path("RELIABILITY.md")),
        (["bench", "scan", "--write", "other.md"], Path("other.md")),
        (["bench", "scan", "--output", "third.md"], Path("third.md")),
        (["bench", "scan", "--write", "same.md", "--output", "same.md"], Path("same.md")),
    ],
)
def test_figures_go_only_where_asked(argv, expected):
    args = parse_args(argv)
    assert _bench_target(args.what, args.write, args.output) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "--write", "scan"], "put WHAT first"),
        (["bench", "scan", "--write", "a.md", "--output", "b.md"], "give one"),
    ],
)
def test_ambiguous_targets_are_usage_errors(argv, message):
    args = parse_args(argv)
    with pytest.raises(click.UsageError, match=message):
        _bench_target(args.what, args.write, args.output)
