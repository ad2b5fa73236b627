"""The raw wire format: optional date header, optional title, body, boilerplate.

Contract: ``parse(text, rules)`` accepts any decoded string and never raises. The
raw format it understands:

* a first line that starts with `` date YYYY-MM `` (or ``YYYY-MM-DD``), followed on
  the same line by the first sentence of the article;
* otherwise an optional title line followed by a blank line;
* paragraphs, one per line or separated by blank lines; hard-wrapped lines are
  re-joined; short unpunctuated lines inside the body are sub-headings;
* boilerplate kept aside: photo captions (a line ending in a credit such as
  "(AP Photo/...)" or starting "Foto:"), copyright/agency lines and "read also"
  pointers. In a multi-sentence caption only the first sentence describes the
  photo; the sentences after it summarise the story and stay in the body.

The words that make a line a caption, credit, byline or boilerplate, and the
abbreviations, are data (text.yaml), given as ``TextRules``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from . import wordlists
from .text import split_sentences

MAX_LINE_CHARS = 20000
# Unicode's stream-safe text format (UAX #15) allows at most 30 combining marks in a row.
MAX_MARKS = 30
_NON_ASCII_RUN = re.compile(rf"[^\x00-\x7f]{{{MAX_MARKS + 1},}}")

_HEADER = re.compile(r"^\s*date\s+(\d{4})-(\d{2})(?:-(\d{2}))?(?=\s|$)\s*", re.IGNORECASE)
# (a regular expression finds these far faster than str.translate looks up every character)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_TERMINAL = '.!?:;"”’»…)'
# A line opening with the copyright sign or its spellings: the same in every language.
_COPYRIGHT_MARK = r"^\s*(?:©|\(c\)\s|copyright\b)"
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
# A clock time, as bylines print it: "10:32", "9.15 Uhr", "03.13 GMT", "T14:05".
_CLOCK = re.compile(
    r"(?<!\d)[0-2]?\d[:.h][0-5]\d(?!\d)(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.|gmt|utc|"
    r"bst|cet|cest|mez|mesz|est|edt|pst|pdt|et|uhr|h|z)?\b|t[0-2]\d:[0-5]\d",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TextRules:
    """The patterns that tell captions, credits, bylines and boilerplate from article
    text, and the abbreviations that do not end a sentence: built from the word lists
    of text.yaml (see ``from_mapping``) by ``Resources.load``."""

    abbreviations: frozenset[str]
    # a caption: a credit in parentheses closing the line, or "Foto:" opening it
    credit: re.Pattern[str]
    caption_start: re.Pattern[str]
    # words that make a caption sentence describe the photo rather than the story
    photo_words: re.Pattern[str]
    copyright: re.Pattern[str]
    # wire-photo credit lines as news sites print them under a picture
    credit_line: re.Pattern[str]
    read_also: re.Pattern[str]
    # a byline or dateline: a short line that gives when the article was published or
    # updated, as news sites and wires print it above or below the text
    byline_label: re.Pattern[str]

    @classmethod
    def from_mapping(cls, data: object, where: str = "text.yaml") -> TextRules:
        """Build from the parsed text.yaml; a missing list matches nothing. Raises
        ``wordlists.WordListError`` for a malformed list."""

        def alt(path: str) -> str:
            return wordlists.alternation(wordlists.words(data, path, where))

        def lower_alt(path: str) -> str:  # for a pattern matched against a lower-cased line
            return wordlists.alternation(w.lower() for w in wordlists.words(data, path, where))

        agencies = wordlists.words(data, "agencies.caption", where)
        return cls(
            abbreviations=frozenset(
                w.lower() for w in wordlists.words(data, "abbreviations", where)
            ),
            credit=re.compile(
                rf"\((?:[^()]{{0,100}}?\b{alt('captions.credit_words')}\b[^()]{{0,100}}|"
                rf"{wordlists.alternation(agencies)}(?:\s*/[^()]{{0,80}})?)\)\s*$"
            ),
            caption_start=re.compile(rf"^{alt('captions.start_words')}\s*:", re.IGNORECASE),
            photo_words=re.compile(rf"\b{alt('captions.photo_words')}\b", re.IGNORECASE),
            # these two are matched against the lower-cased line: a case-sensitive
            # pattern lets the engine skip to the letters its phrases start with, where
            # IGNORECASE tries every phrase at every position
            copyright=re.compile(rf"{_COPYRIGHT_MARK}|{lower_alt('boilerplate.copyright')}"),
            credit_line=re.compile(
                rf"{lower_alt('boilerplate.credit_line_phrases')}|"
                rf"\b{lower_alt('agencies.credit_line')}/"
                rf"[^/\n]{{0,60}}(?:/{lower_alt('boilerplate.credit_line_endings')})?\s*$"
            ),
            read_also=re.compile(rf"^{alt('boilerplate.read_also')}\b\s*:?", re.IGNORECASE),
            byline_label=re.compile(rf"^\W{{0,3}}{alt('byline_labels')}\b\s*:?", re.IGNORECASE),
        )


MAX_BYLINE_CHARS = 160
BYLINE_BLOCKS = 8
# a labelled date line further down is a stamp only when it is this short
MAX_STAMP_CHARS = 80
MAX_STAMP_WORDS = 10  # a label, a date and a time; "Published in 2019, the report ..." is text


def is_byline(block: str, rules: TextRules) -> bool:
    """A short line that dates the article: a label ("Published:", "Aktualisiert am",
    "Publié le" ...) or a clock time next to a year, or a bare date line."""
    if len(block) > MAX_BYLINE_CHARS or not _YEAR.search(block):
        return False
    if rules.byline_label.match(block) or _CLOCK.search(block):
        return True
    return len(block.split()) <= 6 and block[-1] not in ".!?"


def stamp_shaped(line: str) -> bool:
    """A label, a date and a time; "Published in May 2019, the report ..." is text."""
    return len(line.split()) <= MAX_STAMP_WORDS and not line.rstrip().endswith(".")


def is_stamp(block: str, rules: TextRules) -> bool:
    """A labelled date line anywhere in the text ("Publish Date : 14 November 2023",
    "Créé: 10.12.2018, 12h00"): sites print it under the title or at the foot of the
    article, after a header date line that is only the day the page was served."""
    return (
        len(block) <= MAX_STAMP_CHARS
        and stamp_shaped(block)
        and bool(rules.byline_label.match(block))
        and bool(_YEAR.search(block))
    )


@dataclass
class Paragraph:
    text: str
    kind: Literal["body", "heading"]
    sentences: list[str] = field(default_factory=list)


@dataclass
class ParsedArticle:
    header_date: str | None
    title: str | None
    paragraphs: list[Paragraph]
    boilerplate: list[str]
    bylines: list[str] = field(default_factory=list)
    # labelled date lines below the top of the text (``is_stamp``), kept in the body too
    stamps: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    def sentences(self, include_headings: bool = False) -> list[str]:
        out: list[str] = []
        for p in self.paragraphs:
            if p.kind == "body" or include_headings:
                out.extend(p.sentences)
        return out


@lru_cache(maxsize=65536)
def _is_mark(ch: str) -> bool:
    """A combining mark, or a character that decomposes into one first."""
    return bool(
        unicodedata.combining(ch) or unicodedata.combining(unicodedata.normalize("NFD", ch)[0])
    )


def _cap_marks(run: re.Match[str]) -> str:
    out: list[str] = []
    marks = 0
    for ch in run.group():
        if _is_mark(ch):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        out.append(ch)
    return "".join(out)


def normalise(text: str) -> str:
    """NFC, Unix newlines, no zero-width characters, no trailing spaces, bounded lines."""
    # NFC sorts each run of combining marks, in quadratic time on an endless run:
    # keep at most MAX_MARKS in a row first (only non-ASCII runs can hold marks).
    text = _NON_ASCII_RUN.sub(_cap_marks, text)
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    lines = [line.rstrip()[:MAX_LINE_CHARS] for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _is_caption(line: str, rules: TextRules) -> bool:
    return bool(rules.credit.search(line) or rules.caption_start.match(line))


def _is_boilerplate(line: str, rules: TextRules) -> bool:
    if rules.read_also.match(line):
        return True
    if len(line) >= 300:
        return False
    low = line.lower()
    return bool(rules.copyright.search(low) or rules.credit_line.search(low))


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 10 and len(line) <= 100 and line[-1] not in _TERMINAL


def _blocks(lines: list[str]) -> list[tuple[str, bool]]:
    """Group lines into paragraphs: (text, followed_by_blank_line)."""
    out: list[tuple[str, bool]] = []
    current: list[str] = []  # the lines of the paragraph being built, joined once at its end
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if current:
                out.append((" ".join(current), True))
                current = []
            continue
        if current:
            # A hard-wrapped line continues the paragraph when it starts in lower case
            # and the previous line did not end a sentence.
            if stripped[0].islower() and current[-1][-1] not in _TERMINAL:
                current.append(stripped)
                continue
            out.append((" ".join(current), False))
        current = [stripped]
    if current:
        out.append((" ".join(current), True))
    return out


def parse(text: str, rules: TextRules) -> ParsedArticle:
    """Parse normalised article text into title, body paragraphs and boilerplate, with
    the caption, credit, byline and boilerplate patterns and abbreviations of ``rules``."""
    text = normalise(text)
    header_date: str | None = None
    m = _HEADER.match(text)
    if m:
        year, month, day = m.group(1), m.group(2), m.group(3)
        if 1 <= int(month) <= 12 and (day is None or 1 <= int(day) <= 31):
            header_date = f"{year}-{month}" + (f"-{day}" if day else "")
        text = text[m.end() :]

    blocks = _blocks(text.split("\n"))
    # Bylines and datelines near the top are dates, not title or body text.
    bylines: list[str] = []
    kept: list[tuple[str, bool]] = []
    for n, (block, blank_after) in enumerate(blocks):
        if n < BYLINE_BLOCKS and is_byline(block, rules):
            bylines.append(block)
        else:
            kept.append((block, blank_after))
    # further down a labelled date line stays text (the article's id rests on its text)
    # and is offered to the date as well
    stamps = [block for block, _ in kept if is_stamp(block, rules)]
    if bylines and kept:
        blocks = kept
    else:
        bylines = []
    title: str | None = None
    if header_date is None and len(blocks) > 1:
        first, blank_after = blocks[0]
        if (
            blank_after
            and _looks_like_heading(first.rstrip("?!"))
            and not _is_caption(first, rules)
            # a copyright or credit line on top ("(C) Hotel Facebook") is no headline
            and not _is_boilerplate(first, rules)
        ):
            title = first
            blocks = blocks[1:]

    paragraphs: list[Paragraph] = []
    boilerplate: list[str] = []
    for block, _ in blocks:
        if _is_boilerplate(block, rules):
            boilerplate.append(block)
            continue
        if _is_caption(block, rules):
            credit = rules.credit.search(block)
            core = block[: credit.start()].strip() if credit else block
            sentences = split_sentences(core, rules.abbreviations)
            # The first sentence describes the photo, as does any that speaks of the
            # picture; the others summarise the story and are article text.
            boilerplate.append(block)
            story = [s for s in sentences[1:] if not rules.photo_words.search(s)]
            if story:
                paragraphs.append(Paragraph(" ".join(story), "body", story))
            continue
        if _looks_like_heading(block) and paragraphs:
            paragraphs.append(Paragraph(block, "heading", [block]))
            continue
        paragraphs.append(Paragraph(block, "body", split_sentences(block, rules.abbreviations)))

    return ParsedArticle(header_date, title, paragraphs, boilerplate + bylines, bylines, stamps)
