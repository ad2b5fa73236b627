"""Tokens and sentences: the small text primitives every analyser shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

TOKEN_RE = re.compile(r"\w+")

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before
# whitespace and an opening quote, a capital letter or a digit.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+(?=[\"'“‘„«(\[]?[A-ZÀ-ÖØ-ÞĀ-Ž0-9])")
# Words after which a period does not end a sentence.
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "sr",
        "jr",
        "no",
        "nr",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "febr",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "okt",
        "oct",
        "nov",
        "dec",
        "dhr",
        "mevr",
        "drs",
        "ir",
        "ing",
        "mw",
        "bijv",
        "bv",
        "ca",
        "resp",
        "blz",
        "evt",
        "mlrd",
        "mln",
        "mrd",
        "zgn",
        "bl",
        "ev",
        "osv",
        "dvs",
        "mfl",
        "t",
        "ex",
        "resp",
        "d",
        "v",
        "s",
        "kl",
        "ca",
        "z",
        "b",
        "bzw",
        "ca",
        "ggf",
        "usw",
        "vgl",
        "sog",
        "dt",
        "inkl",
        "mio",
        "mrd",
        "m",
        "mme",
        "mlle",
        "env",
        "cf",
        "etc",
        "f",
        "eks",
        "jf",
        "mv",
        "ca",
    ]
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    lower: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split into word tokens (maximal runs of \\w); hyphens, apostrophes, colons split."""
    return [
        Token(m.group(), m.group().lower(), m.start(), m.end()) for m in TOKEN_RE.finditer(text)
    ]


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences; never returns empty strings."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        end = m.start()
        before = paragraph[start:end]
        last_word = re.search(r"(\w+)\W*$", before)
        if last_word:
            word = last_word.group(1)
            # "14. Juli", "J. Doe", "bl.a." — not ends of sentences.
            if paragraph[end] == "." and (
                (word.isdigit() and len(word) <= 2)
                or (len(word) == 1 and word.isalpha())
                or word.lower() in _ABBREV
            ):
                continue
        sentence = paragraph[start : m.end()].strip()
        if sentence:
            out.append(sentence)
        start = m.end()
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out
