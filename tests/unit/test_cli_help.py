"""Every command's ``--help`` ends with examples that the command line accepts as they
are written, and with the exit codes."""

from __future__ import annotations

import shlex

import click
import pytest
from wirewatch.cli.help import EXAMPLES, EXIT_CODES
from wirewatch.cli.main import cli, parse_args


def _commands(group: click.Group, path: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        key = f"{path} {name}".strip()
        found.append((key, command))
        if isinstance(command, click.Group):
            found += _commands(command, key)
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_shows_two_or_three_examples_and_the_exit_codes(path, command) -> None:
    assert 2 <= len(EXAMPLES.get(path, [])) <= 3, path
    assert command.epilog and "examples:" in command.epilog
    assert EXIT_CODES in command.epilog


def _argv(example: str) -> list[str]:
    words = shlex.split(example, comments=True)
    while words and "=" in words[0]:  # VAR=value before the command
        words.pop(0)
    assert words[0] == "wirewatch", example
    return words[1 : words.index("|")] if "|" in words else words[1:]


@pytest.mark.parametrize(
    "example", [e for lines in EXAMPLES.values() for e in lines], ids=lambda e: e[:60]
)
def test_every_example_is_accepted_by_the_command_line(example) -> None:
    argv = _argv(example.split(" > ")[0])
    parsed = parse_args(argv)  # a usage error would raise
    assert parsed.command.split()[1] == argv[0]


def test_debug_logging_keeps_the_clients_wire_dumps_out():
    """At --log-level debug kafka-python would print each request's bytes (SASL passwords
    among them): the clients stay at WARNING, our own loggers go to DEBUG."""
    import logging

    from wirewatch.cli.help import CLIENT_LOGGERS, setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in CLIENT_LOGGERS})
    try:
        setup_logging("debug", "json")
        assert root.level == logging.DEBUG
        assert logging.getLogger("wirewatch.embedded").getEffectiveLevel() == logging.DEBUG
        for name in ("kafka.protocol.parser", "kafka.net.connection", "aiokafka.conn"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        setup_logging("error", "text")
        assert logging.getLogger("kafka.protocol.parser").getEffectiveLevel() == logging.ERROR
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
