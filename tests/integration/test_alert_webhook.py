"""Alerts through `wirewatch run --rules` to a real local webhook receiver."""

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import EXAMPLES, SEEDS, ww


class Receiver:
    """An HTTP server on loopback that fails the first ``failures`` posts of each alert."""

    def __init__(self, failures: int):
        self.failures = failures
        self.attempts: dict[tuple[str, str], int] = {}
        self.accepted: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
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
