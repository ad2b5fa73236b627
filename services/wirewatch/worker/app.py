"""``wirewatch worker``: the Faust app that enriches ``wirewatch.articles.raw``.

Also startable as ``faust -A wirewatch.worker.app worker --without-web`` (settings
from ``WIREWATCH_*`` variables). Messages are taken in batches; the core runs in a
process pool (``processes``; 0 = one thread) so the event loop keeps heart-beating
under load; every produced message is acknowledged by Kafka before the batch's
offsets are acknowledged to Faust, which commits them (at least once; the article
id as key and document id makes a repeat harmless). Offsets are never acknowledged
for a batch that failed: the process exits and its replacement resumes from the
last commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import faust

from wirewatch import metrics, procpool
from wirewatch.settings import WorkerSettings
from wirewatch.topics import ENRICHED, RAW, RAW_DLQ
from wirewatch.watcher.publisher import dlq_headers
from wirewatch.worker import logic

log = logging.getLogger("wirewatch.worker")

ENRICHED_SCHEMA = ("wirewatch-schema", b"wirewatch.articles.enriched/v1")


def _executor(settings: WorkerSettings) -> Executor:
    data_dir = str(settings.core.data_dir) if settings.core.data_dir else None
    config = settings.core.core_config()
    if settings.processes == 0:
        logic.init(data_dir, config)
        return ThreadPoolExecutor(1, thread_name_prefix="enrich")
    return procpool.pool(settings.processes, logic.init, (data_dir, config))


class BatchProcessor:
    def __init__(self, settings: WorkerSettings, enriched: Any, dlq: Any):
        self.settings = settings
        self.enriched = enriched
        self.dlq = dlq
        self.executor = _executor(settings)
        self.lag: dict[Any, int] = {}
        self.last_ts: float = 0.0

    async def _run_core(
        self, values: list[bytes | None], hints: list[logic.Hints] | None = None
    ) -> list[logic.Result]:
        loop = asyncio.get_running_loop()
        n = max(1, self.settings.processes)
        size = -(-len(values) // n)
        hints = hints or [(None, None)] * len(values)
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    self.executor, logic.process, values[i : i + size], hints[i : i + size]
                )
                for i in range(0, len(values), size)
            )
        )
        return [r for part in parts for r in part]

    async def handle(self, events: list[Any]) -> None:
        started = time.perf_counter()
        messages = [e.message for e in events]
        for m in messages:
            metrics.MESSAGES_CONSUMED.labels("worker", m.topic).inc()
        results = await self._run_core(
            [m.value for m in messages], [logic.hints(m.headers) for m in messages]
        )
        per = (time.perf_counter() - started) / max(1, len(messages))
        errors = sum(1 for r in results if r[0] == "dlq" and r[1] == "error")
        if len(results) >= 20 and errors / len(results) > self.settings.max_dlq_ratio:
            raise RuntimeError(
                f"{errors} of {len(results)} messages failed inside the core: the code, not "
                "the input, looks broken; stopping instead of dead-lettering everything"
            )
        sends = []
        for m, (kind, a, b, caps) in zip(messages, results, strict=True):
            headers = list(m.headers or [])
            if kind == "ok":
                path = dict(headers).get("wirewatch-source-path", b"")
                out_headers = [("wirewatch-source-path", path), ENRICHED_SCHEMA]
                sends.append(await self.enriched.send(key=a.encode(), value=b, headers=out_headers))
                metrics.ARTICLES_PROCESSED.labels("enrich").inc()
                metrics.count_caps(caps)
                metrics.STAGE_SECONDS.labels("enrich").observe(per)
                log.info("enriched key=%s partition=%d offset=%d", a, m.partition, m.offset)
            else:
                reason = str(b)
                hdrs = dlq_headers("worker", a, reason, m.topic, m.partition, m.offset, headers)
                sends.append(await self.dlq.send(key=m.key, value=m.value, headers=hdrs))
                metrics.DLQ_MESSAGES.labels("worker", a).inc()
                metrics.count_rejected(a)
                log.warning(
                    "dead-lettered partition=%d offset=%d code=%s reason=%s",
                    m.partition,
                    m.offset,
                    a,
                    reason,
                )
        # every output acknowledged by Kafka before the input offsets may be committed
        await asyncio.gather(*sends)
        self._update_lag(messages)

    def _update_lag(self, messages: list[Any]) -> None:
        app_consumer = self.app_consumer
        now = time.time()
        for m in messages:
            self.last_ts = max(self.last_ts, m.timestamp)
        last: dict[Any, int] = {}
        for m in messages:
            last[m.tp] = max(last.get(m.tp, -1), m.offset)
        for tp, offset in last.items():
            try:
                hw = app_consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - metrics only
                continue
            if hw is not None:
                self.lag[tp] = max(0, hw - offset - 1)
        total = sum(self.lag.values())
        topic = messages[0].topic if messages else self.settings.topic(RAW)
        metrics.CONSUMER_LAG.labels("worker", topic).set(total)
        metrics.CONSUMER_LAG_SECONDS.labels("worker", topic).set(
            max(0.0, now - self.last_ts) if total else 0.0
        )

    app_consumer: Any = None
    started = False


def build_app(settings: WorkerSettings) -> faust.App:
    app = faust.App(
        settings.namespace + "wirewatch-worker",
        broker=[f"kafka://{s}" for s in settings.kafka.servers()],
        broker_client_id=settings.kafka.client_id,
        broker_credentials=settings.kafka.faust_credentials(),
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        broker_request_timeout=max(
            settings.kafka.request_timeout_ms / 1000, settings.session_timeout + 5
        ),
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        producer_max_request_size=16 * 1024 * 1024,
        topic_allow_declare=False,
        topic_disable_leader=True,
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        store="memory://",
        datadir=str(settings.data_dir / f"{settings.namespace}wirewatch-worker-data"),
        stream_wait_empty=True,
    )
    raw = app.topic(settings.topic(RAW), key_serializer="raw", value_serializer="raw")
    enriched = app.topic(settings.topic(ENRICHED), key_serializer="raw", value_serializer="raw")
    dlq = app.topic(settings.topic(RAW_DLQ), key_serializer="raw", value_serializer="raw")
    processor = BatchProcessor(settings, enriched, dlq)

    @app.agent(raw, name="wirewatch.enrich")
    async def enrich(stream: Any) -> None:
        processor.app_consumer = app.consumer
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within):
            task = asyncio.ensure_future(processor.handle(list(events)))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                # shutting down mid-batch: finish it, so its offsets are not acknowledged
                # (by take_events) before its outputs are in Kafka
                await task
                raise
            except BaseException:
                log.critical(
                    "batch failed; exiting without acknowledging it, so it is processed "
                    "again from the last commit",
                    exc_info=True,
                )
                logging.shutdown()
                os._exit(70)

    @app.task
    async def announce() -> None:
        processor.started = True
        log.info(
            "worker started: %s -> %s (dead letters: %s), %d enrichment process(es)",
            raw.get_topic_name(),
            enriched.get_topic_name(),
            dlq.get_topic_name(),
            settings.processes,
        )

    app.wirewatch_processor = processor  # type: ignore[attr-defined]
    return app


_module_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    # ``faust -A wirewatch.worker.app worker`` looks for ``app`` here; built on first
    # use (from WIREWATCH_* variables) so that importing this module stays cheap.
    global _module_app
    if name == "app":
        if _module_app is None:
            _module_app = build_app(WorkerSettings())
        return _module_app
    raise AttributeError(name)
