"""The Elasticsearch index templates, written once here and exported to deploy/elasticsearch/.

Every field of an indexed document has an explicit mapping and the mappings are
``dynamic: strict``: a document with a field nobody mapped is refused per item (and
dead-lettered by the indexer) instead of silently growing the mapping. A contract
test fails when the committed JSON drifts from this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ARTICLES_ALIAS = "wirewatch-articles"
ALERTS_ALIAS = "wirewatch-alerts"
SILENCES_ALIAS = "wirewatch-silences"
CLAIMS_ALIAS = "wirewatch-claims"
DIGESTS_ALIAS = "wirewatch-digests"
BANDS_ALIAS = "wirewatch-bands"

# language code -> Snowball stemmer of the per-language sub-fields' analyzers
# (``wirewatch_<code>``: standard tokenizer, lower case, stemming, then ASCII folding).
SNOWBALL_LANGUAGES = {
    "nl": "Dutch",
    "sv": "Swedish",
    "en": "English",
    "de": "German",
    "fr": "French",
    "da": "Danish",
    "nb": "Norwegian",
}
# language code -> the analyzer of ``title_lang.<code>`` / ``body_lang.<code>``
LANGUAGE_ANALYZERS = {lang: f"wirewatch_{lang}" for lang in SNOWBALL_LANGUAGES}
# ``title`` and ``body``: every language, lower case and accents folded, no stemming
FOLDED_ANALYZER = "wirewatch_folded"
PUBLISHED_FORMAT = "yyyy-MM-dd||yyyy-MM||yyyy"

_KW = {"type": "keyword"}
_DATE = {"type": "date"}
# a PolicyEvent, in articles and in alerts
_EVENTS = {
    "properties": {
        "type": _KW,
        "status": _KW,
        "confidence": {"type": "float"},
        "evidence": {"type": "text"},
        "actors": _KW,
        "targets": _KW,
    }
}


def analysis() -> dict[str, Any]:
    """Analyzers for people querying the index directly (Kibana, KQL): accents folded, and
    stemmed in the article's language on the per-language sub-fields. ``wirewatch.search``
    does not use them: it queries the ``search.*`` fields, analysed by the same Python
    code as the embedded store, so both answer a query alike."""
    filters = {
        f"wirewatch_{lang}_stemmer": {"type": "snowball", "language": name}
        for lang, name in SNOWBALL_LANGUAGES.items()
    }
    analyzers: dict[str, Any] = {
        FOLDED_ANALYZER: {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        }
    }
    for lang, analyzer in LANGUAGE_ANALYZERS.items():
        analyzers[analyzer] = {
            "type": "custom",
            "tokenizer": "standard",
            # stemming before folding: the Snowball stemmers know their accented letters
            "filter": ["lowercase", f"wirewatch_{lang}_stemmer", "asciifolding"],
        }
    return {"filter": filters, "analyzer": analyzers}


# ``wirewatch.search.analyse`` output (space-separated stems or folded words): split
# on spaces and nothing else.
_PRE_ANALYSED = {"type": "text", "analyzer": "whitespace"}


def search_mappings() -> dict[str, Any]:
    """The ``search`` object: pre-analysed text for ``wirewatch.search`` queries."""
    return {
        "properties": {
            name: _PRE_ANALYSED
            for name in ("title_stems", "body_stems", "title_words", "body_words")
        }
    }


def _per_language() -> dict[str, Any]:
    return {
        "properties": {
            lang: {"type": "text", "analyzer": analyzer}
            for lang, analyzer in LANGUAGE_ANALYZERS.items()
        }
    }


# fields added since the first template: put on an index created before them
STORY_FIELDS = ("story_id", "story_keys", "story_span", "story_at")
ALERT_STORY_FIELDS = ("kind", "story_id", "update", "story_articles")


def articles_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": _KW,
            "schema_version": {"type": "short"},
            "source": {
                "properties": {
                    "path": _KW,
                    "size": {"type": "long"},
                    "mtime": _DATE,
                    "seen_at": _DATE,
                }
            },
            "sources": _KW,
            "encoding": _KW,
            "title": {
                "type": "text",
                "analyzer": FOLDED_ANALYZER,
                "fields": {"raw": {"type": "keyword", "ignore_above": 512}},
            },
            "title_lang": _per_language(),
            "lead": {"type": "text"},
            "body": {"type": "text", "analyzer": FOLDED_ANALYZER},
            "body_lang": _per_language(),
            "search": search_mappings(),
            "boilerplate": {"type": "text", "index": False},
            "language": _KW,
            "language_confidence": {"type": "float"},
            "published": {"type": "date", "format": PUBLISHED_FORMAT},
            "published_source": _KW,
            "entities": {
                "properties": {
                    "vendors": _KW,
                    "operators": _KW,
                    "countries": _KW,
                    "organisations": _KW,
                    "people": _KW,
                }
            },
            "events": _EVENTS,
            "event_types": _KW,
            "event_kinds": _KW,
            "relevance": {"type": "float"},
            "relevance_reasons": {"type": "text", "index": False},
            "keywords": _KW,
            "fingerprint": {"type": "long", "index": False, "doc_values": False},
            "dup_bands": _KW,
            "near_duplicate_of": _KW,
            "is_near_duplicate": {"type": "boolean"},
            "story_id": _KW,
            "story_keys": _KW,
            "story_span": {"properties": {"lo": _DATE, "hi": _DATE}},
            "story_at": _DATE,
            "enriched_at": _DATE,
            "caps_hit": _KW,
            "indexed_at": _DATE,
        },
    }


def alerts_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "alert_id": _KW,
            "rule": _KW,
            "article_id": _KW,
            "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
            "language": _KW,
            "published": {"type": "date", "format": PUBLISHED_FORMAT},
            "source": _KW,
            "vendors": _KW,
            "countries": _KW,
            "event_types": _KW,
            "events": _EVENTS,
            "lookup": {"type": "keyword", "index": False},
            "fired_at": _DATE,
            "kind": _KW,
            "story_id": _KW,
            "update": {"type": "text", "index": False},
            "story_articles": _KW,
            "delivery": {
                "properties": {
                    "state": _KW,
                    "targets": _KW,
                    "attempts": {"type": "integer"},
                    "error": {"type": "text", "index": False},
                    "updated_at": _DATE,
                    "topic": _KW,
                }
            },
        },
    }


def silences_mappings() -> dict[str, Any]:
    """``wirewatch alerts mute``: one document per silence (``target``: ``rule:NAME``,
    ``vendor:NAME`` or ``country:CODE``), running until ``until``."""
    return {
        "dynamic": "strict",
        "properties": {
            "silence_id": _KW,
            "target": _KW,
            "until": _DATE,
            "created": _DATE,
            "reason": {"type": "text", "index": False},
        },
    }


def claims_mappings() -> dict[str, Any]:
    """The first alert of each (rule, group): one document created once (``op_type=create``,
    ``_id`` derived from the pair), so of indexer replicas racing only one raises it."""
    return {
        "dynamic": "strict",
        "properties": {
            "claim_id": _KW,
            "rule": _KW,
            "group": _KW,
            "article_id": _KW,
            "language": _KW,
            "claimed_at": _DATE,
        },
    }


def bands_mappings() -> dict[str, Any]:
    """Near-duplicate lookup by key: one document per MinHash band key (``_id``) listing
    the articles that have it, so a batch's candidates are two real-time multi-gets
    (no refresh, no search) instead of a ``terms`` query over every article."""
    return {
        "dynamic": "strict",
        "properties": {"ids": {"type": "keyword", "index": False}},
    }


def digests_mappings() -> dict[str, Any]:
    """Digests of the distributed mode (``indexer.digests``): ``doc_type`` ``item`` (an
    alert waiting for or claimed by a digest), ``digest`` or ``cursor``."""
    return {
        "dynamic": "strict",
        "properties": {
            "key": _KW,
            "doc_type": _KW,
            "rule": _KW,
            "channel": _KW,
            "alert_id": _KW,
            "fired_at": _DATE,
            "state": _KW,
            "digest_id": _KW,
            "period_start": _DATE,
            "period_end": _DATE,
            "boundary": _DATE,
            "alerts": {"type": "integer"},
            "rounds": {"type": "integer"},
            "attempts": {"type": "integer"},
            "error": {"type": "text", "index": False},
            "next_try": _DATE,
            "sent_at": _DATE,
        },
    }


def templates() -> dict[str, dict[str, Any]]:
    """Composable index templates by name; each pattern gets its alias on creation."""
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}
    return {
        ARTICLES_ALIAS: {
            "index_patterns": [f"{ARTICLES_ALIAS}-*"],
            "priority": 200,
            "_meta": {"description": "wirewatch enriched articles", "schema_version": 1},
            "template": {
                "settings": {**settings, "analysis": analysis()},
                "mappings": articles_mappings(),
            },
        },
        ALERTS_ALIAS: {
            "index_patterns": [f"{ALERTS_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch alerts and story updates, one per (rule, article)",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": alerts_mappings()},
        },
        SILENCES_ALIAS: {
            "index_patterns": [f"{SILENCES_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch silences: rules, vendors or countries muted for a while",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": silences_mappings()},
        },
        CLAIMS_ALIAS: {
            "index_patterns": [f"{CLAIMS_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch first alerts, one per (rule, story or trend episode)",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": claims_mappings()},
        },
        BANDS_ALIAS: {
            "index_patterns": [f"{BANDS_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch near-duplicate bands: MinHash band key -> article ids",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": bands_mappings()},
        },
        DIGESTS_ALIAS: {
            "index_patterns": [f"{DIGESTS_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch digests: their alerts, state and cursors",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": digests_mappings()},
        },
    }


def _render(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in templates().items():
        path = directory / f"{name}.template.json"
        path.write_text(_render(body), encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path) -> list[str]:
    problems = []
    for name, body in templates().items():
        path = directory / f"{name}.template.json"
        if not path.exists():
            problems.append(f"{path}: missing; run `wirewatch templates export`")
        elif path.read_text(encoding="utf-8") != _render(body):
            problems.append(
                f"{path}: differs from services/wirewatch/indexer/template.py; run `wirewatch templates export`"
            )
    return problems
