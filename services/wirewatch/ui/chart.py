"""The timeline's geometry: stacked bars per date bucket, drawn as SVG by a template."""

from __future__ import annotations

from dataclasses import dataclass

from wirewatch.core.models import EVENT_TYPES
from wirewatch.ui.queries import Timeline

WIDTH = 960
HEIGHT = 260
LEFT = 40  # room for the count axis
RIGHT = 30  # room for the last date label
BOTTOM = 40  # room for the date labels
TOP = 10


@dataclass(frozen=True)
class Part:
    type: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    bucket: str
    x: float
    width: float
    total: int
    parts: list[Part]
    label: str | None  # the date shown under the bar (every n-th bar only)
    minor: bool = False  # every other label: hidden on narrow screens

    @property
    def summary(self) -> str:
        if not self.total:
            return f"{self.bucket}: no events"
        kinds = ", ".join(f"{p.type} {p.count}" for p in self.parts)
        return f"{self.bucket}: {self.total} event{'s' if self.total != 1 else ''} ({kinds})"


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    types: list[str]  # the event types that occur, in taxonomy order (the legend)


def _step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if peak / step <= 5:
            return step
    return max(1, peak // 5)


def layout(timeline: Timeline) -> Chart:
    """Bars for every bucket (empty ones too: the time axis stays honest), stacked in
    taxonomy order, scaled to the highest bucket."""
    buckets = timeline.buckets
    baseline = HEIGHT - BOTTOM
    plot_h = baseline - TOP
    peak = max((sum(c.values()) for c in timeline.counts.values()), default=0)
    scale = plot_h / peak if peak else 0.0
    slot = (WIDTH - LEFT - RIGHT) / max(len(buckets), 1)
    gap = min(2.0, slot * 0.2)
    every = max(1, round(len(buckets) / 12))
    bars = []
    for i, bucket in enumerate(buckets):
        counts = timeline.counts.get(bucket, {})
        y: float = baseline
        parts = []
        for type_ in EVENT_TYPES:
            n = counts.get(type_, 0)
            if n:
                h = n * scale
                y -= h
                parts.append(Part(type_, n, round(y, 2), round(h, 2)))
        bars.append(
            Bar(
                bucket,
                round(LEFT + i * slot + gap / 2, 2),
                round(max(slot - gap, 1.0), 2),
                sum(counts.values()),
                parts,
                bucket if i % every == 0 else None,
                (i // every) % 2 == 1,
            )
        )
    step = _step(peak) if peak else 1
    ticks = [Tick(v, round(baseline - v * scale, 2)) for v in range(0, peak + 1, step)]
    present = {t for c in timeline.counts.values() for t in c}
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        baseline,
        bars,
        ticks,
        [t for t in EVENT_TYPES if t in present],
    )
