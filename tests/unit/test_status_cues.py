"""Urging or pressing someone to act makes the act a demand: ``proposed``, not done.
Pressing allies to keep a vendor out is lobbying against it: a ``warning``, and no ban
(docs/LABELLING.md)."""

import pytest
from wirewatch.core.logic import Enricher
from wirewatch.core.models import EnrichedArticle, Source

CASES = [
    (
        "en",
        "Government presses operators\n\nThe government has been urging the mobile operators "
        "to ban Huawei equipment from their 5G networks.\n",
    ),
    (
        "de",
        "Regierung drängt Netzbetreiber\n\nDie Bundesregierung drängt die Netzbetreiber, Huawei "
        "aus ihren 5G-Netzen zu verbannen.\n",
    ),
    (
        "nl",
        "Kabinet zet providers onder druk\n\nHet kabinet dringt er bij de telecomaanbieders op "
        "aan om Huawei uit hun 5G-netwerken te weren.\n",
    ),
    (
        "fr",
        "Le gouvernement presse les opérateurs\n\nLe gouvernement exhorte les opérateurs à "
        "exclure Huawei de leurs réseaux 5G.\n",
    ),
]

ALLIES = [
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


def _events(enricher: Enricher, lang: str, text: str) -> set[tuple[str, str]]:
    result = enricher.analyse(text.encode(), Source(path=f"{lang}.txt"))
    assert isinstance(result, EnrichedArticle)
    assert result.language == lang
    return {(e.type, e.status) for e in result.events}


@pytest.mark.parametrize(("lang", "text"), CASES, ids=[c[0] for c in CASES])
def test_an_urged_ban_is_proposed(enricher: Enricher, lang: str, text: str) -> None:
    events = _events(enricher, lang, text)
    assert {(t, s) for t, s in events if t == "ban"} == {("ban", "proposed")}


@pytest.mark.parametrize(("lang", "text"), ALLIES, ids=[c[0] for c in ALLIES])
def test_pressing_allies_is_a_warning_not_a_ban(enricher: Enricher, lang: str, text: str) -> None:
    events = _events(enricher, lang, text)
    assert not {t for t, _ in events if t == "ban"}
    assert ("warning", "reported") in events


# A government working on a law, with the subject between the verb and its object
# ("werkt de regering aan een wet"): the law is planned.
WORKING_ON = [
    (
        "nl",
        "Geen verbod op Huawei\n\nIn plaats daarvan werkt de regering aan een wet die "
        "operatoren verplicht om voor de kern van hun netwerk alleen doorgelichte leveranciers "
        "te gebruiken.\n",
    ),
    (
        "de",
        "Kein Huawei-Verbot\n\nStattdessen arbeitet die Regierung an einem Gesetz, das "
        "Netzbetreiber verpflichtet, im Kern ihrer Netze nur geprüfte Lieferanten einzusetzen.\n",
    ),
]


@pytest.mark.parametrize(("lang", "text"), WORKING_ON, ids=[c[0] for c in WORKING_ON])
def test_a_law_being_worked_on_is_proposed(enricher: Enricher, lang: str, text: str) -> None:
    assert _events(enricher, lang, text) == {("regulation", "proposed")}


UNSAID = [
    (
        "en",
        "US blacklists chipmaker\n\nThe United States added the chipmaker SMIC to a trade "
        "blacklist on Friday. The incoming president has not said whether he intends to keep "
        "the restrictions on Chinese chip firms.\n",
    ),
    (
        "fr",
        "Washington inscrit un fondeur chinois sur sa liste noire\n\nLes États-Unis ont inscrit "
        "le fondeur SMIC sur leur liste noire commerciale. Le futur président n'a pas précisé "
        "s'il maintiendrait les restrictions visant les fabricants chinois.\n",
    ),
]


@pytest.mark.parametrize(("lang", "text"), UNSAID, ids=[c[0] for c in UNSAID])
def test_not_saying_whether_declines_nothing(enricher: Enricher, lang: str, text: str) -> None:
    """ "Has not said whether he will keep the restrictions" is no declined ban."""
    out = enricher.analyse(text.encode("utf-8"), Source(path="x.txt"), language_hint=lang)
    assert isinstance(out, EnrichedArticle)
    assert ("ban", "rejected") not in {(e.type, e.status) for e in out.events}
    assert "sanction" in {e.type for e in out.events}
