"""Dates that are not the publication date (data/dates.yaml): the day a page was
retrieved in a citation line, background and deadlines."""

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source


@pytest.mark.parametrize(
    ("lang", "text", "published"),
    [
        (
            "en",
            "Hacker jailed\n\nA federal judge sentenced the hacker to 11 years on Friday.\n"
            "Citation: Hacker jailed (2014, October 24) retrieved 19 March 2024 from "
            "https://example.org/news/hacker.html\n",
            None,
        ),
        (
            "de",
            "Urteil gegen Hacker\n\nDas Landgericht verurteilte den Hacker am Freitag. "
            "Quelle: Landgericht, abgerufen am 19. März 2024.\n",
            None,
        ),
        (
            "en",
            "Hacker jailed\n\nOn 24 October 2014 a federal judge sentenced the hacker.\n",
            "2014-10-24",
        ),
        # "before the later of <date> or ...": a deadline of a contract's terms
        (
            "en",
            "Carmaker signs licence\n\nThe discount applies to any licence signed before the "
            "later of 16 February 2024 or the first sale. On 20 February 2024 the carmaker "
            "signed.\n",
            "2024-02-20",
        ),
        # in reading order within a sentence: the day announced, not the decision's date
        (
            "en",
            "Regulator fines app\n\nOn 15 September 2023 the regulator announced its decision, "
            "dated 1 September 2023, to fine the app maker.\n",
            "2023-09-15",
        ),
        # a birth date, the date of a law or rule cited, a date a rule takes effect and
        # the date of another document are never the publication date
        (
            "fr",
            "Transfert record\n\nNé le 21 mars 1991 à Mâcon, l'attaquant rejoint le club "
            "catalan.\n",
            None,
        ),
        (
            "en",
            "Export rule tightened\n\nThe new listing follows the rule of October 7, 2022 on "
            "advanced chips (see our bulletin dated October 31, 2022).\n",
            None,
        ),
        (
            "en",
            "Parliament passes telecom law\n\nThe law, which will take effect on January 1st, "
            "2019, passed with a large majority.\n",
            None,
        ),
        (
            "fr",
            "Nouvelles règles pour les plateformes\n\nLes règles, qui entrent en vigueur le "
            "18 décembre 2025, obligent les boutiques d'applications à ouvrir leurs systèmes.\n",
            None,
        ),
        (
            "de",
            "Neues Telekommunikationsgesetz\n\nMit der Novelle wird eine EU-Richtlinie vom 11. "
            "Dezember 2018 umgesetzt.\n",
            None,
        ),
        (
            "nl",
            "Wet aangepast\n\nDe regering past de wet van 12 maart 2015 aan; de ministerraad "
            "besloot op 4 april 2019.\n",
            "2019-04-04",
        ),
    ],
)
def test_retrieved_dates_are_not_publication_dates(
    enricher: Enricher, lang: str, text: str, published: str | None
) -> None:
    result = enricher.analyse(text.encode("utf-8"), Source(path="a.txt"), language_hint=lang)
    assert isinstance(result, EnrichedArticle)
    assert result.published == published
