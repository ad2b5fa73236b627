"""Secrets are never printed: not in logs (even at DEBUG), errors, ``--help`` or metrics.

Every secret setting is given a recognisable value, then the whole distributed
pipeline runs with them (watcher -> worker -> indexer, with a signed webhook), the
commands fail in the ways a misconfiguration makes them fail, and every byte they
wrote - logs, error messages, help texts, the ``/metrics`` page - is searched for
the values.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
import uuid

import pytest

from tests.conftest import EXAMPLES
from tests.integration import stack

pytestmark = pytest.mark.distributed

TOKEN = uuid.uuid4().hex[:12]
SECRETS = {
    "WIREWATCH_KAFKA__PASSWORD": f"kafka-pw-{TOKEN}",
    "WIREWATCH_KAFKA__SSL_KEY_PASSWORD": f"kafka-keypw-{TOKEN}",
    "WIREWATCH_ES__PASSWORD": f"es-pw-{TOKEN}",
    "WIREWATCH_WEBHOOKS__SECRET": f"hook-secret-{TOKEN}",
}
SECRET_VALUES = list(SECRETS.values())


def _leaks(text: str) -> list[str]:
    return [s for s in SECRET_VALUES if s in text]


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wirewatch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        cwd=stack.ROOT,
    )


def _subcommands() -> list[list[str]]:
    """Every command and sub-command, e.g. ``["templates", "install"]``."""
    import click
    from wirewatch.cli.main import cli

    def walk(group: click.Group, path: list[str]) -> list[list[str]]:
        found = []
        for name, command in sorted(group.commands.items()):
            found.append([*path, name])
            if isinstance(command, click.Group):
                found += walk(command, [*path, name])
        return found

    return walk(cli, [])


def test_help_never_shows_a_secret_nor_takes_one_as_a_flag():
    env = {**SECRETS, "WIREWATCH_ES__USERNAME": "elastic"}
    texts = [_run(["--help"], env).stdout]
    for name in _subcommands():
        proc = _run([*name, "--help"], env)
        assert proc.returncode == 0, (name, proc.stderr)
        texts.append(proc.stdout)
    everything = "\n".join(texts)
    assert _leaks(everything) == []
    # secrets come from the environment or files only: no flag takes one
    for word in ("--password", "--api-key", "--secret", "--token"):
        assert word not in everything, word


def test_settings_errors_name_the_setting_never_the_value(tmp_path):
    # a value pydantic rejects, next to secrets it would otherwise quote back
    env = {**SECRETS, "WIREWATCH_KAFKA__SASL_MECHANISM": f"bogus-{TOKEN}"}
    for command in (["indexer"], ["worker"], ["watcher", "--inbox", str(tmp_path)]):
        proc = _run(command, env)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        out = proc.stdout + proc.stderr
        assert "WIREWATCH_KAFKA__SASL_MECHANISM" in out, out
        assert _leaks(out) == [] and f"bogus-{TOKEN}" not in out, out
        assert "Traceback" not in out, out
    # settings that contradict each other
    env = {
        **SECRETS,
        "WIREWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",  # no user name
        "WIREWATCH_ES__USERNAME": "elastic",
        "WIREWATCH_ES__API_KEY": f"es-key-{TOKEN}",  # an API key and a user
    }
    proc = _run(["indexer"], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "WIREWATCH_KAFKA__USERNAME" in out and "WIREWATCH_ES__API_KEY" in out, out
    assert _leaks(out) == [] and f"es-key-{TOKEN}" not in out, out
    # a secret file that cannot be read: the error names the file, not a value
    proc = _run(["indexer"], {"WIREWATCH_ES__PASSWORD_FILE": str(tmp_path / "missing")})
    assert proc.returncode == 2
    assert "missing" in proc.stderr and "cannot read the secret file" in proc.stderr


def test_unreachable_services_fail_without_printing_secrets():
    env = {
        **SECRETS,
        "WIREWATCH_KAFKA__BOOTSTRAP": f"127.0.0.1:{stack.free_port()}",
        "WIREWATCH_KAFKA__REQUEST_TIMEOUT_MS": "2000",
        # SASL, so that the client configuration really holds the password
        "WIREWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "WIREWATCH_KAFKA__USERNAME": "wirewatch",
        "WIREWATCH_ES__URL": f"http://127.0.0.1:{stack.free_port()}",
        "WIREWATCH_ES__USERNAME": "elastic",
    }
    env["WIREWATCH_MAX_RETRIES"] = "2"  # templates install: give up soon
    commands = (["--log-level", "DEBUG", "topics", "create"], ["templates", "install"])
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wirewatch", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **env},
        )
        for command in commands  # side by side: each waits out its own timeouts
    ]
    for command, proc in zip(commands, procs, strict=True):
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode != 0, (command, out)
        assert "wirewatch:" in out, out
        assert _leaks(out) == [], out


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_a_full_run_with_every_secret_set_prints_none_of_them(tmp_path, kafka_bootstrap, es_url):
    ns = f"s{uuid.uuid4().hex[:8]}."
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_port = receiver.server_address[1]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: every-ban\n    events: [ban]\n    notify:\n"
        f"      - webhook: http://127.0.0.1:{hook_port}/hooks/wirewatch\n      - log: true\n",
        encoding="utf-8",
    )
    env = {
        **SECRETS,
        "WIREWATCH_NAMESPACE": ns,
        "WIREWATCH_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_ES__USERNAME": "elastic",  # sent as basic auth; the emulator ignores it
        "WIREWATCH_WEBHOOKS__ALLOWED_HOSTS": f"127.0.0.1:{hook_port}",
        "WIREWATCH_DATA_DIR": str(tmp_path),
    }
    created = _run(["topics", "create", "--kafka", kafka_bootstrap], env)
    assert created.returncode == 0, created.stderr
    metrics_port = stack.free_port()
    debug = ["--log-level", "DEBUG"]
    services = [
        stack.Service(
            "watcher",
            [
                *debug,
                "watcher",
                "--inbox",
                str(inbox),
                "--state",
                str(tmp_path / "w.db"),
                "--poll-interval",
                "0.2",
                "--settle-seconds",
                "0.2",
                "--metrics-port",
                "0",
            ],
            logs,
            env,
        ),
        stack.Service(
            "worker",
            [*debug, "worker", "--processes", "0", "--session-timeout", "6", "--metrics-port", "0"],
            logs,
            env,
        ),
        stack.Service(
            "indexer",
            [
                *debug,
                "indexer",
                "--es",
                es_url,
                "--rules",
                str(rules),
                "--session-timeout",
                "6",
                "--metrics-port",
                str(metrics_port),
            ],
            logs,
            env,
        ),
    ]
    try:
        names = ["en_01_fcc_huawei_zte.txt", "nl_01_kpn_kernnetwerk.txt"]
        for name in names:
            shutil.copy(EXAMPLES / name, inbox / name)
        stack.wait_for(
            lambda: len(stack.indexed_ids(es_url, ns + "wirewatch-articles")) == len(names),
            timeout=120,
            what="both articles indexed",
        )
        stack.wait_for(lambda: _Receiver.received, timeout=30, what="a webhook delivery")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
            page = r.read().decode()
        assert "wirewatch_caps_hit_total" in page
        assert _leaks(page) == []
    finally:
        for svc in services:
            svc.terminate()
        receiver.shutdown()
    body = _Receiver.received[0]
    assert _leaks(body.decode()) == [] and json.loads(body)["rule"] == "every-ban"
    for svc in services:
        text = svc.log_text()
        assert len(text) > 500, (svc.name, text)  # it did log, at DEBUG
        assert _leaks(text) == [], (svc.name, _leaks(text))
