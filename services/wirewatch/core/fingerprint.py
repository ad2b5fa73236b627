"""Article id and near-duplicate fingerprints (MinHash over word shingles).

Contracts:
* ``article_id(text)`` is deterministic from the normalised text (case, spacing
  and Unicode form do not change it) and returns 16 hex characters.
* ``minhash(tokens)`` returns ``NUM_PERM`` unsigned 32-bit ints; equal inputs give
  equal signatures on every machine (no salted hashing).
* ``similarity(a, b)`` estimates the Jaccard similarity of the shingle sets.
* ``band_keys(sig)`` returns one key per LSH band; two articles whose estimated
  similarity is at or above ~0.5 share a band key with high probability.
"""

from __future__ import annotations

import hashlib
import os
import sys
import unicodedata
import zlib
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 3


@cache
def _hashing() -> tuple[Any, Any, Any, Any, Any]:
    """numpy and the permutations, made at the first signature (commands that only read
    the store do not import numpy)."""
    # The core does element-wise integer arithmetic only, never linear algebra: numpy's
    # BLAS thread pool, started at import with a thread per core, is pure start-up cost
    # (about 50 ms here) and idle threads in every pool worker. A value set by the user wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np

    rng = np.random.default_rng(20190326)
    a = rng.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
    b = rng.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
    return np, a, b, np.uint64((1 << 61) - 1), np.uint64(61)


# where the low 32 bits of a uint64 lie when it is viewed as two uint32
_LOW_HALF = 0 if sys.byteorder == "little" else 1
_BLOCK = 4096


def normalised_text(text: str) -> str:
    # every run of white space as one space, none at the ends (split() and \s agree on
    # what white space is)
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def article_id(text: str) -> str:
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()[:16]


def minhash(tokens: Sequence[str]) -> list[int]:
    np, _A, _B, _PRIME, _61 = _hashing()
    if len(tokens) >= SHINGLE:
        shingles = set(map(" ".join, zip(tokens, tokens[1:], tokens[2:], strict=False)))
    else:
        shingles = {" ".join(tokens)}
    hashes = np.fromiter(
        map(zlib.crc32, map(str.encode, shingles)), dtype=np.uint64, count=len(shingles)
    )
    # (a*x + b) mod p, computed as numpy does uint64 arithmetic: modulo 2^64 (the
    # signatures were always defined so). In blocks of shingles, so memory stays
    # bounded on a very long article (one block is a few MB; the whole matrix of a
    # 5 MB article would be gigabytes).
    least = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for at in range(0, len(hashes), _BLOCK):
        x = hashes[at : at + _BLOCK, None]
        with np.errstate(over="ignore"):
            prod = _A * x
            prod += _B
        # mod p for the Mersenne prime p = 2^61 - 1 without a division:
        # prod = hi * 2^61 + lo = hi + lo (mod p), and hi + lo <= p + 7.
        high = prod >> _61
        prod &= _PRIME
        prod += high
        over = prod >= _PRIME
        if over.any():
            prod[over] -= _PRIME
        # the low 32 bits of each value, read in place
        low = prod.view(np.uint32)[:, _LOW_HALF::2]
        np.minimum(least, low.min(axis=0), out=least)
    signature: list[int] = least.tolist()
    return signature


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def similarities(a: Sequence[int], others: Sequence[Sequence[int]]) -> list[float]:
    """``similarity(a, b)`` for every b in ``others`` at once."""
    if not others:
        return []
    np = _hashing()[0]
    ref = np.asarray(a, dtype=np.uint64)
    mat = np.asarray(others, dtype=np.uint64)
    if mat.ndim != 2 or mat.shape[1] != ref.shape[0]:
        return [similarity(a, b) for b in others]
    shares: list[float] = (mat == ref).mean(axis=1).tolist()
    return shares


def band_keys(signature: Sequence[int]) -> list[str]:
    # An article's keys are asked for several times on its way (duplicate lookup,
    # registration, store): worked out once per signature.
    return list(_band_keys(tuple(signature)))


@lru_cache(maxsize=4096)
def _band_keys(signature: tuple[int, ...]) -> tuple[str, ...]:
    values = list(map(str, signature))
    return tuple(
        f"{band}:"
        + hashlib.blake2b(
            ",".join(values[band * ROWS : (band + 1) * ROWS]).encode(), digest_size=8
        ).hexdigest()
        for band in range(BANDS)
    )
