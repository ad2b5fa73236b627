"""Known vocabularies for filters and rule values, with suggestions for typos.

"unknown vendor 'Huawai' - did you mean Huawei?" instead of a filter that silently finds
nothing. Names come from the gazetteers the core uses (canonical names and aliases);
countries are ISO 3166-1 alpha-2 codes (plus EU); languages are ISO 639-1 codes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from babel import Locale

if TYPE_CHECKING:
    from wirewatch.core.logic import Resources

_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")


class UnknownValue(ValueError):
    """A value outside its vocabulary; the message names it and suggests the closest."""


def _suggest(value: str, known: Iterable[str]) -> str:
    choices = sorted(set(known))
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lower), n=3, cutoff=0.6)
    return f" - did you mean {' or '.join(lower[c] for c in close)}?" if close else ""


@dataclass(frozen=True)
class Vocabulary:
    names: dict[str, dict[str, str]]  # kind -> {lower-case surface form: canonical name}
    countries: frozenset[str]
    languages: frozenset[str]

    @classmethod
    def from_resources(cls, resources: Resources) -> Vocabulary:
        names: dict[str, dict[str, str]] = {"vendors": {}, "operators": {}, "organisations": {}}
        for entries in resources.gazetteer.common.values():
            for entry in entries:
                if entry.kind in names:
                    surface = " ".join(entry.tokens).lower()
                    names[entry.kind].setdefault(surface, entry.value)
                    names[entry.kind].setdefault(entry.value.lower(), entry.value)
        locale = Locale.parse("en")
        codes = {str(c) for c in locale.territories if len(str(c)) == 2 and str(c).isalpha()}
        languages = {str(c) for c in locale.languages if len(str(c)) == 2 and str(c).isalpha()}
        return cls(names, frozenset(codes | {"EU"}), frozenset(languages))

    def name(self, kind: str, value: str) -> str:
        """The canonical name of a vendor/operator/organisation, or ``UnknownValue``."""
        table = self.names[kind]
        hit = table.get(value.lower()) or table.get(" ".join(re.findall(r"\w+", value)).lower())
        if hit:
            return hit
        singular = kind.rstrip("s")
        raise UnknownValue(
            f"unknown {singular} {value!r}{_suggest(value, table.values())} "
            f"(known {kind} are listed in services/wirewatch/core/data/gazetteer/{kind}.yaml)"
        )

    def country(self, value: str) -> str:
        return _code(
            value.strip().upper(),
            self.countries,
            f"country {value!r}",
            "use an ISO 3166-1 alpha-2 code such as NL, SE, US, or EU",
        )

    def language(self, value: str) -> str:
        return _code(
            value.strip().lower(),
            self.languages,
            f"language {value!r}",
            "use an ISO 639-1 code such as nl, sv, en, de, fr, da, nb",
        )


def _code(code: str, known: frozenset[str], what: str, hint: str) -> str:
    """``code`` when it is one of ``known``, else ``UnknownValue`` with a suggestion."""
    if code in known:
        return code
    raise UnknownValue(f"unknown {what}{_suggest(code, known)} ({hint})")


def date_prefix(value: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD with a real month and day, else ``UnknownValue``."""
    if not _DATE.fullmatch(value.strip()):
        raise UnknownValue(f"{value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    return value.strip()
