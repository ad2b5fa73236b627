"""The fast path of the core enriches every real-news article as the baseline core did
(see tests/unit/test_fast_path_identical.py for the samples, seeds and edge cases)."""

from __future__ import annotations

import pytest

from tests.conftest import REALNEWS
from tests.support import baseline


@pytest.mark.slow
@pytest.mark.skipif(not REALNEWS.is_dir(), reason=f"{REALNEWS} not present")
def test_real_news_enriches_as_before() -> None:
    try:
        pair = baseline.enrichers()
    except baseline.BaselineUnavailable as exc:
        pytest.skip(f"no baseline to compare with: {exc}")
    files = sorted(REALNEWS.glob("*/*.txt"))
    assert len(files) > 1000
    baseline.check_same(pair, files)
