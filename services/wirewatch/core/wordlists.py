"""Word lists of the data files (text.yaml, dates.yaml): read, checked, made patterns.

A list is either a plain list of entries or a mapping of language code -> list. The
entries are literal text as it appears in articles, never regular expressions: the
code that uses a list says how its entries are matched (case, whole words, where in
the line) and builds the pattern with ``alternation``.

Contract: ``words`` returns the entries of one list, each once, in file order, or
raises ``WordListError`` naming the file and the list when an entry is not a
non-empty string without surrounding white space, or the list is neither a list nor
a mapping of lists. A missing list is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# A pattern no text matches: what an empty list of alternatives finds.
NOTHING = r"(?!)"


class WordListError(ValueError):
    """A word list is malformed; the message names the file and the list."""


def section(data: object, path: str, where: str) -> object:
    """The value at the dotted ``path`` of ``data`` (None when a key is missing)."""
    node = data
    for key in path.split("."):
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise WordListError(f"{where}: {path}: expected a mapping above {key!r}")
        node = node.get(key)
    return node


def by_language(data: object, path: str, where: str) -> dict[str, tuple[str, ...]]:
    """The list at ``path`` per language code (a plain list is given under "")."""
    raw = section(data, path, where)
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {"": _entries(raw, f"{where}: {path}")}
    if not isinstance(raw, Mapping):
        raise WordListError(f"{where}: {path}: expected a list or a mapping of language -> list")
    out: dict[str, tuple[str, ...]] = {}
    for lang, entries in raw.items():
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise WordListError(f"{where}: {path}.{lang}: expected a list")
        out[str(lang)] = _entries(entries, f"{where}: {path}.{lang}")
    return out


def words(data: object, path: str, where: str) -> tuple[str, ...]:
    """Every entry of the list at ``path``, all languages together, each once."""
    return tuple(dict.fromkeys(w for ws in by_language(data, path, where).values() for w in ws))


def _entries(raw: list[object], where: str) -> tuple[str, ...]:
    out: list[str] = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, str) or not entry or entry != entry.strip():
            raise WordListError(
                f"{where}[{n}]: {entry!r} is not a word or phrase (empty, not text, "
                "or with white space around it)"
            )
        out.append(entry)
    return tuple(out)


def alternation(entries: Iterable[str]) -> str:
    """A non-capturing group matching any one of ``entries`` literally, longest first."""
    ordered = sorted(set(entries), key=lambda w: (-len(w), w))
    if not ordered:
        return NOTHING
    return "(?:" + "|".join(map(re.escape, ordered)) + ")"
