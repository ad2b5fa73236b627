"""The command line as a user runs it: subprocesses, real files, a real database."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, SEEDS, ww

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the shared seed articles are not next to the repository"
)
def test_enrich_seeds_json_contract():
    files = sorted(str(p) for p in SEEDS.glob("*.txt"))
    out = ww("enrich", *files, "--json").stdout.splitlines()
    docs = [json.loads(line) for line in out]
    assert [d["source"]["path"] for d in docs] == files
    assert [d["language"] for d in docs] == ["nl", "nl", "nl", "nl", "sv"]
    assert [d["published"] for d in docs] == [
        "2019-02",
        "2019-10",
        "2019-06",
        "2019-09",
        "2019-03-26",
    ]
    for d in docs:
        assert "Huawei" in d["entities"]["vendors"]
        for key in ("vendors", "operators", "countries", "organisations", "people"):
            assert isinstance(d["entities"][key], list)
        for ev in d["events"]:
            assert set(ev) >= {"type", "status", "confidence", "evidence", "actors", "targets"}
        assert "keywords" in d and "near_duplicate_of" in d and len(d["id"]) == 16


def test_enrich_rejected_file_line_and_input_order(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    good = sorted(EXAMPLES.glob("en_*.txt"))[0]
    missing = tmp_path / "missing.txt"
    proc = ww("enrich", str(empty), str(good), str(missing), "--json", check=False)
    # an empty file is an article's verdict; a file that cannot be read failed (exit 1)
    assert proc.returncode == 1 and "missing.txt" in proc.stderr
    first, second, third = (json.loads(x) for x in proc.stdout.splitlines())
    assert first == {"source": {"path": str(empty)}, "rejected": first["rejected"]}
    assert first["rejected"]["code"] == "empty" and first["rejected"]["reason"]
    assert second["source"]["path"] == str(good) and second["language"] == "en"
    assert third["rejected"]["code"] == "unreadable"


def test_run_once_then_query_commands(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox)
    (inbox / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    db = tmp_path / "w.db"
    run = ww("run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0")
    n = len(list(EXAMPLES.rglob("*.txt")))
    assert f"processed {n + 1} file(s)" in run.stdout
    assert "1 rejected" in run.stdout and "broken.txt" in run.stdout
    assert run.stderr.count(" article path=") == n
    assert "rejected path=" in run.stderr and "reason=binary" in run.stderr

    again = ww("run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0")
    assert "processed 0 file(s)" in again.stdout

    events = ww("events", "--db", str(db), "--json").stdout.splitlines()
    assert events, "the example inbox has policy events"
    types = {json.loads(e)["type"] for e in events}
    assert types == {"ban", "sanction", "warning", "regulation", "deal", "licensing", "legal"}
    bans = [
        json.loads(e)
        for e in ww("events", "--db", str(db), "--type", "ban", "--json").stdout.splitlines()
    ]
    assert bans and all(b["type"] == "ban" for b in bans)
    table = ww("events", "--db", str(db), "--vendor", "Huawei").stdout
    assert "published" in table.splitlines()[0] and "event(s)" in table

    hits = [
        json.loads(x) for x in ww("search", "Huawei", "--db", str(db), "--json").stdout.splitlines()
    ]
    assert hits and all("huawei" in (h["title"] + h["body"]).lower() for h in hits)
    shown = ww("show", hits[0]["id"], "--db", str(db)).stdout
    assert hits[0]["id"] in shown and "language" in shown
    assert ww("show", "ffffffffffffffff", "--db", str(db), check=False).returncode == 1
    rejected = ww("rejected", "--db", str(db)).stdout
    assert "broken.txt" in rejected and "binary" in rejected


def test_run_watches_new_files_and_stops_cleanly_on_ctrl_c(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db = tmp_path / "w.db"
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wirewatch",
            "run",
            str(inbox),
            "--db",
            str(db),
            "--metrics-port",
            str(port),
            "--poll-interval",
            "0.1",
            "--settle-seconds",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        src = sorted(EXAMPLES.glob("nl_*.txt"))[0]
        part = inbox / "drop.txt.part"
        part.write_bytes(src.read_bytes())
        time.sleep(0.5)
        part.rename(inbox / "drop.txt")
        (inbox / ".hidden").write_text("ignored")
        deadline = time.time() + 30
        while time.time() < deadline and _files_done(db) < 1:
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        assert urllib.request.urlopen(base + "/healthz", timeout=5).status == 200
        assert urllib.request.urlopen(base + "/readyz", timeout=5).status == 200
        scraped = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        assert "wirewatch_files_seen_total 1.0" in scraped
        assert 'wirewatch_articles_processed_total{stage="store"} 1.0' in scraped
        assert "wirewatch_end_to_end_seconds_bucket" in scraped
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "processed 1 file(s)" in stdout, stdout + stderr
    assert "drop.txt" in stderr and ".hidden" not in stderr and ".part" not in stderr
    assert "SIGINT received" in stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _files_done(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_run_on_missing_inbox_names_it(tmp_path):
    proc = ww("run", str(tmp_path / "nope"), "--db", str(tmp_path / "x.db"), "--once", check=False)
    assert proc.returncode != 0 and "nope" in proc.stderr and "not a directory" in proc.stderr


def test_enrich_honours_the_core_settings_run_honours(monkeypatch):
    path = str(EXAMPLES / "en_02_uk_huawei_2027.txt")
    plain = json.loads(ww("enrich", path, "--json").stdout)
    assert plain["events"] and plain["relevance"] > 0.5
    monkeypatch.setenv("WIREWATCH_CORE__EVENT_DIRECT_RELEVANCE", "1.0")
    monkeypatch.setenv("WIREWATCH_CORE__EVENT_MIN_RELEVANCE", "1.0")
    strict = json.loads(ww("enrich", path, "--json").stdout)
    assert strict["events"] == []
    monkeypatch.setenv("WIREWATCH_CORE__MAX_EVENTS", "many")
    bad = ww("enrich", path, check=False)
    assert bad.returncode == 2 and "WIREWATCH_CORE__MAX_EVENTS" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "--vendor", "Huawai"], "did you mean Huawei?"),
        (["events", "--country", "XY"], "unknown country 'XY'"),
        (["events", "--since", "2020-13"], "is not a date"),
    ],
)
def test_filters_outside_their_vocabulary_fail_with_a_suggestion(args, message, tmp_path):
    proc = ww(*args, "--db", str(tmp_path / "w.db"), check=False)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rules_check_rejects_unknown_vendors_and_languages(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: r\n    events: [ban]\n    vendors: [Huawai]\n    languages: [xx]\n"
    )
    proc = ww("rules", "check", str(rules), check=False)
    assert proc.returncode == 2
    assert "did you mean Huawei?" in proc.stderr and "unknown language 'xx'" in proc.stderr
    assert "ok " in ww("rules", "check", str(EXAMPLES.parent / "rules.yaml")).stdout
