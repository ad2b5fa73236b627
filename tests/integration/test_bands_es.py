"""Near-duplicates in the distributed mode through the bands index (against the
Elasticsearch API): a replica sees what another indexed a moment ago without a refresh,
a batch redone adds nothing twice, and an index from before the bands index gets its
bands when the indexer installs."""

from __future__ import annotations

import threading

import pytest
from wirewatch.core.models import EnrichedArticle, Source
from wirewatch.indexer.service import Indexer
from wirewatch.indexer.sink import EsSink, client

from tests.integration.test_alerts_es import Publisher, records, settings_for

pytestmark = pytest.mark.integration

TEXT = (
    "Regulator orders operators to replace {vendor} equipment\n\n"
    "The national telecoms regulator told the three mobile operators on Tuesday to "
    "replace radio equipment made by {vendor} within five years, citing a security "
    "review of the core network. The operators said the order would cost them money and "
    "delay the roll-out of new services in rural areas. The ministry backed the "
    "decision and said further reviews of suppliers would follow next year. {tail}"
)


def _article(enricher, vendor: str, tail: str) -> EnrichedArticle:
    a = enricher.analyse(TEXT.format(vendor=vendor, tail=tail).encode(), Source(path=f"{tail}.txt"))
    assert isinstance(a, EnrichedArticle)
    return a


def _replica(es_url: str, namespace: str) -> Indexer:
    settings = settings_for(es_url, namespace)
    sink = EsSink(settings, client(settings), threading.Event())
    sink.install()
    return Indexer(settings, sink, None, Publisher(), [], None)


def _docs(sink: EsSink) -> dict[str, dict]:
    sink.refresh_if_needed(force=True)
    return dict(sink.scan(sink.articles, {"match_all": {}}, ["near_duplicate_of", "dup_bands"]))


def test_a_replica_finds_what_another_indexed_a_moment_ago(es_url, namespace, enricher):
    first, second = _replica(es_url, namespace), _replica(es_url, namespace)
    original = _article(enricher, "Huawei", "Filed at noon.")
    copy = _article(enricher, "Huawei", "Filed at one.")
    other = _article(enricher, "Ericsson", "Another story altogether with more words here.")
    assert original.id != copy.id
    first.process(records(original))
    # no refresh in between: the lookup is a real-time get by band key
    second.process(records(copy, other))
    docs = _docs(first.sink)
    assert docs[copy.id]["near_duplicate_of"] == original.id
    assert docs[original.id]["near_duplicate_of"] is None
    # every band of every article names it once, also when a batch is redone
    second.process(records(copy, other))
    bands = first.sink.existing(first.sink.bands, docs[copy.id]["dup_bands"], ["ids"])
    assert bands and all(b["ids"].count(copy.id) == 1 for b in bands.values())
    assert any(original.id in b["ids"] for b in bands.values())
    assert _docs(first.sink)[copy.id]["near_duplicate_of"] == original.id  # first verdict kept


def test_articles_indexed_before_the_bands_index_get_their_bands(es_url, namespace, enricher):
    replica = _replica(es_url, namespace)
    original = _article(enricher, "ZTE", "Filed at noon.")
    replica.process(records(original))
    sink = replica.sink
    # as an index from before the bands index: no band documents at all
    sink.es.indices.delete(index=f"{sink.bands}-000001")
    assert sink.duplicate_candidates(_docs(sink)[original.id]["dup_bands"]) == []
    later = _replica(es_url, namespace)  # installs: creates the bands index and fills it
    copy = _article(enricher, "ZTE", "Filed at one.")
    later.process(records(copy))
    assert _docs(sink)[copy.id]["near_duplicate_of"] == original.id


def test_a_refused_band_update_is_counted_and_said(es_url, namespace, enricher, caplog):
    from wirewatch import metrics

    replica = _replica(es_url, namespace)
    sink = replica.sink
    # a bands index that refuses every band document: strict, without the ids field
    sink.es.indices.delete(index=f"{sink.bands}-000001")
    sink.es.indices.create(
        index=sink.bands,
        mappings={"dynamic": "strict", "properties": {"other": {"type": "keyword"}}},
    )
    before = metrics.INDEXER_BANDS_REJECTED._value.get()
    article = _article(enricher, "Nokia", "Filed at two.")
    with caplog.at_level("WARNING", logger="wirewatch.indexer.service"):
        replica.process(records(article))
    refused = metrics.INDEXER_BANDS_REJECTED._value.get() - before
    assert refused == len(_docs(sink)[article.id]["dup_bands"]) > 0  # the article is indexed
    said = [r.getMessage() for r in caplog.records if "bands refused" in r.getMessage()]
    assert len(said) == 1 and f"article={article.id}" in said[0], said
