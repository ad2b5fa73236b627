"""Enrich and classify one article: the single implementation every runner uses.

The core does no I/O of its own: the runner reads the bytes, passes the clock and
a ``DuplicateIndex`` in, and decides where results go. ``Resources.load`` reads the
bundled (or a given) data directory once at start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from . import (
    dates,
    entities,
    events,
    fingerprint,
    keywords,
    language,
    learned,
    parse,
    relevance,
    wordlists,
)
from .config import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from .config import CoreConfig as CoreConfig
from .decode import decode
from .lazy import PerKey, unpickle
from .models import EnrichedArticle, Entities, PolicyEvent, Rejection, RejectReason, Source
from .text import TOKEN_RE, Tokens, tokens_of

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("nl", "sv", "en", "de", "fr", "da", "nb")
_HINT_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")
MIN_WORDS = 5


class DataError(ValueError):
    """A data file (rules, gazetteer) is malformed; the message names file and field."""


def _load_yaml(path: Path) -> object:
    from . import yamlio  # only when the data files are compiled, not from the cache

    try:
        return yamlio.load(path.read_text(encoding="utf-8"))
    except yamlio.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc


@dataclass
class Resources:
    """Everything the core reads from data files, loaded once."""

    gazetteer: entities.Gazetteer
    rules: Mapping[str, events.LanguageRules]  # a ``PerKey``: see lazy.py
    date_cues: dates.DateCues
    stopwords: dict[str, frozenset[str]]
    text: parse.TextRules
    # per language: the learned cues (data/learned/<lang>.json), where there are any
    learned: Mapping[str, learned.LearnedCues] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR, cache_dir: Path | None = None) -> Resources:
        """Parse the data files, or reuse the compiled copy cached under ``cache_dir``.

        The cache is keyed by a hash of every data file, of the core's code and of the
        library versions, so any change to a file rebuilds it; a cache that cannot be
        read or written is ignored. ``cache_dir=None`` disables it.
        """
        if cache_dir is None:
            return cls._parse(data_dir)
        key = _cache_key(data_dir)
        path = cache_dir / f"resources-{key}.pickle"
        try:
            cached = unpickle(path.read_bytes())
            if isinstance(cached, Resources):
                return cached
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
            pass
        resources = cls._parse(data_dir)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(resources, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            for old in cache_dir.glob("resources-*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass
        return resources

    @classmethod
    def _parse(cls, data_dir: Path = DATA_DIR) -> Resources:
        import babel  # country names in every language; only when compiling the data

        tpath = data_dir / "text.yaml"
        text_data = _load_yaml(tpath) if tpath.exists() else {}
        try:
            text_rules = parse.TextRules.from_mapping(text_data, str(tpath))
            particles = wordlists.words(text_data, "name_particles", str(tpath))
            not_only = wordlists.words(text_data, "not_only", str(tpath))
            firm = events.firm_pattern(
                wordlists.words(text_data, "companies.legal_forms", str(tpath)),
                wordlists.words(text_data, "companies.name_joiners", str(tpath)),
            )
        except wordlists.WordListError as exc:
            raise DataError(str(exc)) from exc
        gdir = data_dir / "gazetteer"
        lists: dict[str, list[Mapping[str, Any]]] = {}
        for kind in ("vendors", "operators", "organisations", "people"):
            path = gdir / f"{kind}.yaml"
            raw = _load_yaml(path) if path.exists() else []
            if not isinstance(raw, list):
                raise DataError(f"{path}: expected a list of entries with 'name'")
            for n, item in enumerate(raw):
                if not isinstance(item, Mapping) or not item.get("name"):
                    raise DataError(f"{path}: entry {n} has no 'name'")
            lists[kind] = raw
        cpath = gdir / "countries.yaml"
        countries = _load_yaml(cpath) if cpath.exists() else {}
        if not isinstance(countries, Mapping):
            raise DataError(f"{cpath}: expected a mapping of country code -> names/demonyms/places")
        localized: dict[str, dict[str, str]] = {}
        for lang in (*LANGUAGES, "en"):
            names = babel.Locale.parse(lang).territories
            localized[lang] = {
                code: name
                for code, name in names.items()
                if code.isalpha() and code not in {"EZ", "UN", "QO", "ZZ", "XA", "XB", "QU"}
            }
        fpath = gdir / "first_names.txt"
        first = fpath.read_text(encoding="utf-8").splitlines() if fpath.exists() else []
        bpath = gdir / "not_entities.yaml"
        braw = _load_yaml(bpath) if bpath.exists() else {}
        if not isinstance(braw, Mapping) or not isinstance(braw.get("phrases") or [], list):
            raise DataError(f"{bpath}: expected a mapping with a list 'phrases'")
        try:
            ambiguous = wordlists.words(braw, "country_names", str(bpath))
        except wordlists.WordListError as exc:
            raise DataError(str(exc)) from exc
        gaz = entities.Gazetteer.from_data(
            lists,
            countries,
            localized,
            (n for n in first if not n.startswith("#")),
            (str(p) for p in braw.get("phrases") or []),
            particles,
            ambiguous,
        )
        rules: dict[str, events.LanguageRules] = {}
        for path in sorted((data_dir / "events").glob("*.yaml")):
            data = _load_yaml(path)
            try:
                lr = events.LanguageRules.from_mapping(
                    data,  # type: ignore[arg-type]
                    str(path),
                    not_only,
                    firm,
                )
            except events.RuleError as exc:
                raise DataError(str(exc)) from exc
            rules[lr.language or path.stem] = lr
        dpath = data_dir / "dates.yaml"
        try:
            cues = dates.DateCues.from_mapping(_load_yaml(dpath) or {}, str(dpath))  # type: ignore[arg-type]
        except wordlists.WordListError as exc:
            raise DataError(str(exc)) from exc
        stop: dict[str, frozenset[str]] = {}
        for path in (data_dir / "stopwords").glob("*.txt"):
            words = path.read_text(encoding="utf-8").splitlines()
            stop[path.stem] = frozenset(w.strip().lower() for w in words if w and w[0] != "#")
        learned_cues: dict[str, learned.LearnedCues] = {}
        for path in sorted((data_dir / "learned").glob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DataError(f"{path}: not valid JSON: {exc}") from exc
            try:
                lc = learned.LearnedCues.from_mapping(raw, str(path))
            except learned.CuesError as exc:
                raise DataError(str(exc)) from exc
            learned_cues[lc.language] = lc
        return cls(gaz, PerKey(rules), cues, stop, text_rules, PerKey(learned_cues))


_CODE_FILES = (
    "logic.py",
    "events.py",
    "learned.py",
    "entities.py",
    "dates.py",
    "text.py",
    "parse.py",
    "wordlists.py",
    "models.py",
    "lazy.py",
)


@cache
def bundled_text_rules() -> parse.TextRules:
    """The ``TextRules`` of the bundled text.yaml, read once: what ``article_key`` parses
    with when it is given none (sources that key articles without ``Resources``)."""
    path = DATA_DIR / "text.yaml"
    try:
        return parse.TextRules.from_mapping(_load_yaml(path), str(path))
    except wordlists.WordListError as exc:
        raise DataError(str(exc)) from exc


def _cache_key(data_dir: Path) -> str:
    """A hash of every data file, the core's code and the versions that shape Resources."""
    # the installed versions, read without importing the libraries (that would cost more
    # than loading the cache)
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{installed('babel')}|{installed('PyYAML')}".encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(data_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


class DuplicateIndex(Protocol):
    """Earlier articles' fingerprints, for near-duplicate lookup.

    ``candidates`` returns (article id, signature) pairs sharing at least one band
    key; ``add`` records an article. Implementations: in memory (below), SQLite
    (embedded store), the search index (distributed mode).
    """

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]: ...

    def add(self, article_id: str, keys: list[str], signature: list[int]) -> None: ...


class MemoryDuplicateIndex:
    """A ``DuplicateIndex`` for one process's lifetime (``wirewatch enrich``, tests)."""

    def __init__(self) -> None:
        self._bands: dict[str, list[str]] = {}
        self._sigs: dict[str, list[int]] = {}

    def candidates(self, keys: list[str]) -> Iterable[tuple[str, list[int]]]:
        seen: set[str] = set()
        for key in keys:
            for aid in self._bands.get(key, ()):
                if aid not in seen:
                    seen.add(aid)
                    yield aid, self._sigs[aid]

    def add(self, article_id: str, keys: list[str], signature: list[int]) -> None:
        if article_id in self._sigs:
            return
        self._sigs[article_id] = signature
        for key in keys:
            self._bands.setdefault(key, []).append(article_id)


def near_duplicate_of(
    article: EnrichedArticle, index: DuplicateIndex, threshold: float
) -> str | None:
    """Id of the most similar earlier article at or above ``threshold``, else None."""
    pairs = [
        (aid, sig)
        for aid, sig in index.candidates(fingerprint.band_keys(article.fingerprint))
        if aid != article.id
    ]
    if not pairs:
        return None
    sims = fingerprint.similarities(article.fingerprint, [sig for _, sig in pairs])
    best: tuple[float, str] | None = None
    for (aid, _), sim in zip(pairs, sims, strict=True):
        if sim >= threshold and (best is None or (sim, aid) > best):
            best = (sim, aid)
    return best[1] if best else None


def register(article: EnrichedArticle, index: DuplicateIndex) -> None:
    index.add(article.id, fingerprint.band_keys(article.fingerprint), article.fingerprint)


def article_key(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, text_rules: parse.TextRules | None = None
) -> str:
    """The id ``Enricher.analyse`` will give these bytes, without the rest of the work.

    Sources use it as the message key, so a re-sent file lands on the same partition
    and overwrites the same document. Bytes that do not decode get ``raw-`` + a hash
    of the bytes (the worker will reject them with the reason). ``text_rules`` are
    those of the enricher's ``Resources`` (default: the bundled ones).
    """
    decoded = decode(data, max_bytes)
    if isinstance(decoded, RejectReason):
        return "raw-" + hashlib.sha256(data).hexdigest()[:16]
    parsed = parse.parse(decoded.text, text_rules or bundled_text_rules())
    return fingerprint.article_id("\n".join(filter(None, [parsed.title or "", parsed.body])))


def _title_from_lead(lead: str | None) -> str | None:
    if not lead:
        return None
    if len(lead) <= 140:
        return lead
    cut = lead[:140].rsplit(" ", 1)[0]
    return cut + "…"


_CLAUSE_PUNCT = re.compile("[,;:()–—]")
_WORD = re.compile(r"[^\W\d_][^\W_]*")


class _WordCounts:
    """Per token: how many words of _WORD it holds (numbers left out) and their letters,
    packed in one int (words << 32 | letters) so a text's two totals are one sum."""

    __slots__ = ("packed",)

    def __init__(self) -> None:
        self.packed: dict[str, int] = {}

    def learn(self, token: str) -> None:
        found = _WORD.findall(token)
        numbers = list(filter(str.isdigit, found))
        letters = sum(map(len, found)) - sum(map(len, numbers))
        self.packed[token] = (len(found) - len(numbers)) << 32 | letters


_word_counts = _WordCounts()


def _words_and_letters(tokens: list[str]) -> tuple[int, int]:
    """How many words of letters (_WORD, numbers left out) a text has, and their letters
    in all, from its word tokens (``text.tokens_of``).

    _WORD matches lie inside tokens (maximal runs of \\w) and no match reaches out of
    one, so the matches of the text are those of its tokens, each counted once per
    distinct token and remembered. (A text's letters stay far below 2**32: its size is
    capped long before.)
    """
    global _word_counts
    counts = _word_counts
    packed = counts.packed
    if not all(map(packed.__contains__, tokens)):
        unknown = set(tokens).difference(packed)
        if len(packed) + len(unknown) > 150_000:  # bound memory (one memo for all languages)
            counts = _word_counts = _WordCounts()
            packed = counts.packed
            unknown = set(tokens)
        for token in unknown:
            counts.learn(token)
    total = sum(map(packed.__getitem__, tokens))
    return total >> 32, total & 0xFFFFFFFF


@dataclass
class _Sentence(events.SentenceInput):
    """A sentence whose clause numbers are worked out only when the events ask (for
    a trigger's status): most sentences have no trigger."""

    def clause_numbers(self) -> list[int] | None:
        if self.clauses is None:
            self.clauses = _clauses(self.text, len(self.tokens))
        return self.clauses


def _clauses(text: str, count: int) -> list[int]:
    """The clause of each of the ``count`` tokens of ``text``: the number of clause
    marks before it. The marks are not word characters, so the tokens of the text are
    those of the stretches between marks, in order: the k-th stretch holds clause k."""
    if _CLAUSE_PUNCT.search(text) is None:
        return [0] * count
    clauses: list[int] = []
    for k, stretch in enumerate(_CLAUSE_PUNCT.split(text)):
        clauses += [k] * len(TOKEN_RE.findall(stretch))
    return clauses


def _sentence_input(text: str, toks: Tokens, found: list[entities.Mention]) -> events.SentenceInput:
    return _Sentence(text, toks.lower, found)


class Enricher:
    """Runs the whole enrichment on one article. Thread-safe; build once per process."""

    def __init__(
        self,
        resources: Resources,
        config: CoreConfig | None = None,
        clock: Callable[[], datetime] | None = None,
        observe: Callable[[str, list[list[str]]], None] | None = None,
    ):
        """``observe(language, sentence_tokens)``, when given, receives the tokens of each
        classified article's anchored sentences: what ``wirewatch train-cues`` learns from."""
        self.resources = resources
        self.config = config or CoreConfig()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._observe = observe
        # the stop words of each language with the English ones, built once
        self._stopwords: dict[str, frozenset[str]] = {}

    def analyse(
        self,
        data: bytes,
        source: Source,
        language_hint: str | None = None,
        published_hint: str | None = None,
    ) -> EnrichedArticle | Rejection:
        """Enrich one article without the near-duplicate lookup (which needs a store).

        ``published_hint`` (YYYY-MM-DD, e.g. a feed item's date) is used only when the
        text itself gives no publication date (``published_source`` = ``feed``).
        Returns a ``Rejection`` for input that is not an article; never raises for
        any bytes.
        """
        decoded = decode(data, self.config.max_bytes)
        if isinstance(decoded, RejectReason):
            return Rejection(source=source, rejected=decoded)
        res = self.resources
        parsed = parse.parse(decoded.text, res.text)
        body_sentences = parsed.sentences()
        body = parsed.body
        all_text = "\n".join(filter(None, [parsed.title or "", body]))
        title_tokens = tokens_of(parsed.title) if parsed.title else Tokens("", [], [])
        # (tokens, text, is a body sentence) of the title and every sentence, in order
        units: list[tuple[Tokens, str, bool]] = []
        if title_tokens.text and parsed.title:
            units.append((title_tokens, parsed.title, True))
        title_units = len(units)
        for para in parsed.paragraphs:
            body_sentence = para.kind == "body"
            for sentence in para.sentences:
                units.append((tokens_of(sentence), sentence, body_sentence))
        # The sentences cut paragraphs between words, so these are the tokens of all_text.
        n_words, letters = _words_and_letters([word for toks, _, _ in units for word in toks.text])
        # str.split() and \s agree on what is white space (both are str.isspace)
        visible = len("".join(all_text.split()))
        if n_words < MIN_WORDS or visible == 0 or letters / visible < 0.5:
            return Rejection(
                source=source,
                rejected=RejectReason(
                    code="not_language",
                    reason=f"the text is not natural language ({n_words} words, "
                    f"{letters}/{visible} letters); drop article text, not data or code",
                ),
            )
        lang, lang_conf = language.detect_language(all_text, language_hint)

        sentence_inputs: list[events.SentenceInput] = []
        mentions: list[entities.Mention] = []
        founds = res.gazetteer.find_all([(toks, text) for toks, text, _ in units], lang)
        body_lower: list[str] = []
        for n, ((toks, text, body_sentence), found) in enumerate(zip(units, founds, strict=True)):
            mentions += found
            if n >= title_units:
                body_lower += toks.lower
            if body_sentence:
                sentence_inputs.append(_sentence_input(text, toks, found))
        ents = entities.collect(mentions)

        rules = res.rules.get(lang) or res.rules.get("en")
        caps: set[str] = set()
        anchors = events.sentence_anchors(rules, sentence_inputs) if rules else []
        named = list(dict.fromkeys([*ents["vendors"], *ents["operators"]]))
        title_anchored = bool(parsed.title and title_tokens.text and anchors and anchors[0])
        base = relevance.score(sum(anchors), len(anchors), title_anchored, named, [])
        # Below the floor an article carries no event, so classifying it is skipped;
        # just above it only sentences that name technology themselves count.
        found_events: list[PolicyEvent] = []
        if rules and base.score >= self.config.event_direct_relevance:
            near = events.anchored(
                rules, sentence_inputs, anchors, self.config.wide_density, self.config.wide_window
            )
            found_events = events.classify(
                rules,
                sentence_inputs,
                anchors=anchors,
                own_anchor_only=base.score < self.config.event_min_relevance,
                subject_named=bool(
                    parsed.title
                    and sentence_inputs
                    and any(m.kind in events.ANCHOR_KINDS for m in sentence_inputs[0].mentions)
                ),
                max_evidence=self.config.max_evidence,
                max_evidence_chars=self.config.max_evidence_chars,
                caps=caps,
                secondary_below=self.config.secondary_below,
                secondary_gap=self.config.secondary_gap,
                secondary_warning_below=self.config.secondary_warning_below,
                near=near,
            )
            if self._observe is not None:
                self._observe(
                    lang,
                    [list(s.tokens) for s, ok in zip(sentence_inputs, near, strict=True) if ok],
                )
            cues = res.learned.get(lang) if self.config.learned_cues else None
            if cues is not None:
                more = learned.added_events(
                    cues,
                    rules,
                    sentence_inputs,
                    near,
                    found_events,
                    self.config.max_evidence_chars,
                    caps,
                )
                if more:
                    found_events = events.in_order([*found_events, *more])
        rel = relevance.score(
            sum(anchors), len(anchors), title_anchored, named, [e.type for e in found_events]
        )
        if len(found_events) > self.config.max_events:
            # keep the most confident ones, in the usual order
            caps.add("events_per_article")
            kept = set(
                map(id, sorted(found_events, key=lambda e: -e.confidence)[: self.config.max_events])
            )
            found_events = [e for e in found_events if id(e) in kept]

        stamps = self.config.date_stamps
        published, published_source = dates.extract_date(
            parsed.header_date,
            body_sentences,
            lang,
            res.date_cues,
            parsed.bylines + parsed.stamps if stamps else parsed.bylines,
            stamps=stamps,
        )
        if published is None and published_hint and _HINT_DATE.fullmatch(published_hint):
            published, published_source = published_hint, "feed"
        stop = self._stopwords.get(lang)
        if stop is None:
            stop = self._stopwords[lang] = res.stopwords.get(lang, frozenset()) | res.stopwords.get(
                "en", frozenset()
            )
        title_lower = title_tokens.lower
        kw = keywords.keywords(title_lower + body_lower, stop, self.config.max_keywords)
        normalised = all_text
        lead = body_sentences[0] if body_sentences else None
        return EnrichedArticle(
            id=fingerprint.article_id(normalised),
            source=source,
            sources=[source.path],
            encoding=decoded.encoding,
            title=parsed.title or _title_from_lead(lead),
            lead=lead,
            body=body,
            boilerplate=parsed.boilerplate,
            language=lang,
            language_confidence=lang_conf,
            published=published,
            published_source=published_source,  # type: ignore[arg-type]
            entities=Entities(**ents),
            events=found_events,
            relevance=rel.score,
            relevance_reasons=rel.reasons,
            keywords=kw,
            fingerprint=fingerprint.minhash(body_lower or title_lower or ["empty"]),
            enriched_at=self.clock(),
            caps_hit=sorted(caps),  # type: ignore[arg-type]
        )

    def enrich(
        self, data: bytes, source: Source, index: DuplicateIndex, language_hint: str | None = None
    ) -> EnrichedArticle | Rejection:
        """``analyse`` + near-duplicate lookup against ``index`` + registration in it."""
        result = self.analyse(data, source, language_hint)
        if isinstance(result, EnrichedArticle):
            result.near_duplicate_of = near_duplicate_of(
                result, index, self.config.duplicate_threshold
            )
            register(result, index)
        return result
