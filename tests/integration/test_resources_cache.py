"""The compiled data files are cached by content: reused when nothing changed, rebuilt
when any data file changes, ignored when unreadable."""

import shutil
from pathlib import Path

from wirewatch.core.logic import DATA_DIR, Enricher, Resources
from wirewatch.core.models import Source

from tests.conftest import EXAMPLES


def _events(resources: Resources) -> list[tuple[str, str]]:
    data = (EXAMPLES / "en_02_uk_huawei_2027.txt").read_bytes()
    out = Enricher(resources).analyse(data, Source(path="x"))
    return [(e.type, e.status) for e in out.events]  # type: ignore[union-attr]


def test_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    cache = tmp_path / "cache"
    first = Resources.load(data, cache)
    (entry,) = cache.glob("resources-*.pickle")
    again = Resources.load(data, cache)
    assert list(cache.glob("resources-*.pickle")) == [entry]
    assert _events(again) == _events(first) == _events(Resources.load(data))

    rules = data / "events" / "en.yaml"
    rules.write_text(rules.read_text("utf-8").replace('"tariff*"', '"tarifff*"'), "utf-8")
    Resources.load(data, cache)
    (rebuilt,) = cache.glob("resources-*.pickle")
    assert rebuilt != entry  # a new key, and the stale entry is gone


def test_a_broken_cache_entry_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Resources.load(DATA_DIR, cache)
    (entry,) = cache.glob("resources-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _events(Resources.load(DATA_DIR, cache)) == _events(Resources.load(DATA_DIR))


def test_a_cached_load_restores_a_language_when_first_needed_and_enriches_the_same(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    Resources.load(DATA_DIR, cache)
    cached = Resources.load(DATA_DIR, cache)
    parsed = Resources.load(DATA_DIR)
    assert not cached.rules._values  # type: ignore[attr-defined]  # nothing restored yet
    files = sorted(EXAMPLES.glob("*.txt"))
    langs = {f.name[:2] for f in files}
    assert len(langs) == 7
    for f in files:
        data = f.read_bytes()
        got = Enricher(cached).analyse(data, Source(path=f.name)).model_dump()
        want = Enricher(parsed).analyse(data, Source(path=f.name)).model_dump()
        got.pop("enriched_at", None), want.pop("enriched_at", None)
        assert got == want, f.name
    assert set(cached.rules._values) == langs  # type: ignore[attr-defined]
