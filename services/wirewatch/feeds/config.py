"""Feed subscriptions: which feeds to poll, how often, in which language.

Contract: ``load_feeds(text, source)`` returns validated feeds or raises
``FeedFileError`` whose message names the file, the feed and the field::

    feeds:
      - url: https://example.org/tech/rss.xml
        name: example-tech        # optional; metric label and Kafka header (default: host)
        language: nl              # optional hint for language detection
        interval: 15m             # optional: seconds, or 30s / 15m / 2h (default 15m)
        enabled: true             # optional (default true)
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wirewatch.core import yamlio

DEFAULT_INTERVAL = 900.0
MIN_INTERVAL = 1.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h)?")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class FeedFileError(ValueError):
    """A feeds file is invalid; the message says where and what to change."""


class Feed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    name: str = ""
    language: str | None = Field(default=None, description="ISO 639-1 code, e.g. nl")
    interval: float = Field(default=DEFAULT_INTERVAL, description="seconds between polls")
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parsed = urlparse(v)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v and not _NAME.fullmatch(v):
            raise ValueError(
                f"{v!r}: use letters, digits, '.', '_' and '-' (at most 63), starting with a "
                "letter or digit"
            )
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is None:
            return v
        code = str(v).lower()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"{v!r} is not an ISO 639-1 language code (e.g. nl, sv, en)")
        return code

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, v: object) -> float:
        if isinstance(v, bool):
            raise ValueError("give seconds, or a duration such as 30s, 15m, 2h")
        if isinstance(v, int | float):
            seconds = float(v)
        else:
            m = _DURATION.fullmatch(str(v).strip())
            if not m:
                raise ValueError(f"{v!r}: give seconds, or a duration such as 30s, 15m, 2h")
            seconds = float(m.group(1)) * _UNIT[m.group(2)]
        if seconds < MIN_INTERVAL:
            raise ValueError(f"{v!r}: poll at most once a second")
        return seconds

    def label(self) -> str:
        """The feed's name, or its host when it has none."""
        return self.name or (urlparse(self.url).hostname or "feed")


class FeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[Feed]


def load_feeds(text: str, source: str) -> list[Feed]:
    parsed = yamlio.load_list_file(
        text,
        source,
        FeedFile,
        "feeds",
        "feed",
        ("name", "url"),
        FeedFileError,
        strip_value_error=True,
    )
    feeds = parsed.feeds
    for kind, values in (
        ("names", [f.label() for f in feeds]),
        ("URLs", [f.url for f in feeds]),
    ):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            hint = " (name the feeds that share a host)" if kind == "names" else ""
            raise FeedFileError(
                f"{source}: feed {kind} must be unique; repeated: {', '.join(dupes)}{hint}"
            )
    return feeds


def read_feeds(path: Path) -> list[Feed]:
    """``load_feeds`` on a file; an unreadable file is a ``FeedFileError`` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FeedFileError(f"{path}: cannot read the feeds file ({exc.strerror or exc})") from exc
    return load_feeds(text, str(path))
