"""Publication date: the header wins, else the date of the reported event in the body.

Contract: ``extract_date(sentences, language, cues)`` never raises and returns
``(value, source)`` where value is ``YYYY-MM-DD``, ``YYYY-MM`` or ``None``. Only
body sentences are passed in, so photo captions never count. Candidates preceded
by a deadline or background cue ("by 1 January 2023", "since May 2019") are
skipped. Among the rest, day precision beats month precision; then the first in
reading order wins. A year alone is not a publication date.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from babel.dates import get_day_names, get_month_names

from .text import TOKEN_RE

SUPPORTED = ("en", "nl", "de", "fr", "sv", "da", "nb")
_CUE_WINDOW = 3


@dataclass(frozen=True)
class DateCues:
    """Deadline and background cue phrases per language (lower-case token tuples)."""

    deadline: dict[str, tuple[tuple[str, ...], ...]]
    background: dict[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def from_mapping(cls, data: dict) -> DateCues:
        def conv(section: dict) -> dict[str, tuple[tuple[str, ...], ...]]:
            return {
                lang: tuple(tuple(TOKEN_RE.findall(str(p).lower())) for p in phrases if p)
                for lang, phrases in (section or {}).items()
            }

        return cls(conv(data.get("deadline", {})), conv(data.get("background", {})))


@lru_cache(maxsize=32)
def _month_table(language: str) -> dict[str, int]:
    table: dict[str, int] = {}
    for loc in {language if language in SUPPORTED else "en", "en"}:
        for width in ("wide", "abbreviated"):
            for ctx in ("format", "stand-alone"):
                for num, name in get_month_names(width, ctx, locale=loc).items():
                    key = name.lower().rstrip(".")
                    if len(key) >= 3:
                        table[key] = num
    if language == "de":
        table["maerz"] = 3
    if language == "fr":
        table["fevrier"], table["aout"], table["decembre"] = 2, 8, 12
    return table


@lru_cache(maxsize=32)
def _patterns(language: str) -> tuple[re.Pattern[str], ...]:
    months = sorted(_month_table(language), key=len, reverse=True)
    alt = "|".join(re.escape(m) for m in months)
    day = r"(?P<d>[0-3]?\d)(?:\.|er|st|nd|rd|th|e)?"
    year = r"(?P<y>(?:19|20)\d\d)"
    month = rf"(?P<m>{alt})\.?"
    flags = re.IGNORECASE
    return (
        re.compile(rf"\b{year}-(?P<mn>[01]\d)-(?P<d>[0-3]\d)\b"),
        re.compile(rf"\b(?P<d>[0-3]?\d)[./-](?P<mn>[01]?\d)[./-]{year}\b"),
        re.compile(rf"\b{day}\s+(?:de\s+)?{month},?\s+{year}\b", flags),
        re.compile(rf"\b{month}\s+{day},?\s+{year}\b", flags),
        re.compile(rf"\b{month},?\s+{year}\b", flags),
    )


def _weekday_words(language: str) -> frozenset[str]:
    loc = language if language in SUPPORTED else "en"
    return frozenset(n.lower() for n in get_day_names("wide", locale=loc).values())


def _valid(y: int, m: int, d: int | None) -> bool:
    try:
        date(y, m, d or 1)
    except ValueError:
        return False
    return True


def _preceded_by(before: list[str], cues: tuple[tuple[str, ...], ...]) -> bool:
    window = before[-_CUE_WINDOW:]
    for cue in cues:
        n = len(cue)
        for i in range(len(window) - n + 1):
            if tuple(window[i : i + n]) == cue:
                return True
    return False


_NON_WORD = re.compile(r"\W")


def _tokens_before(sentence: str, pos: int, weekdays: frozenset[str]) -> list[str]:
    """The last ``_CUE_WINDOW`` lower-case tokens before ``pos``, weekday names left out.

    Only a window before ``pos`` is tokenized, cut just after a non-word character
    (which lower-cases to non-word characters, so no token is split); the window
    doubles until it holds enough tokens. The cost follows the distance looked back,
    not the length of the sentence, so many dates in one sentence stay linear.
    """
    width = 256
    while True:
        lo = 0
        if pos > width:
            cut = _NON_WORD.search(sentence, pos - width, pos)
            lo = cut.end() if cut else -1
        if lo >= 0:
            words = TOKEN_RE.findall(sentence[lo:pos].lower())
            before = [t for t in words if t not in weekdays]
            if lo == 0 or len(before) >= _CUE_WINDOW:
                return before[-_CUE_WINDOW:]
        width *= 2


def find_dates(sentence: str, language: str, cues: DateCues) -> list[tuple[str, int]]:
    """All usable date mentions in one sentence as (value, precision 2=day 1=month)."""
    table = _month_table(language)
    # Spans already taken by a date, sorted and disjoint (so their ends are sorted too).
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    found: list[tuple[int, str, int]] = []
    deadline = cues.deadline.get(language, ()) + cues.deadline.get("en", ())
    background = cues.background.get(language, ()) + cues.background.get("en", ())
    if language == "en":
        deadline, background = cues.deadline.get("en", ()), cues.background.get("en", ())
    weekdays = _weekday_words(language)
    for pat in _patterns(language):
        for m in pat.finditer(sentence):
            k = bisect_left(taken_starts, m.end())
            if k and taken_ends[k - 1] > m.start():
                continue  # overlaps the last taken span that starts before this one ends
            groups = m.groupdict()
            y = int(groups["y"])
            mn = (
                int(groups["mn"])
                if groups.get("mn")
                else table.get(groups["m"].lower().rstrip("."))
            )
            if mn is None:
                continue
            d = int(groups["d"]) if groups.get("d") else None
            if not _valid(y, mn, d):
                continue
            taken_starts.insert(k, m.start())
            taken_ends.insert(k, m.end())
            before = _tokens_before(sentence, m.start(), weekdays)
            if _preceded_by(before, deadline) or _preceded_by(before, background):
                continue
            value = f"{y:04d}-{mn:02d}" + (f"-{d:02d}" if d else "")
            found.append((m.start(), value, 2 if d else 1))
    found.sort()
    return [(v, p) for _, v, p in found]


def extract_date(
    header_date: str | None, sentences: list[str], language: str, cues: DateCues
) -> tuple[str | None, str]:
    """The publication date and where it came from ("header", "body" or "none")."""
    if header_date:
        return header_date, "header"
    best: tuple[int, int, str] | None = None
    for index, sentence in enumerate(sentences):
        if not any(ch.isdigit() for ch in sentence):
            continue
        for value, precision in find_dates(sentence, language, cues):
            key = (-precision, index, value)
            if best is None or key < best:
                best = key
    if best is None:
        return None, "none"
    return best[2], "body"
