"""Bytes -> text, or a reason why the bytes are not an article.

Contract: ``decode(data, max_bytes)`` never raises for any input. It returns a
``Decoded`` (text + encoding name) or a ``RejectReason``. Invalid inputs are:
empty (no bytes or only whitespace), oversize (more than ``max_bytes``), binary
(a known binary signature, NUL bytes outside UTF-16, or many control
characters), undecodable (no supported encoding yields plausible text) and
not_language (decodes, but is not natural-language text).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .models import RejectReason

# Signatures of formats that are sometimes dropped into an inbox by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Single-byte encodings tried, in order, when the bytes are not UTF-8.
_LEGACY = ("cp1252", "cp1250", "cp1251", "iso-8859-15")
_SAMPLE = 65536


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def _reject(code: str, reason: str) -> RejectReason:
    return RejectReason(code=code, reason=reason)  # type: ignore[arg-type]


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:_SAMPLE]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _plausibility(text: str) -> float:
    """Share of characters that look like running text in a Latin/Cyrillic/Greek script."""
    sample = text[:_SAMPLE]
    if not sample:
        return 0.0
    good = 0
    for ch in sample:
        if ch.isalpha() or ch.isspace() or ch.isdigit() or ch in ".,;:!?'\"()-–—’‘“”«»/%&€$":
            good += 1
    return good / len(sample)


def _non_ascii_letter_ratio(text: str) -> float:
    letters = [c for c in text[:_SAMPLE] if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if ord(c) > 127) / len(letters)


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")


def _control_ratio(text: str) -> float:
    """Share of control, private-use and surrogate characters (not tab/newline/FF)."""
    sample = text[:_SAMPLE]
    if not sample:
        return 0.0
    return len(_CONTROL.findall(sample)) / len(sample)


def _legacy(data: bytes) -> Decoded | None:
    best: Decoded | None = None
    best_score = -1.0
    for enc in _LEGACY:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        # Text in a Latin-script language has few non-ASCII letters; a high share
        # means the bytes were meant for another code page (e.g. Cyrillic).
        ratio = _non_ascii_letter_ratio(text)
        if enc != "cp1251" and ratio > 0.4:
            score -= 0.5
        if enc == "cp1251" and ratio < 0.4:
            score -= 0.5
        # Running text has spaces between words; a long run of letters has none.
        if len(text) > 40 and sum(c.isspace() for c in text[:_SAMPLE]) < 0.03 * min(
            len(text), _SAMPLE
        ):
            score -= 0.5
        if score > best_score:
            best, best_score = Decoded(text, enc), score
    if best is None or best_score < 0.9:
        return None
    return best


def oversize(size: int, max_bytes: int) -> RejectReason:
    """The rejection for a file of ``size`` bytes over the ``max_bytes`` limit."""
    return _reject(
        "oversize",
        f"the file is {size} bytes, over the {max_bytes}-byte limit; split it or raise "
        "the limit (--max-bytes / WIREWATCH_CORE__MAX_BYTES)",
    )


def decode(data: bytes, max_bytes: int) -> Decoded | RejectReason:
    """Decode raw article bytes; see the module docstring for what is rejected."""
    size = len(data)
    if size == 0:
        return _reject("empty", "the file is empty (0 bytes); drop a file with article text")
    if size > max_bytes:
        return oversize(size, max_bytes)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return _reject("binary", f"the file is {what}, not article text")

    text: str | None = None
    encoding = ""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
                encoding = enc
            except UnicodeDecodeError:
                return _reject(
                    "undecodable",
                    f"the file starts with a {enc} byte-order mark but is not valid {enc}; "
                    "re-save it as UTF-8",
                )
            break
    if text is None:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            try:
                text, encoding = data.decode(utf16), utf16
            except UnicodeDecodeError:
                text = None
    if text is None:
        if b"\x00" in data[:_SAMPLE]:
            return _reject("binary", "the file contains NUL bytes: it is binary, not article text")
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            legacy = _legacy(data)
            if legacy is None:
                return _reject(
                    "undecodable",
                    f"the bytes are not UTF-8 (first bad byte at offset {exc.start}) and no "
                    "supported legacy encoding gives readable text; re-save the file as UTF-8",
                )
            text, encoding = legacy.text, legacy.encoding

    if _control_ratio(text) > 0.01:
        return _reject(
            "binary", "the file holds many control characters: it is binary, not article text"
        )
    text = text.lstrip("\ufeff")
    if not text.strip():
        return _reject("empty", "the file holds only whitespace; drop a file with article text")
    return Decoded(text, encoding)
