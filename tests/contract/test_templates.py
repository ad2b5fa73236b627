"""The committed index templates (deploy/elasticsearch/) are what the indexer installs."""

from __future__ import annotations

from pathlib import Path

from wirewatch.indexer.template import articles_mappings, check

ROOT = Path(__file__).resolve().parents[2]


def test_committed_templates_match_the_module():
    assert check(ROOT / "deploy" / "elasticsearch") == []


def test_the_search_fields_are_mapped():
    search = articles_mappings()["properties"]["search"]["properties"]
    assert set(search) == {"title_stems", "body_stems", "title_words", "body_words"}
    assert all(m["analyzer"] == "whitespace" for m in search.values())
