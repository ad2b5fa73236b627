"""Tokens and sentences: the small text primitives every analyser shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

TOKEN_RE = re.compile(r"\w+")

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before
# whitespace and an opening quote, a capital letter or a digit. A match starts only
# at the first mark of a run and never gives characters back (possessive), so a long
# run of dots or spaces is scanned once, not once per position.
_BOUNDARY = re.compile(
    r"(?<![.!?…])[.!?…]++[\"'”’»)\]]*+\s++(?=[\"'“‘„«(\[]?[A-ZÀ-ÖØ-ÞĀ-Ž0-9])"
    # a missing space after the stop, as pasted wire text often has ("dernier.Tout"):
    # only between a lower-case word and a capitalised one, so "U.S." and "pic.twitter.com"
    # stay whole
    r"|(?<=[a-zß-öø-ÿ]{3})[.!?](?=[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ])"
)
# The last word of a stretch: tried only where a word starts and never backtracking
# into it, so a long word is scanned once (not once per character).
_LAST_WORD = re.compile(r"(?<!\w)(\w++)\W*+$")
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
    out: list[Token] = []
    append = out.append
    for m in TOKEN_RE.finditer(text):
        word = m.group()
        start, end = m.span()
        append(Token(word, word.lower(), start, end))
    return out


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences; never returns empty strings."""
    out: list[str] = []
    start = 0
    previous = 0  # end of the previous boundary, kept or skipped
    for m in _BOUNDARY.finditer(paragraph):
        end = m.start()
        # The word before this boundary lies after the previous one (a boundary is
        # followed by a word character), so only that stretch is searched: skipped
        # boundaries ("Dr. Dr. Dr. ...") do not make the search quadratic.
        last_word = _LAST_WORD.search(paragraph, previous, end)
        previous = m.end()
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
