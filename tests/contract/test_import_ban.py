"""The core stays pure: no broker, store, search or metrics library in it."""

import ast
from pathlib import Path

BANNED = {"faust", "kafka", "aiokafka", "elasticsearch", "prometheus_client", "sqlite3", "requests", "httpx"}
CORE = Path(__file__).resolve().parents[2] / "services" / "core"


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
                if name.split(".")[0] in BANNED or name.startswith("wirewatch.") and not name.startswith("wirewatch.core"):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
