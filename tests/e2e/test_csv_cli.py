"""``--csv`` on every listing, as a script reads it: the csv module parses the output back
into a header and rows, one row per object ``--json`` gives, with the same ids."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from tests.conftest import EXAMPLES, ww

pytestmark = pytest.mark.slow

RULES = str(EXAMPLES.parent / "rules.yaml")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("csv-cli")
    shutil.copytree(EXAMPLES, tmp / "inbox")
    (tmp / "inbox" / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    path = str(tmp / "w.db")
    ww("run", str(tmp / "inbox"), "--db", path, "--once", "--metrics-port", "0", "--rules", RULES)
    ww("alerts", "mute", "vendor:zte", "--for", "2h", "--db", path)
    return path


def _csv(*args: str) -> tuple[list[str], list[dict[str, str]]]:
    text = ww(*args, "--csv").stdout
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    assert reader.fieldnames is not None
    return list(reader.fieldnames), rows


def _json(*args: str) -> list[dict]:
    return [json.loads(line) for line in ww(*args, "--json").stdout.splitlines()]


@pytest.mark.parametrize(
    ("args", "columns", "key", "json_key"),
    [
        (["events"], ["published", "type", "article_id", "title"], "article_id", "article_id"),
        (["search", "huawei"], ["id", "language", "title", "rank", "snippet"], "id", "id"),
        (["rejected"], ["at", "code", "path", "reason"], "path", "path"),
        (["stories"], ["id", "articles", "languages", "first_seen", "title"], "id", "id"),
        (["alerts"], ["fired_at", "rule", "article_id", "events"], "article_id", "article_id"),
        (["alerts", "silences"], ["target", "until"], "target", "target"),
        (
            ["rules", "test", RULES],
            ["day", "rule", "kind", "article_id"],
            "article_id",
            "article_id",
        ),
    ],
    ids=["events", "search", "rejected", "stories", "alerts", "silences", "backtest"],
)
def test_a_listing_as_csv_has_the_rows_and_ids_of_its_json(db, args, columns, key, json_key):
    header, rows = _csv(*args, "--db", db)
    assert set(columns) <= set(header), header
    docs = _json(*args, "--db", db)
    assert docs, "the example inbox gives every listing something to list"
    assert [r[key] for r in rows] == [str(d[json_key]) for d in docs]


def test_every_cell_survives_commas_quotes_and_lists(db):
    _, rows = _csv("events", "--db", db)
    docs = _json("events", "--db", db)
    for row, doc in zip(rows, docs, strict=True):
        assert row["title"] == (doc["title"] or "")
        assert row["targets"] == ",".join(doc["targets"])
        assert float(row["confidence"]) == pytest.approx(doc["confidence"])
    assert any("," in r["title"] for r in rows), "a title with a comma is in the examples"


def test_a_story_and_the_articles_tested_against_rules_as_csv(db):
    story = _json("stories", "--db", db)[0]["id"]
    header, rows = _csv("stories", story, "--db", db)
    assert header[:2] == ["story_id", "article_id"] and rows
    assert {r["story_id"] for r in rows} == {story}
    files = sorted(str(p) for p in EXAMPLES.glob("da_*.txt"))
    header, rows = _csv("rules", "test", RULES, *files)
    assert header[:3] == ["path", "article_id", "rule"]
    assert rows and {r["path"] for r in rows} <= set(files)
    assert [r["article_id"] for r in rows] == [
        d["article_id"] for d in _json("rules", "test", RULES, *files)
    ]


def test_enrich_as_csv_keeps_input_order_and_names_the_rejected(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    good = sorted(EXAMPLES.glob("en_*.txt"))[0]
    proc = ww("enrich", str(good), str(empty), "--csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["path"] for r in rows] == [str(good), str(empty)]
    assert rows[0]["language"] == "en" and len(rows[0]["article_id"]) == 16
    assert rows[1]["rejected"] == "empty" and rows[1]["reason"]


@pytest.mark.parametrize(
    "args", [["events"], ["search", "huawei"], ["alerts", "silences"], ["rules", "test", RULES]]
)
def test_json_and_csv_together_is_a_usage_error(db, args):
    proc = ww(*args, "--db", db, "--json", "--csv", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--json and --csv" in proc.stderr and "Traceback" not in proc.stderr
