"""The edges of the core: small protocols that each runner implements.

The embedded runner implements them with an in-process queue and SQLite; the
distributed services with Kafka and Elasticsearch. The core never imports an
implementation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .logic import DuplicateIndex
from .models import EnrichedArticle, Rejection


class ArticleSink(Protocol):
    """Where enriched articles and rejections go.

    ``put`` is idempotent on ``article.id``: storing the same id again replaces the
    document and adds the new source path, never a second document.
    """

    def put(self, article: EnrichedArticle) -> None: ...

    def reject(self, rejection: Rejection) -> None: ...


class ArticleStore(ArticleSink, DuplicateIndex, Protocol):
    """A sink that can also be read back and serves near-duplicate lookups."""

    def get(self, article_id: str) -> EnrichedArticle | None: ...

    def search(self, query: str, limit: int = 20) -> Iterable[EnrichedArticle]: ...
