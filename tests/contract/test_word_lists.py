"""The word lists of the data files: every language has its entries, and none is junk.

text.yaml and dates.yaml hold the words the parser, sentence splitter and date finder
use; stopwords/<lang>.txt the words that are never keywords. An entry is junk when it is
empty, has white space around it, repeats an entry of its list, is written in another
script than the languages' (all Latin), or - for a stop word - is not something the
tokeniser can produce (a stop word with an apostrophe or a hyphen never matches).
"""

import re
import unicodedata

import pytest
from wirewatch.core import wordlists, yamlio
from wirewatch.core.logic import DATA_DIR, LANGUAGES, DataError, Resources

pytestmark = pytest.mark.contract

TEXT = yamlio.load((DATA_DIR / "text.yaml").read_text(encoding="utf-8"))
DATES = yamlio.load((DATA_DIR / "dates.yaml").read_text(encoding="utf-8"))
NOT_ENTITIES = yamlio.load(
    (DATA_DIR / "gazetteer" / "not_entities.yaml").read_text(encoding="utf-8")
)

# Lists with entries for every language the project claims.
PER_LANGUAGE = [
    (TEXT, "text.yaml", "abbreviations"),
    (TEXT, "text.yaml", "captions.credit_words"),
    (TEXT, "text.yaml", "captions.start_words"),
    (TEXT, "text.yaml", "captions.photo_words"),
    (TEXT, "text.yaml", "boilerplate.copyright"),
    (TEXT, "text.yaml", "boilerplate.read_also"),
    (TEXT, "text.yaml", "byline_labels"),
    (TEXT, "text.yaml", "name_particles"),
    (TEXT, "text.yaml", "not_only"),
    (DATES, "dates.yaml", "bylines.updated"),
    (DATES, "dates.yaml", "bylines.published"),
    (DATES, "dates.yaml", "credits.labels"),
    (DATES, "dates.yaml", "credits.opening"),
    (DATES, "dates.yaml", "deadline"),
    (DATES, "dates.yaml", "background"),
    (DATES, "dates.yaml", "determiners"),
]
# (list, language): no entry, and FORMATS.md says why.
MAY_BE_EMPTY = {("name_particles", "en")}  # English names have no particles
# Every word list of the files (per-language or plain).
ALL_LISTS = [
    *PER_LANGUAGE,
    (TEXT, "text.yaml", "agencies.caption"),
    (TEXT, "text.yaml", "agencies.credit_line"),
    (TEXT, "text.yaml", "boilerplate.credit_line_phrases"),
    (TEXT, "text.yaml", "boilerplate.credit_line_endings"),
    (TEXT, "text.yaml", "companies.name_joiners"),
    (TEXT, "text.yaml", "companies.legal_forms"),
    (DATES, "dates.yaml", "ordinal_suffixes"),
    (DATES, "dates.yaml", "credits.agencies"),
    (DATES, "dates.yaml", "credits.agencies_after_slash"),
    (NOT_ENTITIES, "not_entities.yaml", "country_names"),
]
# Words of letters, one space between words; legal forms may hold "." and "/" (A/S, N.V),
# and the date cues, which are split into words, an apostrophe or a period (d'ici, fr.o.m).
WORDS = re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*")
PATTERNS = {
    "companies.legal_forms": re.compile(r"[^\W\d_]+(?:[./][^\W\d_]+)*"),
    **dict.fromkeys(
        ["deadline", "background", "determiners"], re.compile(r"[^\W\d_]+(?:[ '.][^\W\d_]+)*")
    ),
}


def _latin(entry: str) -> bool:
    return all(unicodedata.name(ch, "").startswith("LATIN") for ch in entry if ch.isalpha())


def test_every_word_list_is_in_the_files() -> None:
    """A list the code reads but the file lacks would silently match nothing."""
    for data, name, path in ALL_LISTS:
        assert wordlists.section(data, path, name) is not None, f"{name}: {path} is missing"


@pytest.mark.parametrize(
    ("data", "name", "path"), PER_LANGUAGE, ids=[p for _, _, p in PER_LANGUAGE]
)
def test_every_language_has_its_entries(data: object, name: str, path: str) -> None:
    per_language = wordlists.by_language(data, path, name)
    for lang in LANGUAGES:
        assert lang in per_language, f"{name}: {path} has no entry for {lang}"
        if (path, lang) not in MAY_BE_EMPTY:
            assert per_language[lang], f"{name}: {path}.{lang} is empty"


@pytest.mark.parametrize(("data", "name", "path"), ALL_LISTS, ids=[p for _, _, p in ALL_LISTS])
def test_no_junk_in_word_lists(data: object, name: str, path: str) -> None:
    # by_language itself refuses empty entries and entries with white space around them
    per_language = wordlists.by_language(data, path, name)
    assert per_language, f"{name}: {path} is empty"
    pattern = PATTERNS.get(path, WORDS)
    for lang, entries in per_language.items():
        where = f"{name}: {path}" + (f".{lang}" if lang else "")
        assert lang == "" or re.fullmatch(r"[a-z]{2}", lang), f"{where}: not a language code"
        repeated = sorted({e for e in entries if entries.count(e) > 1})
        assert not repeated, f"{where}: listed twice: {repeated}"
        odd = [e for e in entries if not pattern.fullmatch(e)]
        assert not odd, f"{where}: not words of letters: {odd}"
        foreign = [e for e in entries if not _latin(e)]
        assert not foreign, f"{where}: not in the Latin script: {foreign}"


def test_lower_case_lists_are_lower_case() -> None:
    """Lists matched against lower-cased words must be written in lower case."""
    for data, name, path in [
        (TEXT, "text.yaml", "abbreviations"),
        (TEXT, "text.yaml", "not_only"),
        (DATES, "dates.yaml", "ordinal_suffixes"),
    ]:
        upper = [w for w in wordlists.words(data, path, name) if w != w.lower()]
        assert not upper, f"{name}: {path}: {upper}"


def test_abbreviations_need_no_single_letters() -> None:
    """A single letter never ends a sentence ("J. Doe"): an entry for one is dead."""
    single = [w for w in wordlists.words(TEXT, "abbreviations", "text.yaml") if len(w) == 1]
    assert not single


@pytest.mark.parametrize("lang", LANGUAGES)
def test_stop_words_are_clean(lang: str) -> None:
    lines = (DATA_DIR / "stopwords" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if not line.startswith("#")]
    assert len(entries) > 100
    assert "" not in entries, f"{lang}.txt: blank line"
    # keywords are lower-case tokens (maximal runs of \w): anything else never matches
    odd = [w for w in entries if not re.fullmatch(r"[^\W\d_]+", w) or w != w.lower()]
    assert not odd, f"{lang}.txt: entries no token can be: {odd}"
    repeated = sorted({w for w in entries if entries.count(w) > 1})
    assert not repeated, f"{lang}.txt: listed twice: {repeated}"
    foreign = [w for w in entries if not _latin(w)]
    assert not foreign, f"{lang}.txt: not in the Latin script: {foreign}"


def test_a_malformed_word_list_is_reported_with_file_and_list(tmp_path) -> None:
    (tmp_path / "text.yaml").write_text("captions:\n  start_words:\n    nl: [Foto, ' Beeld']\n")
    with pytest.raises(DataError, match=r"text.yaml: captions.start_words.nl\[1\]: ' Beeld'"):
        Resources.load(tmp_path)
    (tmp_path / "text.yaml").write_text("abbreviations: dr\n")
    with pytest.raises(DataError, match=r"text.yaml: abbreviations: expected a list"):
        Resources.load(tmp_path)


def test_the_lists_shape_what_the_parser_finds(resources) -> None:
    """The patterns are built from the lists: a listed word is found, an unlisted not."""
    text = resources.text
    assert text.caption_start.match("Afbeelding: de mast")
    assert not text.caption_start.match("Plaatje: de mast")
    assert text.read_also.match("Läs också: mer om 5G")
    assert text.byline_label.match("Sist oppdatert 12.03.2021")
    assert "bzw" in text.abbreviations
    assert resources.date_cues.is_update_line("Aktualisiert am 3. März 2021")
    assert not resources.date_cues.is_update_line("Veröffentlicht am 3. März 2021, aktualisiert")
    assert resources.rules["en"].firm.search("a deal with Norwood Data Inc on Monday")
    assert "blot" in resources.rules["da"].not_only
    assert "von" in resources.gazetteer.particles
    assert "Jordan" in resources.gazetteer.ambiguous_names
