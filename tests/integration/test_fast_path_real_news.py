"""The fast path of the core enriches real-news articles as the baseline core did (see
tests/unit/test_fast_path_identical.py for the samples, seeds and edge cases): every
second file by name, in all languages and sources - the whole folder takes the baseline
core about 20 s of CPU, half of it covers the same kinds of text."""

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
    files = sorted(REALNEWS.glob("*/*.txt"))[::2]
    assert len(files) > 500
    baseline.check_same(pair, files)
