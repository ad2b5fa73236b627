"""The same DuplicateIndex contract against every implementation that runs here."""

import pytest
from wirewatch.core import fingerprint as fp
from wirewatch.core.logic import MemoryDuplicateIndex
from wirewatch.embedded.store import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path):
    if request.param == "memory":
        return MemoryDuplicateIndex()
    return SqliteStore(tmp_path / "idx.db")


def test_candidates_share_a_band_and_round_trip_signatures(index):
    words = [f"w{i}" for i in range(150)]
    sig = fp.minhash(words)
    index.add("a", fp.band_keys(sig), sig)
    index.add("a", fp.band_keys(sig), sig)  # idempotent
    near = fp.minhash(words[:70] + ["x"] + words[71:])
    found = list(index.candidates(fp.band_keys(near)))
    assert [aid for aid, _ in found] == ["a"] and found[0][1] == sig
    assert list(index.candidates(fp.band_keys(fp.minhash(["other"] * 3 + words[:2])))) == []
    assert list(index.candidates([])) == []
