"""Settings: one object per service, from flags and ``WIREWATCH_*`` environment variables.

Built once at start-up and passed down; the core never reads the environment.
Nested fields use ``__`` (``WIREWATCH_CORE__MAX_BYTES``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from wirewatch.core.logic import DEFAULT_MAX_BYTES, CoreConfig


class CoreSettings(BaseModel):
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, description="Largest accepted file.")
    duplicate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    max_keywords: int = Field(default=8, ge=0, le=50)
    data_dir: Path | None = Field(
        default=None, description="Override the bundled rule/gazetteer data."
    )

    def core_config(self) -> CoreConfig:
        return CoreConfig(
            max_bytes=self.max_bytes,
            duplicate_threshold=self.duplicate_threshold,
            max_keywords=self.max_keywords,
        )


class EmbeddedSettings(BaseSettings):
    """``wirewatch run``: the whole pipeline in one process."""

    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_", env_nested_delimiter="__", extra="ignore"
    )

    inbox: list[Path] = Field(default_factory=list)
    db: Path = Path("wirewatch.db")
    rules: Path | None = None
    once: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="0 disables the endpoint.")
    poll_interval: float = Field(default=0.5, gt=0)
    settle_seconds: float = Field(default=1.0, ge=0)
    workers: int = Field(default=1, ge=1, le=64, description="Processes for enrichment.")
    batch_size: int = Field(default=64, ge=1, le=10000)
    core: CoreSettings = Field(default_factory=CoreSettings)
    feeds: Path | None = Field(default=None, description="Feed subscriptions (YAML) to poll.")
    feeds_state: Path | None = Field(
        default=None,
        description="SQLite file of the feeds' validators and seen items "
        "(default: <db name>-feeds.db next to the database).",
    )
    feed_timeout: float = Field(default=20.0, gt=0, description="Seconds per feed request.")
    feed_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0, description="Largest feed.")

    def feeds_state_path(self) -> Path:
        return self.feeds_state or self.db.with_name(self.db.stem + "-feeds.db")


# -- distributed mode ----------------------------------------------------------------
class KafkaSettings(BaseModel):
    """How every service reaches Kafka (kafka-python and Faust alike)."""

    bootstrap: str = Field(default="127.0.0.1:9092", description="HOST:PORT[,HOST:PORT...]")
    client_id: str = "wirewatch"
    request_timeout_ms: int = Field(default=30000, ge=1000)

    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    def kafka_python(self) -> dict:
        """Connection keyword arguments for kafka-python clients."""
        return {"bootstrap_servers": self.servers(), "client_id": self.client_id}


class ElasticsearchSettings(BaseModel):
    url: str = Field(default="http://127.0.0.1:9200", description="Elasticsearch base URL.")
    request_timeout: float = Field(default=30.0, gt=0)


class ServiceSettings(BaseSettings):
    """What every distributed service shares: Kafka, namespace, metrics endpoint."""

    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    namespace: str = Field(
        default="",
        description="Prefix for topic names, consumer groups and index aliases "
        "(several pipelines on one cluster, or one per test).",
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="0 disables the endpoint.")

    def topic(self, name: str) -> str:
        return self.namespace + name


class WatcherSettings(ServiceSettings):
    inbox: list[Path] = Field(default_factory=list)
    state: Path = Field(
        default=Path("wirewatch-watcher.db"),
        description="SQLite file remembering what was published (catch-up after restarts).",
    )
    poll_interval: float = Field(default=0.5, gt=0)
    settle_seconds: float = Field(default=1.0, ge=0)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    linger_ms: int = Field(default=5, ge=0)


class FeedsSettings(ServiceSettings):
    """``wirewatch feeds``: feed items -> the raw topic."""

    metrics_port: int = Field(default=9467, ge=0, le=65535)
    config: Path | None = Field(default=None, description="Feed subscriptions (YAML).")
    state: Path = Field(
        default=Path("wirewatch-feeds.db"),
        description="SQLite file of the feeds' validators and the items Kafka acknowledged.",
    )
    timeout: float = Field(default=20.0, gt=0, description="Seconds per feed request.")
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, description="Largest article.")
    linger_ms: int = Field(default=5, ge=0)


class WorkerSettings(ServiceSettings):
    metrics_port: int = Field(default=9465, ge=0, le=65535)
    core: CoreSettings = Field(default_factory=CoreSettings)
    processes: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Processes for enrichment; 0 runs it in a thread (still off the event loop).",
    )
    batch_size: int = Field(default=64, ge=1, le=5000)
    batch_within: float = Field(default=0.2, gt=0, description="Seconds to wait to fill a batch.")
    session_timeout: float = Field(default=30.0, ge=6.0)
    data_dir: Path = Field(default=Path("."), description="Faust's local state directory.")
    max_dlq_ratio: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Stop (instead of dead-lettering everything) when more than this share of "
        "a batch of at least 20 messages fails with internal errors.",
    )


class IndexerSettings(ServiceSettings):
    metrics_port: int = Field(default=9466, ge=0, le=65535)
    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    rules: Path | None = None
    batch_size: int = Field(default=200, ge=1, le=5000)
    batch_wait_ms: int = Field(default=200, ge=0)
    session_timeout: float = Field(default=30.0, ge=6.0)
    duplicate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    max_retries: int = Field(
        default=0,
        ge=0,
        description="Attempts per batch for 429/5xx/connection errors; 0 = keep trying "
        "(nothing is committed until Elasticsearch acknowledged everything).",
    )
    backoff_initial: float = Field(default=0.2, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    webhook_timeout: float = Field(default=5.0, gt=0)
