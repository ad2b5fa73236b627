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

# language code -> built-in Elasticsearch analyzer for the per-language sub-fields.
LANGUAGE_ANALYZERS = {
    "nl": "dutch",
    "sv": "swedish",
    "en": "english",
    "de": "german",
    "fr": "french",
    "da": "danish",
    "nb": "norwegian",
}
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


def _per_language() -> dict[str, Any]:
    return {
        "properties": {
            lang: {"type": "text", "analyzer": analyzer}
            for lang, analyzer in LANGUAGE_ANALYZERS.items()
        }
    }


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
            "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
            "title_lang": _per_language(),
            "lead": {"type": "text"},
            "body": {"type": "text"},
            "body_lang": _per_language(),
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
            "delivery": {
                "properties": {
                    "state": _KW,
                    "targets": _KW,
                    "attempts": {"type": "integer"},
                    "error": {"type": "text", "index": False},
                    "updated_at": _DATE,
                }
            },
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
            "template": {"settings": settings, "mappings": articles_mappings()},
        },
        ALERTS_ALIAS: {
            "index_patterns": [f"{ALERTS_ALIAS}-*"],
            "priority": 200,
            "_meta": {
                "description": "wirewatch alerts, one per (rule, article)",
                "schema_version": 1,
            },
            "template": {"settings": settings, "mappings": alerts_mappings()},
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
