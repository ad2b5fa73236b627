"""Keywords: a few salient content words of the article.

Contract: ``keywords(tokens, stopwords, limit)`` never raises; it returns at most
``limit`` distinct lower-case terms, the most frequent first (ties: earliest
first). Stop words, numbers and words shorter than four letters are not keywords;
"5g"-style alphanumerics are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def _short_keyword(tok: str) -> bool:
    """A word of fewer than four characters is a keyword only as a "5g"-style mix."""
    return any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)


def _eligible(tok: str, stopwords: frozenset[str]) -> bool:
    if tok.isdigit() or tok in stopwords:
        return False
    if len(tok) < 4 and not (any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)):
        return False
    return not (tok.startswith("_") or len(tok) > 40)


def keywords(tokens: Iterable[str], stopwords: frozenset[str], limit: int = 8) -> list[str]:
    # A Counter keeps its words in the order they first occur, and ``most_common`` sorts
    # stably: the most frequent first, ties in reading order. Whether a word can be a
    # keyword depends on the word alone, so only the words in that order up to the
    # ``limit``-th keyword need a look.
    counts = Counter(tokens)
    ranked = counts.most_common()
    if limit <= 0:
        return [tok for tok, _ in ranked if _eligible(tok, stopwords)][:limit]
    out: list[str] = []
    for tok, _ in ranked:
        if _eligible(tok, stopwords):
            out.append(tok)
            if len(out) == limit:
                break
    return out
