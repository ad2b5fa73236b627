"""Alert channels against real receivers on loopback: HTTP servers that check the Slack,
Teams and signed-webhook formats, and an SMTP server (aiosmtpd) that requires STARTTLS
and a login. Failures: a 4xx from Slack, an unreachable channel, a receiver that never
answers, an SMTP refusal - each bounded, logged, counted, and none holds up the rest."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from wirewatch import metrics
from wirewatch.core import alerts, channels
from wirewatch.core.channels import Period
from wirewatch.embedded.digests import DigestScheduler, SqliteDigests
from wirewatch.embedded.notify import Job, WebhookNotifier
from wirewatch.embedded.store import SqliteStore
from wirewatch.settings import WebhookSettings

from tests.conftest import EXAMPLES, ww
from tests.integration.es_gateway import TestCA
from tests.integration.stack import free_port
from tests.support.fakes import ManualClock

SECRET = "channels-secret-5b1e"
TOKEN = "T0KEN-9f3c1a"  # in every chat URL's path: must never reach a log line or error
SMTP_PASSWORD = "smtp-pass-77d0"


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until ``predicate()`` holds, woken by every request the receivers record."""
    deadline = time.monotonic() + timeout
    with CHANGED:
        while not predicate():
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting"
            CHANGED.wait(left)


CHANGED = threading.Condition()


class Receiver:
    """An HTTP server recording each POST; ``status[path]`` answers it (default 200),
    ``hang`` paths never answer."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status: dict[str, tuple[int, bytes]] = {}
        self.hang: set[str] = set()
        self.script: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {}  # answered first
        self.times: list[float] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with CHANGED:
                    receiver.requests.append((self.path, dict(self.headers), raw))
                    receiver.times.append(time.monotonic())
                    CHANGED.notify_all()
                if self.path in receiver.hang:
                    receiver.release.wait(30)
                    return
                code, text = receiver.status.get(self.path, (200, b"ok"))
                headers: dict[str, str] = {}
                if receiver.script.get(self.path):
                    code, text, headers = receiver.script[self.path].pop(0)
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"{self.origin}/{name}/{TOKEN}"

    def to(self, name: str) -> list[dict]:
        return [json.loads(b) for p, _, b in self.requests if p == f"/{name}/{TOKEN}"]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


class Store(SqliteStore):
    """The SQLite store, waking ``wait_for`` at each recorded outcome."""

    def set_delivery(self, *args, **kwargs) -> None:
        super().set_delivery(*args, **kwargs)
        with CHANGED:
            CHANGED.notify_all()


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "w.db")
    yield s
    s.close()


def alert(n: int = 1) -> dict:
    return {
        "alert_id": f"bans:{n:016x}",
        "rule": "bans",
        "article_id": f"{n:016x}",
        "title": f"Operator drops Huawei from its core network ({n})",
        "language": "en",
        "published": "2020-07-14",
        "source": f"inbox/{n}.txt",
        "vendors": ["Huawei"],
        "countries": ["GB", "CN"],
        "event_types": ["ban"],
        "events": [
            {
                "type": "ban",
                "status": "reported",
                "confidence": 0.91,
                "evidence": ["The government bans Huawei from the 5G network."],
                "actors": ["GB"],
                "targets": ["Huawei"],
            }
        ],
        "lookup": f"wirewatch show {n:016x}",
    }


def record(store: SqliteStore, target: str, n: int = 1) -> tuple[str, str, str, dict]:
    """An alert and its pending delivery, as the pipeline's transaction leaves them."""
    body = alert(n)
    store.fire_alert("bans", body["article_id"], None, body)
    store.add_delivery("bans", body["article_id"], target)
    return ("bans", body["article_id"], target, body)


def delivery(store: SqliteStore, n: int = 1) -> list[str]:
    """``wirewatch alerts``' view of the deliveries of alert ``n``."""
    (row,) = [a for a in store.alerts(1000) if a["article_id"] == f"{n:016x}"]
    return row["deliveries"].split("; ")


def make_notifier(store, declared: str, env: dict[str, str], **settings) -> WebhookNotifier:
    return WebhookNotifier(
        store,
        WebhookSettings(allowed_hosts=["127.0.0.1"], secret=SECRET, **settings),
        backoff=0.01,
        channels=channels.load_channels(declared, "channels.yaml"),
        environ=env,
    )


def counter(metric, *labels: str) -> float:
    return metric.labels(*labels)._value.get()


# -- the formats -----------------------------------------------------------------------


def test_slack_teams_and_signed_webhook_receive_their_formats(receiver, store, caplog):
    caplog.set_level("INFO", logger="wirewatch.alerts")
    declared = """
channels:
  slack-policy: {type: slack, url_env: SLACK_URL}
  teams-risk: {type: teams, url_env: TEAMS_URL}
  teams-legacy: {type: teams, url_env: TEAMS_OLD_URL, format: messagecard}
  hooks: {type: webhook, url_env: HOOK_URL}
"""
    env = {
        "SLACK_URL": receiver.url("slack"),
        "TEAMS_URL": receiver.url("teams"),
        "TEAMS_OLD_URL": receiver.url("legacy"),
        "HOOK_URL": receiver.url("hook"),
    }
    sent_before = counter(metrics.CHANNEL_SENT, "slack", "slack-policy", "alert")
    n = make_notifier(store, declared, env)
    for i, name in enumerate(("slack-policy", "teams-risk", "teams-legacy", "hooks"), 1):
        record(store, f"channel:{name}", i)
    n.start()  # the pending deliveries of the store go out on start
    try:
        wait_for(lambda: len(receiver.requests) == 4)
        wait_for(lambda: all("delivered" in delivery(store, i)[0] for i in range(1, 5)))
    finally:
        n.close()

    (slack,) = receiver.to("slack")
    assert set(slack) == {"text", "blocks"}
    assert slack["text"].startswith("wirewatch bans: Operator drops Huawei")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context"]
    assert "*Vendors:* Huawei" in slack["blocks"][1]["text"]["text"]

    (teams,) = receiver.to("teams")
    (attachment,) = teams["attachments"]
    assert teams["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"

    (legacy,) = receiver.to("legacy")
    assert legacy["@type"] == "MessageCard" and legacy["summary"]

    ((_, headers, raw),) = [r for r in receiver.requests if r[0].startswith("/hook/")]
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Wirewatch-Signature-256"] == expected
    assert json.loads(raw)["alert_id"] == f"bans:{4:016x}"

    assert delivery(store, 1) == ["channel slack-policy delivered 1"]
    assert counter(metrics.CHANNEL_SENT, "slack", "slack-policy", "alert") == sent_before + 1
    assert "via slack-policy (slack) to http://127.0.0.1:" in caplog.text
    assert TOKEN not in caplog.text, "a chat URL is a secret: the log names its origin only"


def test_a_digest_goes_to_a_webhook_channel_as_one_signed_message(receiver, store):
    n = make_notifier(
        store, "channels:\n  hooks: {type: webhook, url_env: U}\n", {"U": receiver.url("hook")}
    )
    n.start()
    outcome: list[tuple[bool, int, str | None]] = []
    period = Period(datetime(2026, 3, 1, 7, tzinfo=UTC), datetime(2026, 3, 2, 7, tzinfo=UTC))
    job = Job("bans", "digest:bans:hooks:20260302T070000Z", [alert(1), alert(2)], period,
              lambda *a: outcome.append(a))  # fmt: skip
    n.submit_job("hooks", job)
    try:
        wait_for(lambda: len(receiver.requests) == 1)
    finally:
        n.close()
    ((_, headers, raw),) = receiver.requests
    digest = json.loads(raw)
    assert digest["alert_id"] == headers["X-Wirewatch-Alert-Id"] == job.key
    assert digest["count"] == 2 and [a["article_id"] for a in digest["alerts"]] == [
        f"{1:016x}",
        f"{2:016x}",
    ]
    assert outcome == [(True, 1, None)]


# -- failures --------------------------------------------------------------------------


def test_a_4xx_an_unreachable_and_a_silent_channel_hold_up_no_other(receiver, store, caplog):
    receiver.status[f"/bad/{TOKEN}"] = (400, b"invalid_blocks")
    receiver.hang.add(f"/silent/{TOKEN}")
    closed = free_port()  # nothing listens here
    declared = """
channels:
  slack-bad: {type: slack, url_env: BAD}
  slack-down: {type: slack, url_env: DOWN}
  teams-silent: {type: teams, url_env: SILENT}
  slack-ok: {type: slack, url_env: OK}
"""
    env = {
        "BAD": receiver.url("bad"),
        "DOWN": f"http://127.0.0.1:{closed}/down/{TOKEN}",
        "SILENT": receiver.url("silent"),
        "OK": receiver.url("ok"),
    }
    before = {
        "4xx": counter(metrics.CHANNEL_FAILED, "slack", "slack-bad", "http_4xx"),
        "down": counter(metrics.CHANNEL_FAILED, "slack", "slack-down", "connection"),
        "retried": counter(metrics.CHANNEL_RETRIED, "slack", "slack-bad"),
        "timeout": counter(metrics.CHANNEL_FAILED, "teams", "teams-silent", "timeout"),
    }
    n = make_notifier(store, declared, env, attempts=2, timeout=2)
    n.start()
    try:
        # the silent channel first: its worker blocks on it, the others' do not
        for i, name in enumerate(("teams-silent", "slack-bad", "slack-down", "slack-ok"), 1):
            n.submit(*record(store, f"channel:{name}", i))
        wait_for(lambda: "delivered" in delivery(store, 4)[0])
        assert "pending" in delivery(store, 1)[0], "the silent channel is still trying"
        wait_for(lambda: "failed" in delivery(store, 2)[0] and "failed" in delivery(store, 3)[0])
        wait_for(lambda: "failed" in delivery(store, 1)[0], timeout=30)
    finally:
        n.close()
    assert delivery(store, 2) == ["channel slack-bad failed 2 HTTP 400 invalid_blocks"]
    assert delivery(store, 3)[0].startswith("channel slack-down failed 2 ConnectError")
    assert delivery(store, 1)[0].startswith("channel teams-silent failed 2 ")
    assert len(receiver.to("bad")) == 2, "a 4xx is retried, a bounded number of times"
    assert counter(metrics.CHANNEL_FAILED, "slack", "slack-bad", "http_4xx") == before["4xx"] + 1
    assert (
        counter(metrics.CHANNEL_FAILED, "slack", "slack-down", "connection") == before["down"] + 1
    )
    assert counter(metrics.CHANNEL_RETRIED, "slack", "slack-bad") == before["retried"] + 1
    assert (
        counter(metrics.CHANNEL_FAILED, "teams", "teams-silent", "timeout") == before["timeout"] + 1
    )
    assert "delivery failed rule=bans article=0000000000000002 via slack-bad (slack)" in (
        caplog.text
    )
    assert f"to http://127.0.0.1:{closed}: ConnectError" in caplog.text
    assert TOKEN not in caplog.text + "".join(delivery(store, i)[0] for i in range(1, 5))


def test_an_unknown_channel_or_a_missing_secret_fails_at_once(store):
    n = make_notifier(store, "channels:\n  s: {type: slack, url_env: UNSET}\n", {})
    assert not n.deliver(*record(store, "channel:s", 1))
    assert delivery(store, 1) == [
        "channel s failed 0 refused, not sent: channel 's': the URL variable UNSET is not set"
    ]
    assert not n.deliver(*record(store, "channel:gone", 2))
    assert delivery(store, 2) == ["channel gone failed 0 refused, not sent: unknown channel 'gone'"]
    n.close()


# -- e-mail ----------------------------------------------------------------------------


class Mailbox:
    """Messages the SMTP server accepted: (from, to, raw message, over TLS)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes, bool]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.org>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with CHANGED:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.content, bool(session.ssl))
            )
            CHANGED.notify_all()
        return "250 Message accepted for delivery"


def _login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"wirewatch",
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificates")
    ca = TestCA.create(tmp_path_factory.mktemp("smtp-ca"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(ca.server_cert, ca.server_key)
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=_login,
        auth_require_tls=True,
        ready_timeout=10,
    )
    controller.start()
    yield controller, mailbox, ca
    controller.stop()


def _mail_channel(controller, ca, to: str = "analysts@example.org") -> str:
    return (
        "channels:\n  mail:\n    type: email\n    host: 127.0.0.1\n"
        f"    port: {controller.port}\n    username: wirewatch\n    password_env: SMTP_PW\n"
        f"    from: wirewatch@example.org\n    to: [{to}]\n    ca_file: {ca.ca_cert}\n"
    )


def test_email_over_starttls_with_a_login(smtp, store):
    controller, mailbox, ca = smtp
    n = make_notifier(store, _mail_channel(controller, ca), {"SMTP_PW": SMTP_PASSWORD})
    count = len(mailbox.messages)
    assert n.deliver(*record(store, "channel:mail", 1))
    sender, rcpt, raw, tls = mailbox.messages[count]
    assert (sender, rcpt, tls) == ("wirewatch@example.org", ["analysts@example.org"], True)
    text = raw.decode()
    assert "Subject: wirewatch bans: Operator drops Huawei from its core network (1)" in text
    assert "X-Wirewatch-Alert-Id: bans:0000000000000001" in text
    assert "Events: ban (reported, 0.91)" in text
    assert delivery(store, 1) == ["channel mail delivered 1"]
    n.close()


def test_an_smtp_refusal_and_a_wrong_certificate_are_bounded_failures(smtp, store, caplog):
    controller, mailbox, ca = smtp
    refused_before = counter(metrics.CHANNEL_FAILED, "email", "mail", "smtp_refused")
    n = make_notifier(
        store,
        _mail_channel(controller, ca, to="nobody@example.org"),
        {"SMTP_PW": SMTP_PASSWORD},
        attempts=2,
    )
    assert not n.deliver(*record(store, "channel:mail", 1))
    (state,) = delivery(store, 1)
    assert state.startswith("channel mail failed 2 SMTPRecipientsRefused")
    assert "550" in state and "mailbox unavailable" in state
    assert counter(metrics.CHANNEL_FAILED, "email", "mail", "smtp_refused") == refused_before + 1
    assert "via mail (email) to smtp://127.0.0.1:" in caplog.text
    n.close()

    untrusted = _mail_channel(controller, ca).replace(f"    ca_file: {ca.ca_cert}\n", "")
    tls_before = counter(metrics.CHANNEL_FAILED, "email", "mail", "tls")
    n = make_notifier(store, untrusted, {"SMTP_PW": SMTP_PASSWORD}, attempts=1)
    assert not n.deliver(*record(store, "channel:mail", 2))
    assert "CERTIFICATE_VERIFY_FAILED" in delivery(store, 2)[0]
    assert counter(metrics.CHANNEL_FAILED, "email", "mail", "tls") == tls_before + 1
    assert SMTP_PASSWORD not in caplog.text
    n.close()


# -- the commands ----------------------------------------------------------------------


@pytest.fixture()
def channel_env(monkeypatch, tmp_path, receiver):
    for name in ("SECRET", "SECRET_FILE", "ALLOWED_HOSTS", "CHANNELS_FILE"):
        monkeypatch.delenv(f"WIREWATCH_WEBHOOKS__{name}", raising=False)
    declared = tmp_path / "channels.yaml"
    declared.write_text(
        "channels:\n  slack-policy: {type: slack, url_env: WW_TEST_SLACK_URL}\n"
        "  mail-analysts: {type: email, host: 127.0.0.1, from: a@example.org, "
        "to: [b@example.org]}\n"
    )
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__CHANNELS_FILE", str(declared))
    monkeypatch.setenv("WIREWATCH_WEBHOOKS__ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WW_TEST_SLACK_URL", receiver.url("slack"))
    return declared


def _rules(tmp_path: Path, notify: str) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"rules:\n  - name: declined\n    events: [ban]\n    statuses: [rejected]\n"
        f"    notify: {notify}\n"
    )
    return rules


def test_rules_check_names_an_unknown_channel_with_a_suggestion(tmp_path, channel_env):
    rules = _rules(tmp_path, "[{channel: slack-polcy}, {channel: mail-analysts, digest: daily}]")
    proc = ww("rules", "check", str(rules), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        f"{rules}: rule 'declined': unknown channel 'slack-polcy' - did you mean 'slack-policy'?"
        in proc.stderr
    )
    ok = _rules(tmp_path, "[{channel: slack-policy}, {channel: mail-analysts, digest: daily}]")
    assert "1 valid rule(s)" in ww("rules", "check", str(ok)).stdout


def test_the_distributed_indexer_takes_digest_rules(
    tmp_path, channel_env, kafka_bootstrap, es_url, namespace
):
    """The indexer starts with a digest rule (its scheduler sends the digests: see
    test_alerts_es.py) and stops cleanly."""
    from tests.integration import stack

    rules = _rules(tmp_path, "[{channel: mail-analysts, digest: daily}]")
    env = {
        "WIREWATCH_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_ES__URL": es_url,
        "WIREWATCH_NAMESPACE": namespace,
    }
    svc = stack.Service(
        "indexer", ["indexer", "--rules", str(rules), "--metrics-port", "0"], tmp_path, env
    )
    try:
        stack.wait_for(
            lambda: "1 digest(s) by rule and channel" in svc.log_text() or not svc.alive(),
            60,
            "the indexer to start",
        )
        assert svc.alive(), svc.log_text()
    finally:
        code = svc.terminate()
    assert code == 0, svc.log_text()


def test_wirewatch_run_sends_an_alert_to_a_slack_channel(tmp_path, channel_env, receiver):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = sorted(EXAMPLES.glob("nl_02*.txt"))[0]  # fires `declined`
    shutil.copy(original, inbox / original.name)
    rules = _rules(tmp_path, "[{channel: slack-policy}, {log: true}]")
    db = tmp_path / "w.db"
    proc = ww("run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0",
              "--rules", str(rules))  # fmt: skip
    assert "1 alert(s) fired" in proc.stdout, proc.stdout + proc.stderr
    (slack,) = receiver.to("slack")
    assert slack["text"].startswith("wirewatch declined: ") and slack["blocks"]
    assert TOKEN not in proc.stdout + proc.stderr
    (listed,) = [
        json.loads(line) for line in ww("alerts", "--db", str(db), "--json").stdout.splitlines()
    ]
    assert listed["deliveries"] == "channel slack-policy delivered 1"


def test_quiet_hours_hold_an_alert_which_a_restart_sends_after_them(receiver, store):
    declared = (
        "channels:\n  night: {type: slack, url_env: U, timezone: Europe/Oslo, "
        "quiet_hours: '22:00-07:00'}\n"
    )
    env = {"U": receiver.url("night")}
    night = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)  # 00:30 in Oslo
    n = make_notifier(store, declared, env)
    n.now = lambda: night
    n.start()
    n.submit(*record(store, "channel:night", 1))
    n.close(drain_seconds=0.5)
    assert receiver.requests == [] and delivery(store, 1) == ["channel night pending 0"]
    morning = datetime(2026, 1, 16, 6, 0, tzinfo=UTC)  # 07:00 in Oslo
    n = make_notifier(store, declared, env)
    n.now = lambda: morning
    n.start()  # the pending delivery is sent after the quiet hours
    try:
        wait_for(lambda: "delivered" in delivery(store, 1)[0])
    finally:
        n.close()
    assert len(receiver.to("night")) == 1


class Digests(SqliteDigests):
    """The digest ledger, waking ``wait_for`` when a digest's outcome is recorded."""

    def finish(self, *args, **kwargs) -> None:
        super().finish(*args, **kwargs)
        with CHANGED:
            CHANGED.notify_all()


def test_an_hourly_digest_to_slack_is_retried_until_sent_and_never_doubled(receiver, store):
    rules = alerts.load_rules(
        "rules:\n  - name: bans\n    events: [ban]\n"
        "    notify: [{channel: slack-digest, digest: hourly}]\n",
        "rules.yaml",
    )
    n = make_notifier(
        store, "channels:\n  slack-digest: {type: slack, url_env: U}\n",
        {"U": receiver.url("digest")}, attempts=2,
    )  # fmt: skip
    clock = ManualClock(datetime(2026, 5, 4, 10, 10, tzinfo=UTC))
    ledger = Digests(store)
    scheduler = DigestScheduler(ledger, rules, n, clock)
    n.start()
    try:
        scheduler.tick()  # the rule's first period starts at 10:00
        for i in range(1, 4):
            store.fire_alert("bans", f"{i:016x}", None, alert(i))
        receiver.status[f"/digest/{TOKEN}"] = (503, b"")
        clock.advance(3600)
        (digest,) = scheduler.tick()
        wait_for(lambda: ledger.get(digest).rounds == 1)
        assert ledger.get(digest).status == "pending" and ledger.get(digest).error == "HTTP 503"
        assert len(receiver.to("digest")) == 2, "two attempts in the round"
        del receiver.status[f"/digest/{TOKEN}"]
        assert scheduler.tick() == [], "the next round waits a minute"
        clock.advance(120)
        assert scheduler.tick() == [digest]
        wait_for(lambda: ledger.get(digest).status == "sent")
        clock.advance(3600)
        assert scheduler.tick() == [], "sent once; an hour without alerts sends nothing"
    finally:
        n.close()
    sent = receiver.to("digest")
    assert len(sent) == 3 and sent[0] == sent[2], "the retried digest is the same message"
    assert sent[2]["text"] == "wirewatch bans: 3 stories, 3 articles"
    assert [b["type"] for b in sent[2]["blocks"]].count("section") == 3
    assert "digest 2026-05-04 10:00 to 2026-05-04 11:00 UTC" in json.dumps(sent[2]["blocks"][-1])
    listing = ww("alerts", "--db", store.path).stdout.splitlines()
    assert listing[-1] == "1 digest(s)"
    assert [c.strip() for c in listing[-2].split("  ") if c.strip()][1:5] == [
        "bans", "slack-digest", "3", "sent",
    ]  # fmt: skip


def test_a_429_from_slack_waits_as_retry_after_asks(receiver, store):
    receiver.script[f"/busy/{TOKEN}"] = [(429, b"rate_limited", {"Retry-After": "1"})]
    n = make_notifier(store, "channels:\n  busy: {type: slack, url_env: U}\n",
                      {"U": receiver.url("busy")})  # fmt: skip
    assert n.deliver(*record(store, "channel:busy", 1))
    first, second = receiver.times
    assert second - first >= 0.95, "the backoff (10 ms here) gives way to Retry-After"
    assert delivery(store, 1) == ["channel busy delivered 2"]
    n.close()


def test_the_distributed_indexer_path_sends_to_a_channel(receiver, es_url, namespace, enricher):
    """The indexer's alerts index as the delivery log: a story alert recorded there with
    the target ``channel:NAME`` is sent by the same notifier, and marked delivered."""
    from wirewatch.core.alerts import AlertRule, Notify
    from wirewatch.core.models import EnrichedArticle, Source
    from wirewatch.indexer.documents import to_document
    from wirewatch.indexer.ledger import EsLedger, EsState, EsStories
    from wirewatch.indexer.sink import EsSink, client
    from wirewatch.pipeline.after import AfterEnrichment
    from wirewatch.settings import ElasticsearchSettings, IndexerSettings

    settings = IndexerSettings(namespace=namespace, es=ElasticsearchSettings(url=es_url))
    sink = EsSink(settings, client(settings), threading.Event())
    sink.install()
    rules = [AlertRule(name="bans", events=["ban"], notify=[Notify(channel="slack-policy")])]
    after = AfterEnrichment(rules, 0.5, 10, ManualClock())
    path = Path(__file__).resolve().parents[1] / "data" / "stories" / "nl_zweden_verbod.txt"
    article = enricher.analyse(path.read_bytes(), Source(path=path.name))
    assert isinstance(article, EnrichedArticle)
    after.link_duplicates([article], EsState(sink))
    after.assign_stories([article], EsStories(sink))
    sink.bulk([("index", sink.articles, article.id, to_document(article, after.clock.now()))])
    fired = after.fire([article], EsLedger(sink), history=EsStories(sink))
    assert [d[2] for d in fired.deliveries] == ["channel:slack-policy"]

    n = WebhookNotifier(
        sink,
        WebhookSettings(allowed_hosts=["127.0.0.1"], secret=SECRET),
        backoff=0.01,
        channels=channels.load_channels(
            "channels:\n  slack-policy: {type: slack, url_env: U}\n", "channels.yaml"
        ),
        environ={"U": receiver.url("slack")},
    )
    n.start()  # the indexer's start-up sweep: the pending alert of the index
    try:
        wait_for(lambda: len(receiver.to("slack")) == 1)
        deadline = time.monotonic() + 20
        while sink.pending_alerts():  # the index has no change feed to wait on
            assert time.monotonic() < deadline, "the alert stays pending"
            with CHANGED:
                CHANGED.wait(0.1)
    finally:
        n.close()
    (slack,) = receiver.to("slack")
    assert slack["text"] == f"wirewatch bans: {article.title}"


def test_a_server_without_starttls_gets_no_password(store, smtp):
    _, _, ca = smtp
    mailbox = Mailbox()
    plain = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    plain.start()
    try:
        before = counter(metrics.CHANNEL_FAILED, "email", "mail", "tls")
        n = make_notifier(store, _mail_channel(plain, ca), {"SMTP_PW": SMTP_PASSWORD}, attempts=1)
        assert not n.deliver(*record(store, "channel:mail", 1))
        n.close()
    finally:
        plain.stop()
    (state,) = delivery(store, 1)
    assert state.startswith("channel mail failed 1 the SMTP server 127.0.0.1:")
    assert state.endswith("offers no STARTTLS") and mailbox.messages == []
    assert counter(metrics.CHANNEL_FAILED, "email", "mail", "tls") == before + 1
