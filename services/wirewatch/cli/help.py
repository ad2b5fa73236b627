"""What every ``wirewatch`` command shares: exit codes, examples in ``--help``, the
global options (``--log-level``, ``--log-format``) anywhere on the line, and logs as
text or JSON lines."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

EXIT_CODES = """exit codes:
  0  all done
  1  some items failed (each is named on stderr); the others were done
  2  usage or configuration error (bad option, missing file, unknown value, unreachable server)"""

EXAMPLES: dict[str, list[str]] = {
    "run": [
        "wirewatch run examples/inbox --once            # process what is there, then stop",
        "wirewatch run /data/inbox --rules rules.yaml   # keep watching; alert on new events",
        "wirewatch run /data/inbox --ui                 # and serve the web UI beside it",
    ],
    "enrich": [
        "wirewatch enrich examples/inbox/en_01_fcc_huawei_zte.txt",
        "wirewatch enrich --json article.txt | jq .events",
        "wirewatch enrich --csv examples/inbox/*.txt > enriched.csv",
    ],
    "search": [
        'wirewatch search huawei verbod                 # stems: also "verboden"',
        "wirewatch search '\"rip and replace\" vendor:Huawei since:2020'",
        "wirewatch search 'type:ban -sport' --sort date --limit 50 --json",
    ],
    "events": [
        "wirewatch events --type ban --country NL",
        "wirewatch events --vendor Huawei --since 2019-06 --min-relevance 0.3",
        "wirewatch events --type sanction --csv > sanctions.csv",
    ],
    "show": [
        "wirewatch show 3f9c2a1b     # an id or an unambiguous prefix of one",
        "wirewatch show 3f9c2a1b --json | jq .events",
    ],
    "rejected": [
        "wirewatch rejected --db /data/wirewatch.db",
        "wirewatch rejected --csv > rejected.csv",
    ],
    "alerts": [
        "wirewatch alerts              # fired alerts and their deliveries",
        "wirewatch alerts --limit 20 --csv",
        "wirewatch alerts mute vendor:Huawei --for 2h --reason 'known story'",
    ],
    "alerts list": ["wirewatch alerts list --limit 20 --json", "wirewatch alerts list --csv"],
    "alerts mute": [
        "wirewatch alerts mute vendor-ban-europe --for 30m",
        "wirewatch alerts mute country:NL --for 7d --reason 'election week'",
    ],
    "alerts silences": [
        "wirewatch alerts silences",
        "wirewatch alerts silences --csv",
        "wirewatch alerts silences --es http://localhost:9200   # the distributed mode's",
    ],
    "alerts unmute": [
        "wirewatch alerts unmute vendor:Huawei",
        "wirewatch alerts unmute vendor-ban-europe --es http://localhost:9200",
    ],
    "stories": [
        "wirewatch stories --min-articles 2            # stories told more than once",
        "wirewatch stories 8c940d5aefa4a840           # the articles of one story",
        "wirewatch stories --since 2019-06 --csv",
    ],
    "ui": [
        "wirewatch ui                                   # http://127.0.0.1:8470/",
        "wirewatch ui --db /data/wirewatch.db --port 9000",
    ],
    "rules": [
        "wirewatch rules check examples/rules.yaml",
        "wirewatch rules test examples/rules.yaml examples/inbox/*.txt",
        "wirewatch rules test examples/rules.yaml --since 2019-01 --until 2019-12",
    ],
    "rules check": [
        "wirewatch rules check examples/rules.yaml",
        "WIREWATCH_WEBHOOKS__ALLOWED_HOSTS=hooks.slack.com wirewatch rules check rules.yaml",
    ],
    "rules test": [
        "wirewatch rules test examples/rules.yaml examples/inbox/*.txt",
        "wirewatch rules test examples/rules.yaml --since 2019-01 --until 2019-12 --csv",
        "wirewatch rules test rules.yaml --es http://localhost:9200 --since 2019-01",
    ],
    "schemas": ["wirewatch schemas check", "wirewatch schemas export"],
    "schemas check": ["wirewatch schemas check", "wirewatch schemas check --dir /tmp/schemas"],
    "schemas export": ["wirewatch schemas export", "wirewatch schemas export --dir /tmp/schemas"],
    "evaluate": [
        "wirewatch evaluate examples/expected.yaml --misses",
        "wirewatch evaluate --real ../shared/realnews-dev --split test",
        "wirewatch evaluate --web ../webnews",
    ],
    "train-cues": [
        "wirewatch train-cues --real ../shared/realnews-dev --web ../webnews",
        "wirewatch train-cues --real ../shared/realnews-dev --out /tmp/learned",
    ],
    "bench": [
        "wirewatch bench                                # core and embedded figures, printed",
        "wirewatch bench distributed --count 2000 --write   # and into BENCHMARKS.md",
        "wirewatch bench recovery --runs 3 --write /tmp/recovery.md",
    ],
    "watcher": [
        "WIREWATCH_KAFKA__BOOTSTRAP=broker:9092 wirewatch watcher --inbox /data/inbox",
        "wirewatch watcher --inbox /data/a --inbox /data/b --kafka broker:9092",
    ],
    "feeds": [
        "wirewatch feeds --config feeds.yaml",
        "wirewatch feeds --config feeds.yaml --once",
    ],
    "worker": [
        "wirewatch worker --processes 2",
        "wirewatch worker --kafka broker:9092 --metrics-port 9465",
    ],
    "indexer": [
        "WIREWATCH_ES__URL=http://es:9200 wirewatch indexer --rules rules.yaml",
        "wirewatch indexer --kafka broker:9092 --es http://es:9200 --max-retries 5",
    ],
    "topics": [
        "wirewatch topics create",
        "wirewatch topics create --kafka broker:9092 --partitions 6",
    ],
    "topics create": [
        "wirewatch topics create --kafka broker:9092",
        "WIREWATCH_NAMESPACE=test- wirewatch topics create --replication-factor 3",
    ],
    "templates": ["wirewatch templates install", "wirewatch templates check"],
    "templates install": [
        "wirewatch templates install --es http://es:9200",
        "WIREWATCH_NAMESPACE=test- wirewatch templates install",
    ],
    "templates export": [
        "wirewatch templates export",
        "wirewatch templates export --dir /tmp/templates",
    ],
    "templates check": [
        "wirewatch templates check",
        "wirewatch templates check --dir /tmp/templates",
    ],
}


def epilog(command: str | None) -> str:
    """The end of a command's ``--help``: its examples and the exit codes, laid out as
    written (click's ``\\b`` keeps a paragraph from being re-wrapped)."""
    lines = EXAMPLES.get(command or "", [])
    examples = "\b\nexamples:\n" + "\n".join(f"  {e}" for e in lines) + "\n\n" if lines else ""
    return examples + "\b\n" + EXIT_CODES


def decorate(group: Any, path: str = "") -> None:
    """Examples and the exit codes at the end of the ``--help`` of ``group`` (a click
    group) and of every command under it."""
    group.epilog = epilog(path or None)
    for name, command in group.commands.items():
        key = f"{path} {name}".strip()
        if hasattr(command, "commands"):
            decorate(command, key)
        else:
            command.epilog = epilog(key)


def run_command(
    func: Callable[[SimpleNamespace], int | None], params: dict[str, Any], **extra: Any
) -> int:
    """``func`` on the parameters of the command being run, as attributes; variadic
    arguments and repeatable options as lists (None when empty), ``command`` its path,
    ``log_level`` and ``log_format`` the global options. A user error said in one line
    (``SystemExit("...")``, invalid settings, a missing client of the distributed mode)
    exits 2; a closed pipe (``| head``) ends the output quietly."""
    import click

    from wirewatch.settings import SettingsError

    ctx = click.get_current_context()
    root = ctx.find_root().params
    values = {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in params.items()}
    args = SimpleNamespace(
        **values,
        **extra,
        command=ctx.command_path,
        log_level=root.get("log_level", "INFO"),
        log_format=root.get("log_format", "text"),
    )
    if values.get("json") and values.get("csv"):
        raise click.UsageError("--json and --csv exclude each other: pick one", ctx)
    try:
        return int(func(args) or 0)
    except BrokenPipeError:
        return EXIT_OK
    except SettingsError as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a user error, said in one line: a usage error
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        raise
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in _DISTRIBUTED_MODULES:
            print(
                f"{args.command}: the distributed mode needs the {missing} client: "
                "pip install 'wirewatch[distributed]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        raise


# what the [distributed] extra installs
_DISTRIBUTED_MODULES = frozenset({"kafka", "faust", "aiokafka", "mode", "elasticsearch"})


GLOBAL_OPTIONS = {"--log-level": "INFO", "--log-format": "text"}


def pull_global_options(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Take ``--log-level X`` / ``--log-format X`` (or ``=X``) from anywhere before ``--``,
    so they work after the subcommand too; returns the rest and the values (an empty
    value for an option given last without one)."""
    rest: list[str] = []
    values = dict(GLOBAL_OPTIONS)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name, eq, value = arg.partition("=")
        if name in GLOBAL_OPTIONS:
            if eq:
                values[name] = value
            elif i + 1 < len(argv):
                values[name] = argv[i + 1]
                i += 1
            else:
                values[name] = ""
        else:
            rest.append(arg)
        i += 1
    return rest, values


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    quiet_clients(root.level)


CLIENT_LOGGERS = ("kafka", "aiokafka", "elastic_transport", "elasticsearch")


def quiet_clients(level: int) -> dict[str, int]:
    """The clients log every connection and request at INFO, drowning ours, and at DEBUG
    kafka-python prints each request's bytes, the SASL password among them: they log from
    WARNING whatever ``level`` is. Returns the levels they had."""
    before = {}
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        before[name] = logger.level
        logger.setLevel(max(logging.WARNING, level))
    return before
