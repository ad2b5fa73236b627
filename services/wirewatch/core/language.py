"""Language identification (CLD2): ISO 639-1 code and a confidence.

Contract: ``detect_language(text)`` never raises; text in no recognisable
language gives ``("und", 0.0)``. Norwegian is reported as ``nb`` (Bokmål, the
written standard of nearly all Norwegian news).
"""

from __future__ import annotations

import re

import pycld2

_ALIASES = {"no": "nb", "iw": "he", "jw": "jv", "zh-Hant": "zh", "un": "und"}
_SAMPLE_CHARS = 8000
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff]")


def detect_language(text: str, hint: str | None = None) -> tuple[str, float]:
    """Return (code, confidence in [0, 1]) for ``text``; ``hint`` is a likely code."""
    sample = text[:_SAMPLE_CHARS].encode("utf-8", "replace").decode("utf-8")
    sample = _UNPRINTABLE.sub(" ", sample)
    try:
        kwargs: dict[str, object] = {"bestEffort": True}
        if hint:
            kwargs["hintLanguage"] = "no" if hint == "nb" else hint
        reliable, _, details = pycld2.detect(sample, **kwargs)
    except pycld2.error:
        return "und", 0.0
    name, code, percent, score = details[0]
    code = _ALIASES.get(code, code)
    if code == "und" or not code:
        return "und", 0.0
    confidence = percent / 100.0
    if not reliable:
        confidence *= 0.5
    return code, round(min(max(confidence, 0.0), 1.0), 3)
