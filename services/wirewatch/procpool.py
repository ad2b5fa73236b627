"""Process pools for the CPU-bound core that never outlive their service.

Every service that enriches in parallel starts its pool here, so each child:

* is started with ``spawn`` (a fresh interpreter): it inherits none of the parent's
  listening sockets (the metrics port), Kafka connections or threads;
* restores the default SIGTERM handler and ignores SIGINT (Ctrl-C reaches the whole
  process group; the parent decides how to stop);
* dies with its parent: on Linux the kernel sends it SIGTERM when the parent exits
  (``PR_SET_PDEATHSIG``), and elsewhere a watch thread notices the parent is gone.

An orphan after ``kill -9`` of the parent would otherwise keep running forever and,
with ``fork``, keep the parent's metrics port bound so a restart could not serve.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 1.0


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except OSError:
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_init(parent_pid: int, initializer: Callable[..., None], initargs: tuple) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    initializer(*initargs)


def pool(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, each set up by ``initializer(*initargs)``."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_child_init,
        initargs=(os.getpid(), initializer, initargs),
    )
