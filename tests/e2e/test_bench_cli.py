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

    ww("bench", "scan", "--files", "40", "--write", cwd=tmp_path)
    assert SECTION in (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")

    ww("bench", "scan", "--files", "40", "--write", "other.md", cwd=tmp_path)
    ww("bench", "scan", "--files", "40", "--output", "third.md", cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BENCHMARKS.md", "other.md", "third.md"]
    assert SECTION in (tmp_path / "third.md").read_text(encoding="utf-8")
