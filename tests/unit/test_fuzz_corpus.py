"""Replay the fuzz corpus: every kept input ends as an article or a rejection with a reason.

The corpus (``tests/fuzz/corpus/*.bin``) holds inputs found by the fuzz campaign
(``tests/fuzz/campaign.py``): one or more per generator family, and every input
that once crashed the core or took far longer than its size warrants. Timing is
not asserted here; the campaign measures it and records it in RELIABILITY.md.
"""

from pathlib import Path

import pytest
from wirewatch.core.models import EnrichedArticle, Rejection, Source

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
FILES = sorted(CORPUS.glob("*.bin"))


def test_corpus_is_present_and_small():
    assert len(FILES) >= 13, "the corpus keeps at least one input per generator family"
    assert len(FILES) <= 100  # replayed in every test run: a few seconds
    assert sum(p.stat().st_size for p in FILES) <= 2 * 1024 * 1024


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_input_ends_as_article_or_rejection(enricher, path):
    out = enricher.analyse(path.read_bytes(), Source(path=path.name))
    assert isinstance(out, EnrichedArticle | Rejection)
    if isinstance(out, Rejection):
        reason = out.rejected.reason
        assert reason.strip() and reason[0].isalpha() and " " in reason.strip()
    else:
        assert out.body or out.title
        assert out.language
    out.model_dump_json()  # what every store and topic needs
