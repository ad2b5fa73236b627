"""Publication date: the header wins, else the date of the reported event in the body.

Contract: ``extract_date(sentences, language, cues)`` never raises and returns
``(value, source)`` where value is ``YYYY-MM-DD``, ``YYYY-MM`` or ``None``. Only
body sentences are passed in, so photo captions never count. Candidates preceded
by a deadline or background cue ("by 1 January 2023", "since May 2019") are
skipped, as are month-and-year dates after the lead sentence, dates a determiner
makes a modifier ("a July 1986 pact") and dates in photo or agency credits. Among
the rest, day precision beats month precision; then the first in reading order
wins. A byline or dateline ("Published: Jul 15, 2020", "Mon 30 Nov 2020 03.13 GMT")
wins over the body, and a labelled stamp ("Publish Date : 14 November 2023", "Créé:
10.12.2018"), wherever the page prints it, over a bare date line at the top, which is
often the day the page was served; among bare date lines the earliest wins, for the
same reason. A date right after a document number ("loi n° 78-17 du 6 janvier 1978")
is that of a law cited. A numeric date reads day first, month first where only that
is a date ("10-15-2019"). A year alone is not a publication date.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import wordlists
from .parse import stamp_shaped
from .text import TOKEN_RE

SUPPORTED = ("en", "nl", "de", "fr", "sv", "da", "nb")
_CUE_WINDOW = 3
# A month-and-year date (no day) counts only in the lead sentence of the body: further
# down it is background ("started in May 1986") or a plan ("due in April 1989").
LEAD_SENTENCES = 1


@dataclass(frozen=True)
class DateCues:
    """Deadline and background cue phrases per language (lower-case token tuples)."""

    deadline: dict[str, tuple[tuple[str, ...], ...]]
    background: dict[str, tuple[tuple[str, ...], ...]]
    # Words that, right before a month-and-year date, make it a modifier of a noun
    # ("a July 1986 pact", "die März-2019-Regel"): background, not the news.
    determiners: dict[str, frozenset[str]] = field(default_factory=dict)
    # month names Babel does not list, per language: (spelling, month number)
    month_spellings: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    # letters after the day number ("1st", "1er"), lower case
    ordinal_suffixes: tuple[str, ...] = ()
    # a byline with an ``updated`` word and no ``published`` word only dates an update
    updated: re.Pattern[str] = re.compile(wordlists.NOTHING)
    published: re.Pattern[str] = re.compile(wordlists.NOTHING)
    # a photo or agency credit: a date in it is when the picture was taken or filed
    credit: re.Pattern[str] = re.compile(wordlists.NOTHING)
    # Babel's month names per supported locale as (lower-case name, number), in the order
    # of (wide, abbreviated) x (format, stand-alone), and its weekday names: worked out
    # once when the data files are compiled, so no locale data is loaded per process
    month_names: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    weekday_names: dict[str, frozenset[str]] = field(default_factory=dict)
    # Words between a document number and its date ("loi n° 78-17 du 6 janvier 1978",
    # "Act No. 12 of 3 May 1998"): the date of a law or decision cited, not the news.
    references: dict[str, frozenset[str]] = field(default_factory=dict)
    # per-language month tables and patterns, built at first use (never pickled)
    _memo: dict[tuple[str, str], Any] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memo": {}}

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "dates.yaml") -> DateCues:
        """Build from the parsed dates.yaml; raises ``wordlists.WordListError`` for a
        malformed word list (a month spelling must map to a number 1-12)."""

        def conv(section: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
            return {
                lang: tuple(tuple(TOKEN_RE.findall(str(p).lower())) for p in phrases if p)
                for lang, phrases in (section or {}).items()
            }

        def alt(path: str) -> str:
            return wordlists.alternation(wordlists.words(data, path, where))

        dets = {
            lang: frozenset(str(w).lower() for w in words or [])
            for lang, words in (data.get("determiners") or {}).items()
        }
        spellings: dict[str, tuple[tuple[str, int], ...]] = {}
        for lang, table in (data.get("month_spellings") or {}).items():
            if not isinstance(table, dict) or not all(
                isinstance(n, int) and 1 <= n <= 12 for n in table.values()
            ):
                raise wordlists.WordListError(
                    f"{where}: month_spellings.{lang}: expected spelling: month number (1-12)"
                )
            spellings[str(lang)] = tuple((str(k).lower(), n) for k, n in table.items())
        # A credit: an agency before "/", "|" or "via", or after "/"; a photo label
        # (with a plural s) before ":"; a photo word after "(".
        credit = (
            rf"\b{alt('credits.agencies')}\b\s*(?:/|\||via\b)|"
            rf"/\s*{alt('credits.agencies_after_slash')}\b|"
            rf"\b{alt('credits.labels')}s?\s*:|"
            rf"\({alt('credits.opening')}\b"
        )
        return cls(
            conv(data.get("deadline", {})),
            conv(data.get("background", {})),
            dets,
            spellings,
            tuple(w.lower() for w in wordlists.words(data, "ordinal_suffixes", where)),
            re.compile(alt("bylines.updated"), re.IGNORECASE),
            re.compile(alt("bylines.published"), re.IGNORECASE),
            re.compile(credit),
            *babel_names(),
            references={
                lang: frozenset(str(w).lower() for w in words or [])
                for lang, words in (data.get("references") or {}).items()
            },
        )

    def is_update_line(self, block: str) -> bool:
        """A byline that only says when the article was updated (not when it was
        published)."""
        return bool(self.updated.search(block)) and not self.published.search(block)

    def month_table(self, language: str) -> dict[str, int]:
        """Month name (lower case, no trailing period) -> number for ``language``: its
        own names and the English ones, then the spellings of dates.yaml."""
        table = self._memo.get(("months", language))
        if table is None:
            spellings = self.month_spellings.get(language, ())
            table = {}
            for loc in {language if language in SUPPORTED else "en", "en"}:
                table.update(self.month_names.get(loc, ()))
            table.update(spellings)
            self._memo[("months", language)] = table
        return table

    def patterns(self, language: str) -> tuple[re.Pattern[str], ...]:
        found = self._memo.get(("patterns", language))
        if found is None:
            found = self._memo[("patterns", language)] = _patterns(
                self.month_table(language), self.ordinal_suffixes
            )
        return found

    def weekdays(self, language: str) -> frozenset[str]:
        return self.weekday_names.get(language if language in SUPPORTED else "en", frozenset())


def babel_names() -> tuple[dict[str, tuple[tuple[str, int], ...]], dict[str, frozenset[str]]]:
    """Babel's month names (wide and abbreviated, format and stand-alone, three letters
    or more) and wide weekday names of every supported locale, lower case."""
    from babel.dates import get_day_names, get_month_names

    months: dict[str, tuple[tuple[str, int], ...]] = {}
    weekdays: dict[str, frozenset[str]] = {}
    for loc in SUPPORTED:
        names = []
        for width in ("wide", "abbreviated"):
            for ctx in ("format", "stand-alone"):
                for num, name in get_month_names(width, ctx, locale=loc).items():
                    key = name.lower().rstrip(".")
                    if len(key) >= 3:
                        names.append((key, int(num)))
        months[loc] = tuple(names)
        weekdays[loc] = frozenset(n.lower() for n in get_day_names("wide", locale=loc).values())
    return months, weekdays


def _patterns(table: dict[str, int], ordinals: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    months = sorted(table, key=len, reverse=True)
    alt = "|".join(re.escape(m) for m in months)
    # (the empty alternative, when there are no suffixes, leaves the period alone)
    suffixes = "".join("|" + re.escape(w) for w in ordinals)
    day = rf"(?P<d>[0-3]?\d)(?:\.{suffixes})?"
    year = r"(?P<y>(?:19|20)\d\d)"
    month = rf"(?P<m>{alt})\.?"
    flags = re.IGNORECASE
    return (
        re.compile(rf"\b{year}-(?P<mn>[01]\d)-(?P<d>[0-3]\d)(?:\b|(?=T\d))"),
        # (also right after a clock time printed without a space: "10:283/09/2025")
        re.compile(rf"(?:\b|(?<=\d[:.]\d\d))(?P<d>[0-3]?\d)[./-](?P<mn>[0-3]?\d)[./-]{year}\b"),
        re.compile(rf"\b{day}\s+(?:de\s+)?{month},?\s+{year}\b", flags),
        re.compile(rf"\b{month}\s+{day},?\s+{year}\b", flags),
        re.compile(rf"\b{month},?\s+{year}\b", flags),
    )


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
_DIGIT = re.compile(r"\d")


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
    table = cues.month_table(language)
    # Spans already taken by a date, sorted and disjoint (so their ends are sorted too).
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    found: list[tuple[int, str, int]] = []
    deadline = cues.deadline.get(language, ()) + cues.deadline.get("en", ())
    background = cues.background.get(language, ()) + cues.background.get("en", ())
    if language == "en":
        deadline, background = cues.deadline.get("en", ()), cues.background.get("en", ())
    weekdays = cues.weekdays(language)
    references = cues.references.get(language, frozenset())
    determiners = cues.determiners.get(language, frozenset()) | cues.determiners.get(
        "en", frozenset()
    )
    for pat in cues.patterns(language):
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
            if groups.get("mn") and d is not None and mn > 12 >= d:
                d, mn = mn, d  # month first, as US sites print it ("10-15-2019")
            if not _valid(y, mn, d):
                continue
            taken_starts.insert(k, m.start())
            taken_ends.insert(k, m.end())
            before = _tokens_before(sentence, m.start(), weekdays)
            if _preceded_by(before, deadline) or _preceded_by(before, background):
                continue
            if len(before) >= 2 and before[-1] in references and _DIGIT.search(before[-2]):
                continue  # the date of a law or decision cited by number ("n° 78-17 du ...")
            if d is None and before and before[-1] in determiners:
                continue
            value = f"{y:04d}-{mn:02d}" + (f"-{d:02d}" if d else "")
            found.append((m.start(), value, 2 if d else 1))
    found.sort()
    return [(v, p) for _, v, p in found]


# Every date form carries a four-digit year: a sentence without one has no date.
_HAS_YEAR = re.compile(r"(?:19|20)\d\d")


def byline_date(
    bylines: list[str], language: str, cues: DateCues, stamps: bool = True
) -> str | None:
    """The date of the first byline that says it gives the publication ("Published:",
    "Publié le", "Erstellt"), else the earliest of the other bylines, an "updated" line
    only when no other: a bare date line at the top of a page is often the day it was
    served, which is never before the article's own.
    ``stamps`` False: the first byline with a date, whatever it says."""
    # each line's most precise date, read once for both passes
    with_date: list[tuple[str, str]] = []
    for line in bylines:
        found = find_dates(line, language, cues)
        if found:
            with_date.append((line, max(found, key=lambda f: f[1])[0]))
    for line, value in with_date if stamps else ():
        if stamp_shaped(line) and cues.published.search(line):
            return value
    first_update: str | None = None
    dated: list[str] = []
    for line, value in with_date:
        if cues.is_update_line(line):
            first_update = first_update or value
            continue
        if not stamps:
            return value
        dated.append(value)
    # the earliest month; in it a day beats the month alone ("April 2012" in a title)
    return min(dated, key=lambda v: (v[:7], -len(v), v)) if dated else first_update


def extract_date(
    header_date: str | None,
    sentences: list[str],
    language: str,
    cues: DateCues,
    bylines: list[str] | None = None,
    stamps: bool = True,
) -> tuple[str | None, str]:
    """The publication date and where it came from ("header", "body" or "none").

    The header line wins, then a byline or dateline (reported as "header": it is the
    text's own date line), then the date of the reported event in the body. Sentences
    that credit a photo or an agency never give the date.
    """
    if header_date:
        return header_date, "header"
    if bylines:
        value = byline_date(bylines, language, cues, stamps)
        if value:
            return value, "header"
    best: tuple[int, int, int, str] | None = None
    for index, sentence in enumerate(sentences):
        if not _HAS_YEAR.search(sentence):
            continue
        if cues.credit.search(sentence):
            continue
        for order, (value, precision) in enumerate(find_dates(sentence, language, cues)):
            if precision == 1 and index >= LEAD_SENTENCES:
                continue
            # in reading order within a sentence too ("On 15 May ... its decision, dated 1 May")
            key = (-precision, index, order, value)
            if best is None or key < best:
                best = key
    if best is None:
        return None, "none"
    return best[3], "body"
