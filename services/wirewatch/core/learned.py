"""Learned cues: the event types the rules missed, read from the words of an article's
technology sentences.

Rules find an event where one of their phrasings is written; real news phrases the same
event in more ways than any list holds. Per language and event type, a learned file
(``data/learned/<lang>.json``, see FORMATS.md) gives a weight to each word stem and to
each pair of neighbouring stems; an article's probability of a type is the logistic of
the bias plus the weights of the stems its anchored sentences hold (the sentences that
name technology, or sit next to one that does: the same sentences events may come
from). A type the rules did not find is added when its probability reaches the file's
``threshold`` (or the type's own: court words have the most everyday senses), with the anchored sentence that weighs most for it as evidence, its
status from the rule file's proposed and rejected cues, and its actors and targets from
that sentence's names. Rules keep their word: no type is added whose evidence sentence
its ``suppress`` phrases match, nor a type that cannot be declined from a declining
sentence, and a warning (which needs an official, PRODUCT.md) only from a sentence that
names an official or an acting state, as the rules' warnings need.
The weights are written by ``wirewatch train-cues`` from the labelled tuning halves.

Contract: ``LearnedCues.from_mapping`` raises ``CuesError`` naming the file and field of
a malformed file; the other functions are pure and never raise on any text.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wirewatch.core import events
from wirewatch.core.models import EVENT_TYPES, PolicyEvent

# Types the learned cues may add. A warning needs an official who warns (PRODUCT.md),
# which a bag of words cannot tell from a company or a researcher: its evidence sentence
# must name one (``_names_an_official``).
ADDABLE = tuple(EVENT_TYPES)
# language code -> Snowball algorithm (the Porter-based Dutch one under either PyStemmer
# major, as the search index uses)
STEMMER_NAMES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "nl": "dutch_porter",
    "sv": "swedish",
    "da": "danish",
    "nb": "norwegian",
}


class CuesError(ValueError):
    """A learned-cues file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class TypeCues:
    """One event type's bias and feature weights."""

    bias: float
    weights: Mapping[str, float]
    # the probability that adds this type, where it is not the file's ``threshold``
    threshold: float | None = None


@dataclass(frozen=True)
class LearnedCues:
    """The learned cues of one language."""

    language: str
    threshold: float
    types: Mapping[str, TypeCues]
    # The same weights as a matrix (one row per feature, one column per type) with the
    # row of each stem and of each pair of stems: an article is scored with set
    # intersections and one sum, not a Python loop per feature and type.
    unigrams: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    bigrams: Mapping[tuple[str, str], int] = field(default_factory=dict, compare=False, repr=False)
    order: tuple[str, ...] = field(default=(), compare=False, repr=False)
    matrix: Any = field(default=None, compare=False, repr=False)  # numpy array (rows, types)

    def __post_init__(self) -> None:
        if self.matrix is not None:
            return
        import numpy as np

        order = tuple(self.types)
        unigrams: dict[str, int] = {}
        bigrams: dict[tuple[str, str], int] = {}
        rows: list[list[float]] = [[cues.bias for cues in self.types.values()]]  # row 0: bias
        for column, cues in enumerate(self.types.values()):
            for feature, weight in cues.weights.items():
                first, sep, second = feature.partition("_")
                table: dict[Any, int] = bigrams if sep else unigrams
                key: Any = (first, second) if sep else feature
                row = table.get(key)
                if row is None:
                    row = table[key] = len(rows)
                    rows.append([0.0] * len(order))
                rows[row][column] = weight
        object.__setattr__(self, "unigrams", unigrams)
        object.__setattr__(self, "bigrams", bigrams)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "matrix", np.asarray(rows, dtype=np.float64))

    def hits(self, sentence_stems: Sequence[str]) -> frozenset[int]:
        """The rows of the features of one sentence's stems that carry a weight (each
        stem, each pair of neighbouring stems)."""
        unigrams, bigrams = self.unigrams, self.bigrams
        found = {unigrams[a] for a in unigrams.keys() & set(sentence_stems)}
        pairs = set(zip(sentence_stems, sentence_stems[1:], strict=False))
        found.update(bigrams[p] for p in bigrams.keys() & pairs)
        return frozenset(found)

    def weigh(self, hits: Iterable[int]) -> dict[str, float]:
        """Per type: its bias plus the weights of the rows ``hits`` (each counted once)."""
        rows = [0, *set(hits)]
        return dict(zip(self.order, self.matrix[rows].sum(axis=0).tolist(), strict=True))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> LearnedCues:
        if not isinstance(data, Mapping):
            raise CuesError(f"{where}: expected an object with 'language', 'threshold', 'types'")
        language = data.get("language")
        if not isinstance(language, str) or language not in STEMMER_NAMES:
            raise CuesError(
                f"{where}: 'language' must be one of {', '.join(sorted(STEMMER_NAMES))}"
            )
        threshold = data.get("threshold")
        if not isinstance(threshold, int | float) or not 0 < threshold < 1:
            raise CuesError(f"{where}: 'threshold' must be a number between 0 and 1")
        raw_types = data.get("types")
        if not isinstance(raw_types, Mapping):
            raise CuesError(f"{where}: 'types' must map an event type to its bias and weights")
        types: dict[str, TypeCues] = {}
        for etype, entry in raw_types.items():
            if etype not in ADDABLE:
                raise CuesError(
                    f"{where}: types.{etype}: not a type learned cues may add "
                    f"({', '.join(ADDABLE)})"
                )
            if not isinstance(entry, Mapping):
                raise CuesError(f"{where}: types.{etype}: expected 'bias' and 'weights'")
            bias, weights = entry.get("bias"), entry.get("weights")
            if not isinstance(bias, int | float):
                raise CuesError(f"{where}: types.{etype}.bias must be a number")
            if not isinstance(weights, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int | float) for k, v in weights.items()
            ):
                raise CuesError(f"{where}: types.{etype}.weights must map a stem to a number")
            own = entry.get("threshold")
            if own is not None and (not isinstance(own, int | float) or not 0 < own < 1):
                raise CuesError(
                    f"{where}: types.{etype}.threshold must be a number between 0 and 1"
                )
            types[etype] = TypeCues(
                float(bias),
                {k: float(v) for k, v in weights.items()},
                None if own is None else float(own),
            )
        return cls(language, float(threshold), types)


_local = threading.local()  # a Stemmer object is not safe to share between threads


def stems(tokens: Iterable[str], language: str) -> list[str]:
    """The Snowball stems of the alphabetic ``tokens``, lower-cased; no stemming for a
    language without an algorithm."""
    words = [t.lower() for t in tokens if t.isalpha()]
    name = STEMMER_NAMES.get(language)
    if name is None:
        return words
    cache: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    stemmer = cache.get(name)
    if stemmer is None:
        import Stemmer  # PyStemmer: a C extension with no I/O

        stemmer = cache[name] = Stemmer.Stemmer(name)
    result: list[str] = stemmer.stemWords(words)
    return result


def sentence_features(sentence_stems: Sequence[str]) -> set[str]:
    """Each stem, and each pair of neighbouring stems joined by ``_``."""
    found = set(sentence_stems)
    found.update(f"{a}_{b}" for a, b in zip(sentence_stems, sentence_stems[1:], strict=False))
    return found


def probability(cues: TypeCues, features: Iterable[str]) -> float:
    """The logistic of the bias plus the weights of ``features`` (each counted once)."""
    weights = cues.weights
    return _logistic(cues.bias + sum(weights.get(f, 0.0) for f in set(features)))


def _logistic(z: float) -> float:
    if z < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def _names_an_official(rules: events.LanguageRules, sentence: events.SentenceInput) -> bool:
    """Does the sentence name a government, official, agency or parliament (the rule
    file's ``official`` words) or an acting state (a country by its proper name, a state
    body)?"""
    official = rules.terms.get("official")
    return bool(official is not None and official.any(sentence.tokens)) or events.has_actor(
        sentence.mentions
    )


def added_events(
    cues: LearnedCues,
    rules: events.LanguageRules,
    sentences: Sequence[events.SentenceInput],
    near: Sequence[bool],
    found: Sequence[PolicyEvent],
    max_evidence_chars: int = events.MAX_EVIDENCE_CHARS,
    caps: set[str] | None = None,
) -> list[PolicyEvent]:
    """The events of the types the rules did not find (``found``) whose probability over
    the ``near`` (anchored) sentences reaches the threshold; see the module docstring.
    Evidence longer than ``max_evidence_chars`` is cut as ``events.classify`` cuts it."""
    have = {e.type for e in found}
    wanted = [t for t in ADDABLE if t in cues.types and t not in have]
    indexes = [i for i, ok in enumerate(near) if ok and i < len(sentences)]
    if not wanted or not indexes:
        return []
    per_sentence = {i: cues.hits(stems(sentences[i].tokens, cues.language)) for i in indexes}
    article = cues.weigh(frozenset().union(*per_sentence.values()))
    added: list[PolicyEvent] = []
    sentence_weights: dict[int, dict[str, float]] = {}  # weighed once, for every type
    for etype in wanted:
        type_cues = cues.types[etype]
        p = _logistic(article[etype])
        if p < (cues.threshold if type_cues.threshold is None else type_cues.threshold):
            continue
        # The sentence that weighs most for the type is its evidence; where the rules say
        # that sentence is another sense of the type, or declines it, there is no event.
        if not sentence_weights:
            sentence_weights = {i: cues.weigh(per_sentence[i]) for i in indexes}
        best = min(indexes, key=lambda i: (-sentence_weights[i][etype], i))
        tokens = sentences[best].tokens
        if etype == "warning" and not _names_an_official(rules, sentences[best]):
            continue
        suppress = rules.suppress.get(etype) if rules.suppress else None
        if suppress is not None and suppress.any(tokens):
            continue
        if rules.rejected.any(tokens):
            if etype not in events.REJECTABLE:
                continue
            status = "rejected"
        elif rules.proposed.any(tokens):
            status = "proposed"
        else:
            status = "reported"
        actors, targets = events.actors_targets(sentences[best].mentions)
        text = events.evidence_text(sentences[best].text, max_evidence_chars, caps)
        added.append(
            PolicyEvent(
                type=etype,  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                confidence=round(min(p, 0.99), 3),
                evidence=[text],
                actors=actors,
                targets=targets,
            )
        )
    return added
