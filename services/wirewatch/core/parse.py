"""The raw wire format: optional date header, optional title, body, boilerplate.

Contract: ``parse(text)`` accepts any decoded string and never raises. The raw
format it understands:

* a first line that starts with `` date YYYY-MM `` (or ``YYYY-MM-DD``), followed on
  the same line by the first sentence of the article;
* otherwise an optional title line followed by a blank line;
* paragraphs, one per line or separated by blank lines; hard-wrapped lines are
  re-joined; short unpunctuated lines inside the body are sub-headings;
* boilerplate kept aside: photo captions (a line ending in a credit such as
  "(AP Photo/...)" or starting "Foto:"), copyright/agency lines and "read also"
  pointers. In a multi-sentence caption only the first sentence describes the
  photo; the sentences after it summarise the story and stay in the body.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from .text import split_sentences

MAX_LINE_CHARS = 20000
# Unicode's stream-safe text format (UAX #15) allows at most 30 combining marks in a row.
MAX_MARKS = 30
_NON_ASCII_RUN = re.compile(rf"[^\x00-\x7f]{{{MAX_MARKS + 1},}}")

_HEADER = re.compile(r"^\s*date\s+(\d{4})-(\d{2})(?:-(\d{2}))?(?=\s|$)\s*", re.IGNORECASE)
_CREDIT = re.compile(
    r"\((?:[^()]{0,100}?\b(?:Photo|Foto|Bild|Billede|Bilde|Image|Illustration|Pic|Archives?)\b"
    r"[^()]{0,100}|(?:AP|AFP|Reuters|ANP|EPA|Getty Images|NTB|TT|Ritzau(?: Scanpix)?|Scanpix|dpa|"
    r"Belga|Hollandse Hoogte)(?:\s*/[^()]{0,80})?)\)\s*$"
)
_CAPTION_START = re.compile(r"^(?:Foto|Photo|Bild|Billede|Bilde|Image|Fotó|Afbeelding)\s*:", re.I)
_COPYRIGHT = re.compile(
    r"^\s*(?:©|\(c\)\s|copyright\b)|all rights reserved|alla rättigheter förbehållna|"
    r"alle rechten voorbehouden|alle rechte vorbehalten|tous droits réservés|"
    r"alle rettigheder forbeholdes|alle rettigheter (?:reservert|forbeholdt)",
    re.IGNORECASE,
)
_READ_ALSO = re.compile(
    r"^(?:Lees ook|Lees meer|Read more|Read also|Also read|Läs också|Läs mer|Lesen Sie auch|"
    r"Mehr zum Thema|Lire aussi|À lire aussi|A lire aussi|Læs også|Les også|Les mer)\b\s*:?",
    re.IGNORECASE,
)
# (a regular expression finds these far faster than str.translate looks up every character)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_TERMINAL = '.!?:;"”’»…)'
# Words that make a caption sentence describe the photo rather than the story.
_PHOTO_WORDS = re.compile(
    r"\b(?:photo|picture|image|bild(?:en)?|filbild|arkivbild(?:en)?|foto(?:et|t)?|"
    r"archiefbeeld|archieffoto|archivbild|archivfoto|billede(?:t)?|arkivfoto|bilde(?:t)?)\b",
    re.IGNORECASE,
)


# A byline or dateline: a short line that gives when the article was published or
# updated, as news sites and wires print it above or below the text.
_BYLINE_LABEL = re.compile(
    r"^\W{0,3}(?:(?:first |last )?(?:published|updated|posted|modified)(?: on| at)?|"
    r"(?:zuletzt )?(?:veröffentlicht|aktualisiert|erstellt|geändert)(?: am)?|stand|"
    r"publié(?: le)?|mis à jour(?: le)?|modifié(?: le)?|"
    r"gepubliceerd(?: op)?|bijgewerkt(?: op)?|laatste update|geplaatst(?: op)?|"
    r"publicerad|uppdaterad|publiceret|(?:sidst )?opdateret|publisert|(?:sist )?oppdatert)"
    r"\b\s*:?",
    re.IGNORECASE,
)
_BYLINE_UPDATED = re.compile(
    r"updated|modified|aktualisiert|geändert|mis à jour|modifié|bijgewerkt|laatste update|"
    r"uppdaterad|opdateret|oppdatert",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_CLOCK = re.compile(
    r"(?<!\d)[0-2]?\d[:.h][0-5]\d(?!\d)(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.|gmt|utc|"
    r"bst|cet|cest|mez|mesz|est|edt|pst|pdt|et|uhr|h|z)?\b|t[0-2]\d:[0-5]\d",
    re.IGNORECASE,
)
MAX_BYLINE_CHARS = 160
BYLINE_BLOCKS = 8


def is_byline(block: str) -> bool:
    """A short line that dates the article: a label ("Published:", "Aktualisiert am",
    "Publié le" ...) or a clock time next to a year, or a bare date line."""
    if len(block) > MAX_BYLINE_CHARS or not _YEAR.search(block):
        return False
    if _BYLINE_LABEL.match(block) or _CLOCK.search(block):
        return True
    return len(block.split()) <= 6 and block[-1] not in ".!?"


_BYLINE_PUBLISHED = re.compile(r"publi|veröffentlicht|erstellt", re.IGNORECASE)


def is_update_line(block: str) -> bool:
    """A byline that only says when the article was updated (not when it was published)."""
    return bool(_BYLINE_UPDATED.search(block)) and not _BYLINE_PUBLISHED.search(block)


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


def _is_caption(line: str) -> bool:
    return bool(_CREDIT.search(line) or _CAPTION_START.match(line))


# Wire-photo credit lines as news sites print them under a picture.
_PHOTO_CREDIT_LINE = re.compile(
    r"Purchase Licensing Rights|opens new tab|\b(?:REUTERS|AFP|Getty Images|EPA|Xinhua)/[^/\n]{0,60}"
    r"(?:/File Photo)?\s*$",
    re.IGNORECASE,
)


def _is_boilerplate(line: str) -> bool:
    return bool(
        (len(line) < 300 and (_COPYRIGHT.search(line) or _PHOTO_CREDIT_LINE.search(line)))
        or _READ_ALSO.match(line)
    )


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


def parse(text: str) -> ParsedArticle:
    """Parse normalised article text into title, body paragraphs and boilerplate."""
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
        if n < BYLINE_BLOCKS and is_byline(block):
            bylines.append(block)
        else:
            kept.append((block, blank_after))
    if bylines and kept:
        blocks = kept
    else:
        bylines = []
    title: str | None = None
    if header_date is None and len(blocks) > 1:
        first, blank_after = blocks[0]
        if blank_after and _looks_like_heading(first.rstrip("?!")) and not _is_caption(first):
            title = first
            blocks = blocks[1:]

    paragraphs: list[Paragraph] = []
    boilerplate: list[str] = []
    for block, _ in blocks:
        if _is_boilerplate(block):
            boilerplate.append(block)
            continue
        if _is_caption(block):
            credit = _CREDIT.search(block)
            core = block[: credit.start()].strip() if credit else block
            sentences = split_sentences(core)
            # The first sentence describes the photo, as does any that speaks of the
            # picture; the others summarise the story and are article text.
            boilerplate.append(block)
            story = [s for s in sentences[1:] if not _PHOTO_WORDS.search(s)]
            if story:
                paragraphs.append(Paragraph(" ".join(story), "body", story))
            continue
        if _looks_like_heading(block) and paragraphs:
            paragraphs.append(Paragraph(block, "heading", [block]))
            continue
        paragraphs.append(Paragraph(block, "body", split_sentences(block)))

    return ParsedArticle(header_date, title, paragraphs, boilerplate + bylines, bylines)
