"""Inbox change notifications (real inotify on a real directory) and the scans they
drive: a poll looks at what changed and at what is settling; a full walk still runs
on its interval, after lost notifications and when the scanner asks for one."""

from __future__ import annotations

import os
import threading

import pytest
from wirewatch.watcher.inotify import InboxEvents, ScanPlan, open_plan
from wirewatch.watcher.scan import InboxScanner

pytestmark = pytest.mark.integration

needs_inotify = pytest.mark.skipif(not os.path.exists("/proc/self"), reason="inotify is Linux only")


def _changes(events: InboxEvents, timeout: float = 2.0) -> set[str]:
    paths, lost = events.wait(timeout)
    assert not lost
    return paths


@needs_inotify
def test_notifications_name_new_moved_and_nested_files(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "old").mkdir(parents=True)
    events = InboxEvents.open([inbox])
    assert events is not None and events.watched == 2
    try:
        (inbox / "a.txt").write_text("one")
        (tmp_path / "b.txt").write_text("two")
        (tmp_path / "b.txt").rename(inbox / "old" / "b.txt")
        assert _changes(events) >= {str(inbox / "a.txt"), str(inbox / "old" / "b.txt")}

        # a directory made (or moved in) after the watches were set is watched from then
        # on, and named itself: files may be in it before its watch exists
        (inbox / "new").mkdir()
        assert str(inbox / "new") in _changes(events)
        (inbox / "new" / "c.txt").write_text("three")
        assert str(inbox / "new" / "c.txt") in _changes(events)
        assert events.watched == 3

        assert _changes(events, 0.2) == set()  # nothing happened: nothing named
    finally:
        events.close()


@needs_inotify
def test_a_poll_looks_at_what_changed_and_what_settles_a_walk_at_everything(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    now = [1_000_000.0]
    known: dict[str, tuple[int, int]] = {}
    scanner = InboxScanner([inbox], known, settle_seconds=1.0, clock=lambda: now[0])

    def ready(paths):
        out = [fs.path for chunk in scanner.scan(paths) for fs in chunk]
        for chunk_path in out:
            st = os.stat(chunk_path)
            known[chunk_path] = (st.st_size, st.st_mtime_ns)
        return out

    old = inbox / "old.txt"
    old.write_text("written long ago")
    os.utime(old, ns=(0, 0))
    unseen = inbox / "unseen.txt"
    unseen.write_text("no notification named this one")
    os.utime(unseen, ns=(0, 0))
    fresh = inbox / "fresh.txt"
    fresh.write_text("still being written")
    os.utime(fresh, ns=(int(now[0] * 1e9),) * 2)

    # a poll with notifications reports only the named paths that are complete ...
    assert ready({str(old), str(fresh)}) == [str(old)]
    assert scanner.settling == 1
    # ... and looks at the settling file again with no notification at all
    now[0] += 2
    assert ready(set()) == [str(fresh)]
    assert ready(set()) == []
    # hidden, temporary and outside paths are ignored even when named
    (inbox / ".hidden").write_text("x")
    (inbox / "x.part").write_text("x")
    (tmp_path / "outside.txt").write_text("x")
    assert (
        ready({str(inbox / ".hidden"), str(inbox / "x.part"), str(tmp_path / "outside.txt")}) == []
    )
    # a walk finds what no notification named
    assert ready(None) == [str(unseen)]


@needs_inotify
def test_a_file_handed_back_is_looked_at_again_without_a_notification(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    f = inbox / "a.txt"
    f.write_text("text")
    os.utime(f, ns=(0, 0))
    scanner = InboxScanner([inbox], {}, settle_seconds=0)
    assert [fs.path for c in scanner.scan({str(f)}) for fs in c] == [str(f)]
    assert [fs.path for c in scanner.scan(set()) for fs in c] == []  # reported, unrecorded
    scanner.forget(str(f))  # could not be published now
    assert [fs.path for c in scanner.scan(set()) for fs in c] == [str(f)]


@needs_inotify
def test_the_plan_walks_first_on_its_interval_and_after_lost_notifications(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clock = [0.0]
    events = InboxEvents.open([inbox])
    assert events is not None
    plan = ScanPlan(events, rescan_interval=60.0, clock=lambda: clock[0])
    stop = threading.Event()
    try:
        assert plan.next(0.1, stop) is None  # the first poll walks
        (inbox / "a.txt").write_text("a")
        assert plan.next(2.0, stop) == {str(inbox / "a.txt")}
        assert plan.next(0.05, stop) == set()
        assert plan.next(0.05, stop, need_full=True) is None  # the scanner asked
        clock[0] += 61
        assert plan.next(0.05, stop) is None  # the interval is over
        events._lost = True  # as after a queue overflow
        assert plan.next(0.05, stop) is None
        assert (plan.full_walks, plan.partial_scans) == (4, 2)
    finally:
        plan.close()


def test_without_notifications_every_poll_walks(tmp_path):
    plan = open_plan([tmp_path], rescan_interval=0)
    assert plan.events is None
    stop = threading.Event()
    assert plan.next(0.01, stop) is None
    assert plan.next(0.01, stop) is None
    assert plan.full_walks == 2


def test_a_file_named_and_inside_a_named_directory_is_reported_once(tmp_path):
    """A directory copied in is named with each of its files: each file comes once."""
    inbox = tmp_path / "inbox"
    (inbox / "b" / "deeper").mkdir(parents=True)
    names = [inbox / "b" / "x.txt", inbox / "b" / "deeper" / "y.txt"]
    for f in names:
        f.write_text("text")
        os.utime(f, ns=(0, 0))
    scanner = InboxScanner([inbox], {}, settle_seconds=0)
    named = {str(inbox / "b"), str(inbox / "b" / "deeper"), *map(str, names)}
    got = [fs.path for chunk in scanner.scan(named) for fs in chunk]
    assert sorted(got) == sorted(map(str, names))
