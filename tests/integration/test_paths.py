"""Inboxes and database/state files are checked before a service starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wirewatch.cli.main import main
from wirewatch.paths import PathError, check_database, check_inboxes
from wirewatch.statefile import open_state


def _deny(monkeypatch, denied: Path, mode: int) -> None:
    """Make ``os.access`` refuse ``mode`` on ``denied`` (tests may run as root, where
    permission bits do not stop anything)."""
    real_access = os.access

    def access(path, wanted, *args, **kwargs):
        if Path(path).resolve() == denied.resolve() and wanted & mode:
            return False
        return real_access(path, wanted, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.fixture()
def inbox(tmp_path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


# -- inboxes -----------------------------------------------------------------------------
def test_good_inboxes_are_returned_resolved(tmp_path, inbox):
    other = tmp_path / "other"
    other.mkdir()
    link = tmp_path / "link"
    link.symlink_to(other)
    assert check_inboxes([inbox, link]) == [inbox.resolve(), other.resolve()]


def test_a_missing_inbox_is_refused(tmp_path):
    with pytest.raises(PathError, match=r"nope: the inbox is not a directory.*create it"):
        check_inboxes([tmp_path / "nope"])


def test_a_file_is_not_an_inbox(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(PathError, match=r"a\.txt: the inbox is not a directory; pass the"):
        check_inboxes([tmp_path / "a.txt"])


def test_an_unreadable_inbox_is_refused(monkeypatch, inbox):
    _deny(monkeypatch, inbox, os.R_OK)
    with pytest.raises(PathError, match=r"inbox: the inbox cannot be read .*permission"):
        check_inboxes([inbox])


def test_the_same_inbox_twice_is_refused(tmp_path, inbox):
    (tmp_path / "alias").symlink_to(inbox)
    with pytest.raises(PathError, match=r"alias: this inbox is given twice"):
        check_inboxes([inbox, tmp_path / "alias"])


@pytest.mark.parametrize("inner_first", [False, True])
def test_an_inbox_inside_another_is_refused(inbox, inner_first):
    inner = inbox / "sub"
    inner.mkdir()
    given = [inner, inbox] if inner_first else [inbox, inner]
    with pytest.raises(PathError, match=r"sub: this inbox lies inside the inbox .*inbox, "):
        check_inboxes(given)


def test_an_inbox_inside_another_through_a_symlink_is_refused(tmp_path, inbox):
    (inbox / "sub").mkdir()
    (tmp_path / "way-in").symlink_to(inbox / "sub")
    with pytest.raises(PathError, match="lies inside the inbox"):
        check_inboxes([inbox, tmp_path / "way-in"])


def test_sibling_inboxes_with_a_common_prefix_are_fine(tmp_path, inbox):
    (tmp_path / "inbox2").mkdir()
    assert len(check_inboxes([inbox, tmp_path / "inbox2"])) == 2


# -- database and state files --------------------------------------------------------------
def test_a_good_database_path(tmp_path, inbox):
    assert check_database(tmp_path / "w.db", [inbox], "--db") == (tmp_path / "w.db").resolve()


def test_a_directory_is_not_a_database(tmp_path):
    with pytest.raises(PathError, match=r"the database is a directory; pass another --db"):
        check_database(tmp_path, (), "--db")


def test_the_database_directory_must_exist(tmp_path):
    with pytest.raises(PathError, match=r"the directory .*missing does not exist; create it"):
        check_database(tmp_path / "missing" / "w.db", (), "--db")


def test_the_database_directory_must_be_writable(monkeypatch, tmp_path):
    _deny(monkeypatch, tmp_path, os.W_OK)
    with pytest.raises(PathError, match=r"is not writable .*make it writable or pass another"):
        check_database(tmp_path / "w.db", (), "--db")


def test_an_existing_database_must_be_writable(monkeypatch, tmp_path):
    (tmp_path / "w.db").write_bytes(b"")
    _deny(monkeypatch, tmp_path / "w.db", os.W_OK)
    with pytest.raises(PathError, match=r"w\.db: the database cannot be read and written"):
        check_database(tmp_path / "w.db", (), "--db")


def test_a_database_inside_an_inbox_is_refused(inbox):
    with pytest.raises(PathError, match=r"w\.db: the database lies inside the inbox .*outside"):
        check_database(inbox / "w.db", [inbox], "--db")


def test_a_database_reached_through_a_symlink_into_an_inbox_is_refused(tmp_path, inbox):
    (tmp_path / "data").symlink_to(inbox)
    with pytest.raises(PathError, match="lies inside the inbox"):
        check_database(tmp_path / "data" / "w.db", [inbox], "--db")


def test_state_files_are_checked_when_opened(tmp_path):
    with pytest.raises(PathError, match="the watcher state is a directory"):
        open_state(tmp_path, [], "the watcher state", "")
    with pytest.raises(PathError, match="does not exist"):
        open_state(tmp_path / "no" / "s.db", [], "the watcher state", "")


# -- the commands ------------------------------------------------------------------------
def test_run_refuses_bad_paths_with_exit_code_2(tmp_path, inbox, capsys):
    (inbox / "sub").mkdir()
    assert main(["run", str(inbox), str(inbox / "sub"), "--db", str(tmp_path / "w.db")]) == 2
    assert "lies inside the inbox" in capsys.readouterr().err
    assert main(["run", str(inbox), "--db", str(inbox / "w.db"), "--once"]) == 2
    assert "wirewatch: " in capsys.readouterr().err
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n")
    argv = ["run", str(inbox), "--db", str(tmp_path / "w.db"), "--feeds", str(feeds)]
    assert main([*argv, "--feeds-state", str(inbox / "f.db"), "--once"]) == 2
    assert "the feeds state lies inside the inbox" in capsys.readouterr().err


def test_watcher_and_feeds_refuse_bad_state_files_with_exit_code_2(tmp_path, inbox, capsys):
    assert main(["watcher", "--inbox", str(inbox), "--state", str(inbox / "s.db")]) == 2
    assert "the watcher state lies inside the inbox" in capsys.readouterr().err
    assert main(["watcher", "--inbox", str(tmp_path / "nope"), "--state", "s.db"]) == 2
    assert "the inbox is not a directory" in capsys.readouterr().err
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n")
    argv = ["feeds", "--config", str(feeds), "--state", str(tmp_path)]
    assert main(argv) == 2
    assert "the feeds state is a directory" in capsys.readouterr().err
