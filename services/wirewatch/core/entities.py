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
from typing import Any

from .text import TOKEN_RE, Token

KINDS = ("vendors", "operators", "countries", "organisations", "people")
_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "le", "la", "af", "zu", "di", "da", "ter"}
)
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
    # an organisation that is a state body (government, regulator, agency, parliament)
    # or an international body of states - not a company, newsroom or industry group
    state: bool = False


@dataclass
class _Entry:
    tokens: tuple[str, ...]
    kind: str
    value: str
    country: str | None = None
    state: bool = False


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
    # lower-case first word -> phrases (token tuples) inside which nothing is an entity
    blocked: dict[str, list[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(list))
    # lookups memoised by ``find``: first words of names per language, demonym per word
    _key_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _demonym_cache: dict[str, str | None] = field(default_factory=dict, repr=False)

    # -- building -------------------------------------------------------------
    @staticmethod
    def _add(
        index: dict[str, list[_Entry]],
        alias: str,
        kind: str,
        value: str,
        country: str | None,
        state: bool = False,
    ) -> None:
        toks = tuple(TOKEN_RE.findall(alias))
        if not toks:
            return
        entry = _Entry(toks, kind, value, country, state)
        index[toks[0]].append(entry)
        upper = tuple(t.upper() for t in toks)
        if upper != toks:
            index[upper[0]].append(_Entry(upper, kind, value, country, state))

    def add_alias(
        self, kind: str, value: str, alias: str, country: str | None = None, state: bool = False
    ) -> None:
        self._add(self.common, alias, kind, value, country, state)

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

    def add_blocked(self, phrase: str) -> None:
        toks = tuple(t.lower() for t in TOKEN_RE.findall(phrase))
        if toks:
            self.blocked[toks[0]].append(toks)
            self.blocked[toks[0]].sort(key=len, reverse=True)

    def _blocked_end(self, tokens: list[Token], i: int) -> int:
        """End of a blocked phrase starting at ``i``, else 0."""
        for phrase in self.blocked.get(tokens[i].lower, ()):
            n = len(phrase)
            if i + n <= len(tokens) and all(
                tokens[i + k].lower == phrase[k]
                # the last word may carry a plural or genitive "-s" ("Samsung Cups")
                or (k == n - 1 and tokens[i + k].lower == phrase[k] + "s")
                for k in range(n)
            ):
                return i + n
        return 0

    def finish(self) -> None:
        for index in [self.common, *self.by_language.values()]:
            for entries in index.values():
                entries.sort(key=lambda e: len(e.tokens), reverse=True)
        for stems in self.demonym_prefix.values():
            stems.sort(key=lambda e: len(e[0]), reverse=True)

    @classmethod
    def from_data(
        cls,
        lists: Mapping[str, Iterable[Mapping[str, Any]]],
        countries: Mapping[str, Mapping[str, Any]],
        localized_names: Mapping[str, Mapping[str, str]],
        first_names: Iterable[str],
        blocked: Iterable[str] = (),
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
                # state bodies carry their country; international bodies of states say so
                state = kind == "organisations" and bool(country or item.get("international"))
                for alias in {name, *map(str, item.get("aliases") or [])}:
                    gaz.add_alias(kind, name, alias, implied, state)
        for code, spec in countries.items():
            for alias in [*(spec.get("names") or []), *(spec.get("places") or [])]:
                gaz.add_alias("countries", str(code), str(alias))
            for pattern in spec.get("demonyms") or []:
                gaz.add_demonym(str(pattern), str(code))
        for language, names in localized_names.items():
            for code, name in names.items():
                gaz.add_language_name(language, code, name)
        gaz.first_names = frozenset(n.strip() for n in first_names if n.strip())
        for phrase in blocked:
            gaz.add_blocked(str(phrase))
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

    def _keys(
        self,
        language: str,
        lang_index: Mapping[str, list[_Entry]],
        en_index: Mapping[str, list[_Entry]],
    ) -> frozenset[str]:
        """Every first word of a name that ``find`` may meet in this language."""
        cache = self._key_cache
        keys = cache.get(language)
        if keys is None:
            keys = cache[language] = frozenset(self.common) | set(lang_index) | set(en_index)
        return keys

    def _demonym(self, lower: str) -> str | None:
        cache = self._demonym_cache
        if lower in cache:
            return cache[lower]
        if len(cache) > 100_000:  # bound memory on endless vocabularies
            cache.clear()
        code = cache[lower] = self._demonym_lookup(lower)
        return code

    def _demonym_lookup(self, lower: str) -> str | None:
        code = self.demonym_exact.get(lower)
        if code:
            return code
        for stem, code in self.demonym_prefix.get(lower[:_DEMONYM_KEY], ()):
            if lower.startswith(stem):
                return code
        return None

    def find(self, tokens: list[Token], language: str, text: str | None = None) -> list[Mention]:
        """Every entity mention in ``tokens`` (of one sentence ``text``), in order."""
        out: list[Mention] = []
        lang_index = self.by_language.get(language) or self.by_language.get("en") or {}
        en_index = self.by_language.get("en") or {}
        i = 0
        n = len(tokens)
        known = self._keys(language, lang_index, en_index)
        while i < n:
            tok = tokens[i]
            if tok.lower in self.blocked:
                skip = self._blocked_end(tokens, i)
                if skip:
                    i = skip
                    continue
            word = tok.text
            best: _Entry | None = None
            keys = [word] if word in known else []
            if word[0].isupper() and word.endswith("s") and len(word) > 2 and word[:-1] in known:
                keys.append(word[:-1])
            if keys:
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
                    Mention(
                        best.kind,
                        best.value,
                        i,
                        i + len(best.tokens),
                        False,
                        best.country,
                        best.state,
                    )
                )
                i += len(best.tokens)
                continue
            code = self._demonym(tok.lower) if tok.text.isalpha() else None
            if code:
                out.append(Mention("countries", code, i, i + 1, True))
                i += 1
                continue
            person_end = self._person(tokens, i, lang_index)
            if person_end:
                if text is not None:
                    name = text[tokens[i].start : tokens[person_end - 1].end]
                else:
                    name = " ".join(t.text for t in tokens[i:person_end])
                out.append(Mention("people", name, i, person_end))
                i = person_end
                continue
            i += 1
        return out

    def _starts_name(
        self, tokens: list[Token], j: int, lang_index: Mapping[str, list[_Entry]]
    ) -> bool:
        """A known name starts at ``j``: a one-word name ("Huawei") or a whole longer one
        ("Politiets sikkerhetstjeneste"); the first word alone of a longer name ("Sun" of
        "Sun Microsystems") is not one, so it does not stop a person's name."""
        word = tokens[j].text
        return any(
            self._match(e, tokens, j)
            for e in (*self.common.get(word, ()), *lang_index.get(word, ()))
        )

    def _person(self, tokens: list[Token], i: int, lang_index: Mapping[str, list[_Entry]]) -> int:
        """End index of "Firstname [Middle...] [particles] Lastname" starting at ``i``, else 0.

        The words must be adjacent (one space or hyphen apart) and capitalised, and
        none may be a known country, organisation or other entity.
        """
        if tokens[i].text not in self.first_names:
            return 0
        end = 0
        j = i + 1
        while j < len(tokens) and j - i < 4:
            if tokens[j].start - tokens[j - 1].end != 1:
                break
            word = tokens[j].text
            if word in _PARTICLES and j + 1 < len(tokens):
                j += 1
                continue
            if not (len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()):
                break
            if self._starts_name(tokens, j, lang_index) or self._demonym(word.lower()):
                break
            end = j + 1
            j += 1
        return end


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
