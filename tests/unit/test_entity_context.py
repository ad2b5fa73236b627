"""Context decides entities: idioms and brand names are none (data/gazetteer/not_entities.yaml),
the names of policy news are known wherever they stand."""

import pytest
from wirewatch.core.logic import Resources
from wirewatch.core.text import tokenize

# names of recent policy news the gazetteer must know, wherever they stand
KNOWN = [
    ("fr", "Le ministère a signé un accord-cadre avec Mistral AI.", "vendors", "Mistral AI"),
    ("nl", "Het kabinet greep in bij chipmaker Nexperia.", "vendors", "Nexperia"),
    ("en", "The regulator fined YouTube over children's data.", "vendors", "Google"),
    ("de", "Die Verlage verklagen Perplexity wegen ihrer Artikel.", "vendors", "Perplexity AI"),
    ("en", "DeepSeek was banned on government phones.", "vendors", "DeepSeek"),
    ("nl", "BlackBerry stopt met het maken van telefoons.", "vendors", "BlackBerry"),
    ("de", "Die Geräte von HTC und Meizu fielen im Test durch.", "vendors", "Meizu"),
    ("en", "Washington added Sophgo to the Entity List.", "vendors", "Sophgo"),
    ("fr", "Soitec prolonge son accord avec Shin-Etsu Handotai.", "vendors", "Soitec"),
    (
        "de",
        "Aixtron darf nicht an chinesische Investoren verkauft werden.",
        "vendors",
        "Aixtron",
    ),
    (
        "nl",
        "ASM International ziet de export naar China dalen.",
        "vendors",
        "ASM International",
    ),
    ("en", "Nexperia agreed to sell Newport Wafer Fab to Vishay.", "vendors", "Vishay"),
    ("de", "TomTom verkauft seine Kartensparte.", "vendors", "TomTom"),
    ("fr", "Logitech relève ses prévisions.", "vendors", "Logitech"),
    ("nl", "Kazachstan verbiedt de app van Kuaishou.", "vendors", "Kuaishou"),
    ("en", "Washington added SiCarrier to the Entity List.", "vendors", "SiCarrier"),
    (
        "en",
        "Kazakhtelecom will build a fibre link under the Caspian Sea.",
        "operators",
        "Kazakhtelecom",
    ),
    ("fr", "Maroc Telecom a écopé d'une amende de l'ANRT.", "operators", "Maroc Telecom"),
    ("de", "Der Betreiber Grameenphone muss eine Strafe zahlen.", "operators", "Grameenphone"),
    ("nl", "Quebecor neemt Freedom Mobile over.", "operators", "Quebecor"),
    ("en", "MTN Nigeria was fined over unregistered SIM cards.", "operators", "MTN"),
]


@pytest.mark.parametrize(
    ("lang", "text", "kind", "value", "found"),
    [
        ("fr", "Le projet est renvoyé aux calendes grecques, dit-il.", "countries", "GR", False),
        ("fr", "Le gouvernement grec a approuvé le texte.", "countries", "GR", True),
        ("en", "They met at the Half Time Orange bar.", "operators", "Orange", False),
        ("en", "Orange signed a contract with Nokia.", "operators", "Orange", True),
        ("en", "Veterans exposed to Agent Orange sued.", "operators", "Orange", False),
        ("de", "Das sind für ihn böhmische Dörfer.", "countries", "CZ", False),
        ("en", "He won the Samsung Cup final.", "vendors", "Samsung", False),
        ("en", "Samsung cut chip prices.", "vendors", "Samsung", True),
        ("da", "BT's medarbejder fulgte retssagen.", "operators", "BT", False),
        ("da", "BT og Ericsson har indgået en aftale om 5G.", "operators", "BT", True),
        ("en", "BT signed a contract with Ericsson.", "operators", "BT", True),
        ("fr", "Sur son compte Telegram, le président a réagi.", "vendors", "Telegram", False),
        ("en", "He used a YouTube posting to say it.", "vendors", "Google", False),
        ("nl", "Het VK plaatste tien tankers op de zwarte lijst.", "vendors", "VK Company", False),
        ("en", "The men were arrested in Kwai Chung on Friday.", "vendors", "Kuaishou", False),
        ("en", "The Didi Smith trial opened on Monday.", "vendors", "Didi Global", False),
        ("en", "The match ended 1-1 after extra time.", "operators", "1&1 AG", False),
    ]
    + [(*row, True) for row in KNOWN],
)
def test_context_decides(
    resources: Resources, lang: str, text: str, kind: str, value: str, found: bool
) -> None:
    got = {(m.kind, m.value) for m in resources.gazetteer.find(tokenize(text), lang, text)}
    assert ((kind, value) in got) is found, got
