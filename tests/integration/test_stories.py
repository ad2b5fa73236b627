"""Stories through `wirewatch run`: a Dutch and a Swedish report of one ban are one story,
raising one alert and then one update at a real webhook receiver; silences; the backtest
on a store built from the seeds."""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from wirewatch.core.alerts import AlertRule, Notify
from wirewatch.embedded.runner import EmbeddedRunner
from wirewatch.embedded.store import SqliteStore
from wirewatch.settings import EmbeddedSettings

from tests.conftest import SEEDS, ww

DATA = Path(__file__).resolve().parents[1] / "data" / "stories"
SECRET = "it-stories-secret-5a17"


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch):
    monkeypatch.delenv("WIREWATCH_WEBHOOKS__SECRET_FILE", raising=False)
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__SECRET", SECRET)


@pytest.fixture()
def receiver():
    got: list[dict] = []
    arrived = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with arrived:
                got.append(body)
                arrived.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.got = got  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    yield server
    server.shutdown()


def test_the_run_summary_counts_first_alerts_and_updates_apart(tmp_path, enricher):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = EmbeddedSettings(
        inbox=[inbox], db=tmp_path / "w.db", once=True, settle_seconds=0, metrics_port=0
    )
    store = SqliteStore(settings.db)
    rules = [AlertRule(name="bans", events=["ban"], notify=[Notify(log=True)])]
    try:
        shutil.copy(DATA / "nl_zweden_verbod.txt", inbox)
        first = EmbeddedRunner(settings, store, enricher, rules=rules).run()
        shutil.copy(DATA / "sv_pts_forbud.txt", inbox)
        second = EmbeddedRunner(settings, store, enricher, rules=rules).run()
    finally:
        store.close()
    assert (first.alerts, first.updates) == (1, 0)
    assert (second.alerts, second.updates) == (0, 1)
    assert second.line(alerting=True).endswith(", 0 alert(s) fired, 1 update(s)")
    assert "alert(s)" not in second.line(alerting=False)


def test_the_store_lists_a_trend_rules_episodes_of_one_target(tmp_path):
    store = SqliteStore(tmp_path / "w.db")
    try:
        for n, group in enumerate(
            [
                "frequency:vendor:ZTE:2021-03-03T00:00:00Z",
                "frequency:vendor:ZTE:2021-03-10T00:00:00Z",
                "frequency:vendor:ZTE_2:2021-03-03T00:00:00Z",  # another target
                "frequency:vendor:ZTE",  # not an episode
            ]
        ):
            store.fire_alert("wave", f"a{n}", None, {"story_id": group, "kind": "alert"})
        store.fire_alert("other", "a9", None, {"story_id": "frequency:vendor:ZTE:x"})
        found = store.alert_episodes([("wave", "frequency:vendor:ZTE"), ("none", "x")])
    finally:
        store.close()
    assert found == {
        ("wave", "frequency:vendor:ZTE"): {
            "frequency:vendor:ZTE:2021-03-03T00:00:00Z",
            "frequency:vendor:ZTE:2021-03-10T00:00:00Z",
        }
    }


def test_a_silence_ended_early_in_the_store_no_longer_runs(tmp_path):
    from datetime import UTC, datetime, timedelta

    store = SqliteStore(tmp_path / "w.db")
    now = datetime.now(UTC)
    try:
        store.add_silence("rule:bans", now + timedelta(hours=1))
        store.add_silence("rule:bans", now + timedelta(hours=2))
        store.add_silence("country:SE", now + timedelta(hours=1))
        assert store.expire_silence("rule:bans", now) == 2
        assert store.expire_silence("rule:bans", now) == 0
        assert store.silences(now) == [("country:SE", now + timedelta(hours=1))]
    finally:
        store.close()


def _run(inbox: Path, db: Path, rules: Path):
    return ww(
        "run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0", "--rules", str(rules)
    )


def test_a_dutch_and_a_swedish_report_raise_one_alert_then_one_update(tmp_path, receiver):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: bans\n    events: [ban]\n"
        f"    notify:\n      - webhook: {receiver.url}\n      - log: true\n"
    )
    db = tmp_path / "w.db"
    shutil.copy(DATA / "nl_zweden_verbod.txt", inbox)
    first = _run(inbox, db, rules)
    assert "1 alert(s) fired" in first.stdout, first.stdout + first.stderr
    shutil.copy(DATA / "sv_pts_forbud.txt", inbox)
    second = _run(inbox, db, rules)
    assert "0 alert(s) fired" in second.stdout  # an update is not a new alert
    assert "ALERT-UPDATE rule=bans story=" in second.stderr
    assert "+1 source, now also in sv" in second.stderr
    # `run --once` returns after its deliveries left
    kinds = [(b["kind"], b["language"], b.get("update")) for b in receiver.got]
    assert kinds == [("alert", "nl", None), ("update", "sv", "+1 source, now also in sv")]
    assert (
        receiver.got[0]["story_id"] == receiver.got[1]["story_id"] == receiver.got[0]["article_id"]
    )

    listed = [json.loads(x) for x in ww("stories", "--db", str(db), "--json").stdout.splitlines()]
    assert [(s["articles"], s["languages"]) for s in listed] == [(2, ["nl", "sv"])]
    assert listed[0]["first_seen"] == listed[0]["last_seen"] == "2020-10-20"
    members = ww("stories", listed[0]["id"], "--db", str(db), "--json").stdout.splitlines()
    assert [Path(json.loads(m)["source"]).name for m in members] == [
        "nl_zweden_verbod.txt",
        "sv_pts_forbud.txt",
    ]
    assert "2 article(s)" in ww("stories", listed[0]["id"], "--db", str(db)).stdout
    alerts = [json.loads(x) for x in ww("alerts", "--db", str(db), "--json").stdout.splitlines()]
    assert sorted(a["kind"] for a in alerts) == ["alert", "update"]
    # a third run: nothing new, nothing sent
    assert "0 alert(s) fired" in _run(inbox, db, rules).stdout
    assert len(receiver.got) == 2


def test_a_muted_vendor_raises_nothing_while_the_silence_runs(tmp_path, receiver):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "nl_zweden_verbod.txt", inbox)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: bans\n    events: [ban]\n")
    db = tmp_path / "w.db"
    ww("run", str(tmp_path / "inbox"), "--db", str(db), "--once", "--metrics-port", "0")
    bad = ww("alerts", "mute", "vendor:Huawai", "--for", "2h", "--db", str(db), check=False)
    assert bad.returncode != 0 and "Huawei" in bad.stderr  # did you mean
    assert (
        "muted vendor:Huawei until"
        in ww("alerts", "mute", "vendor:huawei", "--for", "2h", "--db", str(db)).stdout
    )
    assert "vendor:Huawei" in ww("alerts", "silences", "--db", str(db)).stdout
    shutil.copy(DATA / "sv_pts_forbud.txt", inbox)
    shutil.copy(DATA / "nl_zweden_verbod.txt", inbox / "again.txt")  # stored text, new file
    out = _run(inbox, db, rules)
    assert "0 alert(s) fired" in out.stdout, out.stdout + out.stderr


BACKTEST_RULES = """rules:
  - name: bans
    events: [ban]
    statuses: [reported, proposed, rejected]
  - name: huawei-query
    events: [ban, sanction, warning]
    statuses: [reported, proposed]
    query: "huawei (5g OR netwerk*) -zte"
  - name: ban-wave
    events: [ban, sanction]
    statuses: [reported, proposed]
    frequency: {at_least: 2, within: 120d}
  - name: first-vendor
    events: [ban, sanction, warning, deal, licensing, regulation, legal]
    first_seen: [vendor]
"""


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared seeds not present")
def test_a_backtest_on_the_seeds_prints_what_would_have_fired(tmp_path):
    db = tmp_path / "w.db"
    ww("run", str(SEEDS), "--db", str(db), "--once", "--metrics-port", "0")
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKTEST_RULES)
    assert "4 valid rule(s)" in ww("rules", "check", str(rules)).stdout
    out = ww("rules", "test", str(rules), "--db", str(db))
    totals = [line for line in out.stdout.splitlines() if ": " in line and "alert(s)" in line]
    assert totals == [
        "bans: 4 alert(s), 0 update(s)",
        "huawei-query: 3 alert(s), 0 update(s)",
        "ban-wave: 2 alert(s), 0 update(s)",
        "first-vendor: 2 alert(s), 0 update(s)",
    ]
    rows = [line.split() for line in out.stdout.splitlines()[2:] if line.count("-") >= 2]
    assert ["ban-wave", "2019-06-01", "1", "0"] in rows
    assert ["ban-wave", "2019-03-26", "1", "0"] in rows  # its proposed ban is the second
    assert ["bans", "2019-03-26", "1", "0"] in rows  # the Swedish article, dated to the day
    assert "replayed 5 stored article(s)" in out.stderr
    # per period: the spring of 2019 only
    spring = ww(
        "rules", "test", str(rules), "--db", str(db), "--since", "2019-03", "--until", "2019-06"
    )
    assert "bans: 2 alert(s), 0 update(s)" in spring.stdout
    assert "first-vendor: 0 alert(s)" in spring.stdout  # Huawei was seen in February
    # nothing was recorded
    assert "0 alert(s)" in ww("alerts", "--db", str(db)).stdout
    bad = ww("rules", "test", str(rules), "--db", str(db), "--since", "2019-13", check=False)
    assert bad.returncode != 0 and "no month 13" in bad.stderr


def test_a_database_of_an_earlier_version_gets_its_stories(tmp_path):
    import sqlite3

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "nl_zweden_verbod.txt", inbox)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: bans\n    events: [ban]\n")
    db = tmp_path / "w.db"
    assert "1 alert(s) fired" in _run(inbox, db, rules).stdout
    old = sqlite3.connect(db)  # back to the schema before stories
    old.executescript(
        "DROP INDEX articles_story; DROP INDEX alerts_story; DROP TABLE story_keys; "
        "ALTER TABLE articles DROP COLUMN story_id; ALTER TABLE articles DROP COLUMN at; "
        "ALTER TABLE alerts DROP COLUMN story_id; ALTER TABLE alerts DROP COLUMN kind;"
    )
    old.close()
    shutil.copy(DATA / "sv_pts_forbud.txt", inbox)
    second = _run(inbox, db, rules)
    assert "+1 source, now also in sv" in second.stderr, second.stderr
    listed = [json.loads(x) for x in ww("stories", "--db", str(db), "--json").stdout.splitlines()]
    assert [(s["articles"], s["languages"]) for s in listed] == [(2, ["nl", "sv"])]
