"""The side of ``wirewatch run --workers N`` that runs in each pool process.

A spawned worker imports this module to find its functions, so it holds only what they
need - the core and the search analysis - not the runner with its store, webhook client
and metrics (about 13 MB less per worker).
"""

from __future__ import annotations

from wirewatch.core.logic import CoreConfig, Enricher
from wirewatch.core.models import EnrichedArticle, Rejection, Source
from wirewatch.pipeline.reading import safe_analyse
from wirewatch.search import SearchColumns, search_columns

# bytes, source, language hint, published hint: what ``safe_analyse`` takes
Input = tuple[bytes, Source, str | None, str | None]

_worker_enricher: Enricher | None = None


def init_worker(data_dir: str | None, config: CoreConfig) -> None:
    global _worker_enricher
    from wirewatch.pipeline.build import enricher_from

    _worker_enricher = enricher_from(data_dir, config)


def analyse_chunk(
    items: list[Input],
) -> list[tuple[EnrichedArticle | Rejection, SearchColumns | None]]:
    """Enrich ``items`` in a pool process, with each article's search columns (the
    stemming for the full-text index), so the store's thread only writes them."""
    assert _worker_enricher is not None
    out: list[tuple[EnrichedArticle | Rejection, SearchColumns | None]] = []
    for item in items:
        result = safe_analyse(_worker_enricher, *item)
        columns = None
        if isinstance(result, EnrichedArticle):
            columns = search_columns(result.title, result.body, result.language)
        out.append((result, columns))
    return out
