import os
import time

from wirewatch.watcher.scan import InboxScanner, is_candidate


def test_temp_and_hidden_names_are_skipped():
    for name in (".hidden.txt", "a.txt.part", "b.txt~", "c.tmp", "d.crdownload", ".e.swp"):
        assert not is_candidate(name)
    assert is_candidate("article one.txt")


def test_files_are_ready_once_settled_and_reported_once(tmp_path):
    now = [1000.0]
    (tmp_path / "sub").mkdir()
    old = tmp_path / "sub" / "old.txt"
    old.write_text("x")
    os.utime(old, ns=(int(900e9), int(900e9)))
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("y")
    os.utime(fresh, ns=(int(999.9e9), int(999.9e9)))
    (tmp_path / "skip.part").write_text("z")
    scanner = InboxScanner([tmp_path], {}, settle_seconds=1.0, clock=lambda: now[0])
    ready, settling = scanner.poll()
    assert [os.path.basename(f.path) for f in ready] == ["old.txt"]
    assert settling == 1
    now[0] = 1001.5
    ready, settling = scanner.poll()
    assert [os.path.basename(f.path) for f in ready] == ["fresh.txt"] and settling == 0
    assert scanner.poll() == ([], 0)
    # A changed file is reported again once it settles.
    fresh.write_text("changed")
    os.utime(fresh, ns=(int(1001.6e9), int(1001.6e9)))
    now[0] = 1003.0
    ready, _ = scanner.poll()
    assert [os.path.basename(f.path) for f in ready] == ["fresh.txt"]


def test_known_files_are_not_reported(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    st = f.stat()
    scanner = InboxScanner([tmp_path], {str(f): (st.st_size, st.st_mtime_ns)}, settle_seconds=0)
    assert scanner.poll() == ([], 0)


def test_symlink_leaving_the_inbox_is_not_followed(tmp_path):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (inbox / "link").symlink_to(outside)
    (inbox / "inside.txt").write_text("i")
    scanner = InboxScanner([inbox], {}, settle_seconds=0, clock=lambda: time.time() + 10)
    ready, _ = scanner.poll()
    assert [os.path.basename(f.path) for f in ready] == ["inside.txt"]
