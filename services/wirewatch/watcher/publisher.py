"""Publishing to Kafka with kafka-python, and the dead-letter headers every stage shares."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger("wirewatch.publisher")

Headers = list[tuple[str, bytes]]


def dlq_headers(
    stage: str,
    code: str,
    reason: str,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    original: Sequence[tuple[str, bytes]] = (),
) -> Headers:
    """The original headers plus why and where from (``wirewatch-dlq-*``)."""
    headers = [(k, v) for k, v in original if not k.startswith("wirewatch-dlq-")]
    headers += [
        ("wirewatch-dlq-stage", stage.encode()),
        ("wirewatch-dlq-code", code.encode()),
        ("wirewatch-dlq-reason", reason.encode("utf-8", "replace")),
    ]
    if topic is not None:
        headers += [
            ("wirewatch-dlq-topic", topic.encode()),
            ("wirewatch-dlq-partition", str(partition).encode()),
            ("wirewatch-dlq-offset", str(offset).encode()),
        ]
    return headers


class Publisher(Protocol):
    """Sends keyed messages; ``flush`` says which of those sent since the last flush failed.

    Implementations: Kafka (below) and, in tests, a list.
    """

    def send(self, topic: str, key: bytes, value: bytes, headers: Headers) -> int: ...

    def flush(self, timeout: float) -> dict[int, Exception]: ...

    def close(self) -> None: ...


class KafkaPublisher:
    """kafka-python producer: acks from every in-sync replica, retries, bounded in flight."""

    def __init__(self, connection: dict, linger_ms: int = 5, request_timeout_ms: int = 30000):
        from kafka import KafkaProducer

        self._producer = KafkaProducer(
            **connection,
            acks="all",
            retries=10,
            retry_backoff_ms=200,
            linger_ms=linger_ms,
            # one request in flight per connection keeps retries from reordering a partition
            max_in_flight_requests_per_connection=1,
            request_timeout_ms=request_timeout_ms,
            max_request_size=16 * 1024 * 1024,
        )
        self._pending: dict[int, object] = {}
        self._next = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: Headers) -> int:
        handle = self._next
        self._next += 1
        self._pending[handle] = self._producer.send(topic, key=key, value=value, headers=headers)
        return handle

    def flush(self, timeout: float = 60.0) -> dict[int, Exception]:
        from kafka.errors import KafkaError

        failed: dict[int, Exception] = {}
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            log.warning("flush did not complete: %s", exc)
        for handle, future in self._pending.items():
            try:
                future.get(timeout=0.01)  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - reported per message to the caller
                failed[handle] = exc
        self._pending.clear()
        return failed

    def close(self) -> None:
        self._producer.close(timeout=10)
