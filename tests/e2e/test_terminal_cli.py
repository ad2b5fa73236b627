"""On a terminal, long work shows a progress bar on stderr and tables fit the width; in
pipes both stay plain: no bar, no escape codes, whole cells."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ww

pytestmark = pytest.mark.slow

GOLD = str(EXAMPLES.parent / "expected.yaml")


def _with_terminal(args: list[str], stdout_too: bool = False) -> tuple[int, bytes, bytes]:
    """``wirewatch args`` with stderr (and stdout when asked) on a pseudo-terminal of 80
    columns; the exit code, stdout, and what the terminal received."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirewatch", *args],
        stdout=slave if stdout_too else subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    out = b"" if stdout_too else proc.stdout.read()  # type: ignore[union-attr]
    return proc.wait(timeout=60), out, seen


def test_evaluate_shows_a_bar_on_a_terminal_and_nothing_in_a_pipe():
    code, out, terminal = _with_terminal(["evaluate", GOLD])
    assert code == 0
    assert b"evaluating" in terminal and b"/33" in terminal, terminal[-400:]
    piped = ww("evaluate", GOLD)
    assert out.decode() == piped.stdout
    assert "evaluating" not in piped.stderr and "\x1b" not in piped.stderr + piped.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("terminal-cli")
    shutil.copytree(EXAMPLES, tmp / "inbox")
    path = str(tmp / "w.db")
    ww("run", str(tmp / "inbox"), "--db", path, "--once", "--metrics-port", "0")
    return path


def test_a_table_fits_an_80_column_terminal_and_a_pipe_gets_whole_lines(db):
    code, _, terminal = _with_terminal(["events", "--db", db], stdout_too=True)
    assert code == 0
    lines = terminal.decode().replace("\r\n", "\n").splitlines()
    assert max(len(line) for line in lines) <= 80
    piped = ww("events", "--db", db).stdout.splitlines()
    assert max(len(line) for line in piped) > 80  # titles whole, on their row's line
    assert len(piped) < len(lines)  # on the terminal they wrap
    assert "\x1b" not in "".join(piped)
