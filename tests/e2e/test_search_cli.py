"""``wirewatch search`` as a user runs it over the example inbox: counts, snippets,
paging, JSON, and the exit code of a malformed query."""

from __future__ import annotations

import json
import shutil

import pytest
from wirewatch.search import MARK_END, MARK_START

from tests.conftest import EXAMPLES, ww

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search-cli")
    shutil.copytree(EXAMPLES, tmp / "inbox")
    path = tmp / "w.db"
    ww("run", str(tmp / "inbox"), "--db", str(path), "--once", "--metrics-port", "0")
    return str(path)


def test_counts_and_a_marked_snippet_per_hit(db):
    out = ww("search", "verboden", "--db", db, "--limit", "1").stdout.splitlines()
    assert out[0].split() == ["id", "lang", "published", "events", "title"]
    assert out[3].startswith("    ") and f"{MARK_START}verbod" in out[3] and MARK_END in out[3]
    assert out[-1].startswith("1 of ") and out[-1].endswith(" article(s)")
    assert int(out[-1].split()[2]) > 1


def test_json_paging_and_date_order(db):
    def docs(*args: str) -> list[dict]:
        return [
            json.loads(x) for x in ww("search", *args, "--db", db, "--json").stdout.splitlines()
        ]

    every = docs("type:ban", "--sort", "date", "--limit", "100")
    assert len(every) == every[0]["search"]["total"] > 4
    dates = [d["published"] or "" for d in every if d["published"]]
    assert dates == sorted(dates, reverse=True)
    page = docs("type:ban", "--sort", "date", "--limit", "2", "--offset", "2")
    assert [d["id"] for d in page] == [d["id"] for d in every[2:4]]
    assert [d["search"]["rank"] for d in page] == [3, 4]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"huawei verbod', "unbalanced quote"),
        ("(huawei", "unbalanced parenthesis"),
        ("author:x", "unknown field 'author:'"),
        ("since:2020-13", "no month 13"),
        ("vendor:Huawai", "did you mean Huawei?"),
    ],
)
def test_a_malformed_query_exits_2_with_one_line(db, query, message):
    run = ww("search", query, "--db", db, check=False)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and message in run.stderr
