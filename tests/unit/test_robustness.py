"""Any bytes end as an enriched article or a rejection with a reason - never an exception."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wirewatch.core.models import EnrichedArticle, Rejection, Source

from tests.conftest import EXAMPLES

SAMPLE = sorted(EXAMPLES.glob("*.txt"))[0].read_bytes()
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(enricher, data: bytes) -> None:
    out = enricher.analyse(data, Source(path="fuzz.txt"))
    assert isinstance(out, EnrichedArticle | Rejection)
    if isinstance(out, Rejection):
        assert out.rejected.reason


@FAST
@given(st.binary(max_size=4000))
def test_random_bytes(enricher, data):
    _check(enricher, data)


@FAST
@given(st.text(max_size=3000))
def test_random_text_in_every_encoding(enricher, text):
    for enc in ("utf-8", "utf-16", "utf-8-sig"):
        _check(enricher, text.encode(enc, "surrogatepass"))


@FAST
@given(st.integers(0, len(SAMPLE)), st.integers(0, len(SAMPLE)), st.binary(max_size=200))
def test_truncated_and_spliced_articles(enricher, cut, at, junk):
    _check(enricher, SAMPLE[:cut])
    _check(enricher, SAMPLE[:at] + junk + SAMPLE[at:])


def test_huge_line_and_repetition(enricher):
    _check(enricher, b"Huawei " * 200_000)
    _check(enricher, ("verbod " * 50 + "\n").encode() * 2000)
    _check(enricher, b"a" * 1_000_000)
