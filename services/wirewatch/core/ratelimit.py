"""How many notifications one alert rule may send: a sliding window per rule (pure).

A rule that suddenly matches everything (a new trigger word, a flood of wire copies)
must not page people hundreds of times. Alerts over the limit are still recorded
(store, index, topic); only their notifications (log line, webhooks) are held back,
and the caller counts them in ``wirewatch_caps_hit_total{cap="alert_rate"}``.
The clock is passed in; memory is at most ``limit`` timestamps per rule.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RuleRateLimit:
    limit: int
    window: float = 60.0
    _sent: dict[str, deque[float]] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def allow(self, rule: str, now: float) -> bool:
        """True if ``rule`` may notify at ``now`` (and count it); False if over the limit."""
        sent = self._sent.setdefault(rule, deque())
        while sent and now - sent[0] >= self.window:
            sent.popleft()
        if len(sent) < self.limit:
            sent.append(now)
            return True
        self._held[rule] = self._held.get(rule, 0) + 1
        return False

    def take_held(self) -> dict[str, int]:
        """Notifications held back per rule since the last call (for one summary line each)."""
        held, self._held = self._held, {}
        return held
