"""Alerts through `wirewatch run --rules` to a real local webhook receiver."""

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import EXAMPLES, SEEDS, ww

SECRET = "it-webhook-secret-94c2e1"
TOKEN = "path-token-0d7b3f"


def verifies(body: bytes, header: str | None) -> bool:
    """The receiver's own check of ``X-Wirewatch-Signature-256`` (constant-time)."""
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch):
    """Webhooks to loopback, signed: what every run here starts with unless a test says."""
    for name in ("SECRET", "SECRET_FILE", "ALLOWED_HOSTS"):
        monkeypatch.delenv(f"WIREWATCH_WEBHOOKS__{name}", raising=False)
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__SECRET", SECRET)


class Receiver:
    """An HTTP server on loopback that fails the first ``failures`` posts of each alert
    and accepts only bodies whose signature verifies."""

    def __init__(self, failures: int):
        self.failures = failures
        self.attempts: dict[tuple[str, str], int] = {}
        self.accepted: list[dict] = []
        self.unverified = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if not verifies(raw, self.headers.get("X-Wirewatch-Signature-256")):
                    receiver.unverified += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.loads(raw)
                key = (body["rule"], body["article_id"])
                receiver.attempts[key] = receiver.attempts.get(key, 0) + 1
                if receiver.attempts[key] <= receiver.failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.accepted.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.origin}/hook/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture()
def receiver():
    r = Receiver(failures=2)
    yield r
    r.close()


def run(inbox, db, rules):
    return ww(
        "run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0", "--rules", str(rules)
    )


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared seeds not present")
def test_seeds_fire_once_and_retries_deliver_exactly_once(tmp_path, receiver):
    inbox = tmp_path / "inbox"
    shutil.copytree(SEEDS, inbox)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: declined-bans\n    events: [ban]\n    statuses: [rejected]\n"
        f"    notify:\n      - webhook: {receiver.url}\n      - log: true\n"
        "  - name: eu-regulation\n    events: [regulation]\n    countries: [EU]\n"
        f"    notify:\n      - webhook: {receiver.url}\n"
    )
    db = tmp_path / "w.db"
    first = run(inbox, db, rules)
    assert first.returncode == 0, first.stderr
    fired = sorted((a["rule"], a["title"][:30]) for a in receiver.accepted)
    # 001: Norway has no plans for a ban; 004: the Commission avoids a ban, and recommends.
    assert [r for r, _ in fired] == ["declined-bans", "declined-bans", "eu-regulation"]
    assert all(n == 3 for n in receiver.attempts.values())  # two 503s, then accepted
    assert "3 alert(s) fired" in first.stdout
    assert receiver.unverified == 0
    body = receiver.accepted[0]
    assert {"rule", "article_id", "title", "language", "published", "events", "lookup"} <= set(body)
    assert body["events"][0]["evidence"]

    second = run(inbox, db, rules)
    assert "0 alert(s) fired" in second.stdout
    assert len(receiver.accepted) == 3

    listed = subprocess.run(
        [sys.executable, "-m", "wirewatch", "alerts", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(listed) == 3 and all("delivered 3" in json.loads(x)["deliveries"] for x in listed)


def test_near_duplicate_does_not_fire_again_and_failed_delivery_is_visible(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    originals = sorted(EXAMPLES.glob("nl_02*.txt"))  # a story and its lightly edited update
    assert len(originals) == 2
    shutil.copy(originals[0], inbox / originals[0].name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: declined\n    events: [ban]\n    statuses: [rejected]\n"
        "    notify:\n      - webhook: http://127.0.0.1:9/unreachable\n      - log: true\n"
    )
    db = tmp_path / "w.db"
    first = run(inbox, db, rules)
    assert "1 alert(s) fired" in first.stdout, first.stdout + first.stderr
    assert "delivery failed rule=declined" in first.stderr
    shutil.copy(originals[1], inbox / originals[1].name)
    second = run(inbox, db, rules)
    assert "1 near-duplicate" in second.stdout and "0 alert(s) fired" in second.stdout
    table = subprocess.run(
        [sys.executable, "-m", "wirewatch", "alerts", "--db", str(db)],
        capture_output=True,
        text=True,
    ).stdout
    assert "failed" in table


def _rules(tmp_path, url: str):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: log-only\n    events: [deal]\n"
        "  - name: declined\n    events: [ban]\n    statuses: [rejected]\n"
        f"    notify:\n      - webhook: {url}\n"
    )
    return rules


def _inbox(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = sorted(EXAMPLES.glob("nl_02*.txt"))[0]  # fires `declined`
    shutil.copy(original, inbox / original.name)
    return inbox


@pytest.mark.parametrize(
    "env, url, expected",
    [
        (
            {},
            f"http://127.0.0.2:8080/hook/{TOKEN}?key={TOKEN}",
            "rule 'declined': host 127.0.0.2:8080 is not allowed; "
            "add it to WIREWATCH_WEBHOOKS__ALLOWED_HOSTS",
        ),
        (
            {"WIREWATCH_WEBHOOKS__ALLOWED_HOSTS": "127.0.0.1:9999"},
            f"http://127.0.0.1:8080/hook/{TOKEN}",
            "rule 'declined': host 127.0.0.1:8080 is not allowed",
        ),
        (
            {},
            f"https://user:{TOKEN}@127.0.0.1/hook",
            "rule 'declined': the webhook URL for https://127.0.0.1:443 carries credentials",
        ),
        (
            {"WIREWATCH_WEBHOOKS__SECRET": None},
            f"http://127.0.0.1:8080/hook/{TOKEN}",
            "rule(s) 'declined' post webhooks, but no signing secret is set; "
            "set WIREWATCH_WEBHOOKS__SECRET",
        ),
    ],
    ids=["host", "port", "credentials", "no-secret"],
)
@pytest.mark.parametrize("command", ["run", "indexer", "rules-check"])
def test_start_up_refuses_webhooks_the_settings_do_not_allow(
    tmp_path, monkeypatch, env, url, expected, command
):
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    rules = _rules(tmp_path, url)
    db = tmp_path / "w.db"
    argv = {
        "run": [
            *("run", str(_inbox(tmp_path)), "--once", "--db", str(db), "--metrics-port", "0"),
            *("--rules", str(rules)),
        ],
        # refused before any connection: no Kafka or Elasticsearch is needed to see it
        "indexer": ["indexer", "--rules", str(rules), "--metrics-port", "0"],
        "rules-check": ["rules", "check", str(rules)],
    }[command]
    proc = ww(*argv, check=False, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{rules}: {expected}" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr, "the URL's path, query and userinfo stay out"
    assert not db.exists(), "refused before anything was opened"


def test_a_signed_delivery_leaves_no_secret_in_the_output(tmp_path):
    receiver = Receiver(failures=0)
    try:
        rules = _rules(tmp_path, receiver.url)
        db = tmp_path / "w.db"
        proc = ww(
            "--log-level",
            "DEBUG",
            "run",
            str(_inbox(tmp_path)),
            "--once",
            "--db",
            str(db),
            "--metrics-port",
            "0",
            "--rules",
            str(rules),
        )
    finally:
        receiver.close()
    output = proc.stdout + proc.stderr
    assert len(receiver.accepted) == 1 and receiver.unverified == 0
    assert f"delivered rule=declined article={receiver.accepted[0]['article_id']} " in output
    assert f"to {receiver.origin} (attempt 1)" in output
    assert SECRET not in output
    assert TOKEN not in output, "log lines name scheme://host:port only"
