"""Topic declarations (``schemas/topics.yaml``) and creating them with kafka-python."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

RAW = "wirewatch.articles.raw"
ENRICHED = "wirewatch.articles.enriched"
RAW_DLQ = "wirewatch.articles.raw.dlq"
ENRICHED_DLQ = "wirewatch.articles.enriched.dlq"
ALERTS = "wirewatch.alerts"

log = logging.getLogger("wirewatch.topics")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


def declarations_path() -> Path:
    """``$WIREWATCH_TOPICS_FILE``, else ``schemas/topics.yaml`` of the checkout or the cwd."""
    env = os.environ.get("WIREWATCH_TOPICS_FILE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "schemas" / "topics.yaml"
    return repo if repo.exists() else Path("schemas") / "topics.yaml"


def load(path: Path | None = None) -> list[TopicSpec]:
    path = path or declarations_path()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = []
    for i, item in enumerate(data.get("topics") or []):
        try:
            specs.append(
                TopicSpec(
                    name=str(item["name"]),
                    partitions=int(item["partitions"]),
                    replication_factor=int(item.get("replication_factor", 1)),
                    config={str(k): str(v) for k, v in (item.get("config") or {}).items()},
                    description=str(item.get("description", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: topic #{i + 1}: {exc!r}; needs name and partitions") from exc
    return specs


def create(
    admin_config: dict,
    namespace: str = "",
    partitions: int | None = None,
    replication_factor: int | None = None,
    path: Path | None = None,
) -> list[tuple[str, str]]:
    """Create every declared topic (prefixed with ``namespace``); existing ones are left alone.

    Returns (topic, "created" | "exists") pairs.
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    specs = load(path)
    admin = KafkaAdminClient(**admin_config)
    try:
        existing = set(admin.list_topics())
        results = []
        for spec in specs:
            name = namespace + spec.name
            if name in existing:
                results.append((name, "exists"))
                continue
            topic = NewTopic(
                name=name,
                num_partitions=partitions or spec.partitions,
                replication_factor=replication_factor or spec.replication_factor,
                topic_configs=spec.config,
            )
            try:
                admin.create_topics([topic])
                results.append((name, "created"))
            except TopicAlreadyExistsError:
                results.append((name, "exists"))
        return results
    finally:
        admin.close()
