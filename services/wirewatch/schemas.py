"""JSON Schemas of every message that crosses a process boundary, generated from the models.

``export`` writes them into ``schemas/``; ``check`` lists drift between the
committed files and the models (a contract test runs it).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from wirewatch.core.models import AlertMessage, EnrichedArticle, RawArticle

# topic -> model; a breaking change is a new version file, never an edit in place.
CONTRACTS: dict[str, tuple[type[BaseModel], int]] = {
    "wirewatch.articles.raw": (RawArticle, 1),
    "wirewatch.articles.enriched": (EnrichedArticle, 1),
    "wirewatch.alerts": (AlertMessage, 1),
}


def _render(model: type[BaseModel], topic: str, version: int) -> str:
    schema = model.model_json_schema()
    schema["$id"] = f"https://wirewatch.invalid/schemas/{topic}/v{version}.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    written = []
    for topic, (model, version) in CONTRACTS.items():
        path = directory / topic / f"v{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(model, topic, version), encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path) -> list[str]:
    problems = []
    for topic, (model, version) in CONTRACTS.items():
        path = directory / topic / f"v{version}.json"
        if not path.exists():
            problems.append(f"{path}: missing; run `wirewatch schemas export`")
        elif path.read_text(encoding="utf-8") != _render(model, topic, version):
            problems.append(
                f"{path}: differs from the model {model.__name__}; a compatible change: run "
                "`wirewatch schemas export`; a breaking one: add a new version"
            )
    return problems
