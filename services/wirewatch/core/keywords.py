"""Keywords: a few salient content words of the article.

Contract: ``keywords(tokens, stopwords, limit)`` never raises; it returns at most
``limit`` distinct lower-case terms, the most frequent first (ties: earliest
first). Stop words, numbers and words shorter than four letters are not keywords;
"5g"-style alphanumerics are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def keywords(tokens: Iterable[str], stopwords: frozenset[str], limit: int = 8) -> list[str]:
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for pos, tok in enumerate(tokens):
        if tok.isdigit() or tok in stopwords:
            continue
        if len(tok) < 4 and not (any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)):
            continue
        if tok.startswith("_") or len(tok) > 40:
            continue
        counts[tok] += 1
        first.setdefault(tok, pos)
    ranked = sorted(counts, key=lambda t: (-counts[t], first[t]))
    return ranked[:limit]
