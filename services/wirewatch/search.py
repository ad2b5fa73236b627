"""The search syntax, parsed once and rendered for SQLite FTS5 and for Elasticsearch (pure).

Syntax (``parse``):

- ``huawei verbod``: every word must occur (AND is implicit); a word matches its
  stemmed forms in seven languages, accents folded (``banned`` finds ``ban``,
  ``leverantorer`` finds ``leverantörer``);
- ``huawei OR zte``, ``huawei AND zte``, ``NOT zte``, ``-zte``; parentheses group;
  operators are upper case (``or`` is a word);
- ``"exact phrase"``: these words in this order, unstemmed (accents still folded);
- ``leverant*``: any word starting with these letters (at least two);
- field filters, which apply to the whole query (not inside OR or parentheses):
  ``vendor:Huawei``, ``country:SE``, ``type:ban``, ``status:reported``, ``lang:sv``
  (a comma means any of: ``country:SE,NO``; ``-vendor:ZTE`` excludes), and
  ``since:`` / ``until:`` with ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (both ends
  included).

A malformed query raises ``QueryError`` with a one-line message.

The text analysis is done here, in Python, for both backends: a document's title and
body become the stems of its words (stemmed in the article's language, then folded to
ASCII) and its folded words; a query word becomes its stems in every supported
language. SQLite stores both as pre-analysed FTS5 columns, Elasticsearch as the
``search.*`` fields (whitespace analyser). One analyser means one answer: the same
query finds the same articles on both, whatever stemmer version a server ships.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import Stemmer

from wirewatch.core.models import EVENT_STATUSES, EVENT_TYPES, EnrichedArticle

# -- results ------------------------------------------------------------------------

# Matches in a snippet are wrapped in these markers. Square brackets of the text itself
# become parentheses in a snippet, so a marker is always a marker.
MARK_START = "["
MARK_END = "]"

SORTS = ("relevance", "date")


@dataclass
class SearchHit:
    article: EnrichedArticle
    snippet: str
    score: float


# A search counts at most this many matches, and pages go no further: beyond it
# ``total`` is a lower bound (``total_exact`` false), shown as "10,000+". Elasticsearch's
# defaults are the same (track_total_hits, max_result_window). The embedded store ranks
# the newest this many matches by relevance, so a broad query costs the same on any size
# of store; below it both backends rank every match.
SEARCH_WINDOW = 10_000


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    total_exact: bool = True  # False: at least ``total`` matched

    def total_text(self) -> str:
        """``"134"``, or ``"10,000+"`` when more matched than were counted."""
        return f"{self.total:,}" if self.total_exact else f"{self.total:,}+"


class QueryError(ValueError):
    """A malformed query; the message is one line that names the problem."""


# -- analysis -----------------------------------------------------------------------

# language code -> Snowball algorithm. Dutch is the Porter-based algorithm, which
# PyStemmer 2 calls ``dutch`` and 3 ``dutch_porter`` (its new ``dutch`` stems
# "verboden" to "verbood"): the same stems whichever version is installed.
STEMMERS = {
    "nl": "dutch_porter" if "dutch_porter" in Stemmer.algorithms() else "dutch",
    "sv": "swedish",
    "en": "english",
    "de": "german",
    "fr": "french",
    "da": "danish",
    "nb": "norwegian",
}

_TOKEN = re.compile(r"[^\W_]+")
# letters NFKD does not take apart
_FOLD_EXTRA = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ł": "l",
        "ı": "i",
    }
)


# Memo sizes: the words of news repeat (a few tens of thousands cover nearly every
# token), and each entry costs a few hundred bytes in every process that analyses text.
@lru_cache(maxsize=32768)
def fold(word: str) -> str:
    """Lower case without accents: ``Leverantör`` -> ``leverantor``, ``Straße`` -> ``strasse``."""
    if word.isascii():  # nothing to take apart or replace
        return word.lower()
    lowered = word.lower().translate(_FOLD_EXTRA)
    decomposed = unicodedata.normalize("NFKD", lowered)
    # a ligature may decompose into several words: a token stays one token
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace())


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; any other character splits)."""
    return [w.lower() for w in _TOKEN.findall(text)]


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Any:
    return Stemmer.Stemmer(STEMMERS[language])


def stem(word: str, language: str | None) -> str:
    """The folded stem of a lower-case ``word`` in ``language`` (folded only for a
    language without a stemmer). Stemming comes first: the stemmers know accents."""
    if language in STEMMERS:
        return fold(_stemmer(language).stemWord(word)) or fold(word)
    return fold(word)


@lru_cache(maxsize=65536)
def query_stems(word: str) -> tuple[str, ...]:
    """Every form an indexed word may have taken for a query ``word``: its stem in each
    language, and the folded word itself (the form of articles in other languages)."""
    lower = word.lower()
    forms = {fold(lower), *(stem(lower, lang) for lang in STEMMERS)}
    return tuple(sorted(f for f in forms if f))


@dataclass(frozen=True)
class Analysed:
    """A text as the search indexes see it: space-separated stems and folded words."""

    stems: str
    words: str


@lru_cache(maxsize=64)
def _stem_of(language: str | None) -> Callable[[str], str]:
    """``stem`` with the language fixed, memoised by word alone (the key a word is)."""

    @lru_cache(maxsize=32768)
    def of(word: str) -> str:
        return stem(word, language)

    return of


def _tokens(text: str) -> list[str]:
    # a word that folds to nothing (combining marks alone) is no token: the stems and
    # the folded words then pair up one to one (``vocabulary``)
    return [w for w in words(text) if fold(w)]


def analyse(text: str, language: str | None) -> Analysed:
    toks = _tokens(text)
    return Analysed(" ".join(map(_stem_of(language), toks)), " ".join(map(fold, toks)))


def index_words(text: str) -> str:
    """The folded words of ``text`` as the full-text index holds them (``analyse``'s
    ``words``, without stemming)."""
    return " ".join(map(fold, _tokens(text)))


# An article as the embedded store indexes it: the folded words of the title and of the
# body, and its (stem, word) pairs as lines of "stem word" (``vocabulary``).
SearchColumns = tuple[str, str, str]


def search_columns(title: str | None, body: str, language: str | None) -> SearchColumns:
    """An article analysed for the embedded store: title words, body words, and the
    distinct (stem, folded word) pairs of both, which tell which indexed word a query
    word's stem stands for. A word that is its own stem makes no pair: ``to_sqlite``
    looks for the stems as words anyway (half the words of news are their own stem).
    Pure: the process pool works them out beside the enrichment, off the store's thread."""
    stem_of = _stem_of(language)
    title_toks, body_toks = _tokens(title or ""), _tokens(body)
    title_words, body_words = list(map(fold, title_toks)), list(map(fold, body_toks))
    pairs = set(zip(map(stem_of, body_toks), body_words, strict=True))
    pairs.update(zip(map(stem_of, title_toks), title_words, strict=True))
    return (
        " ".join(title_words),
        " ".join(body_words),
        "\n".join(f"{s} {w}" for s, w in sorted(pairs) if s != w),
    )


def vocabulary(columns: SearchColumns) -> set[str]:
    """The (stem, folded word) pairs of an article's ``search_columns``, each as
    ``"stem word"`` (neither has a space)."""
    return set(columns[2].split("\n")) if columns[2] else set()


# -- the parsed query ---------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str  # as typed, lower case
    stems: tuple[str, ...]


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]  # folded


@dataclass(frozen=True)
class Prefix:
    prefix: str  # folded


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Word | Phrase | Prefix | And | Or | Not

FIELDS = ("vendor", "country", "type", "status", "lang", "since", "until")


@dataclass(frozen=True)
class Filter:
    """``field:value[,value...]``: any of the values; ``negated`` excludes them.

    ``since``/``until`` hold one date; ``bound`` is the first date past it for ``until``
    (``until:2020-03`` -> ``2020-04``) and the date itself for ``since``."""

    field: str
    values: tuple[str, ...]
    negated: bool = False

    @property
    def bound(self) -> str:
        return _next_period(self.values[0]) if self.field == "until" else self.values[0]


@dataclass(frozen=True)
class Query:
    """The text part (None when the query is only filters) and the filters."""

    text: Node | None
    filters: tuple[Filter, ...] = ()

    def with_filter_values(self, check: Callable[[str, str], str]) -> Query:
        """The same query with each filter value replaced by ``check(field, value)``
        (e.g. the canonical vendor name); ``check`` raises to refuse a value."""
        filters = tuple(
            replace(f, values=tuple(check(f.field, v) for v in f.values)) for f in self.filters
        )
        return replace(self, filters=filters)


# -- lexing and parsing ---------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "phrase", "term", "op", "field"
    text: str
    pos: int
    minus: bool = False
    name: str = ""


_FIELD = re.compile(r"([A-Za-z_]+):(.*)", re.S)
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_OPS = ("AND", "OR", "NOT")
_STOP = ' \t\r\n()"'


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    end = query.find('"', start + 1)
    if end < 0:
        raise QueryError(f'unbalanced quote: the " at position {start + 1} is never closed')
    return query[start + 1 : end], end + 1


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        minus = False
        start = i
        if c == "-" and i + 1 < n and not query[i + 1].isspace():
            minus, i = True, i + 1
            c = query[i]
        if c in "()":
            if minus and c == ")":
                raise QueryError(f"'-' at position {start + 1} has nothing to exclude")
            toks.append(_Tok(c, c, start, minus))
            i += 1
            continue
        if c == '"':
            text, i = _read_quoted(query, i)
            toks.append(_Tok("phrase", text, start, minus))
            continue
        j = i
        while j < n and query[j] not in _STOP:
            j += 1
        run = query[i:j]
        m = _FIELD.fullmatch(run)
        if m:
            name = m.group(1).lower()
            if name not in FIELDS:
                raise QueryError(
                    f"unknown field '{m.group(1)}:' (fields: {', '.join(f + ':' for f in FIELDS)}; "
                    'put a word with a colon in "quotes")'
                )
            value = m.group(2)
            if not value and j < n and query[j] == '"':
                value, j = _read_quoted(query, j)
            toks.append(_Tok("field", value, start, minus, name))
        elif run in _OPS and not minus:
            toks.append(_Tok("op", run, start))
        else:
            toks.append(_Tok("term", run, start, minus))
        i = j
    return toks


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Item:
        item = self.or_expr()
        tok = self.peek()
        if tok is not None:  # only a stray ")" stops an expression early
            raise QueryError(f"unbalanced parenthesis: ')' at position {tok.pos + 1} has no '('")
        return item

    def or_expr(self) -> _Item:
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text == "OR":
            self.next()
            if self._at_end():
                raise QueryError(f"OR at position {tok.pos + 1} needs a term after it")
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def _at_end(self) -> bool:
        tok = self.peek()
        return tok is None or tok.kind == ")"

    def and_expr(self) -> _Item:
        items: list[_Item] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind == ")" or (tok.kind == "op" and tok.text == "OR"):
                break
            if tok.kind == "op" and tok.text == "AND":
                self.next()
                if not items:
                    raise QueryError(f"AND at position {tok.pos + 1} needs a term before it")
                nxt = self.peek()
                if nxt is None or nxt.kind == ")" or (nxt.kind == "op" and nxt.text == "OR"):
                    raise QueryError(f"AND at position {tok.pos + 1} needs a term after it")
                continue
            items.append(self.unary())
        if not items:
            tok = self.peek()
            where = f" before '{tok.text}' at position {tok.pos + 1}" if tok else ""
            raise QueryError(f"a term is missing{where}")
        return items[0] if len(items) == 1 else ("and", items)

    def unary(self) -> _Item:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "NOT":
            self.next()
            nxt = self.peek()
            if nxt is None or nxt.kind == ")" or nxt.kind == "op" and nxt.text != "NOT":
                raise QueryError(f"NOT at position {tok.pos + 1} needs a term after it")
            return ("not", self.unary())
        return self.atom()

    def atom(self) -> _Item:
        tok = self.next()
        item: _Item
        if tok.kind == "(":
            nxt = self.peek()
            if nxt is not None and nxt.kind == ")":
                raise QueryError(f"empty parentheses at position {tok.pos + 1}")
            inner = self.or_expr()
            self.next()  # the ")": _balanced checked there is one
            item = ("group", inner)
        elif tok.kind == "phrase":
            folded = tuple(fold(w) for w in words(tok.text))
            if not folded:
                raise QueryError(
                    f'empty phrase at position {tok.pos + 1}: put words in the "quotes"'
                )
            item = Phrase(folded)
        elif tok.kind == "field":
            item = _filter(tok)
        else:
            item = _term(tok)
        return ("not", item) if tok.minus else item


_Item = (
    Any  # a Node, a Filter, None (punctuation), or ("and"|"or", [items]) / ("not"|"group", item)
)


def _term(tok: _Tok) -> Node | None:
    text = tok.text
    prefix = text.endswith("*")
    toks = words(text)
    if not toks:
        if prefix:
            raise QueryError(f"'{text}' at position {tok.pos + 1}: a * must end a word")
        return None  # punctuation between words ("Huawei - ZTE", "&")
    nodes: list[Node] = [Word(t, query_stems(t)) for t in toks]
    if prefix:
        last = fold(toks[-1])
        if len(last) < 2:
            raise QueryError(f"prefix '{text}' is too short: use at least two letters before *")
        nodes[-1] = Prefix(last)
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _filter(tok: _Tok) -> Filter:
    name, raw = tok.name, tok.text.strip()
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    if not values:
        raise QueryError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}")
    if name in ("since", "until"):
        if len(values) > 1:
            raise QueryError(f"{name}: takes one date, not a list")
        if tok.minus:
            raise QueryError(
                f"{name}: cannot be negated; use {'until' if name == 'since' else 'since'}: instead"
            )
        return Filter(name, (_check_date(name, values[0]),))
    # a "-" is applied by the caller, as for NOT
    return Filter(name, tuple(_check_value(name, v) for v in values))


_EXAMPLES = {
    "vendor": "vendor:Huawei",
    "country": "country:SE",
    "type": "type:ban",
    "status": "status:reported",
    "lang": "lang:sv",
    "since": "since:2019-06",
    "until": "until:2020",
}


def _check_value(name: str, value: str) -> str:
    if name == "country":
        code = value.upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise QueryError(f"country:{value} is not a two-letter code such as SE, NL or EU")
        return code
    if name == "lang":
        code = value.lower()
        if not re.fullmatch(r"[a-z]{2}", code):
            raise QueryError(f"lang:{value} is not a two-letter language code such as sv or nl")
        return code
    if name in ("type", "status"):
        known = EVENT_TYPES if name == "type" else EVENT_STATUSES
        if value.lower() not in known:
            raise QueryError(f"{name}:{value} is not one of {', '.join(known)}")
        return value.lower()
    return value


def _check_date(name: str, value: str) -> str:
    m = _DATE.fullmatch(value)
    if not m:
        raise QueryError(f"{name}:{value} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = m.groups()
    if month and not 1 <= int(month) <= 12:
        raise QueryError(f"{name}:{value} is not a date: there is no month {month}")
    if day and not 1 <= int(day) <= monthrange(int(year), int(month))[1]:
        raise QueryError(f"{name}:{value} is not a date: {year}-{month} has no day {day}")
    return value


def _next_period(value: str) -> str:
    """The first date after the period ``value`` names (a year, a month or a day)."""
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 1:
        return f"{parts[0] + 1:04d}"
    if len(parts) == 2:
        year, month = parts
        return f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return (date(*parts) + timedelta(days=1)).isoformat()


def _balanced(toks: list[_Tok]) -> None:
    opened: list[_Tok] = []
    for tok in toks:
        if tok.kind == "(":
            opened.append(tok)
        elif tok.kind == ")":
            if not opened:
                raise QueryError(
                    f"unbalanced parenthesis: ')' at position {tok.pos + 1} has no '('"
                )
            opened.pop()
    if opened:
        raise QueryError(
            f"unbalanced parenthesis: '(' at position {opened[-1].pos + 1} is never closed"
        )


def parse(query: str) -> Query:
    """Parse ``query``; ``QueryError`` for an empty or malformed query."""
    if not query.strip():
        raise QueryError('empty query: give words, a "phrase" or a filter such as type:ban')
    toks = _lex(query)
    _balanced(toks)
    tree = _Parser(toks).parse()
    top = tree[1] if isinstance(tree, tuple) and tree[0] == "and" else [tree]
    filters: list[Filter] = []
    text: list[Node] = []
    for item in top:
        bare = item[1] if isinstance(item, tuple) and item[0] == "not" else item
        if isinstance(bare, Filter):
            if bare is not item:
                bare = replace(bare, negated=not bare.negated)
                if bare.field in ("since", "until"):
                    raise QueryError(f"{bare.field}: cannot be negated")
            filters.append(bare)
        else:
            node = _node(item)
            if node is not None:
                text.append(node)
    if not text and not filters:
        raise QueryError("empty query: no words to search for")
    _check_repeats(filters)
    body: Node | None = None
    if text:
        body = text[0] if len(text) == 1 else And(tuple(text))
        _check_negations(body, top=True)
    return Query(body, tuple(filters))


def _node(item: _Item) -> Node | None:
    """A parse item -> a Node; a filter here is inside OR, NOT or parentheses."""
    if item is None or isinstance(item, Word | Phrase | Prefix | And):
        return item
    if isinstance(item, Filter):
        raise QueryError(
            f"{item.field}:{','.join(item.values)} cannot be inside OR or parentheses: "
            "filters apply to the whole query"
        )
    kind, inner = item
    if kind == "group":
        return _node(inner)
    if kind == "not":
        node = _node(inner)
        if node is None:
            return None
        return node.item if isinstance(node, Not) else Not(node)
    nodes = [n for n in (_node(i) for i in inner) if n is not None]
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    return Or(tuple(nodes)) if kind == "or" else And(tuple(nodes))


def _check_negations(node: Node, top: bool = False) -> None:
    """An excluded term needs a term to be excluded from, except at the top level (where
    ``-zte`` alone means every article without it)."""
    if isinstance(node, Not):
        if not top:
            raise QueryError(
                f"NOT {_describe(node.item)} needs a term beside it inside OR or parentheses"
            )
        _check_negations(node.item)
    elif isinstance(node, And):
        if not top and all(isinstance(i, Not) for i in node.items):
            raise QueryError(
                f"NOT {_describe(node.items[0])} needs a term beside it inside OR or parentheses"
            )
        for i in node.items:
            _check_negations(i.item if isinstance(i, Not) else i)
    elif isinstance(node, Or):
        for i in node.items:
            _check_negations(i)


def _check_repeats(filters: list[Filter]) -> None:
    seen: set[str] = set()
    for f in filters:
        if f.field in ("vendor", "country"):  # each one more condition: both vendors named
            continue
        key = f.field + ("-" if f.negated else "")
        if key in seen:
            raise QueryError(
                f"{f.field}: is given twice; list the values instead ({_EXAMPLES[f.field]},...)"
                if f.field not in ("since", "until")
                else f"{f.field}: is given twice"
            )
        seen.add(key)


def _describe(node: Node) -> str:
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Prefix):
        return node.prefix + "*"
    return "(...)"


def _split(items: Iterable[Node]) -> tuple[list[Node], list[Node]]:
    pos: list[Node] = []
    neg: list[Node] = []
    for i in items:
        (neg if isinstance(i, Not) else pos).append(i.item if isinstance(i, Not) else i)
    return pos, neg


def _conjuncts(node: Node) -> list[Node]:
    return list(node.items) if isinstance(node, And) else [node]


# -- SQLite FTS5 -----------------------------------------------------------------------

# The columns of the store's FTS5 table: the folded words of the title and of the body,
# as ``analyse`` makes them. A query word matches the indexed words whose stem is one of
# its stems: the store keeps every (stem, word) pair it has indexed (``vocabulary``) and
# ``to_sqlite`` asks it for the words of the stems (``words_for``). Phrases and
# prefixes match the words themselves. Half the index of a stems column beside the
# words, with the same matches: an indexed word is in the pairs under the stem it had.
# A third column holds the article's language as one token: a query with words and a
# language filter is one FTS match (the index intersects the word's articles with the
# language's), not a scan of the word's articles that reads each one's language.
FTS_COLUMNS = ("title_words", "body_words", "lang")
_WORDS = "{title_words body_words}"

WordsFor = Callable[[tuple[str, ...]], Iterable[str]]


@dataclass(frozen=True)
class SqlFilter:
    """One filter on ``articles a``, in the forms a plan can use: ``member`` (a clause;
    a subquery filter is ``a.id IN (SELECT ...)``, answered once for all articles),
    ``check`` (the same test per article: a correlated ``EXISTS`` that seeks the
    article's own rows by their primary key) and ``ids`` (for a subquery filter that
    keeps articles, the ``SELECT`` of their ids, read from the index of values in
    order, so it can drive a join and stop early; None otherwise). ``args`` serve
    each of the three forms."""

    member: str
    check: str
    ids: str | None
    args: tuple[object, ...]
    narrows: bool = False  # a column the articles' indexes serve (language, dates)


@dataclass(frozen=True)
class SqlQuery:
    """The SQLite rendering: ``match`` (an FTS5 expression the article must match, or
    None), ``exclude`` (one it must not match, or None) and ``where``: clauses on the
    ``articles`` table aliased ``a`` with their ``args``, all AND-ed. ``filters`` are
    the same clauses as ``SqlFilter`` with their other forms."""

    match: str | None
    exclude: str | None
    where: tuple[str, ...]
    args: tuple[object, ...]
    filters: tuple[SqlFilter, ...] = ()


def _fts(node: Node, words_for: WordsFor) -> str:
    if isinstance(node, Word):
        # the stems themselves are words too (a word that is its own stem has no pair),
        # and so is the word as typed; a word never indexed matches nothing
        forms = sorted({fold(node.text), *node.stems, *words_for(node.stems)})
        return f"{_WORDS} : ({' OR '.join(_quote(w) for w in forms)})"
    if isinstance(node, Phrase):
        return f"{_WORDS} : {_quote(' '.join(node.words))}"
    if isinstance(node, Prefix):
        return f"{_WORDS} : {_quote(node.prefix)}*"
    if isinstance(node, Or):
        return "(" + " OR ".join(_fts(i, words_for) for i in node.items) + ")"
    pos, neg = _split(_conjuncts(node))
    expr = "(" + " AND ".join(_fts(i, words_for) for i in pos) + ")"
    if neg:
        expr += " NOT (" + " OR ".join(_fts(i, words_for) for i in neg) + ")"
    return expr


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def to_sqlite(query: Query, words_for: WordsFor) -> SqlQuery:
    """``query`` for the store's tables; ``words_for(stems)``: the indexed words that
    have one of these stems (``wirewatch.embedded.store.sqlite_query`` reads them)."""
    match = exclude = None
    kept = query.filters
    if query.text is not None:
        pos, neg = _split(_conjuncts(query.text))
        if pos:
            match = _fts(query.text, words_for)
            langs = [f for f in kept if f.field == "lang"]
            for f in langs:
                codes = " OR ".join(_quote(v) for v in f.values)
                match = f"({match}) {'NOT' if f.negated else 'AND'} lang : ({codes})"
            kept = tuple(f for f in kept if f.field != "lang")
        else:
            exclude = " OR ".join(_fts(i, words_for) for i in neg)
    filters = _sql_filters(kept)
    where = tuple(f.member for f in filters)
    args = tuple(v for f in filters for v in f.args)
    return SqlQuery(match, exclude, where, args, tuple(filters))


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _sql_filters(filters: tuple[Filter, ...]) -> list[SqlFilter]:
    # A subquery filter is ``a.id IN (SELECT article_id ...)`` as a member clause: SQLite
    # answers the subquery once from its index (events by type, entities by kind and
    # value). A correlated ``EXISTS`` planned on those indexes would scan every event of
    # the type per article (0.6 s at 12,000 articles, growing with the square of the
    # store), so the ``check`` form keeps the indexed columns out of the plan (unary
    # ``+``): it seeks the article's own rows by the primary key, which starts with the
    # article id.
    out: list[SqlFilter] = []
    kinds = [f for f in filters if f.field in ("type", "status") and not f.negated]
    if kinds:
        terms = [(f.field, f.values) for f in kinds]
        args: tuple[object, ...] = tuple(v for f in kinds for v in f.values)
        out.append(_events_filter(terms, args, negated=False))
    for f in filters:
        if f.field == "vendor":
            # NOCASE folds ASCII letters, as lower() did; the index is NOCASE too
            out.append(_entities_filter("vendors", f.values, f.negated))
        elif f.field == "country":
            out.append(_entities_filter("countries", f.values, f.negated))
        elif f.field in ("type", "status") and f.negated:
            out.append(_events_filter([(f.field, f.values)], f.values, negated=True))
        elif f.field == "lang":
            # with a date range, the range picks the articles (the index of dates): a
            # language is most of the store, a range of dates usually a small part
            dated = any(g.field in ("since", "until") for g in filters)
            clause = f"{'+' if dated else ''}a.language IN ({_marks(len(f.values))})"
            out.append(_column_filter(_negate(clause, f), f.values, not f.negated))
        elif f.field == "since":
            out.append(_column_filter("a.published >= ?", (f.bound,), True))
        elif f.field == "until":
            out.append(_column_filter("a.published < ?", (f.bound,), True))
    return out


def _column_filter(clause: str, args: tuple[object, ...], narrows: bool) -> SqlFilter:
    return SqlFilter(clause, clause, None, args, narrows)


def _events_filter(
    terms: list[tuple[str, tuple[str, ...]]], args: tuple[object, ...], negated: bool
) -> SqlFilter:
    indexed = " AND ".join(f"ev.{field} IN ({_marks(len(v))})" for field, v in terms)
    plain = " AND ".join(f"+ev.{field} IN ({_marks(len(v))})" for field, v in terms)
    ids = f"SELECT ev.article_id FROM events ev WHERE {indexed}"
    no = "NOT " if negated else ""
    return SqlFilter(
        f"{no}a.id IN ({ids})",
        f"{no}EXISTS (SELECT 1 FROM events ev WHERE ev.article_id = a.id AND {plain})",
        None if negated else ids,
        args,
    )


def _entities_filter(kind: str, values: tuple[str, ...], negated: bool) -> SqlFilter:
    marks = _marks(len(values))
    ids = (
        f"SELECT en.article_id FROM entities en WHERE en.kind = '{kind}' "
        f"AND en.value COLLATE NOCASE IN ({marks})"
    )
    no = "NOT " if negated else ""
    return SqlFilter(
        f"{no}a.id IN ({ids})",
        f"{no}EXISTS (SELECT 1 FROM entities en WHERE en.article_id = a.id "
        f"AND +en.kind = '{kind}' AND +en.value COLLATE NOCASE IN ({marks}))",
        None if negated else ids,
        values,
    )


def _negate(clause: str, f: Filter) -> str:
    return f"NOT {clause}" if f.negated else clause


# -- Elasticsearch ---------------------------------------------------------------------

# The pre-analysed fields of the indexed document (``search.*``, see indexer.documents).
ES_TITLE_BOOST = 5
PUBLISHED_FORMAT = "yyyy-MM-dd||yyyy-MM||yyyy"


def _es(node: Node) -> dict[str, Any]:
    if isinstance(node, Word):
        return {
            "multi_match": {
                "query": " ".join(node.stems),
                "fields": [f"search.title_stems^{ES_TITLE_BOOST}", "search.body_stems"],
                "operator": "or",
            }
        }
    if isinstance(node, Phrase):
        text = " ".join(node.words)
        return _should(
            [
                {"match_phrase": {"search.title_words": {"query": text, "boost": ES_TITLE_BOOST}}},
                {"match_phrase": {"search.body_words": text}},
            ]
        )
    if isinstance(node, Prefix):
        return _should(
            [
                {"prefix": {"search.title_words": node.prefix}},
                {"prefix": {"search.body_words": node.prefix}},
            ]
        )
    if isinstance(node, Or):
        return _should([_es(i) for i in node.items])
    pos, neg = _split(_conjuncts(node))
    body: dict[str, Any] = {"must": [_es(i) for i in pos]}
    if neg:
        body["must_not"] = [_es(i) for i in neg]
    return {"bool": body}


def _should(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def to_elasticsearch(query: Query, min_relevance: float | None = None) -> dict[str, Any]:
    """The query DSL (the value of ``query`` in a search request) over the fields of the
    ``wirewatch-articles`` template."""
    must: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    filt: list[dict[str, Any]] = []
    if query.text is not None:
        pos, neg = _split(_conjuncts(query.text))
        must = [_es(i) for i in pos]
        must_not = [_es(i) for i in neg]
    types = next((f.values for f in query.filters if f.field == "type" and not f.negated), None)
    statuses = next(
        (f.values for f in query.filters if f.field == "status" and not f.negated), None
    )
    if statuses:
        kinds = [f"{t}:{s}" for t in (types or EVENT_TYPES) for s in statuses]
        filt.append({"terms": {"event_kinds": kinds}})
    elif types:
        filt.append({"terms": {"event_types": list(types)}})
    for f in query.filters:
        clause: dict[str, Any] | None = None
        if f.field == "vendor":
            clause = _should(
                [
                    {"term": {"entities.vendors": {"value": v, "case_insensitive": True}}}
                    for v in f.values
                ]
            )
        elif f.field == "country":
            clause = {"terms": {"entities.countries": list(f.values)}}
        elif f.field == "lang":
            clause = {"terms": {"language": list(f.values)}}
        elif f.field == "type" and f.negated:
            clause = {"terms": {"event_types": list(f.values)}}
        elif f.field == "status" and f.negated:
            clause = {"terms": {"event_kinds": [f"{t}:{s}" for t in EVENT_TYPES for s in f.values]}}
        elif f.field in ("since", "until"):
            op = "gte" if f.field == "since" else "lt"
            filt.append({"range": {"published": {op: f.bound, "format": PUBLISHED_FORMAT}}})
        if clause is not None:
            (must_not if f.negated else filt).append(clause)
    if min_relevance is not None:
        filt.append({"range": {"relevance": {"gte": min_relevance}}})
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if must_not:
        body["must_not"] = must_not
    if filt:
        body["filter"] = filt
    return {"bool": body} if body else {"match_all": {}}


# -- snippets ---------------------------------------------------------------------------

SNIPPET_CHARS = 200


def _positive(node: Node | None) -> tuple[set[str], list[str], list[tuple[str, ...]]]:
    """Stems, prefixes and phrases of the terms an article matched (not the excluded)."""
    stems: set[str] = set()
    prefixes: list[str] = []
    phrases: list[tuple[str, ...]] = []

    def walk(n: Node) -> None:
        if isinstance(n, Word):
            stems.update(n.stems)
        elif isinstance(n, Prefix):
            prefixes.append(n.prefix)
        elif isinstance(n, Phrase):
            phrases.append(n.words)
        elif isinstance(n, And | Or):
            for i in n.items:
                walk(i)

    if node is not None:
        walk(node)
    return stems, prefixes, phrases


def _spans(text: str, language: str | None, query: Query) -> list[tuple[int, int]]:
    """Character spans of the matches in ``text``: words, prefixes, whole phrases."""
    stems, prefixes, phrases = _positive(query.text)
    if not (stems or prefixes or phrases):  # filters alone: nothing to mark
        return []
    toks = list(_TOKEN.finditer(text))
    folded = [fold(t.group()) for t in toks]
    found: list[tuple[int, int]] = []
    stem_of = _stem_of(language)
    matches: dict[str, bool] = {}  # a text repeats its words: each is stemmed once
    for i, t in enumerate(toks):
        word = t.group()
        hit = matches.get(word)
        if hit is None:
            hit = matches[word] = stem_of(word.lower()) in stems or any(
                folded[i].startswith(p) for p in prefixes
            )
        if hit:
            found.append((t.start(), t.end()))
    for phrase in phrases:
        n = len(phrase)
        for i in range(len(toks) - n + 1):
            if tuple(folded[i : i + n]) == phrase:
                found.append((toks[i].start(), toks[i + n - 1].end()))
    spans: list[tuple[int, int]] = []
    for s, e in sorted(found):
        # overlapping or next to each other (a space apart): one mark
        if spans and (s <= spans[-1][1] or text[spans[-1][1] : s].isspace()):
            spans[-1] = (spans[-1][0], max(e, spans[-1][1]))
        else:
            spans.append((s, e))
    return spans


def _mark(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    at = start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(_plain(text[at:s]) + MARK_START + _plain(text[s:e]) + MARK_END)
        at = e
    out.append(_plain(text[at:end]))
    return "".join(out)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace(MARK_START, "(").replace(MARK_END, ")"))


def snippet(article: EnrichedArticle, query: Query, chars: int = SNIPPET_CHARS) -> str:
    """A passage of the body around the most matches, each match between ``MARK_START``
    and ``MARK_END``; the marked title when only the title matched; else the body's start."""
    body = article.body
    spans = _spans(body, article.language, query)
    if not spans and article.title:
        title_spans = _spans(article.title, article.language, query)
        if title_spans:
            return _mark(article.title, title_spans, 0, len(article.title)).strip()
    if not spans:
        cut = _cut_end(body, 0, chars)
        return (_plain(body[:cut]).strip() + ("…" if cut < len(body) else "")).strip()
    best_start, best_count = 0, -1
    for s, _ in spans:
        start = max(0, s - chars // 4)
        count = sum(1 for a, b in spans if a >= start and b <= start + chars)
        if count > best_count:
            best_start, best_count = start, count
    start = best_start
    while 0 < start < len(body) and body[start - 1].isalnum():
        start += 1  # begin on a word
    end = _cut_end(body, start, chars)
    text = _mark(body, spans, start, end).strip()
    return ("…" if start > 0 else "") + text + ("…" if end < len(body) else "")


def _cut_end(text: str, start: int, chars: int) -> int:
    end = min(len(text), start + chars)
    while end < len(text) and text[end].isalnum():
        end += 1  # end on a word
    return end
