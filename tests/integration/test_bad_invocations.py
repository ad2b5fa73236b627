"""Every user error is one clear line on stderr, never a traceback, with the exit code
scripts can rely on: 2 for a usage or configuration error, 1 when some items failed
(named on stderr) and the others were done.

The cases run ``wirewatch.cli.main.main`` in this process (an exception escaping it
fails the test), against a small store and files in a temporary directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from wirewatch.cli.main import main

from tests.conftest import EXAMPLES

ARTICLE = "inbox/en_01_fcc_huawei_zte.txt"

# (arguments, exit code, words the message must contain)
CASES: list[tuple[list[str], int, list[str]]] = [
    # run
    (["run", "missing_dir", "--once"], 2, ["missing_dir", "not a directory"]),
    (["run", "inbox", "--once", "--rules", "missing.yaml"], 2, ["missing.yaml", "cannot read"]),
    (["run", "inbox", "--once", "--rules", "badyaml.yaml"], 2, ["invalid alert rules"]),
    (["run", "inbox", "--once", "--rules", "vend.yaml"], 2, ["Huawai", "did you mean Huawei"]),
    (["run", "inbox", "--once", "--feeds", "missing.yaml"], 2, ["feeds file"]),
    (["run", "inbox", "--once", "--db", "nodir/x.db"], 2, ["nodir", "does not exist"]),
    (["run", "inbox", "--once", "--workers", "0"], 2, ["--workers", "less than 1"]),
    (["run", "inbox", "--once", "--metrics-port", "99999"], 2, ["invalid settings"]),
    (["run"], 2, ["Missing argument", "INBOX"]),
    # enrich
    (["enrich", "missing.txt", ARTICLE], 1, ["missing.txt", "never existed"]),
    (["enrich", "emptydir"], 1, ["emptydir", "a directory"]),
    (["enrich"], 2, ["Missing argument", "FILES"]),
    (["enrich", "--max-bytes", "-5", ARTICLE], 2, ["--max-bytes", "less than 1"]),
    (["enrich", "--data-dir", "missing_dir", ARTICLE], 2, ["missing_dir", "no data directory"]),
    # search
    (["search", '"unclosed'], 2, ["quote", "never closed"]),
    (["search", "vendor:Huawai", "ban"], 2, ["Huawai", "did you mean Huawei"]),
    (["search", "huawei", "--db", "missing.db"], 2, ["missing.db", "no database here yet"]),
    (["search", "--limit", "0", "huawei"], 2, ["--limit", "less than 1"]),
    (["search", "--offset", "-1", "huawei"], 2, ["--offset", "negative"]),
    # events
    (["events", "--since", "2020-13"], 2, ["2020-13", "not a date"]),
    (["events", "--vendor", "Huawai"], 2, ["Huawai", "did you mean Huawei"]),
    (["events", "--country", "XX"], 2, ["XX", "ISO 3166-1"]),
    (["events", "--type", "bann"], 2, ["--type", "bann", "is not one of", "ban"]),
    (["events", "--min-relevance", "2"], 2, ["not between 0 and 1"]),
    (["events", "--limit", "-1"], 2, ["--limit"]),
    (["events", "--db", "missing.db"], 2, ["missing.db", "wirewatch run"]),
    # show, rejected, alerts
    (["show", "ffffffffffff"], 1, ["no article", "ffffffffffff"]),
    (["show", "abc", "--db", "missing.db"], 2, ["missing.db"]),
    (["rejected", "--db", "missing.db"], 2, ["missing.db"]),
    (["alerts", "--db", "missing.db"], 2, ["missing.db"]),
    (["alerts", "--limit", "zero"], 2, ["not a whole number"]),
    # ui
    (["ui", "--port", "notanumber"], 2, ["--port", "not a valid integer"]),
    # rules
    (["rules", "check", "missing.yaml"], 2, ["missing.yaml", "cannot read"]),
    (["rules", "check", "emptydir"], 2, ["emptydir", "directory"]),
    (["rules", "check", "badyaml.yaml"], 2, ["invalid alert rules"]),
    (["rules", "check", "vend.yaml"], 2, ["vend.yaml", "rule 'r'", "did you mean Huawei"]),
    (["rules", "check", "lang.yaml"], 2, ["lang.yaml", "unknown language 'xx'"]),
    (["rules", "test", "missing.yaml", ARTICLE], 2, ["missing.yaml"]),
    (["rules", "test", "ok.yaml", "missing.txt"], 1, ["missing.txt", "cannot read"]),
    # schemas, evaluate, bench
    (["schemas", "check", "--dir", "emptydir"], 1, ["missing", "wirewatch schemas export"]),
    (["evaluate", "missing.yaml"], 2, ["missing.yaml", "no gold file"]),
    (["evaluate"], 2, ["gold file", "--real"]),
    (["evaluate", "--real", "missing_dir"], 2, ["missing_dir", "absent"]),
    (["evaluate", "--web", "missing_dir"], 2, ["missing_dir", "web-news folder is absent"]),
    (["evaluate", "--web", "x", "--real", "y"], 2, ["one of GOLD, --real DIR or --web DIR"]),
    (["evaluate", "--web", "x", "--split", "dev"], 2, ["--split is for --real"]),
    (["train-cues"], 2, ["tests/data/blind", "not a directory", "--blind"]),
    (["train-cues", "--blind", "inbox", "--briefs", "missing_dir"], 2, ["missing_dir", "--briefs"]),
    (["train-cues", "--type-threshold", "legal=2"], 2, ["legal=2", "between 0 and 1"]),
    (["train-cues", "--type-threshold", "embargo=0.5"], 2, ["embargo=0.5", "a type of"]),
    (["bench", "--inbox", "emptydir"], 2, ["emptydir", "no files"]),
    (["bench", "nosuchmode"], 2, ["nosuchmode", "is not one of", "recovery"]),
    (["bench", "--write", "distributed"], 2, ["bench distributed --write"]),
    (["bench", "--write", "a.md", "--output", "b.md"], 2, ["--write PATH", "--output PATH"]),
    # the distributed services
    (["watcher"], 2, ["no inbox", "--inbox"]),
    (["watcher", "--inbox", "missing_dir"], 2, ["missing_dir", "not a directory"]),
    (["feeds"], 2, ["no feeds file", "--config"]),
    (["indexer", "--rules", "missing.yaml"], 2, ["missing.yaml", "cannot read"]),
    (["topics", "create", "--kafka", "127.0.0.1:1"], 2, ["cannot reach Kafka", "127.0.0.1:1"]),
    (["templates", "check", "--dir", "emptydir"], 1, ["emptydir", "templates export"]),
    (["templates", "bogus"], 2, ["No such command", "bogus"]),
    (["worker", "--kafka", "127.0.0.1:1", "--metrics-port", "0"], 2, ["cannot reach Kafka"]),
    # global options
    (["--log-level", "LOUD", "events"], 2, ["--log-level LOUD"]),
    (["events", "--log-format", "xml"], 2, ["--log-format xml", "text or json"]),
    (["events", "--log-format"], 2, ["--log-format needs a value", "text or json"]),
    (["nosuchcommand"], 2, ["No such command", "nosuchcommand"]),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    (d / "emptydir").mkdir()
    (d / "inbox").mkdir()
    (d / ARTICLE).write_bytes((EXAMPLES / Path(ARTICLE).name).read_bytes())
    (d / "badyaml.yaml").write_text("rules: [\n")
    rule = "rules:\n  - name: r\n    events: [ban]\n"
    (d / "ok.yaml").write_text(rule)
    (d / "vend.yaml").write_text(rule + "    vendors: [Huawai]\n")
    (d / "lang.yaml").write_text(rule + "    languages: [xx]\n")
    return d


def test_the_table_covers_every_subcommand() -> None:
    from wirewatch.cli.main import cli

    commands = {a[0] for a, _, _ in CASES if not a[0].startswith("-")}
    missing = set(cli.commands) - commands - {"stories"}
    assert len(CASES) >= 40 and not missing, missing


@pytest.mark.parametrize("argv,code,words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_invocation(
    argv: list[str],
    code: int,
    words: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("WIREWATCH_DB", str(workdir / "w.db"))
    if not (workdir / "w.db").exists():
        assert main(["run", "inbox", "--once", "--metrics-port", "0"]) == 0
        capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["wirewatch", *argv])
    got = main(argv)  # usage errors too: main returns, it never exits
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    message = err.strip().splitlines()[-1] if err.strip() else ""
    for word in words:
        assert word in err, (word, message)
