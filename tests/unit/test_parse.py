from wirewatch.core import parse as parse_module
from wirewatch.core import text
from wirewatch.core.logic import bundled_text_rules
from wirewatch.core.parse import ParsedArticle

RULES = bundled_text_rules()


def parse(raw: str) -> ParsedArticle:
    return parse_module.parse(raw, RULES)


def split_sentences(paragraph: str) -> list[str]:
    return text.split_sentences(paragraph, RULES.abbreviations)


def test_date_header_and_first_sentence_on_one_line():
    p = parse(
        " date 2021-05 De minister kondigde een verbod aan. Dat meldt ANP.\n\nTweede alinea hier."
    )
    assert p.header_date == "2021-05"
    assert p.title is None
    assert p.paragraphs[0].sentences == ["De minister kondigde een verbod aan.", "Dat meldt ANP."]


def test_title_line_then_blank_line():
    p = parse("Regering zegt nee tegen verbod\n\nDe regering heeft besloten. Meer volgt.")
    assert p.title == "Regering zegt nee tegen verbod"
    assert p.body.startswith("De regering")


def test_a_copyright_line_on_top_is_no_title():
    p = parse("(C) Hotel Facebook\n\nThe pub lost its licence. The council met on Monday.")
    assert p.title is None
    assert "(C) Hotel Facebook" in p.boilerplate
    assert p.body.startswith("The pub")


def test_no_title_when_first_paragraph_is_a_sentence():
    p = parse("De regering heeft besloten om niets te doen.\n\nMeer volgt later vandaag.")
    assert p.title is None


def test_captions_copyright_and_read_also_are_kept_aside():
    text = (
        "Titel van het stuk\n\n"
        "De toezichthouder greep in op 3 maart 2021.\n"
        "Een medewerker bij een mast in Utrecht, 1 januari 2020. (Foto: ANP / Jan Jansen)\n"
        "Lees ook: eerder nieuws over masten\n"
        "Het ministerie reageerde niet.\n"
        "© 2021 ANP. Alle rechten voorbehouden."
    )
    p = parse(text)
    assert len(p.boilerplate) == 3
    assert "1 januari 2020" not in p.body
    assert "Lees ook" not in p.body and "©" not in p.body
    assert "Het ministerie reageerde niet." in p.body


def test_multi_sentence_caption_keeps_story_sentences():
    line = (
        "In this file photo from May 2, 2018, a worker stands near a mast. The regulator on "
        "Tuesday, March 2, 2021 published its rules for the networks. (AP Photo/Jane Doe, File)"
    )
    p = parse("Body sentence one is here.\n" + line)
    assert p.boilerplate == [line]
    assert any("published its rules" in s for s in p.sentences())
    assert not any("May 2, 2018" in s for s in p.sentences())


def test_subheadings_are_not_sentences():
    p = parse("First paragraph of text here.\n\nMaatregelen EU\n\nSecond paragraph of text here.")
    assert [x.kind for x in p.paragraphs] == ["body", "heading", "body"]
    assert "Maatregelen EU" not in p.sentences()


def test_hard_wrapped_lines_are_joined():
    p = parse("The ministry said the\nequipment would be removed.\nA new paragraph starts here.")
    assert p.paragraphs[0].text == "The ministry said the equipment would be removed."


def test_sentence_split_keeps_ordinals_initials_and_abbreviations():
    assert split_sentences("Am 14. Juli 2020 entschied die Regierung. Das ist neu.") == [
        "Am 14. Juli 2020 entschied die Regierung.",
        "Das ist neu.",
    ]
    assert len(split_sentences("J. Doe zei dat o.a. KPN meedoet. Daarna niets.")) == 2
    assert split_sentences("Huawei binnen de VS. Ook elders.") == [
        "Huawei binnen de VS.",
        "Ook elders.",
    ]
