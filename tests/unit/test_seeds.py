"""The five real seed articles (read from ../shared/seeds, never copied into the project)."""

import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="shared seeds not present")


@pytest.fixture(scope="module")
def docs(enricher):
    from wirewatch.core.models import Source

    return {
        p.name[:3]: enricher.analyse(p.read_bytes(), Source(path=str(p)))
        for p in sorted(SEEDS.glob("*.txt"))
    }


def events(doc):
    return {(e.type, e.status) for e in doc.events}


def test_languages_dates_and_vendor(docs):
    assert [d.language for d in docs.values()] == ["nl", "nl", "nl", "nl", "sv"]
    assert [d.published for d in docs.values()] == [
        "2019-02",
        "2019-10",
        "2019-06",
        "2019-09",
        "2019-03-26",
    ]
    assert all("Huawei" in d.entities.vendors for d in docs.values())


def test_us_warning_and_eu_considering_a_ban(docs):
    d = docs["000"]
    assert {("warning", "reported"), ("ban", "proposed")} <= events(d)
    assert {"US", "CN", "EU"} <= set(d.entities.countries)
    assert "European Commission" in d.entities.organisations


def test_blacklist_and_norway_declining_a_ban(docs):
    d = docs["001"]
    assert {("sanction", "reported"), ("ban", "rejected")} <= events(d)
    rejected = next(e for e in d.events if e.status == "rejected")
    assert "NO" in rejected.actors and "Huawei" in rejected.targets
    assert "Donald Trump" in d.entities.people


def test_mts_and_kpn_deals_with_huawei(docs):
    d = docs["002"]
    deal = next(e for e in d.events if e.type == "deal")
    assert {"MTS", "KPN"} <= set(deal.actors) and deal.targets == ["Huawei"]
    assert {"MTS", "KPN"} <= set(d.entities.operators)
    assert {"Vladimir Putin", "Xi Jinping"} <= set(d.entities.people)  # "Poetin" in the text


def test_licensing_offer_and_blacklist(docs):
    d = docs["003"]
    assert {("licensing", "reported"), ("sanction", "reported")} <= events(d)
    assert "Ren Zhengfei" in d.entities.people


def test_eu_recommendation_and_declined_ban(docs):
    d = docs["004"]
    assert {("regulation", "reported"), ("ban", "rejected")} <= events(d)
    assert ("ban", "reported") not in events(d)
    # Caption lines are boilerplate: the photo of 26 September 2018 is not the date,
    # and the copyright line is kept aside.
    assert any("AP Photo" in b for b in d.boilerplate) and "©" not in d.body
    assert {"EU", "US", "CN"} <= set(d.entities.countries)
