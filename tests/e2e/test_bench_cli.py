"""``wirewatch bench`` prints its figures and writes no file unless asked: ``--write``
updates the tracked BENCHMARKS.md (of the working directory), ``--write PATH`` or
``--output PATH`` another file."""

from __future__ import annotations

import pytest

from tests.conftest import ww

pytestmark = pytest.mark.slow

SECTION = "## Inbox scan (`wirewatch bench scan`)"


def test_bench_scan_prints_and_writes_only_when_asked(tmp_path):
    printed = ww("bench", "scan", "--files", "40", cwd=tmp_path)
    assert SECTION in printed.stdout and "not written" in printed.stderr
    assert list(tmp_path.iterdir()) == []

    # --write PATH and --output PATH resolve as tests/unit/test_bench_target.py shows
    ww("bench", "scan", "--files", "40", "--write", cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["BENCHMARKS.md"]
    assert SECTION in (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
