"""Who reacts to an event (criticises, condemns, welcomes it) is not its actor: the
``reaction`` term list of each rule file. Story grouping reads the actors' countries, so a
country that criticised a ban must not make two reports of it two stories."""

from __future__ import annotations

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

pytestmark = pytest.mark.unit

# (language, text, country that only reacts, country that acts)
CASES = [
    (
        "en",
        "Britain bans Huawei from 5G\n\nThe British government banned Huawei equipment from "
        "the 5G networks on Tuesday. China criticised the ban.",
        "CN",
        "GB",
    ),
    (
        "sv",
        "Sverige stänger ute Huawei\n\nSveriges regering förbjuder Huawei i 5G-näten. "
        "Kina kritiserade förbudet mot Huawei.",
        "CN",
        "SE",
    ),
    (
        "de",
        "Deutschland verbietet Huawei\n\nDie deutsche Regierung verbietet Huawei im 5G-Netz. "
        "China verurteilte das Verbot von Huawei scharf.",
        "CN",
        "DE",
    ),
    (
        "nl",
        "Nederland weert Huawei\n\nDe Nederlandse regering verbiedt Huawei in het 5G-netwerk. "
        "China bekritiseerde het verbod op Huawei.",
        "CN",
        "NL",
    ),
    (
        "fr",
        "La France exclut Huawei\n\nLe gouvernement français interdit Huawei dans les réseaux "
        "5G. La Chine a condamné l'interdiction de Huawei.",
        "CN",
        "FR",
    ),
]


@pytest.mark.parametrize(("lang", "text", "reacting", "acting"), CASES, ids=[c[0] for c in CASES])
def test_a_reacting_country_is_no_actor(
    enricher: Enricher, lang: str, text: str, reacting: str, acting: str
) -> None:
    result = enricher.analyse(text.encode(), Source(path="x.txt"), language_hint=lang)
    assert isinstance(result, EnrichedArticle)
    bans = [e for e in result.events if e.type == "ban"]
    assert bans, [(e.type, e.evidence) for e in result.events]
    actors = {a for e in bans for a in e.actors}
    assert acting in actors and reacting not in actors, actors
    # still a country of the article
    assert reacting in result.entities.countries


def test_without_the_reaction_verb_the_country_acts(enricher: Enricher) -> None:
    text = (
        "Britain bans Huawei from 5G\n\nThe British government banned Huawei equipment from "
        "the 5G networks on Tuesday. China banned the Apple phones of its officials."
    )
    result = enricher.analyse(text.encode(), Source(path="x.txt"), language_hint="en")
    assert isinstance(result, EnrichedArticle)
    actors = {a for e in result.events if e.type == "ban" for a in e.actors}
    assert {"GB", "CN"} <= actors, actors
