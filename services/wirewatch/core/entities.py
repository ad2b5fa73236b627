"""Entity recognition by multilingual gazetteers, normalised to canonical names.

Contract: ``Gazetteer.find(tokens, language)`` never raises and returns the
mentions in token order, longest match first, without overlaps. Aliases match
case-sensitively (an all-caps spelling and a genitive "-s" on the last word are
also accepted); demonyms match case-insensitively by stem. Unknown people are
recognised as a known first name followed by one or more capitalised words.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .lazy import PerKey
from .text import TOKEN_RE, Token, Tokens, positions

KINDS = ("vendors", "operators", "countries", "organisations", "people")
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


class _Scope(NamedTuple):
    """What ``find`` looks names up in for one language (see ``Gazetteer._scope``)."""

    indexes: tuple[tuple[str, Mapping[str, list[_Entry]]], ...]
    lang_index: Mapping[str, list[_Entry]]
    known: frozenset[str]
    starts: frozenset[str]


class _DemonymMemo:
    """The demonym (country code or None) of every lower-case word met, and the set of
    those met and of those that are demonyms (for lookups over a whole sentence)."""

    __slots__ = ("code", "seen", "words")

    def __init__(self) -> None:
        self.code: dict[str, str | None] = {}
        self.seen: set[str] = set()
        self.words: set[str] = set()

    def learn(self, lower: str, code: str | None) -> str | None:
        self.code[lower] = code
        if code:
            self.words.add(lower)
        self.seen.add(lower)
        return code


def _first(pair: tuple[int, _Entry]) -> int:
    return pair[0]


@dataclass
class _Candidates:
    """The entries under one first word, split by what their second word allows; each
    with its place among them."""

    single: list[tuple[int, _Entry]]
    by_second: dict[str, list[tuple[int, _Entry]]]
    single_entries: list[_Entry]

    @classmethod
    def of(cls, entries: list[_Entry]) -> _Candidates:
        single: list[tuple[int, _Entry]] = []
        by_second: dict[str, list[tuple[int, _Entry]]] = defaultdict(list)
        for n, entry in enumerate(entries):
            toks = entry.tokens
            if len(toks) == 1:
                single.append((n, entry))
                continue
            by_second[toks[1]].append((n, entry))
            # the last word may carry a genitive "s" after a capital (see ``_match``)
            if len(toks) == 2 and toks[1][0].isupper():
                by_second[toks[1] + "s"].append((n, entry))
        return cls(single, dict(by_second), [entry for _, entry in single])


@dataclass
class Gazetteer:
    """Surface forms -> canonical entities. Build once; ``find`` is read-only."""

    common: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    # a plain dict while building; ``finish`` makes it a ``PerKey`` (each language's
    # index unpickled from the compiled cache only when that language is first seen)
    by_language: Mapping[str, dict[str, list[_Entry]]] = field(default_factory=dict)
    demonym_exact: dict[str, str] = field(default_factory=dict)
    demonym_prefix: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_names: frozenset[str] = frozenset()
    # words inside a person's name ("von der", "van"): a name may run on over them
    particles: frozenset[str] = frozenset()
    # localized country names that are far more often something else in news text
    ambiguous_names: frozenset[str] = frozenset()
    # lower-case first word -> phrases (token tuples) inside which nothing is an entity
    blocked: dict[str, list[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(list))
    # lookups memoised by ``find``: first words of names per language, demonym per word
    _key_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _demonyms: _DemonymMemo = field(default_factory=lambda: _DemonymMemo(), repr=False)
    # per first word of a blocked phrase: the words that may follow it in one
    _blocked_seconds: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    # per (index, first word): the entries that may match before a given next word
    _by_second: dict[tuple[str, str], _Candidates] = field(default_factory=dict, repr=False)

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
        if name in self.ambiguous_names:
            return
        if not isinstance(self.by_language, dict):
            raise TypeError("the gazetteer is finished: no names can be added")
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

    def _blocked_end(self, lowers: list[str], i: int) -> int:
        """End of a blocked phrase starting at ``i``, else 0."""
        first = lowers[i]
        seconds = self._blocked_seconds.get(first)
        if seconds is None:
            # the words that may follow the first one in a match of its phrases ("" when
            # a phrase is that word alone)
            seconds = self._blocked_seconds[first] = frozenset(
                second
                for phrase in self.blocked.get(first, ())
                for second in (
                    [""]
                    if len(phrase) == 1
                    else [phrase[1], phrase[1] + "s"]
                    if len(phrase) == 2
                    else [phrase[1]]
                )
            )
        if "" not in seconds and (i + 1 >= len(lowers) or lowers[i + 1] not in seconds):
            return 0
        for phrase in self.blocked.get(first, ()):
            n = len(phrase)
            if i + n <= len(lowers) and all(
                lowers[i + k] == phrase[k]
                # the last word may carry a plural or genitive "-s" ("Samsung Cups")
                or (k == n - 1 and lowers[i + k] == phrase[k] + "s")
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
        self.by_language = PerKey(self.by_language)

    @classmethod
    def from_data(
        cls,
        lists: Mapping[str, Iterable[Mapping[str, Any]]],
        countries: Mapping[str, Mapping[str, Any]],
        localized_names: Mapping[str, Mapping[str, str]],
        first_names: Iterable[str],
        blocked: Iterable[str] = (),
        particles: Iterable[str] = (),
        ambiguous_names: Iterable[str] = (),
    ) -> Gazetteer:
        """Build from parsed gazetteer files.

        ``lists`` maps a kind (vendors, operators, organisations, people) to entries
        ``{name, aliases?, country?}``; ``countries`` maps a code to ``{names, demonyms,
        places}``; ``localized_names`` maps a language to ``{code: country name}``;
        ``particles`` are the words that may stand inside a person's name ("von");
        ``ambiguous_names`` the localized country names never read as the country.
        """
        gaz = cls(particles=frozenset(particles), ambiguous_names=frozenset(ambiguous_names))
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
    def _match(entry: _Entry, texts: list[str], i: int) -> bool:
        n = len(entry.tokens)
        if i + n > len(texts):
            return False
        for k, want in enumerate(entry.tokens):
            got = texts[i + k]
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
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Every first word of a name that ``find`` may meet in this language; and the
        words at which ``find`` may do more than step over: those, each of them with a
        genitive "s", and the first names."""
        cache = self._key_cache
        keys = cache.get(language)
        if keys is None:
            keys = cache[language] = frozenset(self.common) | set(lang_index) | set(en_index)
        starts = cache.get("\0starts " + language)
        if starts is None:
            starts = cache["\0starts " + language] = (
                keys | {k + "s" for k in keys} | self.first_names
            )
        return keys, starts

    def _candidates(
        self, name: str, index: Mapping[str, list[_Entry]], key: str, following: str | None
    ) -> list[_Entry]:
        """The entries of ``index[key]`` that may match where ``following`` is the next
        word: one-word names, and longer ones whose second word is ``following`` (or, for
        two-word names, ``following`` in the genitive) - in the order of ``index[key]``."""
        found = self._by_second.get((name, key))
        if found is None:
            found = self._by_second[(name, key)] = _Candidates.of(index.get(key, []))
        more = found.by_second.get(following) if following is not None else None
        if not more:
            return found.single_entries
        if not found.single:
            return [entry for _, entry in more]
        return [entry for _, entry in sorted([*found.single, *more], key=_first)]

    def _demonym(self, lower: str) -> str | None:
        memo = self._demonyms
        if lower in memo.code:
            return memo.code[lower]
        if len(memo.code) > 100_000:  # bound memory on endless vocabularies
            memo = self._demonyms = _DemonymMemo()
        return memo.learn(lower, self._demonym_lookup(lower))

    def _demonym_lookup(self, lower: str) -> str | None:
        code = self.demonym_exact.get(lower)
        if code:
            return code
        for stem, code in self.demonym_prefix.get(lower[:_DEMONYM_KEY], ()):
            if lower.startswith(stem):
                return code
        return None

    def _interesting(self, toks: Tokens, starts: frozenset[str]) -> list[int]:
        """The token indexes at which ``find`` may do more than step over a word: the
        first word of a name (or its genitive), a first name, the first word of a blocked
        phrase, a demonym. Found by set lookups over the whole sentence; every other word
        is stepped over without a look (a few more indexes than needed do no harm)."""
        texts, lowers = toks.text, toks.lower
        # one memory object for the whole look-up, replaced whole when too large, so a
        # thread always reads a consistent one
        memo = self._demonyms
        if not memo.seen.issuperset(lowers):
            unknown = set(lowers).difference(memo.seen)
            if len(memo.code) + len(unknown) > 100_000:  # bound memory on endless vocabularies
                memo = self._demonyms = _DemonymMemo()
                unknown = set(lowers)
            for lower in unknown:
                memo.learn(lower, self._demonym_lookup(lower))
        blocked = self._key_cache.get("\0blocked")
        if blocked is None:
            blocked = self._key_cache["\0blocked"] = frozenset(self.blocked)
        by_text = starts.intersection(texts)
        by_lower = memo.words.intersection(lowers)
        by_lower.update(blocked.intersection(lowers))
        if not by_lower:
            return positions(texts, by_text) if by_text else []
        if not by_text:
            return positions(lowers, by_lower)
        return [
            i
            for i, (word, lower) in enumerate(zip(texts, lowers, strict=True))
            if word in by_text or lower in by_lower
        ]

    def find(
        self, tokens: Sequence[Token] | Tokens, language: str, text: str | None = None
    ) -> list[Mention]:
        """Every entity mention in ``tokens`` (of one sentence ``text``), in order."""
        toks = tokens if isinstance(tokens, Tokens) else Tokens.of(tokens)
        scope = self._scope(language)
        return self._scan(toks, scope, text, self._interesting(toks, scope.starts))

    def _scope(self, language: str) -> _Scope:
        """The indexes and word sets ``find`` uses for ``language``."""
        lang_name = language if self.by_language.get(language) else "en"
        lang_index = self.by_language.get(language) or self.by_language.get("en") or {}
        en_index = self.by_language.get("en") or {}
        known, starts = self._keys(language, lang_index, en_index)
        return _Scope(
            (("", self.common), (lang_name, lang_index), ("en", en_index)),
            lang_index,
            known,
            starts,
        )

    def find_all(
        self, sentences: Sequence[tuple[Tokens, str]], language: str
    ) -> list[list[Mention]]:
        """``find`` on each (tokens, text) of ``sentences``: the words worth a look are
        found once for them all."""
        texts: list[str] = []
        lowers: list[str] = []
        bounds = [0]
        for toks, _ in sentences:
            texts += toks.text
            lowers += toks.lower
            bounds.append(len(texts))
        scope = self._scope(language)
        interesting = self._interesting(Tokens("", texts, lowers), scope.starts)
        out: list[list[Mention]] = []
        at = 0
        for n, (toks, text) in enumerate(sentences):
            lo, hi = bounds[n], bounds[n + 1]
            upto = bisect_left(interesting, hi, at)
            local = [p - lo for p in interesting[at:upto]]
            at = upto
            out.append(self._scan(toks, scope, text, local) if local else [])
        return out

    def _scan(
        self, toks: Tokens, scope: _Scope, text: str | None, interesting: list[int]
    ) -> list[Mention]:
        """The mentions of one sentence, looking only at the ``interesting`` indexes."""
        out: list[Mention] = []
        lang_index, known = scope.lang_index, scope.known
        texts, lowers = toks.text, toks.lower
        i = 0
        # Only the positions of interesting words can start a mention or a skip; at any
        # other word the scan below would only step to the next one.
        for at in interesting:
            if at < i:
                continue  # inside a mention or blocked phrase already taken
            i = at
            lower = lowers[i]
            if lower in self.blocked:
                skip = self._blocked_end(lowers, i)
                if skip:
                    i = skip
                    continue
            word = texts[i]
            best: _Entry | None = None
            keys = [word] if word in known else []
            if word[0].isupper() and word.endswith("s") and len(word) > 2 and word[:-1] in known:
                keys.append(word[:-1])
            if keys:
                following = texts[i + 1] if i + 1 < len(texts) else None
                for name, index in scope.indexes:
                    for key in keys:
                        if key not in index:
                            continue
                        # Only the entries that may match before the next word, in their
                        # order (longest first): the others would fail ``_match``.
                        for entry in self._candidates(name, index, key, following):
                            if best is not None and len(entry.tokens) <= len(best.tokens):
                                break
                            if self._match(entry, texts, i):
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
            code = self._demonym(lower) if word.isalpha() else None
            if code:
                out.append(Mention("countries", code, i, i + 1, True))
                i += 1
                continue
            person_end = self._person(toks, i, lang_index)
            if person_end:
                if text is not None:
                    name = text[toks.start[i] : toks.end[person_end - 1]]
                else:
                    name = " ".join(texts[i:person_end])
                out.append(Mention("people", name, i, person_end))
                i = person_end
                continue
            i += 1
        return out

    def _starts_name(
        self, texts: list[str], j: int, lang_index: Mapping[str, list[_Entry]]
    ) -> bool:
        """A known name starts at ``j``: a one-word name ("Huawei") or a whole longer one
        ("Politiets sikkerhetstjeneste"); the first word alone of a longer name ("Sun" of
        "Sun Microsystems") is not one, so it does not stop a person's name."""
        word = texts[j]
        return any(
            self._match(e, texts, j)
            for e in (*self.common.get(word, ()), *lang_index.get(word, ()))
        )

    def _person(self, toks: Tokens, i: int, lang_index: Mapping[str, list[_Entry]]) -> int:
        """End index of "Firstname [Middle...] [particles] Lastname" starting at ``i``, else 0.

        The words must be adjacent (one space or hyphen apart) and capitalised, and
        none may be a known country, organisation or other entity.
        """
        texts = toks.text
        if texts[i] not in self.first_names:
            return 0
        starts, ends = toks.start, toks.end
        end = 0
        j = i + 1
        while j < len(texts) and j - i < 4:
            if starts[j] - ends[j - 1] != 1:
                break
            word = texts[j]
            if word in self.particles and j + 1 < len(texts):
                j += 1
                continue
            if not (len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()):
                break
            if self._starts_name(texts, j, lang_index) or self._demonym(word.lower()):
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
