"""A real Prometheus scrapes a running `wirewatch run` and evaluates the project's rules.

Needs /usr/bin/prometheus (Debian package ``prometheus``); skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT

PROMETHEUS = "/usr/bin/prometheus"
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
JOB = "wirewatch"
TIMEOUT = 30.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.access(PROMETHEUS, os.X_OK),
        reason=f"{PROMETHEUS} is not installed (Debian package `prometheus`)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _wait_until(what: str, check: Callable[[], Any], proc: subprocess.Popen) -> Any:
    """Poll ``check`` until it returns something truthy; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"waiting for {what}: a process exited with {proc.returncode}")
        try:
            last = check()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.3)
    pytest.fail(f"timed out after {TIMEOUT:.0f}s waiting for {what}; last: {last!r}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture()
def wirewatch(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """`wirewatch run` watching an inbox that holds one copy of the examples, serving metrics."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox / "a")
    port = _free_port()
    log = (tmp_path / "wirewatch.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wirewatch",
            "run",
            str(inbox),
            "--db",
            str(tmp_path / "w.db"),
            "--metrics-port",
            str(port),
            "--poll-interval",
            "0.2",
            "--settle-seconds",
            "0.2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_until(
            "wirewatch /healthz",
            lambda: _get(f"http://127.0.0.1:{port}/healthz") == b"ok\n",
            proc,
        )
        yield proc, port, inbox
    finally:
        _stop(proc)
        log.close()
    assert proc.returncode == 0, (tmp_path / "wirewatch.log").read_text()


@pytest.fixture()
def prometheus(tmp_path: Path, wirewatch) -> Iterator[tuple[subprocess.Popen, str]]:
    """Prometheus scraping the wirewatch process every second, with the project's rules."""
    _, target_port, _ = wirewatch
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES_DIR / "*.yml")],
        "scrape_configs": [
            {"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until("Prometheus to be ready", lambda: _get(base + "/-/ready"), proc)
        yield proc, base
    finally:
        _stop(proc)
        log.close()


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    answer = json.loads(_get(url))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def _value(series: dict[str, Any]) -> float:
    return float(series["value"][1])


def test_prometheus_scrapes_the_embedded_pipeline(wirewatch, prometheus):
    _, _, inbox = wirewatch
    proc, base = prometheus
    files = 2 * len(list(EXAMPLES.glob("*.txt")))

    def q(expr: str) -> list[dict[str, Any]]:
        return _query(base, expr)

    up = _wait_until("the target to be up", lambda: q(f'up{{job="{JOB}"}} == 1'), proc)
    assert len(up) == 1

    stored = _wait_until(
        "stored articles",
        lambda: q(f'wirewatch_articles_processed_total{{job="{JOB}", stage="store"}} > 0'),
        proc,
    )
    assert _value(stored[0]) > 0

    # A second copy arrives while Prometheus is watching, so that rates and
    # histogram quantiles over the scraped samples are not zero.
    shutil.copytree(EXAMPLES, inbox / "b")
    seen = _wait_until(
        f"{files} files seen",
        lambda: q(f"wirewatch_files_seen_total == {files}"),
        proc,
    )
    assert _value(seen[0]) == files

    events = _wait_until("event series", lambda: q("wirewatch_events_total"), proc)
    assert all(s["metric"].get("type") and s["metric"].get("status") for s in events)
    types = {s["metric"]["type"] for s in events}
    assert types <= {"ban", "sanction", "warning", "regulation", "deal", "licensing", "legal"}

    buckets = _wait_until(
        "end-to-end histogram buckets", lambda: q("wirewatch_end_to_end_seconds_bucket"), proc
    )
    assert {s["metric"]["le"] for s in buckets} >= {"0.1", "1.0", "+Inf"}
    assert _value(next(s for s in buckets if s["metric"]["le"] == "+Inf")) > 0

    ingested = _wait_until(
        "the last-ingest timestamp",
        lambda: q("time() - wirewatch_last_ingest_timestamp_seconds < 600"),
        proc,
    )
    assert ingested

    # The project's rules load and evaluate against the real series.
    def rules_ok() -> list[dict[str, Any]] | None:
        answer = json.loads(_get(base + "/api/v1/rules"))
        groups = answer["data"]["groups"]
        evaluated = [
            r for g in groups for r in g["rules"] if r.get("lastEvaluation", "").startswith("20")
        ]
        return groups if groups and len(evaluated) == sum(len(g["rules"]) for g in groups) else None

    groups = _wait_until("every rule to be evaluated", rules_ok, proc)
    broken = [
        (r["name"], r.get("lastError"))
        for g in groups
        for r in g["rules"]
        if r.get("health") != "ok"
    ]
    assert not broken, broken
    for recorded in (
        'wirewatch:articles_processed:rate5m{stage="store"} > 0',
        'wirewatch:stage_seconds:p99_5m{stage="enrich"} > 0',
        "wirewatch:end_to_end_seconds:p99_5m > 0",
        "wirewatch:files_accepted:increase10m > 0",
    ):
        _wait_until(recorded, lambda expr=recorded: q(expr), proc)
    # A healthy run raises no alert once the first scrapes have settled.
    _wait_until("no pending or firing alerts", lambda: not q("ALERTS"), proc)
