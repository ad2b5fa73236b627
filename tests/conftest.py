from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "inbox"


def _folder(env: str, *places: Path) -> Path:
    """The folder named by the environment variable ``env``, else the first of ``places``
    that exists, else the first of ``places`` (the tests that need it then skip)."""
    given = os.environ.get(env)
    candidates = [Path(given), *places] if given else list(places)
    return next((d for d in candidates if d.is_dir()), places[0])


# The five real seed articles live outside the repository (never copied into it).
SEEDS = _folder("WIREWATCH_SEEDS", ROOT.parent / "shared" / "seeds", Path("/work/shared/seeds"))
# Real news by journalists, also outside the repository (only labels are in it).
REALNEWS = _folder(
    "WIREWATCH_REALNEWS",
    ROOT.parent / "shared" / "realnews-dev",
    Path("/work/shared/realnews-dev"),
)
# Public news web pages, kept outside the repository too (only labels are in it).
WEBNEWS = _folder("WIREWATCH_WEBNEWS", ROOT.parent / "webnews", Path("/work/webnews"))


@pytest.fixture(scope="session")
def resources():
    from wirewatch.core.logic import Resources

    return Resources.load()


@pytest.fixture(scope="session")
def enricher(resources):
    from wirewatch.core.logic import Enricher

    return Enricher(resources)


@pytest.fixture()
def analyse(enricher):
    """Enrich a text (str) or bytes and return the EnrichedArticle / Rejection."""
    from wirewatch.core.models import Source

    def run(content: str | bytes, path: str = "test.txt"):
        data = content.encode("utf-8") if isinstance(content, str) else content
        return enricher.analyse(data, Source(path=path))

    return run


def ww(*args: str, cwd: Path | None = None, check: bool = True, timeout: float = 120):
    """Run the ``wirewatch`` command as a user would (a subprocess, no stdin)."""
    proc = subprocess.run(
        [sys.executable, "-m", "wirewatch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"wirewatch {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


_LAYERS = ("unit", "contract", "integration", "e2e")


def pytest_configure(config: pytest.Config) -> None:
    """Tests log at DEBUG (every log call formatted), the clients as ``wirewatch`` sets
    them: from WARNING (their DEBUG dumps every request's bytes, at a cost in CPU)."""
    import logging

    from wirewatch.cli.help import quiet_clients

    quiet_clients(logging.DEBUG)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test carries its layer's marker (its folder): ``pytest -m unit``.

    The long tests (``slow``, then ``distributed``: they mostly wait on brokers and
    subprocesses) run first, so that on several workers the short ones fill the gaps
    instead of one long test starting last and holding up the end."""
    for item in items:
        parts = item.path.relative_to(ROOT / "tests").parts
        if parts and parts[0] in _LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            item.get_closest_marker("distributed") is None,
        )
    )


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """How the suite is shared among the pytest-xdist workers (``-n``, see pyproject.toml):
    test by test, except that the tests of a module with a module-scoped fixture (a built
    store, a wheel, a browser, a report on all the real news) stay on one worker, which
    builds that fixture once. (pytest-xdist's own ``loadgroup`` marks cannot do this under
    pytest 9, whose node ids it can no longer suffix.)"""
    from xdist.scheduler import LoadScopeScheduling

    grouped = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if 'scope="module"' in path.read_text(encoding="utf-8")
    }

    class ModuleFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in grouped else nodeid

    return ModuleFixtureScheduling(config, log)
