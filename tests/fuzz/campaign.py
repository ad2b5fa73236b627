#!/usr/bin/env python
"""Fuzz campaign for the core: any bytes end as an article or a rejection, in bounded time.

    python tests/fuzz/campaign.py --cases 100000 [--seed N] [--report RELIABILITY.md]
                                  [--corpus tests/fuzz/corpus] [--workers 1]

Every case is generated from ``(seed, case number)`` alone, so any case can be
regenerated (``--show-case N``) and the figures do not depend on the number of
workers. Generator families: random bytes; mutations of the example articles
(truncation, splicing, a segment repeated thousands of times, control characters,
NUL and encoded lone surrogates, flipped bytes); re-encodings; article structure
(date header, title, captions, boilerplate, hard wrapping); patterns repeated
against the regular expressions of parse, text, dates and events; the rules' own
words in random order; mixed scripts; Unicode oddities; huge single lines and huge
articles up to ``CoreConfig().max_bytes``; and the shapes that were once slow.

Each case runs ``Enricher.analyse`` once, timed with ``time.perf_counter``. A case is
a *crash* when an exception escapes the core, or the result is not an
``EnrichedArticle`` or a ``Rejection`` with a reason, or it does not serialise to
JSON; a *hang* when it does not finish within ``--hang-seconds`` (the worker is
killed and the campaign goes on); *slow* when it takes more than ``--slow-factor``
times its budget: the median time of a typical article (``examples/inbox``), scaled
by size for larger inputs.

Crashing, hanging and slow inputs are written to ``--corpus`` (name: sha256 prefix +
``.bin``, listed in its INDEX.md), except those derived from the private seed
articles (``--seeds``), which are read at run time only and go to ``--private-dir``.
``--keep-slowest K`` also keeps the K most expensive inputs for their size of each
family; ``--show-case N --save WHY`` keeps one case; ``--save-regressions`` keeps the
once-slow shapes at the size that took seconds. ``--atheris`` runs a coverage-guided
campaign instead (``pip install atheris``), starting from the corpus and the examples.
"""

from __future__ import annotations

import argparse
import codecs
import gc
import hashlib
import math
import multiprocessing as mp
import os
import platform
import queue
import random
import re
import statistics
import sys
import tempfile
import time
import traceback
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "inbox"
DEFAULT_CORPUS = ROOT / "tests" / "fuzz" / "corpus"
DEFAULT_SEED = 20190326
REPORT_BEGIN = "<!-- fuzz-campaign:begin -->"
REPORT_END = "<!-- fuzz-campaign:end -->"
# The largest input kept as the representative of a family (larger ones are described
# in the report, not kept).
CORPUS_MAX_BYTES = 32 * 1024
HUGE_KEEP_BYTES = 320 * 1024  # the most a kept input may weigh

# --------------------------------------------------------------------------- text bank

SCRIPTS = {
    "latin": "Regeringen förbjöd utrustning från Huawei – Øresund, Ærø, Straße, garçon, naïve.",
    "cyrillic": "Правительство запретило оборудование Huawei в сетях 5G с 1 января 2020 года.",
    "greek": "Η κυβέρνηση απαγόρευσε τον εξοπλισμό της Huawei στα δίκτυα 5G ΣΟΦΟΣ.",
    "arabic": "حظرت الحكومة معدات هواوي في شبكات الجيل الخامس منذ ١٢ مارس ٢٠١٩.",
    "hebrew": "הממשלה אסרה על ציוד של וואווי ברשתות הדור החמישי.",
    "chinese": "政府禁止在5G网络中使用华为设备，自2019年3月起生效。",
    "japanese": "政府は5GネットワークでのファーウェイのICT機器の使用を禁止した。",
    "korean": "정부는 5G 네트워크에서 화웨이 장비 사용을 금지했다.",
    "devanagari": "सरकार ने 5G नेटवर्क में हुआवेई उपकरणों पर प्रतिबंध लगा दिया।",
    "thai": "รัฐบาลสั่งห้ามอุปกรณ์หัวเว่ยในเครือข่าย 5G",
    "emoji": "📱🚫🇨🇳 👩🏽‍💻 🏳️‍🌈 ✅ 5G⚡",
}

# (name, codec, byte-order mark to prepend, script that the codec can carry)
ENCODINGS: tuple[tuple[str, str, bytes, str], ...] = (
    ("utf-8", "utf-8", b"", "mixed"),
    ("utf-8-sig", "utf-8", codecs.BOM_UTF8, "mixed"),
    ("utf-16-le", "utf-16-le", b"", "mixed"),
    ("utf-16-be", "utf-16-be", b"", "mixed"),
    ("utf-16-le+bom", "utf-16-le", codecs.BOM_UTF16_LE, "mixed"),
    ("utf-16-be+bom", "utf-16-be", codecs.BOM_UTF16_BE, "mixed"),
    ("utf-32", "utf-32", b"", "mixed"),
    ("cp1252", "cp1252", b"", "latin"),
    ("latin-1", "latin-1", b"", "latin"),
    ("cp1250", "cp1250", b"", "latin"),
    ("iso-8859-15", "iso-8859-15", b"", "latin"),
    ("mac-roman", "mac_roman", b"", "latin"),
    ("koi8-r", "koi8-r", b"", "cyrillic"),
    ("cp1251", "cp1251", b"", "cyrillic"),
    ("shift_jis", "shift_jis", b"", "japanese"),
    ("gb18030", "gb18030", b"", "chinese"),
    ("big5", "big5", b"", "chinese"),
    ("euc-kr", "euc-kr", b"", "korean"),
    ("utf-7", "utf-7", b"", "mixed"),
)

# Repeated patterns aimed at the regular expressions and loops of the core:
# parse (credits, captions, boilerplate, header, hard wrapping), text (sentence
# boundaries, abbreviations), dates (days, months, years, cues), events (triggers,
# negations, cues, gaps), entities (names, demonyms, first names) and decode.
PATTERNS: tuple[str, ...] = (
    "(",
    ")",
    "((((",
    "(Photo ",
    "(AP Photo/",
    "(AP/ ",
    "(Reuters",
    "(" + "a" * 99,
    "(Foto: ANP) ",
    "Foto: ",
    "Foto: x (AP Photo/y)\n",
    "Photo: The minister. The ban was approved. Picture: x (AFP)\n",
    "© ",
    "(c) ",
    "copyright ",
    "all rights reserved ",
    "Lees ook: ",
    "Read more\n",
    "Läs också ",
    "date ",
    "date 2019-",
    " date 2019-01-01 ",
    "\t",
    " ",
    "  \n",
    "\n",
    "\r",
    "\r\n",
    "x\n",
    "and the ban continued\n",
    "A\n",
    "Heading Without End\n\n",
    ".",
    "!?",
    "…",
    ". ",
    '." ',
    ".) ",
    "Dr. ",
    "1. ",
    "J. ",
    "bl.a. ",
    ". A",
    "...A ",
    '?!")]» ',
    "\"'”’»)]",
    "“‘„«([",
    "1",
    "2019",
    "1 ",
    "01.01.2019 ",
    "2019-01-01",
    "1 januari 2019 ",
    "January 2019 ",
    "januari ",
    "1er janvier 2019 ",
    "14. Juli 2020 ",
    "1.1.",
    "1-1-2019-1-1-2019",
    "by 1 January 2023, ",
    "Monday ",
    "since May 2019 ",
    "0",
    "not ban Huawei ",
    "ban ",
    "the government did not ban Huawei and ",
    "kan ikke længere bruges ",
    "må ikke ",
    "verbod niet ",
    "niet ",
    "nicht verboten ",
    "rejected the proposal to ban ",
    "proposed ban ",
    "sanctions ",
    "Huawei ZTE Ericsson Nokia ",
    "Huaweis ",
    "Chinese ",
    "Jan de Vries ",
    "Jan ",
    "Van ",
    ", ; : ( ) – — ",
    "ne pas interdire ",
    "inte förbud ",
    "ikke forbud ",
    "kun ",
    "not only ",
    "Ã©",
    "a",
    "_",
    "5g ",
    "a1",
    "\u0301",
    "a\u0301",
    "\u0f73",
    "\u200b",
    "\u202e",
    "\ufeff",
    "ß",
    "İ",
    "Σ",
    "\ufdfa",
    "ﬃ",
    "Ａ",
)

DIRECTION_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u0483", "\u05b0", "\u0f71", "\u20d7"]
VARIATION = [chr(c) for c in range(0xFE00, 0xFE10)] + ["\U000e0100"]
ODD_CASE = ["İ", "ß", "ﬁ", "Σ", "ς", "ǅ", "ẞ", "ı", "ŉ", "Ω"]
CONTROLS: tuple[bytes, ...] = (
    b"\x00",
    *(bytes([c]) for c in range(1, 32) if c not in (9, 10, 13)),
    b"\x7f",
    *(chr(c).encode("utf-8") for c in range(0x80, 0xA0)),
    *(bytes([c]) for c in range(0x80, 0xA0)),
    b"\xed\xa0\x80",  # lone high surrogate, UTF-8 encoded
    b"\xed\xbf\xbf",  # lone low surrogate
    "\ud800".encode("utf-16-le", "surrogatepass"),
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    "\u2028".encode(),
    "\u2029".encode(),
    "\x85".encode(),
    "\ue000".encode(),
    "\uffff".encode(),
    b"\r",
    b"\r\n",
)


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Article:
    name: str
    data: bytes
    text: str
    private: bool  # a seed article: never written into the repository


def load_articles(seeds: Path | None) -> list[Article]:
    out = []
    dirs = [(EXAMPLES, False)] + ([(seeds, True)] if seeds is not None and seeds.is_dir() else [])
    for folder, private in dirs:
        for path in sorted(folder.glob("*.txt")):
            data = path.read_bytes()
            out.append(Article(path.name, data, data.decode("utf-8", "replace"), private))
    if not out:
        raise SystemExit(f"no articles in {EXAMPLES}")
    return out


def default_seeds() -> Path | None:
    candidates = [os.environ.get("WIREWATCH_SEEDS"), str(ROOT.parent / "shared" / "seeds")]
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), None)


# --------------------------------------------------------------------------- generation


@dataclass
class Gen:
    """The state of one case's generation: its own random source and provenance."""

    rng: random.Random
    articles: list[Article]
    max_bytes: int
    private: bool = False

    def article(self) -> Article:
        art = self.rng.choice(self.articles)
        self.private = self.private or art.private
        return art

    def size(self, low: int, high: int) -> int:
        """Log-uniform in [low, high]: mostly small, now and then large."""
        return int(math.exp(self.rng.uniform(math.log(low + 1), math.log(high + 1)))) - 1

    def text(self) -> str:
        """An article's text, or a few articles' paragraphs shuffled together."""
        if self.rng.random() < 0.7:
            return self.article().text
        paras = []
        for _ in range(self.rng.randint(2, 4)):
            paras.extend(self.article().text.split("\n\n"))
        self.rng.shuffle(paras)
        return "\n\n".join(paras)


def _fit(data: bytes, limit: int) -> bytes:
    return data[:limit]


def gen_random_bytes(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    n = g.size(0, 65536)
    kind = rng.choice(["any", "ascii", "words", "high", "utf8", "whitespace"])
    if kind == "any":
        data = rng.randbytes(n)
    elif kind == "ascii":
        data = bytes(rng.choices([*range(32, 127), 9, 10, 13], k=n))
    elif kind == "words":
        letters = "abcdefghijklmnopqrstuvwxyzéöåæø"
        words, total = [], 0
        while total < n:
            word = "".join(rng.choices(letters, k=rng.randint(1, 12)))
            words.append(word + rng.choice([" ", " ", " ", ". ", ", ", "\n", "\n\n"]))
            total += len(words[-1])
        data = "".join(words).encode()
    elif kind == "high":
        data = bytes(rng.choices([*range(128, 256), 32, 32, 10], k=n))
    elif kind == "utf8":
        chars = []
        for _ in range(n // 2):
            c = rng.randrange(0x20, 0x110000)
            chars.append(chr(c) if not 0xD800 <= c < 0xE000 else " ")
        data = "".join(chars).encode()
    else:
        data = bytes(rng.choices(b" \t\r\n\x0b\x0c", k=n))
    return _fit(data, g.max_bytes), f"random bytes ({kind})"


def gen_truncate(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    data = g.article().data
    if rng.random() < 0.3:
        data = g.article().text.encode(rng.choice(["utf-16", "utf-8-sig", "cp1252"]), "replace")
    i, j = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    how = rng.choice(["prefix", "suffix", "middle", "hole"])
    out = {"prefix": data[:i], "suffix": data[i:], "middle": data[i:j], "hole": data[:i] + data[j:]}
    return out[how], f"truncated article ({how})"


def gen_splice(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    a, b = g.article(), g.article()
    how = rng.choice(["cut", "insert", "lines", "encodings"])
    if how == "cut":
        data = a.data[: rng.randrange(len(a.data) + 1)] + b.data[rng.randrange(len(b.data) + 1) :]
    elif how == "insert":
        at = rng.randrange(len(a.data) + 1)
        data = a.data[:at] + b.data + a.data[at:]
    elif how == "lines":
        lines = a.text.splitlines() + b.text.splitlines()
        rng.shuffle(lines)
        data = "\n".join(lines).encode()
    else:
        at = rng.randrange(len(a.data) + 1)
        data = a.data[:at] + b.text.encode(rng.choice(["utf-16", "cp1252", "utf-16-be"]), "replace")
    return data, f"two articles spliced ({how})"


def gen_repeat_segment(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    data = g.article().data
    i = rng.randrange(len(data))
    seg = data[i : i + g.size(1, 200)] or data[:1]
    cap = 1024 * 1024 if rng.random() < 0.05 else 128 * 1024
    times = max(2, min(g.size(2, 20000), cap // len(seg)))
    sep = rng.choice([b"", b"", b" ", b"\n", b"\n\n"])
    at = rng.randrange(len(data) + 1)
    return data[:at] + (seg + sep) * times + data[at:], f"segment of {len(seg)} bytes x{times}"


def gen_control_chars(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    data = bytearray(g.article().data)
    dense = rng.random() < 0.3
    count = int(len(data) * rng.uniform(0.001, 0.05)) + 1 if dense else rng.randint(1, 40)
    for _ in range(count):
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.choice(CONTROLS)
    return bytes(data), f"{count} control characters / NUL / lone surrogates inserted"


def gen_flip_bytes(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    art = g.article()
    data = bytearray(art.data if rng.random() < 0.7 else art.text.encode("utf-16"))
    flips = g.size(1, 256)
    for _ in range(flips):
        at = rng.randrange(len(data))
        if rng.random() < 0.5:
            data[at] ^= 1 << rng.randrange(8)
        else:
            data[at] = rng.randrange(256)
    return bytes(data), f"{flips} bytes flipped"


def gen_reencode(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    name, codec, bom, script = rng.choice(ENCODINGS)
    text = g.text()
    extra = SCRIPTS.get(script) if script != "mixed" else rng.choice(list(SCRIPTS.values()))
    if extra and rng.random() < 0.5:
        text = text.replace("\n\n", f"\n\n{extra} ", rng.randint(1, 3))
    errors = rng.choice(["replace", "ignore", "xmlcharrefreplace"])
    return bom + text.encode(codec, errors), f"re-encoded as {name} (errors={errors})"


def gen_structure(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    art = g.article().text
    lines = art.splitlines()
    body = [ln for ln in lines if ln.strip()]
    how = rng.choice(
        [
            "header",
            "title",
            "captions",
            "boilerplate",
            "wrap",
            "headings",
            "blank",
            "endings",
            "bare",
        ]
    )
    if how == "header":
        y, m, d = rng.choice(["2019", "0000", "9999", "19"]), rng.randint(0, 99), rng.randint(0, 99)
        head = rng.choice(["date", "DATE", " date", "date\t", "Date:"])
        text = f"{head} {y}-{m:02d}" + (f"-{d:02d}" if rng.random() < 0.5 else "") + " " + art
    elif how == "title":
        title = rng.choice(["", "?", "A" * 300, "Huawei ban (AP Photo/x)", "date 2019-01", "©"])
        text = title + "\n\n" + art
    elif how == "captions":
        cap = "Foto: Minister Jan de Vries. The ban was approved in May 2019. (ANP/Reuters)"
        text = "\n".join(ln if rng.random() < 0.7 else cap for ln in lines)
    elif how == "boilerplate":
        junk = ["© ANP 2019", "Lees ook: Huawei verbod", "All rights reserved.", "(c) AP"]
        text = "\n".join(ln + "\n" + rng.choice(junk) for ln in lines)
    elif how == "wrap":
        width = rng.randint(1, 80)
        out, line = [], ""
        for w in " ".join(body).split():
            if len(line) + len(w) > width:
                out.append(line)
                line = ""
            line += w.lower() + " "
        text = "\n".join([*out, line])
    elif how == "headings":
        text = "\n".join(" ".join(ln.split()[: rng.randint(1, 10)]) for ln in body for _ in (0, 1))
    elif how == "blank":
        text = ("\n" * rng.randint(0, 50)).join(body)
    elif how == "endings":
        text = art.replace("\n", rng.choice(["\r\n", "\r", "\u2028", "\x85", "\x0c", "\x0b"]))
    else:
        text = rng.choice(["", " ", "\n", "date 2019-01-01", "Huawei", "\ufeff", "a b c d e"])
    return text.encode("utf-8", "surrogatepass"), f"article structure ({how})"


def gen_pathological(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    chosen = rng.sample(PATTERNS, rng.choice([1, 1, 2, 3]))
    unit = "".join(chosen)
    target = g.size(256, 1024 * 1024 if rng.random() < 0.05 else 64 * 1024)
    times = max(1, target // max(1, len(unit.encode())))
    text = unit * times
    if rng.random() < 0.6:  # inside an article, so the text reaches events and dates
        art = g.article().text
        at = rng.randrange(len(art) + 1)
        text = art[:at] + rng.choice(["", " ", "\n", "\n\n"]) + text + art[at:]
    label = "+".join(repr(p) for p in chosen)
    return _fit(text.encode("utf-8", "surrogatepass"), g.max_bytes), f"{label} x{times}"


@lru_cache(maxsize=1)
def rule_words() -> dict[str, list[str]]:
    """Per language, the words of the event rules: triggers, terms, cues, negations."""
    out = {}
    for path in sorted(
        (ROOT / "services" / "wirewatch" / "core" / "data" / "events").glob("*.yaml")
    ):
        text = path.read_text(encoding="utf-8").lower()
        out[path.stem] = sorted({w for w in re.findall(r"\w+", text) if not w.isdigit()})
    return out


def gen_rule_words(g: Gen) -> tuple[bytes, str]:
    """The rules' own words in random order: many triggers, cues and negations at once."""
    rng = g.rng
    lang = rng.choice(sorted(rule_words()))
    words = rule_words()[lang]
    n = g.size(10, 20000)
    joiner = rng.choice([" ", " ", "\n", ", ", ". "])
    text = joiner.join(rng.choice(words) for _ in range(n))
    if rng.random() < 0.7:
        text = g.article().text + "\n\n" + text
    return text.encode(), f"{n} words of the {lang} rules joined by {joiner!r}"


def gen_mixed_scripts(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    pieces = list(SCRIPTS.values())
    words = [w for s in pieces for w in s.split()] + g.article().text.split()
    n = g.size(5, 4000)
    text = " ".join(rng.choice(words) for _ in range(n))
    if rng.random() < 0.3:
        text = "\n".join(rng.choice(pieces) for _ in range(n // 8 + 1))
    if rng.random() < 0.3:
        text = text.replace(" ", " " + rng.choice(DIRECTION_MARKS), rng.randint(1, 50))
    enc = rng.choice(["utf-8", "utf-8", "utf-16", "utf-8-sig"])
    return text.encode(enc), f"mixed scripts, {n} words ({enc})"


def gen_unicode_oddities(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    text = g.text()
    how = rng.choice(
        ["direction", "combining", "zalgo", "zero-width", "variation", "fullwidth", "nfd", "nfkd"]
        + ["homoglyphs", "case", "noncharacters", "surrogates", "tags"]
    )
    chars = list(text)
    if how == "direction":
        for _ in range(rng.randint(1, 200)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(DIRECTION_MARKS))
    elif how == "combining":
        for _ in range(rng.randint(1, 300)):
            at = rng.randrange(len(chars) + 1)
            chars.insert(at, "".join(rng.choices(COMBINING, k=rng.randint(1, 8))))
    elif how == "zalgo":
        at = rng.randrange(len(chars) + 1)
        chars.insert(at, "".join(rng.choices(COMBINING, k=g.size(30, 200000))))
    elif how == "zero-width":
        chars = [c + (rng.choice(ZERO_WIDTH) if rng.random() < 0.2 else "") for c in chars]
    elif how == "variation":
        chars = [c + (rng.choice(VARIATION) if rng.random() < 0.2 else "") for c in chars]
    elif how == "fullwidth":
        chars = [chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in chars]
    elif how in ("nfd", "nfkd"):
        chars = list(unicodedata.normalize(how.upper(), text))
    elif how == "homoglyphs":
        table = str.maketrans("aeopcxyAEOPCHKMT", "аеорсхуАЕОРСНКМТ")
        chars = list(text.translate(table))
    elif how == "case":
        for _ in range(rng.randint(1, 200)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(ODD_CASE))
    elif how == "noncharacters":
        for _ in range(rng.randint(1, 50)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(["\ufffe", "\uffff", "\ufdd0"]))
    elif how == "surrogates":
        for _ in range(rng.randint(1, 20)):
            chars.insert(rng.randrange(len(chars) + 1), chr(rng.randrange(0xD800, 0xE000)))
    else:
        chars.insert(0, "".join(chr(0xE0000 + ord(c)) for c in "tag-sequence"))
    enc = rng.choice(["utf-8", "utf-16", "utf-16-le", "utf-8-sig"])
    return "".join(chars).encode(enc, "surrogatepass"), f"unicode oddities ({how}, {enc})"


# The shapes that once took quadratic (or worse) time in the core, with the size at
# which each took seconds before the fix; kept so the fixes stay.
REGRESSIONS: dict[str, tuple[Callable[[int], str], int]] = {
    "negated triggers in one sentence": (
        lambda n: "The government did not ban Huawei and " + "not ban Huawei " * n + ".",
        300,
    ),
    "rejection cues and triggers": (
        lambda n: "Huawei: the cabinet\n" + "rejected the proposal to ban\n" * n,
        2000,
    ),
    "hard-wrapped lower-case lines": (
        lambda n: "Huawei ban news today\n\n" + "the ban on huawei equipment was discussed\n" * n,
        1000,
    ),
    "abbreviations without a sentence end": (
        lambda n: "The government banned Huawei today " + "Dr. " * n,
        3000,
    ),
    "dates in one sentence": (
        lambda n: "The government banned Huawei on " + "1 January 2019, " * n,
        1200,
    ),
    "run of dots": (
        lambda n: "The government banned Huawei equipment today. " * 20 + "\n" + "." * n,
        20000,
    ),
    "one long word": (
        lambda n: "The government banned Huawei. Ministers " + "er" * n + " said. They left.",
        7000,
    ),
    "run of combining marks": (
        lambda n: "The government banned Huawei equipment today.\n" + "a" + "\u0301\u0316" * n,
        25000,
    ),
}


def regression_input(name: str, n: int | None = None) -> bytes:
    build, size = REGRESSIONS[name]
    return build(size if n is None else n).encode()


def gen_regressions(g: Gen) -> tuple[bytes, str]:
    name = g.rng.choice(sorted(REGRESSIONS))
    n = g.size(50, 5000)
    return regression_input(name, n), f"regression: {name} (n={n})"


def gen_huge_line(g: Gen) -> tuple[bytes, str]:
    rng = g.rng
    size = g.size(64 * 1024, g.max_bytes)
    if rng.random() < 0.1:
        size = g.max_bytes + rng.choice([0, 0, 1])
    kind = rng.choice(["article", "char", "words", "digits", "punct"])
    if kind == "article":
        unit = g.article().text.replace("\n", " ").encode()
    elif kind == "char":
        unit = rng.choice([b"a", b"(", b".", b" ", b"1", "é".encode(), "中".encode()])
    elif kind == "words":
        unit = b"Huawei ban verbod forbud Verbot interdiction "
    elif kind == "digits":
        unit = b"2019-01-01 12.03.2019 "
    else:
        unit = b".,;:!?()[]\"' "
    data = (unit * (size // len(unit) + 1))[:size]
    return data, f"one line of {size} bytes ({kind})"


def gen_huge_text(g: Gen) -> tuple[bytes, str]:
    size = g.size(256 * 1024, g.max_bytes)
    unit = (g.text() + "\n\n").encode()
    data = (unit * (size // len(unit) + 1))[:size]
    return data, f"article text of {size} bytes"


FAMILIES: dict[str, tuple[float, Callable[[Gen], tuple[bytes, str]]]] = {
    "random_bytes": (9, gen_random_bytes),
    "truncate": (8, gen_truncate),
    "splice": (8, gen_splice),
    "repeat_segment": (8, gen_repeat_segment),
    "control_chars": (7, gen_control_chars),
    "flip_bytes": (7, gen_flip_bytes),
    "reencode": (10, gen_reencode),
    "structure": (6, gen_structure),
    "pathological": (14, gen_pathological),
    "rule_words": (4, gen_rule_words),
    "mixed_scripts": (7, gen_mixed_scripts),
    "unicode_oddities": (8, gen_unicode_oddities),
    "regressions": (1.5, gen_regressions),
    "huge_line": (0.5, gen_huge_line),
    "huge_text": (0.08, gen_huge_text),
}


@dataclass
class Case:
    index: int
    family: str
    data: bytes
    description: str
    private: bool


def make_case(seed: int, index: int, articles: list[Article], max_bytes: int) -> Case:
    """Case ``index`` of the campaign ``seed``: depends on nothing else."""
    rng = random.Random(f"{seed}:{index}")
    names = list(FAMILIES)
    family = rng.choices(names, weights=[FAMILIES[n][0] for n in names])[0]
    g = Gen(rng, articles, max_bytes)
    data, description = FAMILIES[family][1](g)
    return Case(index, family, data, description, g.private)


# --------------------------------------------------------------------------- running


def check(enricher, data: bytes) -> tuple[str, float]:
    """Run one input: (outcome code, ms in ``analyse``); AssertionError on a contract breach.

    The result must also serialise to JSON, as every store and topic needs it to.
    """
    from wirewatch.core.models import EnrichedArticle, Rejection, Source

    source = Source(path="fuzz.bin")
    started = time.perf_counter()
    out = enricher.analyse(data, source)
    elapsed = (time.perf_counter() - started) * 1000
    if isinstance(out, Rejection):
        reason = out.rejected.reason
        if not (isinstance(reason, str) and reason.strip()):
            raise AssertionError(f"rejection {out.rejected.code} without a reason")
        outcome = out.rejected.code
    elif isinstance(out, EnrichedArticle):
        outcome = "enriched"
    else:
        raise AssertionError(f"analyse returned {type(out).__name__}")
    out.model_dump_json()
    return outcome, elapsed


def _worker(worker: int, step: int, first: int, stop: int, args: dict, results) -> None:
    from wirewatch.core.logic import CoreConfig, Enricher, Resources

    enricher = Enricher(Resources.load(), CoreConfig())
    articles = load_articles(args["seeds"])
    # A garbage collection pause belongs to the process, not to the input that happens
    # to trigger it: collect between cases, outside the timed call.
    gc.disable()
    for n, index in enumerate(range(first, stop, step)):
        if n % 100 == 0:
            gc.collect()
        case = make_case(args["seed"], index, articles, args["max_bytes"])
        results.put(("start", worker, index))
        error = None
        started = time.perf_counter()
        try:
            outcome, elapsed = check(enricher, case.data)
        except Exception as exc:  # a crash: what the campaign looks for
            outcome, elapsed = "crash", (time.perf_counter() - started) * 1000
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            error = f"{type(exc).__name__}: {exc} ({Path(frame.filename).name}:{frame.lineno})"
        record = (index, case.family, len(case.data), elapsed, outcome, error)
        results.put(("done", worker, *record, case.description, case.private))
    results.put(("exit", worker))


def retime(res: Results, opts) -> None:
    """Run the slowest cases again, each on its own (median of 3 runs after a warm-up).

    A single slow measurement in a long campaign may be the machine (another process,
    the scheduler); a slow input is slow every time.
    """
    from wirewatch.core.logic import CoreConfig, Enricher, Resources

    enricher = Enricher(Resources.load())
    articles = load_articles(opts.seeds)
    recs = res.worst_ratio + res.worst[:3] + res.slow[:50]
    done: dict[int, float] = {}
    for rec in recs:
        if rec.index not in done:
            case = make_case(opts.seed, rec.index, articles, CoreConfig().max_bytes)
            check(enricher, case.data)
            done[rec.index] = statistics.median(check(enricher, case.data)[1] for _ in range(3))
        rec.alone = done[rec.index]


def typical_article_ms(repeat: int = 5) -> tuple[float, int, int]:
    """Median time of the example articles (each run ``repeat`` times), their median size."""
    from wirewatch.core.logic import Enricher, Resources
    from wirewatch.core.models import Source

    enricher = Enricher(Resources.load())
    paths = sorted(EXAMPLES.glob("*.txt"))
    times = []
    for path in paths:
        data = path.read_bytes()
        enricher.analyse(data, Source(path=path.name))
        for _ in range(repeat):
            started = time.perf_counter()
            enricher.analyse(data, Source(path=path.name))
            times.append((time.perf_counter() - started) * 1000)
    size = int(statistics.median(p.stat().st_size for p in paths))
    return statistics.median(times), size, len(paths)


@dataclass
class Record:
    index: int
    family: str
    size: int
    ms: float
    outcome: str
    error: str | None
    description: str
    private: bool
    ratio: float = 0.0  # time over the size-scaled budget
    alone: float | None = None  # ms when re-timed on its own (median of 3 runs)


@dataclass
class Results:
    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    by_family: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    crashes: list[Record] = field(default_factory=list)
    hangs: list[Record] = field(default_factory=list)
    slow: list[Record] = field(default_factory=list)
    worst: list[Record] = field(default_factory=list)  # slowest by time
    worst_ratio: list[Record] = field(default_factory=list)  # slowest for their size


def _keep_top(items: list[Record], rec: Record, key, n: int) -> None:
    items.append(rec)
    items.sort(key=key, reverse=True)
    del items[n:]


def run_campaign(opts) -> tuple[Results, dict]:
    from wirewatch.core.logic import CoreConfig

    max_bytes = CoreConfig().max_bytes
    typical_ms, typical_size, typical_n = typical_article_ms()
    info = {"typical_ms": typical_ms, "typical_size": typical_size, "typical_n": typical_n}
    print(f"typical article: {typical_ms:.2f} ms median over {typical_n} examples", flush=True)
    per_byte = typical_ms / typical_size

    def budget(size: int) -> float:
        return max(typical_ms, per_byte * size)

    info["budget"] = budget

    args = {"seed": opts.seed, "seeds": opts.seeds, "max_bytes": max_bytes}
    ctx = mp.get_context("fork")
    results_q = ctx.Queue(maxsize=10000)
    workers: dict[int, tuple] = {}  # worker -> (process, index running, since)

    def start(worker: int, first: int) -> None:
        proc = ctx.Process(
            target=_worker,
            args=(worker, opts.workers, first, opts.cases, args, results_q),
            daemon=True,
        )
        proc.start()
        workers[worker] = (proc, None, time.monotonic())

    articles = load_articles(opts.seeds)

    def lost(w: int, index: int, outcome: str, ms: float, error: str | None) -> None:
        """A case whose worker had to be killed or died: regenerate it to describe it."""
        case = make_case(opts.seed, index, articles, max_bytes)
        rec = Record(
            index, case.family, len(case.data), ms, outcome, error, case.description, case.private
        )
        (res.hangs if outcome == "hang" else res.crashes).append(rec)
        res.cases += 1
        res.outcomes[outcome] += 1
        print(
            f"{outcome.upper()} case {index} {case.family}: {error or case.description}", flush=True
        )
        if index + opts.workers < opts.cases:
            start(w, index + opts.workers)

    res = Results()
    began = time.monotonic()
    for w in range(min(opts.workers, opts.cases)):
        start(w, w)
    while workers:
        try:
            msg = results_q.get(timeout=1.0)
        except queue.Empty:
            msg = None
        now = time.monotonic()
        if msg is None:
            for w, (proc, index, since) in list(workers.items()):
                if index is not None and now - since > opts.hang_seconds:
                    proc.kill()
                    proc.join()
                    del workers[w]
                    lost(w, index, "hang", (now - since) * 1000, None)
                elif not proc.is_alive() and (index is not None or now - since > 60):
                    # The worker died (killed by the system, or the interpreter crashed).
                    del workers[w]
                    if index is not None:
                        lost(w, index, "crash", 0.0, "the worker process died")
            continue
        kind, w = msg[0], msg[1]
        if kind == "start":
            workers[w] = (workers[w][0], msg[2], now)
            continue
        if kind == "exit":
            workers[w][0].join()
            del workers[w]
            continue
        rec = Record(*msg[2:])
        rec.ratio = rec.ms / budget(rec.size)
        workers[w] = (workers[w][0], None, now)
        res.cases += 1
        res.outcomes[rec.outcome] += 1
        res.times.append(rec.ms)
        res.by_family[rec.family].append(rec)
        _keep_top(res.worst, rec, lambda r: r.ms, 10)
        _keep_top(res.worst_ratio, rec, lambda r: r.ratio, 10)
        if rec.outcome == "crash":
            res.crashes.append(rec)
            print(f"CRASH case {rec.index} {rec.family}: {rec.error}", flush=True)
        elif rec.ratio > opts.slow_factor:
            res.slow.append(rec)
            print(f"SLOW case {rec.index} {rec.family} {rec.size} B {rec.ms:.0f} ms", flush=True)
        if res.cases % opts.progress == 0:
            elapsed = time.monotonic() - began
            print(
                f"{res.cases}/{opts.cases} cases  {elapsed:.0f} s  "
                f"{res.cases / elapsed:.0f}/s  crashes={len(res.crashes)} "
                f"hangs={len(res.hangs)} slow={len(res.slow)}  "
                f"max={max(res.times):.0f} ms",
                flush=True,
            )
    info["elapsed_s"] = time.monotonic() - began
    return res, info


# --------------------------------------------------------------------------- corpus


INDEX_HEAD = """# Fuzz corpus

Inputs kept by `tests/fuzz/campaign.py` and replayed by `tests/unit/test_fuzz_corpus.py`
in the normal test run: each must end as an enriched article or as a rejection with a
reason. A file is named by the first 16 hex digits of its SHA-256. None is derived
from the private seed articles.

| file | family | kept because | input |
|---|---|---|---|
"""


def save_input(data: bytes, folder: Path, family: str = "", why: str = "", what: str = "") -> Path:
    """Write ``data`` as ``<sha256 prefix>.bin``; in the corpus, also list it in INDEX.md."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(data).hexdigest()[:16] + ".bin")
    if not path.exists():
        path.write_bytes(data)
    index = folder / "INDEX.md"
    if folder.resolve() == DEFAULT_CORPUS.resolve() or index.exists():
        rows = {}
        if index.exists():
            for line in index.read_text(encoding="utf-8").splitlines():
                if line.startswith("| `"):
                    rows[line.split("`")[1]] = line
        cells = [c.replace("|", "\\|").replace("`", "'") for c in (family, why, what)]
        rows[path.name] = f"| `{path.name}` | {cells[0]} | {cells[1]} | {cells[2]} |"
        body = "".join(rows[name] + "\n" for name in sorted(rows))
        index.write_text(INDEX_HEAD + body, encoding="utf-8")
    return path


def save_findings(res: Results, opts, info: dict) -> list[str]:
    """Write crashing, hanging and slow inputs (and the K slowest per family) to the corpus."""
    articles = load_articles(opts.seeds)
    from wirewatch.core.logic import CoreConfig

    max_bytes = CoreConfig().max_bytes
    chosen: dict[int, str] = {}
    for rec in res.crashes + res.hangs + res.slow:
        chosen[rec.index] = "crash" if rec.outcome in ("crash", "hang") else "slow"
    if opts.keep_slowest:
        for records in res.by_family.values():
            small = [r for r in records if r.size <= CORPUS_MAX_BYTES and r.outcome != "crash"]
            small.sort(key=lambda r: r.ratio, reverse=True)
            for r in small[: opts.keep_slowest]:
                chosen.setdefault(r.index, "slowest of its family for its size")
            if not small:  # a family of huge inputs: its smallest, if that is not too big
                least = min(records, key=lambda r: r.size)
                if least.size <= HUGE_KEEP_BYTES:
                    chosen.setdefault(least.index, "smallest of its family")
    lines = []
    for index, why in sorted(chosen.items()):
        case = make_case(opts.seed, index, articles, max_bytes)
        if case.private or len(case.data) > HUGE_KEEP_BYTES:
            folder = opts.private_dir
        else:
            folder = opts.corpus
        what = f"case {index} of seed {opts.seed}: {case.description}, {len(case.data):,} bytes"
        path = save_input(case.data, folder, case.family, why, what)
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        lines.append(f"{why}: case {index} {case.family} ({case.description}) -> {where}")
    return lines


# --------------------------------------------------------------------------- report


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render_report(res: Results, info: dict, opts, saved: list[str]) -> str:
    times = res.times
    median = statistics.median(times) if times else 0.0
    worst = res.worst[0] if res.worst else None
    worst_ratio = res.worst_ratio[0] if res.worst_ratio else None
    rejected = {k: v for k, v in res.outcomes.items() if k not in ("enriched", "crash", "hang")}
    cmd = f"python tests/fuzz/campaign.py --cases {opts.cases} --seed {opts.seed}"
    if opts.workers != 1:
        cmd += f" --workers {opts.workers}"
    if opts.keep_slowest:
        cmd += f" --keep-slowest {opts.keep_slowest}"
    cmd += " --report RELIABILITY.md"
    article_sized = [r for recs in res.by_family.values() for r in recs if r.size <= 65536]
    budget = info["budget"]

    def alone_text(r: Record) -> str:
        if r.alone is None:
            return "not re-timed"
        return f"{r.alone:.1f} ms = {r.alone / budget(r.size):.1f}x"

    timed = [r for r in res.worst_ratio if r.alone is not None]
    alone_worst = max(timed, key=lambda r: r.alone / budget(r.size)) if timed else None
    max_alone = alone_worst.alone / budget(alone_worst.size) if alone_worst else 0.0
    confirmed = sum(
        1 for r in res.slow if r.alone is not None and r.alone / budget(r.size) > opts.slow_factor
    )
    worst_small = max(article_sized, key=lambda r: r.ms) if article_sized else None
    cpu = _cpu_name()
    lines = [
        REPORT_BEGIN,
        "## Fuzz campaign",
        "",
        f"Command: `{cmd}` (seed {opts.seed}; every case is regenerated from the seed and",
        "its number, e.g. `--show-case N`).",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {info['elapsed_s'] / 60:.1f} min on "
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{opts.workers} worker process(es); times are wall-clock per `Enricher.analyse` call "
        "(garbage collection runs between cases, outside the timed call); a case that "
        f"runs over {opts.hang_seconds:g} s is a hang.",
        "",
        "| cases | crashes | hangs | slow (> "
        f"{opts.slow_factor:g}x budget) | enriched | rejected |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {res.cases} | {len(res.crashes)} | {len(res.hangs)} | {len(res.slow)} | "
        f"{res.outcomes.get('enriched', 0)} | {sum(rejected.values())} |",
        "",
        "Rejections by code: "
        + ", ".join(f"`{k}` {v}" for k, v in sorted(rejected.items(), key=lambda kv: -kv[1]))
        + ".",
        "",
        "| time per case | ms |",
        "|---|---:|",
        f"| median | {median:.2f} |",
        f"| p99 | {_pct(times, 0.99):.1f} |",
        f"| p99.9 | {_pct(times, 0.999):.1f} |",
        f"| max | {max(times) if times else 0:.1f} |",
        f"| typical article (median of {info['typical_n']} examples in `examples/inbox`, "
        f"median size {info['typical_size']} B) | {info['typical_ms']:.2f} |",
        "",
    ]
    if worst is not None and worst_ratio is not None:
        lines += [
            f"Worst case / median: **{worst.ms / median:.0f}x** - the slowest input is "
            f"`{worst.family}`: {worst.description}, {worst.size:,} bytes, "
            f"{worst.ms:.0f} ms ({worst.ms / max(1, worst.size) * 1024:.2f} ms/KiB).",
            f"Worst case / typical article: **{worst.ms / info['typical_ms']:.0f}x** in time, "
            f"for an input {worst.size / info['typical_size']:.0f}x its size.",
            "",
        ]
    if worst_small is not None and worst_ratio is not None:
        lines += [
            f"Among the {len(article_sized):,} inputs of up to 64 KiB (article-sized and "
            f"well beyond): worst {worst_small.ms:.0f} ms = "
            f"**{worst_small.ms / median:.0f}x the median**, "
            f"{worst_small.ms / info['typical_ms']:.0f}x the typical article "
            f"(`{worst_small.family}`: {worst_small.description}, "
            f"{worst_small.size:,} bytes).",
            "",
            "The time of an input grows with its size, so each case is also held against a "
            "budget: the typical article's time scaled by size (at least the time of one "
            f"typical article; {info['typical_ms'] / info['typical_size'] * 1024:.2f} ms/KiB). "
            f"Worst case / budget: **{worst_ratio.ratio:.1f}x** - `{worst_ratio.family}`: "
            f"{worst_ratio.description}, {worst_ratio.size:,} bytes, {worst_ratio.ms:.0f} ms "
            f"(alone: {alone_text(worst_ratio)}). "
            f"A case over {opts.slow_factor:g}x its budget counts as slow.",
            "",
            f"Re-timed on their own (median of 3 runs), the {len(res.worst_ratio)} cases "
            "slowest for their size take at most "
            f"**{max_alone:.1f}x their budget**"
            + (
                f" (`{alone_worst.family}`: {alone_worst.description}, {alone_worst.size:,} "
                f"bytes, {alone_worst.alone:.0f} ms)."
                if alone_worst
                else "."
            )
            + f" Slow cases confirmed alone: {confirmed}.",
            "",
        ]
    lines += [
        "| family | cases | enriched | median ms | p99 ms | max ms | largest input | "
        "worst / budget |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in FAMILIES:
        recs = res.by_family.get(name, [])
        if not recs:
            continue
        ms = [r.ms for r in recs]
        lines.append(
            f"| {name} | {len(recs)} | {sum(r.outcome == 'enriched' for r in recs)} | "
            f"{statistics.median(ms):.2f} | {_pct(ms, 0.99):.1f} | {max(ms):.1f} | "
            f"{max(r.size for r in recs):,} B | {max(r.ratio for r in recs):.1f}x |"
        )
    lines += ["", "Slowest inputs:", ""]
    for r in res.worst[:5]:
        lines.append(
            f"- {r.ms:.0f} ms"
            + (f" (alone {r.alone:.0f} ms)" if r.alone is not None else "")
            + f": `{r.family}` {r.description}, {r.size:,} bytes (case {r.index})"
        )
    lines += ["", "Slowest for their size:", ""]
    for r in res.worst_ratio[:5]:
        lines.append(
            f"- {r.ratio:.1f}x budget ({r.ms:.1f} ms; alone {alone_text(r)}): `{r.family}` "
            f"{r.description}, {r.size:,} bytes (case {r.index})"
        )
    if res.crashes or res.hangs:
        lines += ["", "Crashes and hangs:", ""]
        for r in res.crashes + res.hangs:
            lines.append(f"- case {r.index} `{r.family}` {r.description}: {r.error or 'hang'}")
    if saved:
        lines += ["", "Inputs written:", ""] + [f"- {s}" for s in saved]
    lines += [REPORT_END, ""]
    return "\n".join(lines)


INTRO = """# Reliability

What this file records: how the core (`services/wirewatch/core`, `Enricher.analyse`) holds up
against hostile and malformed input. The contract is that any bytes end as an
enriched article or as a rejection with a reason - no exception escapes the core -
and that the time an input takes stays proportional to its size: no regular
expression backtracks catastrophically and every loop over the input is bounded.

`tests/fuzz/campaign.py` generates the inputs; the section below is written by its
last complete run. The interesting inputs are kept in `tests/fuzz/corpus/` and
replayed by `tests/unit/test_fuzz_corpus.py` in the normal test run.

"""


def write_report(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else INTRO
    if REPORT_BEGIN in text and REPORT_END in text:
        head, rest = text.split(REPORT_BEGIN, 1)
        tail = rest.split(REPORT_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- atheris


def run_atheris(opts) -> None:
    """Coverage-guided: libFuzzer mutates the corpus and the examples, ``--cases`` runs."""
    import atheris

    with atheris.instrument_imports(include=["wirewatch"]):
        from wirewatch.core.logic import Enricher, Resources

    enricher = Enricher(Resources.load())

    def one_input(data: bytes) -> None:
        check(enricher, data)

    start = Path(tempfile.mkdtemp(prefix="wirewatch-atheris-"))
    opts.private_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(EXAMPLES.glob("*.txt")) + sorted(opts.corpus.glob("*.bin")):
        (start / path.name).write_bytes(path.read_bytes())
    argv = [
        sys.argv[0],
        str(start),
        f"-runs={opts.cases}",
        f"-seed={opts.seed}",
        "-max_len=65536",
        f"-timeout={int(opts.hang_seconds)}",
        f"-artifact_prefix={opts.private_dir}/",
    ]
    print(f"atheris: {' '.join(argv[1:])}", flush=True)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--report", type=Path, help="markdown file to write the figures into")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seeds", type=Path, default=default_seeds(), help="private articles")
    parser.add_argument(
        "--private-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wirewatch-fuzz-private",
        help="where findings derived from the private articles go (outside the repository)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--slow-factor", type=float, default=20.0)
    parser.add_argument("--hang-seconds", type=float, default=120.0)
    parser.add_argument("--keep-slowest", type=int, default=0, metavar="K")
    parser.add_argument("--progress", type=int, default=1000, metavar="N")
    parser.add_argument("--show-case", type=int, metavar="N", help="describe case N and exit")
    parser.add_argument("--write-case", type=Path, metavar="FILE", help="with --show-case")
    parser.add_argument(
        "--save", metavar="WHY", help="with --show-case: keep the case in the corpus, saying why"
    )
    parser.add_argument(
        "--save-regressions",
        action="store_true",
        help="keep each once-slow shape, at the size that took seconds, in the corpus",
    )
    parser.add_argument("--atheris", action="store_true", help="coverage-guided instead")
    opts = parser.parse_args(argv)

    if opts.show_case is not None:
        from wirewatch.core.logic import CoreConfig

        case = make_case(
            opts.seed, opts.show_case, load_articles(opts.seeds), CoreConfig().max_bytes
        )
        print(f"case {case.index}: {case.family}: {case.description}, {len(case.data)} bytes")
        print(repr(case.data[:300]))
        if opts.write_case:
            opts.write_case.write_bytes(case.data)
        if opts.save:
            folder = opts.private_dir if case.private else opts.corpus
            what = f"case {case.index} of seed {opts.seed}: {case.description}, "
            what += f"{len(case.data):,} bytes"
            print(save_input(case.data, folder, case.family, opts.save, what))
        return 0
    if opts.save_regressions:
        for name, (_, n) in REGRESSIONS.items():
            data = regression_input(name)
            what = f"{name} (n={n}), {len(data):,} bytes"
            print(save_input(data, opts.corpus, "regressions", "slow before a fix", what))
        return 0
    if opts.atheris:
        run_atheris(opts)
        return 0

    res, info = run_campaign(opts)
    retime(res, opts)
    saved = save_findings(res, opts, info)
    section = render_report(res, info, opts, saved)
    print(section)
    if opts.report:
        write_report(opts.report, section)
    return 1 if res.crashes or res.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
