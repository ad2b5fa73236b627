"""What the worker does to one raw message - no Faust, no Kafka; runs in a process pool.

``process`` turns raw message values into ("ok", key, enriched JSON) or
("dlq", code, reason). A value that is not a raw/v1 message, or an article the
core rejects, or an exception inside the core (about that article: the core does
no I/O) - all become dead letters with a reason. Nothing here raises for any bytes.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from wirewatch.core.logic import CoreConfig, Enricher
from wirewatch.core.models import EnrichedArticle, RawArticle, Rejection

Result = tuple[str, str, bytes | str, tuple[str, ...]]
# ("ok", key, json, caps hit) | ("dlq", code, reason, ())

_enricher: Enricher | None = None


def init(data_dir: str | None, config: CoreConfig) -> None:
    """Load the rules and gazetteers once per process."""
    global _enricher
    from wirewatch.pipeline.build import enricher_from

    _enricher = enricher_from(data_dir, config)


HINT_HEADERS = ("wirewatch-language-hint", "wirewatch-published-hint")
Hints = tuple[str | None, str | None]  # language, published (YYYY-MM-DD)


def hints(headers: Iterable[tuple[str, bytes]] | None) -> Hints:
    """The language and date hints a source (the feeds service) put in the message headers."""
    found: dict[str, str] = {}
    for key, value in headers or ():
        if key in HINT_HEADERS and value:
            found[key] = bytes(value).decode("utf-8", "replace")
    return found.get(HINT_HEADERS[0]), found.get(HINT_HEADERS[1])


def process_one(enricher: Enricher, value: bytes | None, hint: Hints = (None, None)) -> Result:
    if not value:
        return (
            "dlq",
            "invalid_message",
            "empty message value; the raw topic carries raw/v1 JSON",
            (),
        )
    try:
        raw = RawArticle.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "value"
        return (
            "dlq",
            "invalid_message",
            f"not a wirewatch.articles.raw/v1 message ({where}: {first.get('msg')}); "
            "publish files with `wirewatch watcher`, or follow schemas/wirewatch.articles.raw/v1.json",
            (),
        )
    try:
        data = raw.content()
        result = enricher.analyse(data, raw.source, *hint)
    except Exception as exc:  # noqa: BLE001 - one article's problem, dead-lettered
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return (
            "dlq",
            "error",
            f"internal error while enriching ({type(exc).__name__}: {exc} at "
            f"{Path(frame.filename).name}:{frame.lineno}); please report it with this message",
            (),
        )
    if isinstance(result, Rejection):
        return ("dlq", result.rejected.code, result.rejected.reason, ())
    assert isinstance(result, EnrichedArticle)
    return ("ok", result.id, result.model_dump_json().encode(), tuple(result.caps_hit))


def process(values: list[bytes | None], hint_list: list[Hints] | None = None) -> list[Result]:
    """Process a batch in this (pool) process; ``init`` must have run here."""
    assert _enricher is not None, "worker.logic.init() was not called in this process"
    if hint_list is None:
        return [process_one(_enricher, v) for v in values]
    return [process_one(_enricher, v, h) for v, h in zip(values, hint_list, strict=True)]
