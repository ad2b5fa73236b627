"""The pure parts of ``wirewatch bench recovery``: the recovery figures, the table and
the marked section; and the command line it is reached by."""

from __future__ import annotations

import pytest
from wirewatch.cli.main import main, parse_args
from wirewatch.tools.bench_distributed import write_section
from wirewatch.tools.bench_recovery import END, START, Recovery, Run, recovery_times, render_table


def _steady(start: float, stop: float, every: float = 1.0) -> dict[str, float]:
    out, t, k = {}, start, 0
    while t < stop:
        out[f"f{k:03d}@{t:.1f}"] = t
        t += every
        k += 1
    return out


def test_a_kill_stalls_the_stream_until_the_restarted_service_catches_up() -> None:
    # one file a second, 1 s to index; kill at 10.5, restart at 10.6; the files of
    # 10.0-18.0 are indexed only at 20.10-20.18, later ones at the normal 1 s
    dropped = _steady(0, 30)
    indexed = {}
    for path, d in dropped.items():
        if d + 1.0 < 10.5:
            indexed[path] = d + 1.0
        elif d < 19.0:
            indexed[path] = 20.0 + d / 100  # the backlog, in order
        else:
            indexed[path] = d + 1.0
    rec = recovery_times(dropped, indexed, disrupted=10.5, restart=10.6)
    assert rec.normal == pytest.approx(1.0)
    # the first file dropped after the kill to be indexed: 19.0, at 20.0
    assert rec.first == pytest.approx(20.0 - 10.6)
    # dropped before the restart and not indexed before the kill: the file of 10.0
    assert rec.backlog == 1
    assert rec.drained == pytest.approx(20.10 - 10.6)
    # 19.0 took the normal 1 s, but 18.0 came in later (20.18); 20.0 is the first file
    # at the normal latency with everything before it in
    assert rec.caught_up == pytest.approx(21.0 - 10.6)


def test_a_file_never_indexed_means_never_drained_nor_caught_up() -> None:
    dropped = _steady(0, 20)
    indexed = {p: d + 0.5 for p, d in dropped.items() if d != 8.0}
    rec = recovery_times(dropped, indexed, disrupted=8.2, restart=8.3)
    assert rec.drained is None and rec.caught_up is None
    assert rec.first == pytest.approx(9.5 - 8.3)


def test_without_a_steady_state_before_the_kill_there_is_no_normal_latency() -> None:
    dropped = {"a": 5.0, "b": 6.0}
    rec = recovery_times(dropped, {"a": 9.0, "b": 9.5}, disrupted=1.0, restart=2.0)
    assert rec.normal is None and rec.caught_up is None
    assert rec.first == pytest.approx(7.0) and rec.drained == 0.0 and rec.backlog == 0


def test_the_restart_cannot_precede_the_disruption() -> None:
    with pytest.raises(ValueError):
        recovery_times({}, {}, disrupted=5.0, restart=4.0)


def _run(scenario: str, first: float | None, **kw: object) -> Run:
    fields: dict = dict(
        files=100,
        documents=100,
        missing=0,
        duplicates=0,
        alerts=10,
        alert_topic=10,
        alerts_once=True,
        orphans=0,
        leftovers=0,
        at=20.0,
    )
    fields.update(kw)
    return Run(scenario, Recovery(first, first, first, 2.0, 5), **fields)


def test_the_table_gives_median_and_max_per_scenario_and_shows_failures() -> None:
    runs = [
        _run("worker", 20.0),
        _run("worker", 30.0),
        _run("worker", 24.0),
        _run("indexer", None, missing=1, documents=99),
        _run("indexer", 10.0),
    ]
    table = render_table(runs).splitlines()
    assert len(table) == 4  # header, rule, worker, indexer (in the order of SCENARIOS)
    worker, indexer = table[2], table[3]
    assert worker.startswith("| worker (kill -9) | 3 | 24.0 / 30.0 | 24.0 / 30.0 |")
    assert "| 3/3 (300 files) |" in worker
    assert "never in 1 of 2 run(s)" in indexer
    assert "| 1/2 (200 files) |" in indexer
    assert not runs[3].ok and runs[4].ok


def test_the_section_replaces_only_what_is_between_its_markers(tmp_path) -> None:
    path = tmp_path / "RELIABILITY.md"
    path.write_text(f"# Reliability\n\nbefore\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    write_section(path, "new figures\n", START, END)
    assert path.read_text(encoding="utf-8") == (
        f"# Reliability\n\nbefore\n\n{START}\nnew figures\n{END}\n\nafter\n"
    )
    other = tmp_path / "other.md"
    write_section(other, "figures", START, END)
    assert START in other.read_text(encoding="utf-8")


def test_the_command_prints_by_default_and_writes_tracked_files_only_when_asked(capsys) -> None:
    args = parse_args(["bench", "recovery", "--runs", "2"])
    assert args.what == "recovery" and args.runs == 2
    assert args.output is None and not args.write and args.rate is None
    assert main(["bench", "recovery", "--help"]) == 0
    assert "--runs" in capsys.readouterr().out


def test_bad_input_stops_before_any_server_starts(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["bench", "recovery", "--inbox", str(empty)]) == 2
    assert "no *.txt articles" in capsys.readouterr().err
    (empty / "a.txt").write_text("An article.", encoding="utf-8")
    missing = str(tmp_path / "missing.yaml")
    assert main(["bench", "recovery", "--inbox", str(empty), "--rules", missing]) == 2
    assert "no such rules file" in capsys.readouterr().err


def test_the_section_states_when_where_and_against_what_it_was_measured() -> None:
    from wirewatch.tools.bench_recovery import render_section

    meta = dict(
        when="2026-12-04 08:06 UTC",
        machine="x86_64",
        cpus=2,
        python="3.11.7",
        runs=1,
        seed=1,
        command="wirewatch bench recovery --runs 1",
        kafka="Tansu",
        es="the noida-db EMULATOR",
        rules="examples/rules.yaml",
        rate=4.0,
        before=20.0,
        jitter=10.0,
        after=45.0,
    )
    text = render_section([_run("worker", 20.0), _run("worker", None)], meta)
    assert "2026-12-04 08:06 UTC" in text and "2 CPU(s), Python 3.11.7" in text
    assert "noida-db emulator, not Elasticsearch" in text
    assert "| worker (kill -9) | 2 | never in 1 of 2 run(s) |" in text
    assert "first never, drained never, caught up never" in text
    assert START not in text and END not in text
