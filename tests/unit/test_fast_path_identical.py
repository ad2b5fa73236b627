"""The fast path of the core gives the same enrichment as the straightforward code did.

Every article of the example inbox, of tests/data and the seeds is enriched twice on the
same data files: by today's core and by the baseline core (the modules as they were
before the fast path, read from git - see tests/support/baseline.py). The whole
``EnrichedArticle`` (or ``Rejection``) must be equal, field for field, except the clock.
The same on every article of the real-news folder is in
tests/integration/test_fast_path_real_news.py (it reads ../shared).
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, SEEDS
from tests.support import baseline

pytestmark = pytest.mark.unit


def _sample_files() -> list[Path]:
    files = sorted(p for p in EXAMPLES.rglob("*") if p.is_file())
    files += sorted((ROOT / "tests" / "data").rglob("*.txt"))
    if SEEDS.is_dir():
        files += sorted(SEEDS.glob("*.txt"))
    return files


@pytest.fixture(scope="module")
def pair():
    try:
        return baseline.enrichers()
    except baseline.BaselineUnavailable as exc:
        pytest.skip(f"no baseline to compare with: {exc}")


_check = baseline.check_same


def test_sample_articles_enrich_as_before(pair) -> None:
    files = _sample_files()
    assert len(files) >= 33 + 100  # the examples and tests/data are in the repository
    _check(pair, files)


def test_edge_cases_enrich_as_before(pair) -> None:
    """Inputs the samples do not cover: empty, binary, odd tokens, long runs, names at
    the end of a text, genitives, all-caps aliases, dates next to each other."""
    texts = [
        b"",
        b"\x00\x01\x02" * 50,
        b"Huawei",
        b"HUAWEI and ZTE",
        "Huaweis 5G-utrustning förbjuds i Sverige. Ericssons aktie steg.".encode(),
        b"The U.S. government banned Huawei on 15 May 2019, 16 May 2019 and May 2019.",
        ("Dr. " * 200 + "Smith said the ban on ZTE was rejected.").encode(),
        ("word " * 3000).encode(),
        b"Emmanuel Macron said France would not ban Huawei. Angela Merkel agreed.",
        b"date 2020-01-05 Nokia and Ericsson signed a 5G deal with Telia in Finland.",
        "Ünïcödé straße — «Huawei» : 5G ; (ZTE) – Orange, Deutsche Telekom.".encode(),
        b"The Dutch government; the Chinese vendor Huawei.\n\nNo ban, not only a fine.",
        "x² ²³ ①② a_b _c 5G 2019 ab12 ٣٤ words and more words here".encode(),
        "² ³ ⁴ ⁵ ⁶ ⁷ ⁸ ⁹ ¹ ² ³".encode(),
    ]
    from wirewatch.core.models import Source

    now, old = pair
    for n, data in enumerate(texts):
        src = Source(path=f"edge-{n}.txt")
        assert baseline.comparable(now.analyse(data, src)) == baseline.comparable(
            old.analyse(data, src)
        ), f"edge case {n} differs"


# -- the rewritten primitives, on generated text -------------------------------------
# Strings drawn from the characters the primitives treat specially: sentence marks,
# closing and opening quotes, spaces of several kinds, clause marks, case pairs with
# context-dependent lower case (final sigma), dotted capital I, digits of several
# kinds, combining marks, underscores.
_ALPHABET = (
    list("aAbBzZéÉßøØ")
    + list(".!?…,;:()–—\"'”’»“‘„«[]")
    + [" ", "  ", "\n", "\u00a0", "\t"]
    + ["Σ", "σ", "ς", "İ", "ı", "ǅ", "²", "٣", "5", "_", "\u0301", "Mr", "Dr.", "U.S.", "5G"]
    + ["dernier", "Tout", "Huawei", "Huaweis", "ZTE", "ΟΔΟΣ", "straße", "word"]
)


def _fuzz_strings(count: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(count)]


@pytest.fixture(scope="module")
def base_modules():
    try:
        baseline.load_baseline()
    except baseline.BaselineUnavailable as exc:
        pytest.skip(f"no baseline to compare with: {exc}")
    import sys

    return types.SimpleNamespace(
        **{name: sys.modules[f"{baseline._PACKAGE}.{name}"] for name in baseline.REWRITTEN}
    )


def test_sentences_and_tokens_as_before(base_modules) -> None:
    from wirewatch.core import text
    from wirewatch.core.logic import bundled_text_rules

    abbreviations = bundled_text_rules().abbreviations
    for s in _fuzz_strings(5000, 1):
        assert text.split_sentences(s, abbreviations) == base_modules.text.split_sentences(s), repr(
            s
        )
        old = base_modules.text.tokenize(s)
        new = text.tokenize(s)
        assert [(t.text, t.lower, t.start, t.end) for t in new] == [
            (t.text, t.lower, t.start, t.end) for t in old
        ], repr(s)


def test_keywords_and_minhash_as_before(base_modules) -> None:
    from wirewatch.core import fingerprint, keywords

    stop = frozenset({"word", "the", "5"})
    words = [w.lower() for s in _fuzz_strings(400, 2) for w in s.split()]
    for n in (0, 1, 2, 3, 4, 50, 400):
        part = words[:n]
        assert keywords.keywords(part, stop, 8) == base_modules.keywords.keywords(part, stop, 8)
        assert fingerprint.minhash(part) == base_modules.fingerprint.minhash(part)
    # more shingles than one block of the hashing
    many = [f"w{i}" for i in range(10_000)]
    assert fingerprint.minhash(many) == base_modules.fingerprint.minhash(many)


def test_word_counts_from_tokens_as_from_the_text() -> None:
    """The not-language check counts words of letters from the tokens; the reference is
    the regular expression over the whole text, numbers left out."""
    import re

    from wirewatch.core.logic import _words_and_letters
    from wirewatch.core.text import tokens_of

    word = re.compile(r"[^\W\d_][^\W_]*")
    for s in [*_fuzz_strings(3000, 3), "x² ²³ ①② a_b _c 5G 2019 ab12 ٣٤ word", "² ³ ⁴"]:
        found = [w for w in word.findall(s) if not w.isdigit()]
        assert _words_and_letters(tokens_of(s).text) == (len(found), sum(map(len, found))), s


def test_band_keys_as_before(base_modules) -> None:
    import random

    from wirewatch.core import fingerprint

    rng = random.Random(5)
    signatures = [[rng.randrange(2**32) for _ in range(128)] for _ in range(200)]
    for sig in [*signatures, [], [1, 2, 3], list(range(130))]:
        assert fingerprint.band_keys(sig) == base_modules.fingerprint.band_keys(sig)
        assert fingerprint.band_keys(sig) == base_modules.fingerprint.band_keys(sig)  # memoised
