"""Pool children never outlive their service and hold none of its sockets."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integration import stack


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_children_die_with_a_killed_parent_and_inherit_no_socket(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import os, socket, time
        from wirewatch import procpool
        listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen()
        open({str(tmp_path / "port")!r}, "w").write(str(listener.getsockname()[1]))
        pool = procpool.pool(2, print, ("child ready",))
        children = set()
        for _ in range(8):
            children.add(pool.submit(os.getpid).result())
        open({str(pids)!r}, "w").write(" ".join(map(str, children)))
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        stack.wait_for(lambda: pids.exists() and pids.read_text().strip() != "", 20, "the children")
        children = [int(p) for p in pids.read_text().split()]
        port = int((tmp_path / "port").read_text())
        for pid in children:
            fds = Path(f"/proc/{pid}/fd")
            inodes = {os.readlink(f) for f in fds.iterdir()}
            listening = {
                line.split()[9]
                for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
                if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
            }
            assert not any(f"socket:[{i}]" in inodes for i in listening), "child holds the socket"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert not stack.survivors(children, 15), "orphans left"
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        if parent.poll() is None:
            parent.kill()
