"""Entity recognition by multilingual gazetteers, normalised to canonical names.

Contract: ``Gazetteer.find(tokens, language)`` never raises and returns the
mentions in token order, longest match first, without overlaps. Aliases match
case-sensitively (an all-caps spelling and a genitive "-s" on the last word are
also accepted); demonyms match case-insensitively by stem. Unknown people are
recognised as a known first name followed by one or more capitalised words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .text import TOKEN_RE, Token

KINDS = ("vendors", "operators", "countries", "organisations", "people")
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "le", "la", "af", "zu", "di", "da", "ter"})
# Localized country names that are far more often something else in news text.
_AMBIGUOUS_NAMES = frozenset({"Jordan", "Chad", "Georgia", "Jersey", "Man", "Guernsey", "Dominica"})
_DEMONYM_KEY = 4


@dataclass(frozen=True, slots=True)
class Mention:
    kind: str
    value: str
    start: int  # token index, inclusive
    end: int  # token index, exclusive
    demonym: bool = False
    implied_country: str | None = None


@dataclass
class _Entry:
    tokens: tuple[str, ...]
    kind: str
    value: str
    country: str | None = None


@dataclass
class Gazetteer:
    """Surface forms -> canonical entities. Build once; ``find`` is read-only."""

    common: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    by_language: dict[str, dict[str, list[_Entry]]] = field(default_factory=dict)
    demonym_exact: dict[str, str] = field(default_factory=dict)
    demonym_prefix: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_names: frozenset[str] = frozenset()

    # -- building -------------------------------------------------------------
    @staticmethod
    def _add(index: dict[str, list[_Entry]], alias: str, kind: str, value: str, country: str | None):
        toks = tuple(TOKEN_RE.findall(alias))
        if not toks:
            return
        entry = _Entry(toks, kind, value, country)
        index[toks[0]].append(entry)
        upper = tuple(t.upper() for t in toks)
        if upper != toks:
            index[upper[0]].append(_Entry(upper, kind, value, country))

    def add_alias(self, kind: str, value: str, alias: str, country: str | None = None) -> None:
        self._add(self.common, alias, kind, value, country)

    def add_language_name(self, language: str, code: str, name: str) -> None:
        if name in _AMBIGUOUS_NAMES:
            return
        index = self.by_language.setdefault(language, defaultdict(list))
        self._add(index, name, "countries", code, None)

    def add_demonym(self, pattern: str, code: str) -> None:
        pattern = pattern.strip().lower()
        if not pattern:
            return
        if pattern.endswith("*"):
            stem = pattern[:-1]
            self.demonym_prefix[stem[:_DEMONYM_KEY]].append((stem, code))
        else:
            self.demonym_exact[pattern] = code

    def finish(self) -> None:
        for index in [self.common, *self.by_language.values()]:
            for entries in index.values():
                entries.sort(key=lambda e: len(e.tokens), reverse=True)
        for entries in self.demonym_prefix.values():
            entries.sort(key=lambda e: len(e[0]), reverse=True)

    @classmethod
    def from_data(
        cls,
        lists: Mapping[str, Iterable[Mapping]],
        countries: Mapping[str, Mapping],
        localized_names: Mapping[str, Mapping[str, str]],
        first_names: Iterable[str],
    ) -> Gazetteer:
        """Build from parsed gazetteer files.

        ``lists`` maps a kind (vendors, operators, organisations, people) to entries
        ``{name, aliases?, country?}``; ``countries`` maps a code to ``{names, demonyms,
        places}``; ``localized_names`` maps a language to ``{code: country name}``.
        """
        gaz = cls()
        for kind, entries in lists.items():
            for item in entries:
                name = str(item["name"])
                country = item.get("country")
                implied = str(country) if kind == "organisations" and country == "EU" else None
                for alias in {name, *map(str, item.get("aliases") or [])}:
                    gaz.add_alias(kind, name, alias, implied)
        for code, spec in countries.items():
            for alias in [*(spec.get("names") or []), *(spec.get("places") or [])]:
                gaz.add_alias("countries", str(code), str(alias))
            for pattern in spec.get("demonyms") or []:
                gaz.add_demonym(str(pattern), str(code))
        for language, names in localized_names.items():
            for code, name in names.items():
                gaz.add_language_name(language, code, name)
        gaz.first_names = frozenset(n.strip() for n in first_names if n.strip())
        gaz.finish()
        return gaz

    # -- matching -------------------------------------------------------------
    @staticmethod
    def _match(entry: _Entry, tokens: list[Token], i: int) -> bool:
        n = len(entry.tokens)
        if i + n > len(tokens):
            return False
        for k, want in enumerate(entry.tokens):
            got = tokens[i + k].text
            if got == want:
                continue
            if k == n - 1 and got[:-1] == want and got[-1] == "s" and want[0].isupper():
                continue
            return False
        return True

    def _demonym(self, lower: str) -> str | None:
        code = self.demonym_exact.get(lower)
        if code:
            return code
        for stem, code in self.demonym_prefix.get(lower[:_DEMONYM_KEY], ()):
            if lower.startswith(stem):
                return code
        return None

    def find(self, tokens: list[Token], language: str) -> list[Mention]:
        """Every entity mention in ``tokens`` (one sentence), in order."""
        out: list[Mention] = []
        lang_index = self.by_language.get(language) or self.by_language.get("en") or {}
        en_index = self.by_language.get("en") or {}
        i = 0
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            text = tok.text
            best: _Entry | None = None
            if text[0].isupper() or text[0].isdigit():
                keys = [text]
                if text.endswith("s") and len(text) > 2:
                    keys.append(text[:-1])
                for index in (self.common, lang_index, en_index):
                    for key in keys:
                        for entry in index.get(key, ()):
                            if best is not None and len(entry.tokens) <= len(best.tokens):
                                break
                            if self._match(entry, tokens, i):
                                best = entry
                                break
            if best is not None:
                out.append(
                    Mention(best.kind, best.value, i, i + len(best.tokens), False, best.country)
                )
                i += len(best.tokens)
                continue
            code = self._demonym(tok.lower) if tok.text.isalpha() else None
            if code:
                out.append(Mention("countries", code, i, i + 1, True))
                i += 1
                continue
            person_end = self._person(tokens, i)
            if person_end:
                name = " ".join(t.text for t in tokens[i:person_end])
                out.append(Mention("people", name, i, person_end))
                i = person_end
                continue
            i += 1
        return out

    def _person(self, tokens: list[Token], i: int) -> int:
        """End index of "Firstname [particles] Lastname" starting at ``i``, else 0."""
        if tokens[i].text not in self.first_names:
            return 0
        j = i + 1
        while j < len(tokens) and tokens[j].text in _PARTICLES:
            j += 1
        if j >= len(tokens):
            return 0
        last = tokens[j].text
        if not (last[0].isupper() and last[1:].islower() and len(last) > 1 and last.isalpha()):
            return 0
        # The words must be adjacent in the text ("Anna, Paris" is not a name).
        for a, b in zip(tokens[i:j], tokens[i + 1 : j + 1], strict=True):
            if b.start - a.end != 1:
                return 0
        return j + 1


def collect(mentions: Iterable[Mention]) -> dict[str, list[str]]:
    """Distinct values per kind, in order of first mention."""
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for m in mentions:
        bucket = out[m.kind]
        if m.value not in bucket:
            bucket.append(m.value)
        if m.implied_country and m.implied_country not in out["countries"]:
            out["countries"].append(m.implied_country)
    return out
