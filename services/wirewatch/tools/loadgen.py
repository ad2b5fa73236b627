"""Distinct articles for load measurements, made from real articles.

Copies of a few articles with a changed last line are distinct files but near-duplicates
of each other: every copy then finds all the earlier ones in the near-duplicate lookup
and joins their story, a load no news wire sends. A *blend* instead joins the first
third of one article, the middle third of a second and the last third of a third, all
of one language: it shares at most a third of its text with any other blend (a MinHash
similarity near 0.2, far below the near-duplicate threshold of 0.5) while it reads like
the news it came from: the same languages, lengths, entities and event wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

# a sentence ends at . ! or ? before a space and a capital letter, a digit or a quote
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'„“«(]?[A-ZÀ-ÖØ-Þ0-9])")
MIN_PARAGRAPHS = 6


def units(text: str) -> tuple[str, list[str]]:
    """(title, the pieces of the rest): its paragraphs when it has a few, else its
    sentences (many news files hold the whole text on one line)."""
    text = text.replace("\r\n", "\n").strip()
    head, _, rest = text.partition("\n")
    blocks = [b.strip() for b in rest.split("\n\n") if b.strip()]
    if len(blocks) >= MIN_PARAGRAPHS:
        return head.strip(), blocks
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    if not rest.strip() and len(sentences) > 1:  # one line: its first sentence is the title
        return sentences[0], sentences[1:]
    return head.strip(), [s.strip() for s in _SENTENCE_END.split(rest) if s.strip()]


def blend(first: str, second: str, third: str, ref: str) -> str:
    """``first``'s title and first third, ``second``'s middle third, ``third``'s last
    third, then a line ``ref`` that makes the text unique."""
    title, a = units(first)
    _, b = units(second)
    _, c = units(third)
    body = a[: max(1, len(a) // 3)] + b[len(b) // 3 : 2 * len(b) // 3] + c[2 * len(c) // 3 :]
    return "\n\n".join([title, " ".join(body), ref]) + "\n"


def language_of(name: str) -> str:
    """The language a real-news file name starts with (``de_gnad_etat_r0033.txt``)."""
    return name.split("_", 1)[0]


def blends(
    sources: Sequence[tuple[str, str]], count: int, tag: str = "b"
) -> Iterator[tuple[str, str]]:
    """``count`` distinct (file name, text) blends of ``sources`` (name, text).

    Blend ``k`` joins source ``i = k mod n`` with the sources ``s`` and ``2s`` places
    after it among those of its language (``s = 1 + k // n``; file names start with
    the language), so no two blends share more than one third."""
    ordered = sorted(sources)
    if not ordered:
        return
    groups: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(ordered):
        groups.setdefault(language_of(name), []).append(i)
    place = {i: (lang, p) for lang, members in groups.items() for p, i in enumerate(members)}
    n = len(ordered)
    for k in range(count):
        i = k % n
        lang, p = place[i]
        members = groups[lang]
        step = 1 + k // n
        j = members[(p + step) % len(members)]
        m = members[(p + 2 * step) % len(members)]
        name, text = ordered[i]
        yield f"{tag}_{k:06d}_{name}", blend(text, ordered[j][1], ordered[m][1], f"Ref {tag}-{k}.")


def real_news(
    folder: Path, subfolders: Sequence[str] = ("offtopic", "candidates")
) -> list[tuple[str, str]]:
    """(file name, text) of the real-news articles under ``folder``'s ``subfolders``."""
    return [
        (p.name, p.read_text(encoding="utf-8", errors="replace"))
        for sub in subfolders
        for p in sorted((folder / sub).glob("*.txt"))
    ]
