"""Tokens and sentences: the small text primitives every analyser shares."""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

TOKEN_RE = re.compile(r"\w+")

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before
# whitespace and an opening quote, a capital letter or a digit. A match starts only
# at the first mark of a run and never gives characters back (possessive), so a long
# run of dots or spaces is scanned once, not once per position.
_BOUNDARY = re.compile(
    # Every boundary starts at its first mark, so the pattern starts with the mark: the
    # engine then skips straight to the next mark instead of trying each position.
    r"[.!?…](?:"
    # not after another mark (the first of a run), then the rest of the run
    r"(?<![.!?…][.!?…])[.!?…]*+[\"'”’»)\]]*+\s++(?=[\"'“‘„«(\[]?[A-ZÀ-ÖØ-ÞĀ-Ž0-9])"
    # a missing space after the stop, as pasted wire text often has ("dernier.Tout"):
    # only between a lower-case word and a capitalised one, so "U.S." and "pic.twitter.com"
    # stay whole
    r"|(?<=[a-zß-öø-ÿ]{3}[.!?])(?=[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]))"
)


def _is_word_char(ch: str) -> bool:
    """What ``\\w`` matches in a str pattern: a letter, digit or numeral, or ``_``."""
    return ch.isalnum() or ch == "_"


def _last_word(text: str, lo: int, hi: int) -> str:
    """The last maximal run of word characters in ``text[lo:hi]``, else "".

    Walks back from ``hi`` over the non-word characters, then over the word: the cost
    is the length of the word and what follows it, not of the stretch.
    """
    # (``_is_word_char`` written out: this runs at every sentence boundary)
    j = hi
    while j > lo and not (text[j - 1].isalnum() or text[j - 1] == "_"):
        j -= 1
    k = j
    while k > lo and (text[k - 1].isalnum() or text[k - 1] == "_"):
        k -= 1
    return text[k:j]


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    lower: str
    start: int
    end: int


class Tokens:
    """The tokens of one text as parallel lists: the form the analysers scan.

    ``text[i]``, ``lower[i]``, ``start[i]`` and ``end[i]`` are what ``tokenize(source)[i]``
    holds; lists of plain strings cost far less to build than an object per token, and
    let the analysers test a whole sentence with set operations. The offsets are
    worked out only when asked for (most sentences never need them).
    """

    __slots__ = ("_end", "_start", "lower", "source", "text")

    def __init__(
        self,
        source: str,
        text: list[str],
        lower: list[str],
        start: list[int] | None = None,
        end: list[int] | None = None,
    ):
        self.source = source
        self.text = text
        self.lower = lower
        self._start = start
        self._end = end

    @property
    def start(self) -> list[int]:
        if self._start is None:
            self._spans()
        assert self._start is not None
        return self._start

    @property
    def end(self) -> list[int]:
        if self._end is None:
            self._spans()
        assert self._end is not None
        return self._end

    def _spans(self) -> None:
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        find = self.source.find
        # A token is a maximal run of word characters, so between the end of one and
        # the start of the next there are only non-word characters: the first
        # occurrence of the next word from there is that word's own position.
        for word in self.text:
            pos = find(word, pos)
            starts.append(pos)
            pos += len(word)
            ends.append(pos)
        self._start, self._end = starts, ends

    def as_list(self) -> list[Token]:
        return list(map(Token, self.text, self.lower, self.start, self.end))

    @classmethod
    def of(cls, tokens: Sequence[Token]) -> Tokens:
        return cls(
            "",
            [t.text for t in tokens],
            [t.lower for t in tokens],
            [t.start for t in tokens],
            [t.end for t in tokens],
        )


def positions(words: list[str], wanted: AbstractSet[str]) -> list[int]:
    """The indexes of ``words`` that hold a word of ``wanted``, in order.

    For a word or two ``list.index`` finds each occurrence without a Python step per
    word; for more, one pass over the words costs less than a pass per wanted word.
    """
    if len(wanted) > 2:
        return [i for i, word in enumerate(words) if word in wanted]
    out: list[int] = []
    for word in wanted:
        at = -1
        try:
            while True:
                at = words.index(word, at + 1)
                out.append(at)
        except ValueError:
            pass
    if len(wanted) > 1:
        out.sort()
    return out


def tokens_of(text: str) -> Tokens:
    """``tokenize(text)`` as parallel lists (see ``Tokens``)."""
    words: list[str] = TOKEN_RE.findall(text)
    # One lower() over the words joined by NUL, a character that is neither cased nor
    # case-ignorable: no word's lower case (not even a final sigma's) depends on its
    # neighbours, so this is each word's own lower(), at a fraction of the cost.
    lower = "\0".join(words).lower().split("\0") if words else []
    return Tokens(text, words, lower)


def tokenize(text: str) -> list[Token]:
    """Split into word tokens (maximal runs of \\w); hyphens, apostrophes, colons split."""
    return tokens_of(text).as_list()


def split_sentences(paragraph: str, abbreviations: AbstractSet[str]) -> list[str]:
    """Split one paragraph into sentences; never returns empty strings.

    A period after a word of ``abbreviations`` (lower case: "dr", "bzw", the
    ``abbreviations`` of text.yaml), after a single letter or after a number of at most
    two digits does not end a sentence."""
    out: list[str] = []
    start = 0
    previous = 0  # end of the previous boundary, kept or skipped
    for m in _BOUNDARY.finditer(paragraph):
        end = m.start()
        # The word before this boundary lies after the previous one (a boundary is
        # followed by a word character), so only that stretch is searched: skipped
        # boundaries ("Dr. Dr. Dr. ...") do not make the search quadratic.
        last = _last_word(paragraph, previous, end)
        previous = m.end()
        if last:
            word = last
            # "14. Juli", "J. Doe", "bl.a." — not ends of sentences.
            if paragraph[end] == "." and (
                (word.isdigit() and len(word) <= 2)
                or (len(word) == 1 and word.isalpha())
                or word.lower() in abbreviations
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
