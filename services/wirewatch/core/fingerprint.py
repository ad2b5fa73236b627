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
import re
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 3
_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64(0xFFFFFFFF)
_rng = np.random.default_rng(20190326)
_A = _rng.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_SPACE = re.compile(r"\s+")
_BLOCK = 4096


def normalised_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def article_id(text: str) -> str:
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()[:16]


def minhash(tokens: Sequence[str]) -> list[int]:
    if len(tokens) >= SHINGLE:
        shingles = {" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}
    else:
        shingles = {" ".join(tokens)}
    hashes = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles)
    )
    # (a*x + b) mod p on 64 bits: x < 2^32 and a < 2^61 would overflow, so split a.
    a_hi, a_lo = _A >> np.uint64(32), _A & _MAX32
    # In blocks of shingles, so memory stays bounded on a very long article (one
    # block is a few MB; the whole matrix of a 5 MB article would be gigabytes).
    least = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for at in range(0, len(hashes), _BLOCK):
        x = hashes[at : at + _BLOCK, None]
        with np.errstate(over="ignore"):
            prod = ((a_hi * x) << np.uint64(32)) + a_lo * x + _B
        values = (prod % _PRIME) & _MAX32
        np.minimum(least, values.min(axis=0), out=least)
    return [int(v) for v in least]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def similarities(a: Sequence[int], others: Sequence[Sequence[int]]) -> list[float]:
    """``similarity(a, b)`` for every b in ``others`` at once."""
    if not others:
        return []
    ref = np.asarray(a, dtype=np.uint64)
    mat = np.asarray(others, dtype=np.uint64)
    if mat.ndim != 2 or mat.shape[1] != ref.shape[0]:
        return [similarity(a, b) for b in others]
    shares: list[float] = (mat == ref).mean(axis=1).tolist()
    return shares


def band_keys(signature: Sequence[int]) -> list[str]:
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(",".join(map(str, chunk)).encode(), digest_size=8).hexdigest()
        keys.append(f"{band}:{digest}")
    return keys
