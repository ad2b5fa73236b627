"""The inbox watcher on an inbox anyone can write to: odd names, files that change
while they are read, and directories too large to hold in memory."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from wirewatch.embedded.store import SqliteStore
from wirewatch.paths import display_path, open_for_reading, path_key
from wirewatch.pipeline.reading import FileChanged, read_article
from wirewatch.watcher.scan import FileState, InboxScanner, MemoryKnownFiles

# -- odd names ---------------------------------------------------------------------------
ODD_NAMES: dict[str, list[bytes]] = {
    "space": [b"with space.txt"],
    "newline": [b"line\nbreak.txt"],
    "latin-1": [b"caf\xe9.txt"],
    "backslash": [b"caf\\xe9.txt"],  # the text that the latin-1 name displays as
    "escape": [b"esc\x1b[31mred.txt"],
    "255 bytes": [b"n" * 251 + b".txt"],
    "255 bytes, UTF-8": ["é".encode() * 125 + b".txt"],
    "deep": [b"d" * 200] * 17 + [b"deep.txt"],
    "beyond PATH_MAX": [b"e" * 250] * 20 + [b"deeper.txt"],
}


def write_at(root: Path, parts: list[bytes], data: bytes) -> str:
    """Create ``root/parts...`` one directory at a time (so the path may be longer than
    the kernel takes in one call) and return its exact path."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        os.write(out, data)
        os.close(out)
    finally:
        os.close(fd)
    return os.fsdecode(os.fsencode(root) + b"/" + b"/".join(parts))


@pytest.mark.parametrize(
    "name, shown",
    [
        ("plain name.txt", "plain name.txt"),
        ("Ärende å ø 新闻.txt", "Ärende å ø 新闻.txt"),
        (os.fsdecode(b"caf\xe9.txt"), "caf\\xe9.txt"),
        ("caf\\xe9.txt", "caf\\\\xe9.txt"),
        ("line\nbreak\ttab\r.txt", "line\\nbreak\\ttab\\r.txt"),
        ("esc\x1b[31m.txt", "esc\\x1b[31m.txt"),
        ("c1\x85 ls\u2028 rtl\u202e.txt", "c1\\u0085 ls\\u2028 rtl\\u202e.txt"),
    ],
)
def test_display_path_is_printable_utf8(name, shown):
    got = display_path(name)
    assert got == shown
    got.encode("utf-8")  # no lone surrogates left
    assert got.isprintable()
    assert json.loads(json.dumps(got)) == got


def test_distinct_names_keep_distinct_keys_and_display():
    names = [os.fsdecode(b"/in/" + b"/".join(parts)) for parts in ODD_NAMES.values()]
    names += [os.fsdecode(b"/in/caf\xc3\xa9.txt"), "/in/caf\\\\xe9.txt", "/in/x\\n.txt"]
    names.append("/in/x\n.txt")
    assert len({path_key(n) for n in names}) == len(names)
    assert len({display_path(n) for n in names}) == len(names)
    for n in names:
        assert os.fsdecode(path_key(n)) == n  # lossless


def test_odd_names_are_found_and_read_by_their_exact_path(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    expected = {}
    for label, parts in ODD_NAMES.items():
        data = f"Article: {label}\n".encode()
        expected[write_at(inbox, parts, data)] = data
    assert max(len(path_key(p)) for p in expected) > 5000
    try:
        scanner = InboxScanner([inbox], {}, settle_seconds=0, clock=lambda: time.time() + 10)
        ready, settling = scanner.poll()
        assert {fs.path for fs in ready} == set(expected) and settling == 0
        for fs in ready:
            got = read_article(fs.path, 1000, fs.size, fs.mtime_ns, fs.ino)
            assert isinstance(got, tuple)
            data, source = got
            assert data == expected[fs.path]
            assert source.path == display_path(fs.path)
            source.model_dump_json().encode("utf-8")
    finally:
        shutil.rmtree(inbox)  # by descriptor: paths beyond PATH_MAX are fine


def _stores(tmp_path):
    from wirewatch.watcher.service import WatcherState

    store = SqliteStore(tmp_path / "w.db")
    state = WatcherState(tmp_path / "watcher.db")

    def record_store(path, size, mtime):
        store.record_file(path, size, mtime, None, "stored")

    def record_state(path, size, mtime):
        state.record([(path, size, mtime, "k", "published")])

    return [(store, record_store), (state, record_state)]


def test_processed_files_are_keyed_by_their_exact_bytes(tmp_path):
    latin1 = os.fsdecode(b"/in/caf\xe9.txt")
    names = [latin1, display_path(latin1), "/in/café.txt", "/in/line\nbreak.txt"]
    for known, record in _stores(tmp_path):
        for i, name in enumerate(names):
            record(name, i, 1000 + i)
        assert known.known_files([*names, "/in/other.txt"]) == {
            name: (i, 1000 + i) for i, name in enumerate(names)
        }


def test_files_recorded_as_text_by_earlier_versions_still_count(tmp_path):
    for known, record in _stores(tmp_path):
        record("/in/new.txt", 1, 1)
        db = tmp_path / ("w.db" if isinstance(known, SqliteStore) else "watcher.db")
        table = "files" if isinstance(known, SqliteStore) else "published"
        with sqlite3.connect(db) as conn:
            conn.execute(f"UPDATE {table} SET path = CAST(path AS TEXT)")
            assert conn.execute(f"SELECT typeof(path) FROM {table}").fetchone() == ("text",)
        known.close()
    for known, _record in _stores(tmp_path):
        assert known.known_files(["/in/new.txt"]) == {"/in/new.txt": (1, 1)}


# -- files that change while they are read --------------------------------------------------
def _scanned(path: Path) -> FileState:
    st = path.stat()
    return FileState(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def appending_opener(extra: bytes):
    """Opens the file, then appends ``extra`` to it: a writer that was not done."""

    def opener(path: str):
        fh = open_for_reading(path)
        with open(path, "ab") as w:
            w.write(extra)
        return fh

    return opener


def test_a_file_that_grows_while_read_is_not_taken(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"first half")
    fs = _scanned(f)
    with pytest.raises(FileChanged) as exc:
        read_article(fs.path, 1000, fs.size, fs.mtime_ns, fs.ino, appending_opener(b" second"))
    assert "size 10 -> 17" in exc.value.what
    # once it stopped changing it reads as it is
    fs = _scanned(f)
    data, _source = read_article(fs.path, 1000, fs.size, fs.mtime_ns, fs.ino)  # type: ignore[misc]
    assert data == b"first half second"
    # without what a scan saw (``wirewatch enrich``), there is nothing to compare
    data, _source = read_article(fs.path, 1000, opener=appending_opener(b"!"))  # type: ignore[misc]
    assert data == b"first half second!"


def test_a_file_replaced_by_another_of_the_same_size_and_time_is_not_taken(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"version 1")
    fs = _scanned(f)
    other = tmp_path / "b.tmp"
    other.write_bytes(b"version 2")
    os.utime(other, ns=(fs.mtime_ns, fs.mtime_ns))
    other.rename(f)
    with pytest.raises(FileChanged, match="replaced by another file"):
        read_article(fs.path, 1000, fs.size, fs.mtime_ns, fs.ino)


def test_a_fifo_put_where_a_file_was_scanned_does_not_hang_the_reader(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"text")
    fs = _scanned(f)
    f.unlink()
    os.mkfifo(f)
    outcome: list[object] = []

    def read():
        try:
            outcome.append(read_article(fs.path, 1000, fs.size, fs.mtime_ns, fs.ino))
        except FileChanged as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "opening a FIFO without a writer blocked"
    assert isinstance(outcome[0], FileChanged)


# -- streaming scans ---------------------------------------------------------------------
def _touch(directory: Path, names: list[str], mtime: float = 900.0) -> None:
    for name in names:
        p = directory / name
        p.write_bytes(b"")
        os.utime(p, ns=(int(mtime * 1e9), int(mtime * 1e9)))


def test_a_small_inbox_is_one_sorted_chunk(tmp_path):
    names = [f"{i:03d}.txt" for i in range(60)]
    random.Random(1).shuffle(names)
    _touch(tmp_path, names)
    scanner = InboxScanner([tmp_path], {}, settle_seconds=1, clock=lambda: 1000.0)
    chunks = list(scanner.scan())
    assert len(chunks) == 1
    assert [os.path.basename(fs.path) for fs in chunks[0]] == sorted(names)


def test_chunks_are_sorted_bounded_and_cover_every_file_once(tmp_path):
    names = [f"{i:03d}.txt" for i in range(95)]
    _touch(tmp_path, names)
    known = MemoryKnownFiles()
    scanner = InboxScanner(
        [tmp_path], known, settle_seconds=0, clock=lambda: 1000.0, chunk_size=10, lookup_batch=7
    )
    seen = []
    for chunk in scanner.scan():
        assert 0 < len(chunk) <= 10 and chunk == sorted(chunk, key=lambda f: f.path)
        seen.extend(os.path.basename(fs.path) for fs in chunk)
        for fs in chunk:
            known.record(fs)
    assert sorted(seen) == sorted(names)
    assert list(scanner.scan()) == []
    assert scanner.retained() == {"unrecorded": 0, "settling": 0, "forgotten": 0}


def test_a_reported_file_waits_for_its_record_and_comes_back_when_handed_back(tmp_path):
    _touch(tmp_path, ["a.txt", "b.txt"])
    known = MemoryKnownFiles()
    scanner = InboxScanner([tmp_path], known, settle_seconds=0, clock=lambda: 1000.0)
    first, _ = scanner.poll()
    assert len(first) == 2
    assert scanner.poll() == ([], 0)  # still on their way to the consumer
    assert scanner.outstanding() == 2
    a, b = first
    known.record(a)
    scanner.forget(b.path)  # e.g. it changed while it was read
    again, _ = scanner.poll()
    assert again == [b]
    known.record(b)
    assert scanner.outstanding() == 0
    # a reported file that vanishes is not remembered after the next full scan
    _touch(tmp_path, ["c.txt"])
    (c,) = scanner.poll()[0]
    os.unlink(c.path)
    scanner.poll()
    assert scanner.retained()["unrecorded"] == 0


def test_settling_files_are_capped_and_the_rest_waits_for_a_later_scan(tmp_path):
    now = [1000.0]
    _touch(tmp_path, [f"{i}.txt" for i in range(20)], mtime=999.9)
    scanner = InboxScanner([tmp_path], {}, settle_seconds=1, clock=lambda: now[0], max_settling=5)
    assert scanner.poll() == ([], 20)
    assert scanner.retained()["settling"] == 5
    now[0] = 1001.0  # settled by their modification time
    ready, settling = scanner.poll()
    assert len(ready) == 20 and settling == 0


def test_too_many_unrecorded_files_defer_the_rest_to_a_later_scan(tmp_path):
    _touch(tmp_path, [f"{i:02d}.txt" for i in range(30)])
    known = MemoryKnownFiles()
    scanner = InboxScanner(
        [tmp_path], known, settle_seconds=0, clock=lambda: 1000.0, chunk_size=5, max_unrecorded=10
    )
    first = [fs for chunk in scanner.scan() for fs in chunk]
    assert len(first) == 10 and scanner.deferred
    for fs in first:
        known.record(fs)
    second = [fs for chunk in scanner.scan() for fs in chunk]
    assert len(second) == 10 and not {f.path for f in first} & {f.path for f in second}


# -- 100,000 files in one directory -----------------------------------------------------------
MANY = 100_000


@pytest.fixture(scope="module")
def big_inbox(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("big") / "inbox"
    inbox.mkdir()
    base = os.fsencode(inbox)
    for i in range(MANY):
        os.close(os.open(base + b"/article-%06d.txt" % i, os.O_WRONLY | os.O_CREAT, 0o644))
    yield inbox
    shutil.rmtree(inbox)


def test_100k_files_all_recorded_yield_nothing_and_keep_nothing(big_inbox, tmp_path):
    store = SqliteStore(tmp_path / "w.db")
    with store.transaction() as tx:
        for entry in os.scandir(big_inbox):
            st = entry.stat()
            tx.record_file(entry.path, st.st_size, st.st_mtime_ns, None, "stored")
    scanner = InboxScanner([big_inbox], store, settle_seconds=0, clock=lambda: time.time() + 10)
    asked = []
    lookup = store.known_files

    def counting(paths):
        asked.append(len(paths))
        return lookup(paths)

    store.known_files = counting  # type: ignore[method-assign]
    assert list(scanner.scan()) == []
    assert scanner.retained() == {"unrecorded": 0, "settling": 0, "forgotten": 0}
    assert scanner.settling == 0 and not scanner.deferred
    assert sum(asked) == MANY and max(asked) <= 500  # looked up in batches, not loaded


def test_100k_new_files_are_each_yielded_once_with_bounded_state(big_inbox, tmp_path):
    from wirewatch.watcher.service import WatcherState

    state = WatcherState(tmp_path / "watcher.db")
    scanner = InboxScanner([big_inbox], state, settle_seconds=0, clock=lambda: time.time() + 10)
    seen: set[str] = set()
    count = 0
    largest_unrecorded = 0
    for chunk in scanner.scan():
        assert 0 < len(chunk) <= 1000 and chunk == sorted(chunk, key=lambda f: f.path)
        count += len(chunk)
        seen.update(fs.path for fs in chunk)
        state.record([(fs.path, fs.size, fs.mtime_ns, "k", "published") for fs in chunk])
        retained = scanner.retained()
        largest_unrecorded = max(largest_unrecorded, retained["unrecorded"])
        assert retained["settling"] == 0
    assert count == len(seen) == MANY
    assert largest_unrecorded <= 2 * scanner.chunk_size
    assert list(scanner.scan()) == []
    assert scanner.retained()["unrecorded"] == 0
