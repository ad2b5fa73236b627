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
