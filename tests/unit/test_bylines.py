"""Bylines and date stamps: a labelled publication line wins over a bare date line at
the top of a page (often the day the page was served), wherever the stamp is printed."""

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

BODY = {
    "en": "Regulator fines phone maker\n\nThe telecom regulator fined the phone maker on "
    "Tuesday for breaking the rules on network equipment. The company said it would appeal.",
    "fr": "Amende pour un fabricant\n\nLe régulateur des télécoms a infligé mardi une amende "
    "au fabricant de téléphones. L'entreprise a annoncé qu'elle ferait appel.",
    "de": "Strafe für Hersteller\n\nDie Netzagentur hat am Dienstag eine Strafe gegen den "
    "Telefonhersteller verhängt. Das Unternehmen kündigte Berufung an.",
    "nl": "Boete voor fabrikant\n\nDe toezichthouder heeft dinsdag een boete opgelegd aan de "
    "telefoonfabrikant. Het bedrijf gaat in beroep.",
}


@pytest.mark.parametrize(
    ("lang", "top", "foot", "published"),
    [
        (
            "en",
            "Monday, December 22nd, 2025",
            "Publish Date : 14 November 2023 11:03 AM",
            "2023-11-14",
        ),
        (
            "fr",
            "Jeudi 17 janvier 2019 | Dernière mise à jour 12:00",
            "Créé: 10.12.2018, 12h00",
            "2018-12-10",
        ),
        (
            "de",
            "Sonntag, 6. Dezember 2026",
            "Veröffentlicht am 3. März 2021, 10:15 Uhr",
            "2021-03-03",
        ),
        ("nl", "zondag 6 december 2026", "Gepubliceerd: 8 april 2022 09:12", "2022-04-08"),
        # without a stamp the bare date line at the top still dates the article
        ("en", "Monday, 13 July 2020", "", "2020-07-13"),
        # a sentence that opens with a label is text, not a stamp
        (
            "en",
            "Monday, 13 July 2020",
            "Published in May 2019, the report found more faults.",
            "2020-07-13",
        ),
    ],
)
def test_a_labelled_stamp_wins_over_a_bare_top_date(
    enricher: Enricher, lang: str, top: str, foot: str, published: str
) -> None:
    title, body = BODY[lang].split("\n\n")
    # the foot below the top blocks a byline may hold
    text = f"{top}\n\n{title}\n\n" + f"{body}\n\n" * 8 + f"{foot}\n"
    result = enricher.analyse(text.encode("utf-8"), Source(path="a.txt"), language_hint=lang)
    assert isinstance(result, EnrichedArticle)
    assert result.published == published
    # the stamp stays text: the article's id rests on its text
    assert foot in result.body


@pytest.mark.parametrize(
    ("lang", "lines", "published"),
    [
        # the day the page was served on top, the article's own (month first) below
        ("en", ["Monday,  September 25, 2023  1:40 am", "10-15-2019  10:44 am"], "2019-10-15"),
        # a clock time printed against the date
        ("fr", ["10:283/09/2025, mercredi"], "2025-09-03"),
        # a day beats the month alone of a short title line
        ("en", ["Tuesday, April 10, 2012", "Phone launches April 2012"], "2012-04-10"),
    ],
)
def test_bare_date_lines(enricher: Enricher, lang: str, lines: list[str], published: str) -> None:
    title, body = BODY[lang].split("\n\n")
    text = "\n\n".join([*lines, title, body]) + "\n"
    result = enricher.analyse(text.encode("utf-8"), Source(path="a.txt"), language_hint=lang)
    assert isinstance(result, EnrichedArticle)
    assert result.published == published


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("fr", "Elle enfreint la loi n° 78-17 du 6 janvier 1978 sur les données."),
        ("en", "It breaches the Data Act No. 12 of 3 May 1998, the regulator said."),
        ("de", "Das verstößt gegen den Beschluss 2021/23 vom 4. Mai 2021, so die Behörde."),
        (
            "nl",
            "Dat is in strijd met het besluit 2019/881 van 17 april 2019, aldus de toezichthouder.",
        ),
    ],
)
def test_the_date_of_a_law_cited_by_number_is_not_the_publication(
    enricher: Enricher, lang: str, sentence: str
) -> None:
    title, body = BODY[lang].split("\n\n")
    text = f"{title}\n\n{body} {sentence}\n"
    result = enricher.analyse(text.encode("utf-8"), Source(path="a.txt"), language_hint=lang)
    assert isinstance(result, EnrichedArticle)
    assert result.published is None
