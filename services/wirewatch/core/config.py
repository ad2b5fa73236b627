"""The core's tunables and limits, light to import: the settings need them, and a
command that only reads the store should not load the core to get them."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_EVIDENCE = 3
MAX_EVIDENCE_CHARS = 600
# On real and blind-set news most second event types that rest on one weak sentence
# were the background of the story (the law behind a warning, the court behind a ban).
SECONDARY_BELOW = 0.85
SECONDARY_GAP = 0.1


@dataclass(frozen=True)
class CoreConfig:
    """Tunables of the core (built from the runner's settings)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    duplicate_threshold: float = 0.5
    max_keywords: int = 8
    max_events: int = 20
    max_evidence: int = MAX_EVIDENCE
    max_evidence_chars: int = MAX_EVIDENCE_CHARS
    # Events of an article whose relevance (before events) is below this are dropped:
    # ordinary news that mentions technology in passing carries no policy event.
    event_min_relevance: float = 0.15
    # Between this and ``event_min_relevance`` only sentences that themselves name
    # technology carry events; below it none do.
    event_direct_relevance: float = 0.05
    # A second event type resting on one sentence, with a confidence under
    # ``secondary_below`` and at least ``secondary_gap`` under the article's leading
    # event, is dropped (0 keeps every type).
    secondary_below: float = SECONDARY_BELOW
    secondary_gap: float = SECONDARY_GAP
