"""``PerKey``: a read-only mapping whose values come back from pickle one at a time."""

import pickle

import pytest
from wirewatch.core.lazy import PerKey


def test_it_reads_like_the_dict_it_was_made_from() -> None:
    m = PerKey({"en": [1, 2], "de": {"x": (3,)}})
    assert list(m) == ["en", "de"] and len(m) == 2
    assert m["en"] == [1, 2] and m.get("de") == {"x": (3,)}
    assert "en" in m and "fr" not in m and m.get("fr") is None
    with pytest.raises(KeyError):
        m["fr"]


def test_after_a_round_trip_only_the_values_asked_for_are_unpickled() -> None:
    m = pickle.loads(pickle.dumps(PerKey({"en": [1, 2], "de": [3], "fr": [4]})))
    assert list(m) == ["en", "de", "fr"] and "fr" in m
    assert m._values == {} and set(m._blobs) == {"en", "de", "fr"}
    assert m["de"] == [3]
    assert set(m._values) == {"de"} and set(m._blobs) == {"en", "fr"}
    assert m["de"] is m["de"]  # restored once, then kept
    assert dict(m) == {"en": [1, 2], "de": [3], "fr": [4]}
    assert m._blobs == {}


def test_a_second_round_trip_keeps_values_never_restored() -> None:
    once = pickle.loads(pickle.dumps(PerKey({"en": [1], "de": [2]})))
    assert once["en"] == [1]  # one restored, one still bytes
    twice = pickle.loads(pickle.dumps(once))
    assert dict(twice) == {"en": [1], "de": [2]}
