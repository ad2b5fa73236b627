"""Settings: one object per service, from flags and ``WIREWATCH_*`` environment variables.

Built once at start-up and passed down; the core never reads the environment.
Nested fields use ``__`` (``WIREWATCH_CORE__MAX_BYTES``).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wirewatch.core.config import (
    DEFAULT_MAX_BYTES,
    SECONDARY_BELOW,
    SECONDARY_GAP,
    SECONDARY_WARNING_BELOW,
    CoreConfig,
)


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and says what to do."""


def read_secret_file(path: Path, setting: str) -> SecretStr:
    """The secret in ``path`` (one trailing newline dropped); errors name the file, not the value."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"{setting}: cannot read the secret file {path} ({exc.strerror or exc}); "
            "check the path and that this user may read it"
        ) from None
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: the secret file {path} is not UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    if not text:
        raise SettingsError(f"{setting}: the secret file {path} is empty")
    return SecretStr(text)


class _Secrets(BaseModel):
    """Fields ``X: SecretStr | None`` may instead come from a file named by ``X_file``.

    Secrets are read from the environment or from files only (no command-line flag takes
    one), are ``SecretStr`` (``**********`` in every repr, log and error), and the
    ``*_file`` variant suits Docker/Kubernetes secrets mounted as files.
    """

    @model_validator(mode="after")
    def _load_secret_files(self) -> Any:
        for name in type(self).model_fields:
            if not name.endswith("_file"):
                continue
            target = name[: -len("_file")]
            path = getattr(self, name)
            if path is not None and target in type(self).model_fields:
                setattr(self, target, read_secret_file(path, name))
        return self


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


def _ssl_context(
    cafile: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    key_password: SecretStr | None,
    check_hostname: bool,
    setting: str,
) -> ssl.SSLContext:
    """A client TLS context: system CAs (or ``cafile``), optional client certificate."""
    try:
        ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        if certfile:
            ctx.load_cert_chain(
                str(certfile),
                str(keyfile) if keyfile else None,
                key_password.get_secret_value() if key_password else None,
            )
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"{setting}: cannot load the TLS files ({type(exc).__name__}: "
            f"{getattr(exc, 'strerror', None) or exc}); check the CA/certificate/key paths"
        ) from None
    ctx.check_hostname = check_hostname
    if not check_hostname:
        ctx.verify_mode = ssl.CERT_REQUIRED  # still verify the chain
    return ctx


class CoreSettings(BaseModel):
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, description="Largest accepted file.")
    duplicate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    max_keywords: int = Field(default=8, ge=0, le=50)
    max_events: int = Field(
        default=20, ge=1, le=200, description="Events kept per article (the most confident)."
    )
    max_evidence: int = Field(default=3, ge=1, le=20, description="Evidence sentences per event.")
    max_evidence_chars: int = Field(
        default=600, ge=40, le=20000, description="Characters per evidence sentence."
    )
    data_dir: Path | None = Field(
        default=None, description="Override the bundled rule/gazetteer data."
    )
    event_min_relevance: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Below this relevance only sentences that name technology carry events.",
    )
    event_direct_relevance: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Below this relevance an article has no events."
    )
    secondary_below: float = Field(
        default=SECONDARY_BELOW,
        ge=0.0,
        le=1.0,
        description="A second event type resting on one sentence with a lower confidence "
        "is dropped (0 keeps all).",
    )
    secondary_gap: float = Field(
        default=SECONDARY_GAP,
        ge=0.0,
        le=1.0,
        description="... when it is at least this far under the article's leading event.",
    )
    secondary_warning_below: float = Field(
        default=SECONDARY_WARNING_BELOW,
        ge=0.0,
        le=1.0,
        description="The same for a second warning, under this lower confidence (0 keeps all).",
    )
    date_stamps: bool = Field(
        default=True,
        description="A labelled date stamp anywhere in the text ('Published: ...') wins over "
        "a bare date line at the top of the page.",
    )
    learned_cues: bool = Field(
        default=True,
        description="Add the event types the learned cues (data/learned/) find and the rules "
        "missed.",
    )

    def core_config(self) -> CoreConfig:
        return CoreConfig(
            max_bytes=self.max_bytes,
            duplicate_threshold=self.duplicate_threshold,
            max_keywords=self.max_keywords,
            max_events=self.max_events,
            max_evidence=self.max_evidence,
            max_evidence_chars=self.max_evidence_chars,
            event_min_relevance=self.event_min_relevance,
            event_direct_relevance=self.event_direct_relevance,
            secondary_below=self.secondary_below,
            secondary_gap=self.secondary_gap,
            secondary_warning_below=self.secondary_warning_below,
            date_stamps=self.date_stamps,
            learned_cues=self.learned_cues,
        )


class WebhookSettings(_Secrets):
    """Where alert webhooks may go and how they are sent.

    ``WIREWATCH_WEBHOOKS__ALLOWED_HOSTS=hooks.example.org,127.0.0.1:8080`` (a host allows
    every port; ``host:port`` one port); ``WIREWATCH_WEBHOOKS__SECRET[_FILE]`` signs each
    body with HMAC-SHA256 (header ``X-Wirewatch-Signature-256: sha256=<hex>``).
    """

    allowed_hosts: CommaList = Field(default_factory=list)
    secret: SecretStr | None = None
    secret_file: Path | None = None
    timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds per attempt.")
    attempts: int = Field(default=4, ge=1, le=20)
    max_response_bytes: int = Field(default=64 * 1024, ge=0, le=16 * 1024 * 1024)
    max_redirects: int = Field(default=3, ge=0, le=10, description="Same-host redirects only.")
    channels_file: Path | None = Field(
        default=None,
        description="YAML file declaring the channels rules name ({channel: NAME}): Slack, "
        "Teams, e-mail, signed webhooks; secrets stay in the environment (docs/CHANNELS.md).",
    )


class CapsSettings(BaseModel):
    """Resource caps; each cap hit counts in ``wirewatch_caps_hit_total{cap=...}``."""

    max_alerts_per_rule_per_minute: int = Field(
        default=60,
        ge=1,
        description="Alerts of one rule beyond this rate are recorded but not notified.",
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
    rescan_interval: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between full walks of the inbox while change notifications "
        "(Linux inotify) tell each poll what changed; 0 walks it at every poll.",
    )
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
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    caps: CapsSettings = Field(default_factory=CapsSettings)

    def feeds_state_path(self) -> Path:
        return self.feeds_state or self.db.with_name(self.db.stem + "-feeds.db")


# -- distributed mode ----------------------------------------------------------------
class KafkaSettings(_Secrets):
    """How every service reaches Kafka (kafka-python and Faust alike).

    ``security_protocol`` PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL; SASL
    mechanisms PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. Secrets: ``WIREWATCH_KAFKA__PASSWORD``
    or ``WIREWATCH_KAFKA__PASSWORD_FILE`` (and ``SSL_KEY_PASSWORD[_FILE]``).
    """

    bootstrap: str = Field(default="127.0.0.1:9092", description="HOST:PORT[,HOST:PORT...]")
    client_id: str = "wirewatch"
    request_timeout_ms: int = Field(default=30000, ge=1000)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ssl_cafile: Path | None = Field(default=None, description="CA bundle (PEM) for the brokers.")
    ssl_certfile: Path | None = Field(default=None, description="Client certificate (mTLS).")
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_key_password_file: Path | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _check_security(self) -> KafkaSettings:
        if self.sasl and (not self.username or self.password is None):
            raise SettingsError(
                f"security_protocol {self.security_protocol} needs a user name and a "
                "password: set WIREWATCH_KAFKA__USERNAME and WIREWATCH_KAFKA__PASSWORD (or "
                "WIREWATCH_KAFKA__PASSWORD_FILE)"
            )
        return self

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return _ssl_context(
            self.ssl_cafile,
            self.ssl_certfile,
            self.ssl_keyfile,
            self.ssl_key_password,
            self.ssl_check_hostname,
            "WIREWATCH_KAFKA__SSL_*",
        )

    def kafka_python(self) -> dict:
        """Connection keyword arguments for kafka-python clients (producer, consumer, admin)."""
        conf: dict[str, Any] = {
            "bootstrap_servers": self.servers(),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.tls:
            conf["ssl_context"] = self.ssl_context()
        if self.sasl:
            conf["sasl_mechanism"] = self.sasl_mechanism
            conf["sasl_plain_username"] = self.username
            assert self.password is not None
            conf["sasl_plain_password"] = self.password.get_secret_value()
        return conf

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for a Faust app (None for PLAINTEXT)."""
        import faust

        if self.sasl:
            assert self.password is not None
            return faust.SASLCredentials(
                username=self.username,
                password=self.password.get_secret_value(),
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism,
            )
        if self.tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def describe(self) -> str:
        """For log lines: where and how, never the secret."""
        how: str = self.security_protocol
        if self.sasl:
            how += f" {self.sasl_mechanism} user={self.username}"
        return f"{self.bootstrap} ({how})"


class ElasticsearchSettings(_Secrets):
    """Elasticsearch: URL, basic auth or API key, TLS with a CA bundle.

    Secrets: ``WIREWATCH_ES__PASSWORD[_FILE]`` or ``WIREWATCH_ES__API_KEY[_FILE]``.
    """

    url: str = Field(default="http://127.0.0.1:9200", description="Elasticsearch base URL.")
    request_timeout: float = Field(default=30.0, gt=0)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    api_key: SecretStr | None = Field(
        default=None, description="An encoded API key (the `encoded` value Elasticsearch returns)."
    )
    api_key_file: Path | None = None
    ca_certs: Path | None = Field(default=None, description="CA bundle (PEM) for https URLs.")
    verify_certs: bool = True

    @model_validator(mode="after")
    def _check_auth(self) -> ElasticsearchSettings:
        if self.api_key is not None and self.username:
            raise SettingsError(
                "both an API key and a user name are set; use one: WIREWATCH_ES__API_KEY "
                "or WIREWATCH_ES__USERNAME + WIREWATCH_ES__PASSWORD"
            )
        if self.username and self.password is None:
            raise SettingsError(
                "WIREWATCH_ES__USERNAME is set without a password: set "
                "WIREWATCH_ES__PASSWORD or WIREWATCH_ES__PASSWORD_FILE"
            )
        if "@" in self.url.split("//", 1)[-1].split("/", 1)[0]:
            raise SettingsError(
                "put credentials in WIREWATCH_ES__USERNAME/PASSWORD or API_KEY, not in the "
                "URL (URLs end up in logs)"
            )
        if self.ca_certs is not None and not Path(self.ca_certs).is_file():
            raise SettingsError(f"the CA bundle {self.ca_certs} is not a readable file")
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``elasticsearch.Elasticsearch`` besides the URL."""
        opts: dict[str, Any] = {"request_timeout": self.request_timeout}
        if self.api_key is not None:
            opts["api_key"] = self.api_key.get_secret_value()
        elif self.username and self.password is not None:
            opts["basic_auth"] = (self.username, self.password.get_secret_value())
        if self.url.startswith("https"):
            opts["verify_certs"] = self.verify_certs
            if self.ca_certs is not None:
                opts["ca_certs"] = str(self.ca_certs)
        return opts

    def describe(self) -> str:
        how = "api key" if self.api_key else (f"user={self.username}" if self.username else "")
        return f"{self.url}" + (f" ({how})" if how else "")


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
    rescan_interval: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between full walks of the inbox while change notifications "
        "(Linux inotify) tell each poll what changed; 0 walks it at every poll.",
    )
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
    session_timeout: float = Field(
        default=10.0,
        ge=6.0,
        description="Seconds a silent member keeps its partitions (heartbeats run beside the "
        "work, so a long batch does not count). Lower: a killed worker's partitions move "
        "sooner; higher: fewer rebalances on a flaky network. See RELIABILITY.md.",
    )
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
    session_timeout: float = Field(
        default=10.0,
        ge=6.0,
        description="Seconds a silent member keeps its partitions (see the worker's).",
    )
    duplicate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    max_retries: int = Field(
        default=0,
        ge=0,
        description="Attempts per batch for 429/5xx/connection errors; 0 = keep trying "
        "(nothing is committed until Elasticsearch acknowledged everything).",
    )
    backoff_initial: float = Field(default=0.2, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    silences_refresh: float = Field(
        default=5.0,
        ge=0.0,
        description="Seconds the indexer keeps the silences it read from Elasticsearch "
        "before reading them again: a mute takes effect within this time.",
    )
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    caps: CapsSettings = Field(default_factory=CapsSettings)


def build(cls: type[Any], **overrides: Any) -> Any:
    """``cls(**overrides)`` (plus the environment), with errors that never echo a value.

    pydantic's own messages quote the input, which may hold a password; here each error
    is the setting's name (as its environment variable) and what is wrong with it.
    """
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False, include_context=False):
            loc = "__".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  WIREWATCH_{loc}: {msg}" if loc else f"  {msg}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None


def resources_cache_dir() -> Path | None:
    """Where the compiled data files are cached: ``WIREWATCH_CORE__CACHE_DIR`` (empty
    disables the cache), else ``$XDG_CACHE_HOME/wirewatch`` (``~/.cache/wirewatch``)."""
    value = os.environ.get("WIREWATCH_CORE__CACHE_DIR")
    if value is not None:
        return Path(value).expanduser() if value.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wirewatch"
