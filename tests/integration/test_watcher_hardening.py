"""The watchers on an inbox anyone can write to, end to end: odd file names through
``wirewatch run`` and its read commands, files that change while they are read
(embedded runner and distributed watcher), and odd names published to Kafka."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from wirewatch.embedded.runner import EmbeddedRunner
from wirewatch.embedded.store import SqliteStore
from wirewatch.paths import display_path, open_for_reading, path_key
from wirewatch.settings import EmbeddedSettings

from tests.conftest import EXAMPLES, ww
from tests.integration.test_scan_hardening import ODD_NAMES, write_at

ARTICLE = (
    "Regulator orders removal of vendor gear\n\n"
    "The Danish telecom regulator on Monday, March 1, 2021 ordered operators to remove Huawei "
    "equipment from their core networks, citing a risk of espionage. Operators must replace the "
    "gear by 1 January 2024, the agency said in Copenhagen. TDC said it would comply."
)
REST = (
    "\n\nThe operators asked for more time. The regulator said the deadline stands and that "
    "inspections start in the spring."
)


def _odd_inbox(inbox: Path) -> dict[str, bytes]:
    """One distinct example article under each odd name -> {exact path: bytes}."""
    examples = sorted(EXAMPLES.glob("en_*.txt")) + sorted(EXAMPLES.glob("de_*.txt"))
    out = {}
    for (_label, parts), example in zip(ODD_NAMES.items(), examples, strict=False):
        data = example.read_bytes()
        out[write_at(inbox, parts, data)] = data
    assert len(out) == len(ODD_NAMES)
    return out


@pytest.fixture()
def inbox(tmp_path):
    path = tmp_path / "inbox"
    path.mkdir()
    yield path
    shutil.rmtree(path)  # by descriptor: paths beyond PATH_MAX are fine


# -- embedded: odd names through the commands ------------------------------------------
def test_odd_names_through_run_rejected_search_and_show(tmp_path, inbox):
    files = _odd_inbox(inbox)
    empty = write_at(inbox, [b"empty \xff\xfe\n.txt"], b"")
    db = tmp_path / "w.db"
    run = ["run", str(inbox), "--db", str(db), "--once", "--metrics-port", "0"]
    first = ww(*run, "--settle-seconds", "0")
    assert f"processed {len(files) + 1} file(s)" in first.stdout, first.stdout + first.stderr
    assert "1 rejected" in first.stdout
    shown_empty = display_path(empty)
    assert shown_empty.endswith("empty \\xff\\xfe\\n.txt")
    assert f"rejected {shown_empty}:" in first.stdout

    rejected = ww("rejected", "--db", str(db), "--json").stdout.splitlines()
    assert [json.loads(line)["path"] for line in rejected] == [shown_empty]
    table = ww("rejected", "--db", str(db)).stdout
    assert "empty \\xff\\xfe\\n.txt" in table and "1 rejected file(s)" in table

    store = SqliteStore(db)
    sources = {p for a in store.iter_articles() for p in a.sources}
    store.close()
    assert sources == {display_path(p) for p in files}
    latin1 = display_path(os.fsdecode(os.fsencode(inbox) + b"/caf\xe9.txt"))
    assert latin1.endswith("/caf\\xe9.txt")

    search = ww("search", "Huawei", "--db", str(db), "--json", "--limit", "100").stdout
    docs = [json.loads(line) for line in search.splitlines()]
    (doc,) = [d for d in docs if latin1 in d["sources"]]
    assert doc["source"]["path"] == latin1
    shown = ww("show", doc["id"], "--db", str(db)).stdout
    assert f"sources     {latin1}" in shown

    again = ww(*run, "--settle-seconds", "0")
    assert "processed 0 file(s)" in again.stdout, again.stdout + again.stderr


# -- embedded: files that change while they are read ------------------------------------
def _settings(tmp_path, inbox, **kw) -> EmbeddedSettings:
    return EmbeddedSettings(
        inbox=[inbox],
        db=tmp_path / "w.db",
        once=True,
        poll_interval=0.05,
        metrics_port=0,
        **{"settle_seconds": 0.3, **kw},
    )


def test_runner_leaves_a_file_that_grows_while_read_until_it_settles(
    tmp_path, inbox, enricher, caplog
):
    target = inbox / "growing.txt"
    target.write_text(ARTICLE, encoding="utf-8")
    (inbox / "other.txt").write_text(ARTICLE.replace("Danish", "Swedish"), encoding="utf-8")
    old = time.time() - 60  # settled by its age: reported on the first scan
    for p in inbox.iterdir():
        os.utime(p, (old, old))
    settings = _settings(tmp_path, inbox)
    store = SqliteStore(settings.db)
    runner = EmbeddedRunner(settings, store, enricher)
    appended = []

    def opener(path: str):
        fh = open_for_reading(path)
        if path == str(target) and not appended:  # the writer was not done
            with open(path, "a", encoding="utf-8") as w:
                w.write(REST)
            appended.append(path)
        return fh

    runner.opener = opener  # type: ignore[method-assign]
    from wirewatch import metrics

    def counted() -> float:
        got = metrics.REGISTRY.get_sample_value("wirewatch_files_changed_while_read_total")
        return got or 0.0

    before = counted()
    with caplog.at_level(logging.INFO, logger="wirewatch.run"):
        summary = runner.run()
    changed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("changed ")]
    assert len(changed) == 1 and "growing.txt" in changed[0] and "size" in changed[0]
    assert counted() - before == 1
    assert summary.files == 2 and summary.articles == 2
    bodies = {a.source.path.rsplit("/", 1)[1]: a.body for a in store.iter_articles()}
    assert "inspections start in the spring" in bodies["growing.txt"], "the whole file was stored"
    assert store.known_files([str(target)])[str(target)][0] == len(ARTICLE) + len(REST)


def test_runner_with_a_writer_thread_stores_only_the_complete_file(
    tmp_path, inbox, enricher, caplog
):
    """A real writer in another thread: it had paused longer than the settle time (so
    the file is reported) and resumes, a piece at a time, as the runner opens it."""
    target = inbox / "slow.txt"
    target.write_text(ARTICLE, encoding="utf-8")
    settings = _settings(tmp_path, inbox, settle_seconds=0.2)
    store = SqliteStore(settings.db)
    runner = EmbeddedRunner(settings, store, enricher)
    reading = threading.Event()
    resumed = threading.Event()

    def writer():
        reading.wait(30)
        with open(target, "a", encoding="utf-8") as w:
            for piece in re.findall(r".{1,16}", REST, re.S):
                w.write(piece)
                w.flush()
                time.sleep(0.01)
                resumed.set()

    def opener(path: str):
        fh = open_for_reading(path)
        if not reading.is_set():
            reading.set()
            resumed.wait(30)  # the reader is slow; the writer has written meanwhile
        return fh

    runner.opener = opener  # type: ignore[method-assign]
    thread = threading.Thread(target=writer)
    thread.start()
    with caplog.at_level(logging.INFO, logger="wirewatch.run"):
        summary = runner.run()
    thread.join(30)
    assert any(r.getMessage().startswith("changed ") for r in caplog.records)
    (article,) = list(store.iter_articles())
    assert summary.files == 1 and "inspections start in the spring" in article.body


# -- distributed watcher ----------------------------------------------------------------------
class ListPublisher:
    """``Publisher`` into a list."""

    def __init__(self):
        self.sent: list[tuple[str, bytes, bytes, list]] = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, key, value, headers))
        return len(self.sent) - 1

    def flush(self, timeout):
        return {}

    def close(self):
        pass


def _watcher(tmp_path, inbox, publisher, **kw):
    from wirewatch.settings import WatcherSettings
    from wirewatch.watcher.service import Watcher, WatcherState

    settings = WatcherSettings(
        inbox=[inbox], state=tmp_path / "watcher.db", poll_interval=0.05, **kw
    )
    return Watcher(settings, publisher, WatcherState(settings.state))


def _run_until(watcher, done, timeout=30.0) -> None:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop.set()
        thread.join(10)
    assert done(), "timed out"


def test_watcher_does_not_publish_a_file_that_grows_while_read(tmp_path, inbox, caplog):
    from wirewatch.core.models import RawArticle

    target = inbox / "growing.txt"
    target.write_text(ARTICLE, encoding="utf-8")
    old = time.time() - 60
    os.utime(target, (old, old))
    publisher = ListPublisher()
    watcher = _watcher(tmp_path, inbox, publisher, settle_seconds=0.3)
    appended = []

    def opener(path: str):
        fh = open_for_reading(path)
        if not appended:
            with open(path, "a", encoding="utf-8") as w:
                w.write(REST)
            appended.append(path)
        return fh

    watcher.opener = opener  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="wirewatch.watcher"):
        _run_until(watcher, lambda: publisher.sent)
    changed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("changed ")]
    assert len(changed) == 1 and "not published now" in changed[0]
    ((_topic, _key, value, _headers),) = publisher.sent
    assert RawArticle.model_validate_json(value).content().decode() == ARTICLE + REST


@pytest.mark.distributed
def test_watcher_publishes_odd_names_with_their_exact_bytes(
    tmp_path, inbox, kafka_bootstrap, namespace
):
    from kafka import KafkaConsumer
    from wirewatch.core.models import RawArticle
    from wirewatch.watcher.publisher import KafkaPublisher

    files = _odd_inbox(inbox)
    ww("topics", "create", "--kafka", kafka_bootstrap, "--namespace", namespace)
    kafka = {"bootstrap": kafka_bootstrap}
    publisher = KafkaPublisher({"bootstrap_servers": kafka_bootstrap})
    watcher = _watcher(
        tmp_path, inbox, publisher, settle_seconds=0, namespace=namespace, kafka=kafka
    )
    published = []

    def count(record):
        if record.getMessage().startswith("published "):
            published.append(record.getMessage())

    handler = logging.Handler()
    handler.emit = count  # type: ignore[method-assign]
    logging.getLogger("wirewatch.watcher").addHandler(handler)
    logging.getLogger("wirewatch.watcher").setLevel(logging.INFO)
    try:
        _run_until(watcher, lambda: len(published) >= len(files), timeout=60)
        watcher.state.close()
        # a restart publishes nothing again
        again = _watcher(
            tmp_path, inbox, publisher, settle_seconds=0, namespace=namespace, kafka=kafka
        )
        before = len(published)
        _run_until(again, lambda: again.ready.is_set())
        time.sleep(0.5)
        assert len(published) == before == len(files)
    finally:
        logging.getLogger("wirewatch.watcher").removeHandler(handler)
        publisher.close()

    consumer = KafkaConsumer(
        namespace + "wirewatch.articles.raw",
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    got = []
    deadline = time.monotonic() + 30
    try:
        while len(got) < len(files) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
    finally:
        consumer.close()
    assert len(got) == len(files)
    by_path = {dict(m.headers)["wirewatch-source-path"]: m for m in got}
    assert set(by_path) == {path_key(p) for p in files}
    for path, data in files.items():
        raw = RawArticle.model_validate_json(by_path[path_key(path)].value)
        assert raw.content() == data
        assert raw.source.path == display_path(path)
