"""The unit layer is pure: no network, no sleeping. A unit test that opens a socket or
sleeps fails here with the reason; such a test belongs in tests/integration/."""

from __future__ import annotations

import socket
import time

import pytest


class _NotInUnitTests(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_socket(*_a: object, **_k: object) -> None:
        raise _NotInUnitTests("unit tests open no sockets: move this test to tests/integration/")

    def no_sleep(*_a: object, **_k: object) -> None:
        raise _NotInUnitTests("unit tests do not sleep: wait on a condition, or use a manual clock")

    for method in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, method, no_socket)
    monkeypatch.setattr(time, "sleep", no_sleep)
