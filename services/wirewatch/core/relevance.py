"""How much an article is about technology policy: a score in [0, 1] with its reasons.

Contract: ``score(...)`` is a pure function of counts the classifier already has;
it never raises. The score grows with the share of sentences that name a
technology subject, vendor or operator (the same anchors that events need), with a
title about technology, with named vendors and operators, and with policy events.
Ordinary news that mentions a phone or a website once stays near zero.
"""

from __future__ import annotations

from dataclasses import dataclass

# Weights of the four parts; they sum to 1.
W_DENSITY, W_TITLE, W_NAMED, W_EVENTS = 0.5, 0.2, 0.15, 0.15
# A share of anchored sentences at or above this counts in full.
FULL_DENSITY = 0.35


@dataclass(frozen=True)
class Relevance:
    score: float
    reasons: list[str]


def score(
    anchored_sentences: int,
    sentences: int,
    title_anchored: bool,
    named: list[str],
    event_types: list[str],
) -> Relevance:
    """``anchored_sentences`` of ``sentences`` (title included) tie to technology;
    ``named`` are the vendors and operators of the article; ``event_types`` the types of
    the events found before the relevance gate."""
    density = anchored_sentences / sentences if sentences else 0.0
    d = min(1.0, density / FULL_DENSITY)
    value = W_DENSITY * d
    reasons = [f"{anchored_sentences} of {sentences} sentences about technology"]
    if title_anchored:
        value += W_TITLE
        reasons.append("the title is about technology")
    if named:
        value += W_NAMED * min(1.0, len(named) / 2)
        reasons.append("names " + ", ".join(named[:5]))
    types = sorted(set(event_types))
    if types:
        value += W_EVENTS * min(1.0, len(types) / 2)
        reasons.append("policy events: " + ", ".join(types))
    return Relevance(round(min(1.0, value), 3), reasons)
