from pathlib import Path

from wirewatch.schemas import CONTRACTS, check

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_match_the_models():
    assert check(ROOT / "schemas") == []


def test_every_contract_has_a_file():
    for topic, (_, version) in CONTRACTS.items():
        assert (ROOT / "schemas" / topic / f"v{version}.json").is_file()
