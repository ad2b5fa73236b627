"""The core stays pure: no broker, store, search or metrics library in it."""

import ast
from pathlib import Path

BANNED = {
    "faust",
    "kafka",
    "aiokafka",
    "elasticsearch",
    "prometheus_client",
    "sqlite3",
    "requests",
    "httpx",
}
CORE = Path(__file__).resolve().parents[2] / "services" / "wirewatch" / "core"


def test_core_imports_no_io_library():
    offenders = []
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if (
                    name.split(".")[0] in BANNED
                    or name.startswith("wirewatch.")
                    and not name.startswith("wirewatch.core")
                ):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_lint_and_types_are_clean():
    """ruff and mypy, as configured in pyproject.toml."""
    import shutil
    import subprocess
    import sys

    root = CORE.parents[2]
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    assert subprocess.run([ruff, "check", "services", "tests"], cwd=root).returncode == 0
    assert (
        subprocess.run([ruff, "format", "--check", "services", "tests"], cwd=root).returncode == 0
    )
    assert subprocess.run([sys.executable, "-m", "mypy"], cwd=root).returncode == 0
