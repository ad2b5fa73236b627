"""The gazetteer: within each list a name or alias belongs to one entry.

An alias written on two entries (or an entry written twice) makes the canonical name a
mention normalises to depend on the order of the file, and a later edit to one entry
silently leaves the other behind."""

from collections import Counter

import pytest
from wirewatch.core import yamlio
from wirewatch.core.logic import DATA_DIR

pytestmark = pytest.mark.contract

LISTS = ("vendors", "operators", "organisations", "people")


@pytest.mark.parametrize("name", LISTS)
def test_every_name_and_alias_is_on_one_entry(name: str) -> None:
    entries = yamlio.load((DATA_DIR / "gazetteer" / f"{name}.yaml").read_text(encoding="utf-8"))
    # (the spellings of one entry may differ in case only: matching keeps the case)
    spelled = Counter(
        spelling
        for entry in entries
        for spelling in {s.casefold() for s in (entry["name"], *(entry.get("aliases") or []))}
    )
    assert not [s for s, n in spelled.items() if n > 1], name
