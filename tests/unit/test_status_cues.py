"""Urging or pressing someone to act makes the act a demand: ``proposed``, not done."""

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

CASES = [
    (
        "en",
        "Washington presses allies on Huawei\n\nThe US government has been urging its allies "
        "to ban Huawei equipment from their 5G networks.\n",
    ),
    (
        "de",
        "Washington drängt Verbündete\n\nDie US-Regierung drängt die Verbündeten, Huawei aus "
        "ihren 5G-Netzen zu verbannen.\n",
    ),
    (
        "nl",
        "Washington zet bondgenoten onder druk\n\nDe Amerikaanse regering dringt er bij de "
        "bondgenoten op aan om Huawei uit hun 5G-netwerken te weren.\n",
    ),
    (
        "fr",
        "Washington presse ses alliés\n\nLe gouvernement américain exhorte ses alliés à "
        "exclure Huawei de leurs réseaux 5G.\n",
    ),
]


@pytest.mark.parametrize(("lang", "text"), CASES, ids=[c[0] for c in CASES])
def test_an_urged_ban_is_proposed(enricher: Enricher, lang: str, text: str) -> None:
    result = enricher.analyse(text.encode(), Source(path=f"{lang}.txt"))
    assert isinstance(result, EnrichedArticle)
    assert result.language == lang
    assert {(e.type, e.status) for e in result.events if e.type == "ban"} == {("ban", "proposed")}
