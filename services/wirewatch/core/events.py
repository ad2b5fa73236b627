"""Policy-event classification by per-language rule files (see data/FORMATS.md).

Contract: ``RuleSet.classify(sentences, language)`` never raises and returns at
most one ``PolicyEvent`` per (type, status), each with the sentences it was read
from as evidence. A sentence yields an event when a rule's trigger occurs in it,
every term group the rule ``requires`` occurs too, and none of its ``exclude``
patterns does. Status: ``rejected`` when a rejection cue or a negation governs the trigger (it is
the first trigger after the cue, not too far away, or the cue directly follows
it; words inside a trigger do not count); else ``proposed`` when a proposal cue
is close; else ``reported``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import MAX_EVIDENCE as MAX_EVIDENCE
from .config import MAX_EVIDENCE_CHARS as MAX_EVIDENCE_CHARS
from .config import (
    SECONDARY_BELOW,
    SECONDARY_GAP,
    SECONDARY_WARNING_BELOW,
    WIDE_DENSITY,
    WIDE_WINDOW,
)
from .entities import Mention
from .models import EVENT_TYPES, PolicyEvent
from .text import TOKEN_RE, positions
from .wordlists import alternation

GAP = 8
# A negation or a rejection cue governs the first trigger after it (verb-final
# clauses put the verb far from "niet"/"nicht"), within this many tokens ...
NEG_BEFORE = 10
REJECT_BEFORE = 15
# ... or a trigger just before it ("verbiedt niet", "a ban was rejected").
NEG_AFTER = 3
REJECT_AFTER = 2
# Only these types are reported as explicitly declined; elsewhere a negated or
# declined match ("will not disclose the value of the deal") is no event at all.
REJECTABLE = frozenset({"ban", "sanction"})
# Within one sentence: a licence agreement is licensing, not also a deal; equipment
# words in a sentence about excluding or blacklisting a vendor are not a deal -
# unless a second vendor is named (an operator replacing one vendor by another). Rules
# in a sentence that reports export controls or tariffs are those controls: a sanction,
# not a regulation. (Rules beside a ban stay: suppressing them there cost more right
# regulations than wrong ones on unseen pages.)
_SUPPRESSED_BY = {
    "deal": frozenset({"licensing", "ban", "sanction"}),
    "regulation": frozenset({"sanction"}),
}
PROPOSE_BEFORE, PROPOSE_AFTER = 12, 6
# An official warning is often said once, as the reason for a ban or a sanction, and is
# news all the same: it is dropped as a weak second type (``secondary_dropped``) only
# under the lower ``warning_below``, and never beside a leading ban (WARNED_WITH), where
# a fear of espionage said once is what the exclusion answers. On unseen web pages such
# weak warnings were right 7 times of 13 beside a leading ban, and 0 of 9 beside a
# leading sanction (where "national security grounds" is the wording of the listing).
SECONDARY_KEPT = frozenset({"warning"})
WARNED_WITH = frozenset({"ban"})
# A planned rule said once beside a bigger event (a minister announcing tougher rules
# after a ban) is news of its own, where a rule reported once is mostly the law behind
# the main event: proposed regulation stays even when its type is weak. On the dev
# halves of the labelled real news and of the blind set, F1 0.843 -> 0.849 and
# 0.862 -> 0.867.
# A government or operator declining to ban a vendor ("Bern has no plans to exclude
# Huawei") is the news the product's own example names, even beside a bigger case or
# sanction: dev halves of the blind set 0.884 -> 0.883, of the ninth blind batch
# 0.772 -> 0.789 (event-type F1).
SECONDARY_KEPT_EVENTS = frozenset({("regulation", "proposed"), ("ban", "rejected")})
# Term names the engine provides besides a language file's own ``terms``:
# ``vendor`` a vendor is named in the sentence; ``target`` the file's target words or a
# vendor named here or in the sentence before; ``actor`` a country or organisation is
# named as a proper name (not a demonym qualifying a vendor); ``operator`` an operator is
# named in the sentence; ``tech`` the sentence itself names a vendor, operator or word of
# the ``domain`` list (stricter than the neighbourhood every event needs); ``company`` a
# vendor or operator is named in the sentence or the one before, or in the title;
# ``anchor`` the sentence
# or a neighbour ties it to technology (see ``anchored``); ``firm`` a company is named
# with its legal form ("Gould Inc", "Nokia Oyj", "Kontron AG") or a stock ticker
# ("<GLD>") in the sentence - a party to a deal that no gazetteer lists.
BUILTIN_TERMS = frozenset(
    {"target", "vendor", "actor", "operator", "anchor", "tech", "company", "firm"}
)


def firm_pattern(legal_forms: Iterable[str], joiners: Iterable[str]) -> re.Pattern[str]:
    """A company named with its legal form: capitalised words (or ``joiners``, or "&")
    before one of ``legal_forms`` ("Gould Inc", "Bank of Kontron AG"), or a stock ticker
    ("<GLD>"). Both lists are matched literally, in exact case (text.yaml ``companies``).
    An article is no name: "A Co Tipperary farmer" names a county, not a company."""
    return re.compile(
        rf"\b(?!(?:A|An|The)\b)[A-Z][\w&'.-]*(?:\s+(?:[A-Z][\w&'.-]*|&|{alternation(joiners)}))*"
        rf"\s+{alternation(legal_forms)}(?![\w/])|<[A-Z][A-Z.]{{0,7}}>"
    )


# The term list whose words tie a sentence to technology or telecom policy.
DOMAIN_TERMS = "domain"
# optional term list: technology named only as the channel of a statement ("said on
# social media"); a `domain` word inside one of these phrases anchors nothing
CHANNEL_TERMS = "channel"
# A rule file's term list of reactions to an event ("criticised", "condemned"): the
# countries and bodies of such a sentence are not the event's actors.
REACTION_TERMS = "reaction"
# A rule file's term list of what makes a deal more than an agreement (supply, an order,
# a purchase, a joint venture, ...). In an article that reports licensing, a deal read
# only from sentences without one of these words ("the agreement ends the dispute") is
# the licence agreement itself, not a second event (``licence_deals_dropped``).
DEAL_SPECIFIC_TERMS = "deal_specific"
# Entity kinds that tie a sentence to technology by being named.
ANCHOR_KINDS = frozenset({"vendors", "operators"})


class RuleError(ValueError):
    """A rule file is malformed; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Element:
    """One token of a pattern: exact, prefix (``a*``), suffix (``*a``) or infix (``*a*``)."""

    text: str
    mode: str  # "exact" | "prefix" | "suffix" | "infix" | "gap"

    def __reduce__(self) -> tuple[type[Element], tuple[str, str]]:
        # the compiled data files hold about 10,000 elements: a constructor call each
        # unpickles in a third of the time of the slotted dataclass's __setstate__
        return (Element, (self.text, self.mode))

    def matches(self, token: str) -> bool:
        if self.mode == "exact":
            return token == self.text
        if self.mode == "prefix":
            return token.startswith(self.text)
        if self.mode == "suffix":
            return token.endswith(self.text)
        return self.text in token


def _element(raw: str) -> Element:
    if raw == "...":
        return Element("", "gap")
    starts, ends = raw.startswith("*"), raw.endswith("*") and len(raw) > 1
    core = raw.strip("*")
    if starts and ends:
        return Element(core, "infix")
    if starts:
        return Element(core, "suffix")
    if ends:
        return Element(core, "prefix")
    return Element(core, "exact")


@dataclass(frozen=True)
class Pattern:
    source: str
    elements: tuple[Element, ...]
    # no "..." among the elements (``match_at`` then needs no search)
    gapless: bool = field(default=False, compare=False)

    @classmethod
    def parse(cls, raw: str, where: str) -> Pattern:
        if not isinstance(raw, str) or not raw.strip():
            raise RuleError(f"{where}: empty or non-text pattern {raw!r}")
        parts: list[Element] = []
        for word in raw.lower().split():
            if word == "...":
                parts.append(_element(word))
                continue
            star_start, star_end = word.startswith("*"), word.endswith("*")
            pieces = TOKEN_RE.findall(word)
            for k, piece in enumerate(pieces):
                prefix = "*" if star_start and k == 0 else ""
                suffix = "*" if star_end and k == len(pieces) - 1 else ""
                parts.append(_element(prefix + piece + suffix))
        if not parts or parts[0].mode == "gap" or parts[-1].mode == "gap":
            raise RuleError(f"{where}: pattern {raw!r} has no words or starts/ends with '...'")
        return cls(raw, tuple(parts), all(part.mode != "gap" for part in parts))

    def match_at(self, tokens: Sequence[str], i: int) -> int:
        """End index (exclusive) of a match starting at token ``i``, or -1."""
        if not self.gapless:
            return self._match(tokens, i, 0)
        # Without a gap a match is one token per element, in a row: no search.
        elements = self.elements
        end = i + len(elements)
        if end > len(tokens):
            return -1
        for k, el in enumerate(elements, i):
            token = tokens[k]
            mode = el.mode
            if mode == "exact":
                if token != el.text:
                    return -1
            elif mode == "prefix":
                if not token.startswith(el.text):
                    return -1
            elif mode == "suffix":
                if not token.endswith(el.text):
                    return -1
            elif el.text not in token:
                return -1
        return end

    def _match(self, tokens: Sequence[str], i: int, k: int) -> int:
        if k == len(self.elements):
            return i
        el = self.elements[k]
        if el.mode == "gap":
            last = min(i + GAP, len(tokens))
            if k + 1 < len(self.elements) and self.elements[k + 1].mode == "exact":
                # only where the next word is the one wanted can the rest match
                word = self.elements[k + 1].text
                for j in range(i, min(last + 1, len(tokens))):
                    if tokens[j] == word:
                        end = self._match(tokens, j, k + 1)
                        if end >= 0:
                            return end
                return -1
            for j in range(i, last + 1):
                end = self._match(tokens, j, k + 1)
                if end >= 0:
                    return end
            return -1
        if i >= len(tokens) or not el.matches(tokens[i]):
            return -1
        return self._match(tokens, i + 1, k + 1)


class _Memo:
    """What a ``PatternSet`` learnt of the words it met: every word, those with
    candidates, and their candidates."""

    __slots__ = ("candidates", "hits", "seen")

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.hits: set[str] = set()
        self.candidates: dict[str, list[tuple[Pattern, object]]] = {}


class PatternSet:
    """Many patterns, indexed by their first element: each token only meets the
    patterns whose first element can match it (exact word, one of its prefixes or
    suffixes), so a scan costs a few dictionary lookups per token."""

    def __init__(self, patterns: Sequence[tuple[Pattern, object]]):
        self.exact: dict[str, list[tuple[Pattern, object]]] = defaultdict(list)
        self.prefix: dict[str, list[tuple[Pattern, object]]] = defaultdict(list)
        self.suffix: dict[str, list[tuple[Pattern, object]]] = defaultdict(list)
        self.infix: list[tuple[Pattern, object]] = []
        for pat, payload in patterns:
            first = pat.elements[0]
            if first.mode == "exact":
                self.exact[first.text].append((pat, payload))
            elif first.mode == "prefix":
                self.prefix[first.text].append((pat, payload))
            elif first.mode == "suffix":
                self.suffix[first.text].append((pat, payload))
            else:
                self.infix.append((pat, payload))
        self.prefix_lengths = sorted({len(k) for k in self.prefix})
        self.suffix_lengths = sorted({len(k) for k in self.suffix})
        # Quick rejections for ``_lookup`` (most words meet no pattern): the first and
        # last letters every prefix and suffix begins or ends with, and one expression
        # for all infixes.
        self._head = min(self.prefix_lengths, default=0)
        self._heads = frozenset(k[: self._head] for k in self.prefix)
        self._tail = min(self.suffix_lengths, default=0)
        self._tails = frozenset(k[len(k) - self._tail :] for k in self.suffix)
        self._infix_texts = [(pat.elements[0].text, (pat, payload)) for pat, payload in self.infix]
        self._any_infix = (
            re.compile("|".join(sorted({re.escape(t) for t, _ in self._infix_texts})))
            if self.infix
            else None
        )
        self.empty = not (self.exact or self.prefix or self.suffix or self.infix)
        self._memo = _Memo()

    def _hits(self, tokens: list[str]) -> tuple[set[str], dict[str, list[tuple[Pattern, object]]]]:
        """The distinct words of ``tokens`` that some pattern's first element matches, and
        the candidates of each.

        Each word is looked up once and remembered (with or without candidates), so a
        sentence of words met before costs two passes of set lookups. The memory is one
        object, replaced whole when it grows too large, so a thread always reads a
        consistent one."""
        memo = self._memo
        if not memo.seen.issuperset(tokens):
            unknown = set(tokens).difference(memo.seen)
            if len(memo.seen) + len(unknown) > 50_000:  # bound memory on endless vocabularies
                memo = self._memo = _Memo()
                unknown = set(tokens)
            for tok in unknown:
                cands = self._lookup(tok)
                if cands:
                    memo.candidates[tok] = cands
                    memo.hits.add(tok)
                memo.seen.add(tok)
        return memo.hits.intersection(tokens), memo.candidates

    def _lookup(self, tok: str) -> list[tuple[Pattern, object]]:
        cands = list(self.exact.get(tok, ()))
        n = len(tok)
        if self._heads and tok[: self._head] in self._heads:
            for length in self.prefix_lengths:
                if length > n:
                    break
                cands.extend(self.prefix.get(tok[:length], ()))
        if self._tails and tok[n - self._tail :] in self._tails:
            for length in self.suffix_lengths:
                if length > n:
                    break
                cands.extend(self.suffix.get(tok[n - length :], ()))
        if self._any_infix is not None and self._any_infix.search(tok):
            cands.extend(cand for text, cand in self._infix_texts if text in tok)
        return cands

    def find_each(self, token_lists: Sequence[list[str]]) -> list[list[tuple[int, int, object]]]:
        """``find`` on each token list; the words are looked up once for them all."""
        if self.empty:
            return [[] for _ in token_lists]
        hits, cache = self._hits([word for tokens in token_lists for word in tokens])
        return [self._find(tokens, hits, cache) for tokens in token_lists]

    def any_each(self, token_lists: Sequence[list[str]]) -> list[bool]:
        """``any`` on each token list; the words are looked up once for them all."""
        if self.empty:
            return [False] * len(token_lists)
        hits, cache = self._hits([word for tokens in token_lists for word in tokens])
        return [self._any(tokens, hits, cache) for tokens in token_lists]

    def find(self, tokens: Sequence[str]) -> list[tuple[int, int, object]]:
        """All (start, end, payload) matches."""
        if self.empty:
            return []
        words = tokens if isinstance(tokens, list) else list(tokens)
        hits, cache = self._hits(words)
        return self._find(words, hits, cache)

    @staticmethod
    def _find(
        words: list[str], hits: set[str], cache: dict[str, list[tuple[Pattern, object]]]
    ) -> list[tuple[int, int, object]]:
        """The matches in ``words`` (``hits``: at least the words of ``words`` with
        candidates, ``cache`` their candidates)."""
        out: list[tuple[int, int, object]] = []
        if not hits:
            return out
        if len(hits) > 2:
            hits = hits.intersection(words)
            if not hits:
                return out
        for i in positions(words, hits):
            for pat, payload in cache[words[i]]:
                end = pat.match_at(words, i)
                if end >= 0:
                    out.append((i, end, payload))
        return out

    def any(self, tokens: Sequence[str]) -> bool:
        if self.empty:
            return False
        words = tokens if isinstance(tokens, list) else list(tokens)
        hits, cache = self._hits(words)
        return self._any(words, hits, cache)

    @staticmethod
    def _any(
        words: list[str], hits: set[str], cache: dict[str, list[tuple[Pattern, object]]]
    ) -> bool:
        if not hits:
            return False
        if len(hits) > 2:
            hits = hits.intersection(words)
            if not hits:
                return False
        for i in positions(words, hits):
            for pat, _ in cache[words[i]]:
                if pat.match_at(words, i) >= 0:
                    return True
        return False


@dataclass
class Rule:
    type: str
    weight: float
    requires: tuple[str, ...]
    exclude: PatternSet
    requires_any: tuple[str, ...] = ()


@dataclass
class LanguageRules:
    language: str
    triggers: PatternSet
    terms: dict[str, PatternSet]
    negation: frozenset[str]
    proposed: PatternSet
    rejected: PatternSet
    rules: list[Rule] = field(default_factory=list)
    # a negation word followed by one of these does not negate ("not only ... but also")
    not_only: frozenset[str] = frozenset()
    # the built-in term ``firm`` (see ``firm_pattern``)
    firm: re.Pattern[str] = field(default_factory=lambda: firm_pattern((), ()))
    # per event type: phrases that take that type from a whole sentence, whichever rule
    # matched ("Chinese law obliges companies to assist intelligence work" is the
    # background of a warning, not a regulation)
    suppress: dict[str, PatternSet] = field(default_factory=dict)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        where: str,
        not_only: Iterable[str] = (),
        firm: re.Pattern[str] | None = None,
    ) -> LanguageRules:
        """Build from one parsed rule file; ``not_only`` and ``firm`` come from the word
        lists of text.yaml. Raises ``RuleError`` naming the file and field."""
        if not isinstance(data, Mapping):
            raise RuleError(f"{where}: expected a mapping at the top level")
        unknown = set(data) - {"language", "terms", "cues", "rules", "suppress", "spellings"}
        if unknown:
            raise RuleError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
        language = str(data.get("language") or "")
        spell = _speller(data.get("spellings") or {}, where)
        terms_raw = data.get("terms") or {}
        cues = data.get("cues") or {}
        terms = {
            name: PatternSet(
                [(Pattern.parse(p, f"{where}: terms.{name}"), name) for p in spell(pats)]
            )
            for name, pats in terms_raw.items()
        }
        suppress_raw = data.get("suppress") or {}
        if not isinstance(suppress_raw, Mapping):
            raise RuleError(f"{where}: suppress: expected a mapping of event type to phrases")
        suppress: dict[str, PatternSet] = {}
        for etype, pats in suppress_raw.items():
            if etype not in EVENT_TYPES:
                raise RuleError(f"{where}: suppress.{etype}: not one of {', '.join(EVENT_TYPES)}")
            if not isinstance(pats, list):
                raise RuleError(f"{where}: suppress.{etype}: expected a list of phrases")
            suppress[etype] = PatternSet(
                [(Pattern.parse(p, f"{where}: suppress.{etype}"), None) for p in spell(pats)]
            )
        rules: list[Rule] = []
        trig: list[tuple[Pattern, object]] = []
        for n, item in enumerate(data.get("rules") or []):
            loc = f"{where}: rules[{n}]"
            if not isinstance(item, Mapping):
                raise RuleError(f"{loc}: expected a mapping")
            bad = set(item) - {
                "type",
                "triggers",
                "requires",
                "requires_any",
                "exclude",
                "weight",
                "note",
            }
            if bad:
                raise RuleError(f"{loc}: unknown key(s) {sorted(bad)}")
            etype = item.get("type")
            if etype not in EVENT_TYPES:
                raise RuleError(f"{loc}.type: {etype!r} is not one of {', '.join(EVENT_TYPES)}")
            requires = tuple(item.get("requires") or ())
            requires_any = tuple(item.get("requires_any") or ())
            for key, names in (("requires", requires), ("requires_any", requires_any)):
                for req in names:
                    if req not in terms and req not in BUILTIN_TERMS:
                        raise RuleError(f"{loc}.{key}: no term list named {req!r}")
            weight = float(item.get("weight", 0.7))
            if not 0.0 < weight <= 1.0:
                raise RuleError(f"{loc}.weight: {weight} is not in (0, 1]")
            rule = Rule(
                etype,
                weight,
                requires,
                PatternSet(
                    [(Pattern.parse(p, f"{loc}.exclude"), None) for p in spell(item.get("exclude"))]
                ),
                requires_any,
            )
            rules.append(rule)
            triggers = item.get("triggers") or []
            if not triggers:
                raise RuleError(f"{loc}.triggers: at least one trigger is required")
            trig.extend((Pattern.parse(p, f"{loc}.triggers"), rule) for p in spell(triggers))
        return cls(
            language=language,
            triggers=PatternSet(trig),
            terms=terms,
            negation=frozenset(str(w).lower() for w in spell(cues.get("negation"))),
            proposed=PatternSet(
                [
                    (Pattern.parse(p, f"{where}: cues.proposed"), None)
                    for p in spell(cues.get("proposed"))
                ]
            ),
            rejected=PatternSet(
                [
                    (Pattern.parse(p, f"{where}: cues.rejected"), None)
                    for p in spell(cues.get("rejected"))
                ]
            ),
            rules=rules,
            not_only=frozenset(w.lower() for w in not_only),
            firm=firm or firm_pattern((), ()),
            suppress=suppress,
        )


def _speller(spellings: Any, where: str) -> Callable[[Iterable[str] | None], list[str]]:
    """A function giving each phrase of a list and its other spellings: with
    ``spellings: {"ß": "ss"}`` a German rule written "auszuschließen" also matches the
    Swiss "auszuschliessen". Raises ``RuleError`` for a malformed mapping."""
    if not isinstance(spellings, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in spellings.items()
    ):
        raise RuleError(f"{where}: spellings: expected a mapping of letters to letters")
    pairs = [(k.lower(), v.lower()) for k, v in spellings.items()]

    def spell(phrases: Iterable[str] | None) -> list[str]:
        out: list[str] = []
        for phrase in phrases or ():
            out.append(phrase)
            for written, other in pairs:
                variant = str(phrase).lower().replace(written, other)
                if variant != str(phrase).lower() and variant not in out:
                    out.append(variant)
        return out

    return spell


@dataclass
class SentenceInput:
    """One body sentence with its lower-case tokens and entity mentions."""

    text: str
    tokens: list[str]
    mentions: list[Mention]
    clauses: list[int] | None = None  # clause number of each token (punctuation splits)

    def clause_numbers(self) -> list[int] | None:
        """``clauses``, which a subclass may work out only when first asked for."""
        return self.clauses


@dataclass
class _Acc:
    type: str
    status: str
    weight: float
    evidence: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    named_target: bool = False
    specific: bool = False  # a deal: some evidence sentence names a deal_specific word


class _Cues:
    """The cue matches of one sentence, sorted by end and by start.

    Whether a cue is near a trigger depends only on the closest cue end before it
    and the closest cue start after it, so each question costs a binary search
    instead of a pass over every cue of the sentence.
    """

    def __init__(self, matches: list[tuple[int, int, object]]):
        self.ends = sorted(e for _, e, _ in matches)
        self.starts = sorted(s for s, _, _ in matches)

    def last_end(self, pos: int) -> int | None:
        """The greatest cue end at or before ``pos``."""
        k = bisect_right(self.ends, pos)
        return self.ends[k - 1] if k else None

    def first_start(self, pos: int) -> int | None:
        """The smallest cue start at or after ``pos``."""
        k = bisect_left(self.starts, pos)
        return self.starts[k] if k < len(self.starts) else None


def _near(cues: _Cues, start: int, end: int, before: int, after: int) -> bool:
    """A cue match close to the trigger span [start, end) and not inside it."""
    e = cues.last_end(start)
    if e is not None and start - e <= before:
        return True
    s = cues.first_start(end)
    return s is not None and s - end <= after


def _governs(cue_end: int, start: int, starts: list[int], window: int) -> bool:
    """A cue ending at ``cue_end`` governs the first trigger that follows it (within ``window``).

    ``starts`` is sorted: no trigger may start in [cue_end, start).
    """
    if not cue_end <= start <= cue_end + window:
        return False
    k = bisect_left(starts, cue_end)
    return not (k < len(starts) and starts[k] < start)


def _status(
    rules: LanguageRules,
    tokens: list[str],
    start: int,
    end: int,
    starts: list[int],
    covered: bytearray,
    rejected: _Cues,
    proposed: _Cues,
    clauses: list[int] | None = None,
) -> str:
    """``covered[p]`` is set when token ``p`` lies inside a trigger match."""
    # A governing cue may as well be the last one ending before the trigger (a later
    # end governs whenever an earlier one does).
    e = rejected.last_end(start)
    if e is not None and _governs(e, start, starts, REJECT_BEFORE):
        return "rejected"
    s = rejected.first_start(end)
    if s is not None and s - end <= REJECT_AFTER:
        return "rejected"
    # Only a negation within NEG_BEFORE tokens before the trigger or NEG_AFTER after
    # it can govern it: look at those positions, not at the whole sentence.
    window = (*range(max(0, start - 1 - NEG_BEFORE), start), *range(end, end + NEG_AFTER))
    for p in window:
        if p >= len(tokens) or tokens[p] not in rules.negation or covered[p]:
            continue
        if clauses is not None and clauses[p] != clauses[min(start, len(clauses) - 1)]:
            continue  # "X is not a member, but joined the sanctions"
        if p + 1 < len(tokens) and tokens[p + 1] in rules.not_only:
            continue  # "not only ... but also"
        if (p < start and _governs(p + 1, start, starts, NEG_BEFORE)) or 0 <= p - end < NEG_AFTER:
            return "rejected"
    if _near(proposed, start, end, PROPOSE_BEFORE, PROPOSE_AFTER):
        return "proposed"
    return "reported"


def actors_targets(mentions: list[Mention]) -> tuple[list[str], list[str]]:
    """The acting countries, organisations and operators, and the targeted vendors, of a
    sentence's names (a demonym right before a vendor qualifies it and does not act)."""
    targets = [m.value for m in mentions if m.kind == "vendors"]
    actors: list[str] = []
    for idx, m in enumerate(mentions):
        if m.kind not in ("countries", "organisations", "operators"):
            continue
        # "Chinese manufacturers", "kinesiska teknikleverantören Huawei": a demonym
        # right before a vendor qualifies the target, it does not act.
        nxt = mentions[idx + 1] if idx + 1 < len(mentions) else None
        if m.demonym and nxt is not None and nxt.kind == "vendors" and nxt.start - m.end <= 3:
            continue
        value = m.value
        if value not in actors:
            actors.append(value)
        if m.implied_country and m.implied_country not in actors:
            actors.append(m.implied_country)
    return actors, list(dict.fromkeys(targets))


def has_actor(mentions: list[Mention]) -> bool:
    """A country named by a proper name (a demonym is not an actor) or a state body
    (government, regulator, agency, international body); newsrooms, companies and
    industry groups in the organisations list do not act for a state."""
    return any(
        (m.kind == "countries" and not m.demonym) or (m.kind == "organisations" and m.state)
        for m in mentions
    )


@dataclass
class _Facts:
    """What one sentence offers the built-in terms and term lists of ``requires``."""

    rules: LanguageRules
    tokens: list[str]
    vendor: bool
    actor: bool
    operator: bool
    tech: bool = False
    company: bool = False
    text: str = ""
    context_targets: list[str] = field(default_factory=list)
    cache: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: LanguageRules, sent: SentenceInput, **more: object) -> _Facts:
        mentions = sent.mentions
        return cls(
            rules,
            sent.tokens,
            vendor=any(m.kind == "vendors" for m in mentions),
            actor=has_actor(mentions),
            operator=any(m.kind == "operators" for m in mentions),
            text=sent.text,
            **more,  # type: ignore[arg-type]
        )

    def present(self, req: str) -> bool:
        if req == "vendor":
            return self.vendor
        if req == "actor":
            return self.actor
        if req == "operator":
            return self.operator
        if req == "tech":
            return self.tech
        if req == "company":
            return self.company
        if req == "anchor":
            return True  # checked for every sentence before any rule
        if req == "target" and self.context_targets:
            return True
        if req == "firm":
            if req not in self.cache:
                self.cache[req] = self.rules.firm.search(self.text) is not None
            return self.cache[req]
        if req not in self.cache:
            terms = self.rules.terms.get(req)
            self.cache[req] = terms.any(self.tokens) if terms is not None else False
        return self.cache[req]


# Built-in terms that the sentence before cannot meet (each already looks back or is
# about this sentence only).
_NOT_FROM_PREVIOUS = frozenset({"target", "anchor", "vendor", "tech", "company"})


def _any_in_previous(
    rules: LanguageRules, sentences: Sequence[SentenceInput], index: int, names: tuple[str, ...]
) -> bool:
    """``requires_any`` met by the sentence before: it often names who acts
    ("The government decided on Monday. Huawei gear will be banned from 2025.")."""
    if index == 0:
        return False
    prev = _Facts.of(rules, sentences[index - 1])
    return any(prev.present(req) for req in names if req not in _NOT_FROM_PREVIOUS)


def sentence_anchors(rules: LanguageRules, sentences: Sequence[SentenceInput]) -> list[bool]:
    """Per sentence: does it name a vendor or operator, or a word of the ``domain`` list
    outside the ``channel`` phrases (technology only as the channel of a statement)?"""
    domain = rules.terms.get(DOMAIN_TERMS)
    named = [any(m.kind in ANCHOR_KINDS for m in sent.mentions) for sent in sentences]
    if domain is None:
        return named
    unnamed = [n for n, name in enumerate(named) if not name]
    token_lists = [sentences[n].tokens for n in unnamed]
    found = domain.any_each(token_lists)
    channel = rules.terms.get(CHANNEL_TERMS)
    if channel is not None and any(found):
        # only sentences with a domain word and a channel phrase pay for the span lookups
        with_word = [k for k, ok in enumerate(found) if ok]
        said = [
            k
            for k, hit in zip(
                with_word, channel.any_each([token_lists[k] for k in with_word]), strict=True
            )
            if hit
        ]
        lists = [token_lists[k] for k in said]
        for k, spans, channels in zip(
            said, domain.find_each(lists), channel.find_each(lists), strict=True
        ):
            found[k] = any(
                not any(cs <= start and end <= ce for cs, ce, _ in channels)
                for start, end, _ in spans
            )
    for n, ok in zip(unnamed, found, strict=True):
        named[n] = ok
    return named


def anchored(
    rules: LanguageRules,
    sentences: Sequence[SentenceInput],
    own: list[bool] | None = None,
    wide_density: float = WIDE_DENSITY,
    wide_window: int = WIDE_WINDOW,
) -> list[bool]:
    """Per sentence: may it carry an event? Only when it or a neighbour is anchored; in
    an article where at least ``wide_density`` of the sentences are anchored, when an
    anchored sentence is at most ``wide_window`` sentences away (config.WIDE_DENSITY).

    A rule file without a ``domain`` term list is not domain-checked (every sentence
    may carry events); the bundled files all have one.
    """
    if DOMAIN_TERMS not in rules.terms:
        return [True] * len(sentences)
    if own is None:
        own = sentence_anchors(rules, sentences)
    n = len(own)
    window = max(1, wide_window) if n and sum(own) >= wide_density * n else 1
    return [any(own[max(0, i - window) : i + window + 1]) for i in range(n)]


def classify(
    rules: LanguageRules,
    sentences: Sequence[SentenceInput],
    *,
    anchors: list[bool] | None = None,
    own_anchor_only: bool = False,
    subject_named: bool = False,
    max_evidence: int = MAX_EVIDENCE,
    max_evidence_chars: int = MAX_EVIDENCE_CHARS,
    caps: set[str] | None = None,
    secondary_below: float = SECONDARY_BELOW,
    secondary_gap: float = SECONDARY_GAP,
    secondary_warning_below: float = SECONDARY_WARNING_BELOW,
    wide_density: float = WIDE_DENSITY,
    wide_window: int = WIDE_WINDOW,
    near: list[bool] | None = None,
) -> list[PolicyEvent]:
    """Events in the sentences, merged per (type, status); see the module docstring.

    ``subject_named``: the title names a vendor or operator (the built-in ``company`` then
    holds in every sentence). With ``own_anchor_only`` only sentences that themselves name a technology word, vendor
    or operator carry events (for articles that are barely about technology).
    Each event keeps at most ``max_evidence`` sentences of at most ``max_evidence_chars``
    characters; a longer sentence is cut (ending in an ellipsis) and ``"evidence_chars"``
    is added to ``caps``. A second type resting on one sentence whose confidence is
    under ``secondary_below`` and ``secondary_gap`` under the leading type's is dropped
    (``secondary_dropped``). ``near``: what ``anchored`` gives for these sentences with
    ``wide_density`` and ``wide_window``, when the caller has it already.
    """
    acc: dict[tuple[str, str], _Acc] = {}
    previous_actors: list[str] = []
    previous_targets: list[str] = []
    own_anchor = anchors if anchors is not None else sentence_anchors(rules, sentences)
    near_anchor = (
        near
        if near is not None
        else anchored(rules, sentences, own_anchor, wide_density, wide_window)
    )
    reacting = rules.terms.get(REACTION_TERMS)
    deal_specific = rules.terms.get(DEAL_SPECIFIC_TERMS)
    # the trigger matches of every sentence that may carry events, found in one go
    eligible = [
        index
        for index in range(len(sentences))
        if near_anchor[index] and not (own_anchor_only and not own_anchor[index])
    ]
    trigger_matches = dict(
        zip(
            eligible,
            rules.triggers.find_each([sentences[index].tokens for index in eligible]),
            strict=True,
        )
    )
    for index, sent in enumerate(sentences):
        tokens = sent.tokens
        actors, targets = actors_targets(sent.mentions)
        if actors and reacting is not None and reacting.any(tokens):
            actors = []  # "China criticised the ban": who reacts to an event does not act in it
        sentence_actors = actors or previous_actors
        if actors:
            previous_actors = actors
        has_vendor = bool(targets)
        # "... the same ban": a vendor named in the sentence before is still the target.
        context_targets = targets or previous_targets
        previous_targets = targets
        hits: dict[tuple[str, str], float] = {}
        if not near_anchor[index]:
            continue  # an off-domain sentence: courts, bans, deals of ordinary news
        if own_anchor_only and not own_anchor[index]:
            continue  # an article that is barely about technology: only direct evidence
        matches = trigger_matches[index]
        if not matches:
            continue
        company_near = (
            subject_named
            or any(m.kind in ANCHOR_KINDS for m in sent.mentions)
            or (index > 0 and any(m.kind in ANCHOR_KINDS for m in sentences[index - 1].mentions))
        )
        facts = _Facts.of(
            rules,
            sent,
            tech=own_anchor[index],
            company=company_near,
            context_targets=context_targets,
        )
        rejected_cues = _Cues(rules.rejected.find(tokens))
        proposed_cues = _Cues(rules.proposed.find(tokens))
        # Only bans and sanctions can be declined, so a cue governs the first of those.
        starts = sorted({m[0] for m in matches if m[2].type in REJECTABLE})  # type: ignore[attr-defined]
        covered = bytearray(len(tokens))
        for m_start, m_end, _ in matches:
            covered[m_start:m_end] = b"\x01" * (m_end - m_start)
        excluded: dict[int, bool] = {}  # per rule, for this sentence
        for start, end, payload in matches:
            rule = payload
            assert isinstance(rule, Rule)
            if not all(facts.present(req) for req in rule.requires):
                continue
            if rule.requires_any and not (
                any(facts.present(req) for req in rule.requires_any)
                or _any_in_previous(rules, sentences, index, rule.requires_any)
            ):
                continue
            if id(rule) not in excluded:
                excluded[id(rule)] = rule.exclude.any(tokens)
            if excluded[id(rule)]:
                continue
            status = _status(
                rules,
                tokens,
                start,
                end,
                starts,
                covered,
                rejected_cues,
                proposed_cues,
                sent.clause_numbers(),
            )
            if status == "rejected" and rule.type not in REJECTABLE:
                continue
            hits.setdefault((rule.type, status), rule.weight)
            hits[(rule.type, status)] = max(hits[(rule.type, status)], rule.weight)
        if rules.suppress and hits:
            for etype in {t for t, _ in hits}:
                gone = rules.suppress.get(etype)
                if gone is not None and gone.any(tokens):
                    hits = {k: w for k, w in hits.items() if k[0] != etype}
        types = {t for t, _ in hits}
        for (etype, status), weight in hits.items():
            suppressed = etype in _SUPPRESSED_BY and bool(types & _SUPPRESSED_BY[etype])
            replacing = etype == "deal" and len(targets) >= 2 and "licensing" not in types
            if suppressed and not replacing:
                continue
            key = (etype, status)
            a = acc.get(key)
            if a is None:
                a = acc[key] = _Acc(etype, status, weight)
            a.weight = max(a.weight, weight)
            if etype == "deal" and not a.specific:
                a.specific = deal_specific is None or deal_specific.any(tokens)
            if len(a.evidence) < max_evidence and sent.text not in a.evidence:
                text = evidence_text(sent.text, max_evidence_chars, caps)
                if text not in a.evidence:
                    a.evidence.append(text)
            for x in sentence_actors:
                if x not in a.actors:
                    a.actors.append(x)
            for x in targets:
                if x not in a.targets:
                    a.targets.append(x)
            a.named_target = a.named_target or has_vendor
    events: list[PolicyEvent] = []
    for a in licence_deals_dropped(list(acc.values())):
        confidence = a.weight
        confidence += 0.08 if a.named_target else 0.0
        confidence += 0.04 if a.actors else 0.0
        confidence += 0.04 * (len(a.evidence) - 1)
        events.append(
            PolicyEvent(
                type=a.type,  # type: ignore[arg-type]
                status=a.status,  # type: ignore[arg-type]
                confidence=round(min(confidence, 0.99), 3),
                evidence=a.evidence,
                actors=a.actors,
                targets=a.targets,
            )
        )
    return in_order(
        secondary_dropped(events, secondary_below, secondary_gap, secondary_warning_below)
    )


_TYPE_ORDER = {t: i for i, t in enumerate(EVENT_TYPES)}


def in_order(found: Iterable[PolicyEvent]) -> list[PolicyEvent]:
    """``found`` sorted as an article lists its events: by type (EVENT_TYPES), then status."""
    return sorted(found, key=lambda e: (_TYPE_ORDER[e.type], e.status))


def evidence_text(text: str, max_chars: int, caps: set[str] | None = None) -> str:
    """A sentence as evidence: cut to ``max_chars`` characters, ending in an ellipsis, when
    longer (and then ``"evidence_chars"`` is added to ``caps``)."""
    if len(text) <= max_chars:
        return text
    if caps is not None:
        caps.add("evidence_chars")
    return text[: max(1, max_chars - 1)].rstrip() + "\u2026"


def licence_deals_dropped(accs: list[_Acc]) -> list[_Acc]:
    """Without the deals of an article that reports licensing, when no sentence of the
    deal names a ``deal_specific`` word: a patent licence that settles a dispute is told
    as "the agreement" or "the deal" in later sentences, and is one licensing event, not
    a deal besides it. A supply pact or joint venture signed with the licence stays."""
    if not any(a.type == "licensing" for a in accs):
        return accs
    return [a for a in accs if a.type != "deal" or a.specific]


def secondary_dropped(
    events: list[PolicyEvent],
    below: float = SECONDARY_BELOW,
    gap: float = SECONDARY_GAP,
    warning_below: float = SECONDARY_WARNING_BELOW,
) -> list[PolicyEvent]:
    """``events`` without the second types that rest on one sentence, with a confidence
    under ``below`` and at least ``gap`` under the leading type's.

    A type's confidence is the highest of its events (any status); its evidence is the
    distinct sentences of all of them. The leading type always stays; a warning
    (SECONDARY_KEPT) is weak only under ``warning_below`` and when the leading type is not
    in WARNED_WITH; the events of a weak type whose (type, status) is in
    SECONDARY_KEPT_EVENTS (planned rules, declined bans) stay too; ``below`` 0 keeps every
    type.
    """
    if len(events) < 2 or below <= 0:
        return events
    best: dict[str, float] = {}
    sentences: dict[str, set[str]] = {}
    for e in events:
        best[e.type] = max(best.get(e.type, 0.0), e.confidence)
        sentences.setdefault(e.type, set()).update(e.evidence)
    lead_type = max(best, key=best.__getitem__)
    lead = best[lead_type]
    # a weak warning beside a ban is the fear the ban answers: it stays
    kept_below = 0.0 if lead_type in WARNED_WITH else warning_below
    weak = {
        t
        for t, conf in best.items()
        if len(sentences[t]) <= 1
        and conf < (kept_below if t in SECONDARY_KEPT else below)
        and conf <= lead - gap + 1e-9
    }
    if not weak:
        return events
    return [e for e in events if e.type not in weak or (e.type, e.status) in SECONDARY_KEPT_EVENTS]
