"""The article text cut into paragraphs and segments, with each event's evidence marked.

Pure functions over the article: the templates escape every segment, so no article text
ever becomes markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wirewatch.core.models import EnrichedArticle


@dataclass(frozen=True)
class Segment:
    text: str
    anchor: str | None = None  # "ev-N": the evidence of events N, ... (see Evidence)


@dataclass
class Evidence:
    anchor: str
    sentence: str
    events: list[int] = field(default_factory=list)  # 1-based event numbers
    found: bool = False  # marked in the body
    in_title: bool = False  # the sentence is the title


def _pattern(sentence: str) -> re.Pattern[str] | None:
    words = sentence.split()
    if not words:
        return None
    # The stored evidence may have its whitespace normalised: match any run of it.
    return re.compile(r"\s+".join(re.escape(w) for w in words))


def evidence_list(article: EnrichedArticle) -> list[Evidence]:
    """One entry per distinct evidence sentence, in event order, with the events it backs."""
    by_sentence: dict[str, Evidence] = {}
    title = " ".join((article.title or "").split())
    for number, event in enumerate(article.events, start=1):
        for sentence in event.evidence:
            key = " ".join(sentence.split())
            if not key:
                continue
            ev = by_sentence.get(key)
            if ev is None:
                ev = by_sentence[key] = Evidence(
                    f"ev-{len(by_sentence) + 1}", sentence, in_title=bool(title) and key == title
                )
            if number not in ev.events:
                ev.events.append(number)
    return list(by_sentence.values())


def paragraphs(body: str, evidence: list[Evidence]) -> list[list[Segment]]:
    """The body's paragraphs (split at blank lines), each a list of segments; the first
    occurrence of each evidence sentence is a segment with its anchor. Sentences not found
    in the body keep ``found=False`` (the page lists them with their event)."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    out: list[list[Segment]] = []
    for para in paras:
        spans: list[tuple[int, int, str]] = []
        for ev in evidence:
            if ev.found or ev.in_title:
                continue
            pattern = _pattern(ev.sentence)
            m = pattern.search(para) if pattern else None
            if m is None:
                continue
            if any(m.start() < end and start < m.end() for start, end, _ in spans):
                continue  # overlaps a sentence already marked here
            spans.append((m.start(), m.end(), ev.anchor))
            ev.found = True
        spans.sort()
        segments: list[Segment] = []
        pos = 0
        for start, end, anchor in spans:
            if start > pos:
                segments.append(Segment(para[pos:start]))
            segments.append(Segment(para[start:end], anchor))
            pos = end
        if pos < len(para):
            segments.append(Segment(para[pos:]))
        out.append(segments)
    return out
