"""kill -9 of any one service at a moment mid-stream, then its restart as a supervisor
would do, WITH THE SHIPPED DEFAULTS (no shortened session timeouts, the same metrics
port again): every article indexed exactly once, alerts once per (rule, article), and
no process the killed service started is left behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.integration import stack
from tests.integration.faults import FaultProxy
from tests.integration.test_distributed import (
    ARTICLES,
    Pipeline,
    closing_with_logs,
    make_inbox,
)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


class DefaultsPipeline(Pipeline):
    """The services with their defaults; each keeps its own metrics port across restarts."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.env.pop("WIREWATCH_BACKOFF_MAX", None)  # the shipped backoff, not the tests'
        self.ports: dict[str, str] = {}

    def start(self, name: str, *args: str, es: str | None = None) -> stack.Service:
        argv = {
            "watcher": ["watcher", "--inbox", str(self.inbox), "--state", str(self.tmp / "w.db")],
            "worker": ["worker"],
            "indexer": ["indexer", "--es", es or self.es],
        }[name]
        port = self.ports.setdefault(name, str(stack.free_port()))
        svc = stack.Service(name, [*argv, *args, "--metrics-port", port], self.logs, self.env)
        self.services.append(svc)
        return svc

    def start_feeds(self, config: Path) -> stack.Service:
        port = self.ports.setdefault("feeds", str(stack.free_port()))
        args = ["feeds", "--config", str(config), "--state", str(self.tmp / "feeds.db")]
        svc = stack.Service("feeds", [*args, "--metrics-port", port], self.logs, self.env)
        self.services.append(svc)
        return svc


@pytest.fixture()
def defaults_pipeline(tmp_path, kafka_bootstrap, es_url, namespace):
    with closing_with_logs(DefaultsPipeline(tmp_path, kafka_bootstrap, es_url, namespace)) as p:
        yield p


@pytest.mark.parametrize("victim", ["worker", "indexer", "watcher"])
def test_kill_9_and_restart_with_the_defaults(defaults_pipeline, victim: str) -> None:
    p = defaults_pipeline
    expected = make_inbox(p.tmp / "staging", 300)
    rules = str(stack.ROOT / "examples" / "rules.yaml")
    services = {
        "indexer": p.start("indexer", "--rules", rules),
        "worker": p.start("worker"),
        "watcher": p.start("watcher"),
    }
    paths = list(expected.values())
    for path in paths[:150]:
        path.rename(p.inbox / path.name)
    p.wait_indexed(30, timeout=240)

    svc = services[victim]
    assert svc.proc is not None
    children = stack.descendants(svc.proc.pid)
    svc.kill9()
    svc.start()  # at once, as a supervisor would
    restarted = time.monotonic()
    for path in paths[150:]:
        path.rename(p.inbox / path.name)
    p.wait_indexed(300, timeout=180)
    recovery = time.monotonic() - restarted
    print(f"{victim}: all 300 indexed {recovery:.1f} s after the restart")

    time.sleep(3)  # anything redelivered after the restart has landed by now
    ids = p.ids()
    assert len(ids) == len(set(ids)) == 300
    assert set(ids) == set(expected)

    stack.es_json(p.es, f"/{p.ns}wirewatch-alerts/_refresh", {})
    indexed_alerts = stack.es_json(
        p.es, f"/{p.ns}wirewatch-alerts/_search", {"size": 10000, "_source": ["kind"]}
    )["hits"]["hits"]
    alert_ids = [h["_id"] for h in indexed_alerts]
    assert len(alert_ids) == len(set(alert_ids)), "an alert fired twice"
    # every (rule, article) is recorded once; each story's first alert, and the updates
    # that carry news, are published - later articles of a story join it silently
    firsts = {h["_id"] for h in indexed_alerts if (h.get("_source") or {}).get("kind") == "alert"}
    alerts = p.consume_all("wirewatch.alerts", want={f.encode() for f in firsts})
    keys = [m.key for m in alerts]
    assert alerts and all(json.loads(m.value)["alert_id"] == m.key.decode() for m in alerts)
    published = {k.decode() for k in keys}
    assert firsts <= published <= set(alert_ids), (firsts - published, published - set(alert_ids))

    assert not stack.survivors(children, 20), f"orphans of the killed {victim}"
    assert svc.runs == 2 and svc.alive()
    assert f"{p.ns}{ARTICLES}"  # the namespace the figures above came from

    every_child = set()
    for s in p.services:
        if s.alive() and s.proc is not None:
            every_child |= stack.descendants(s.proc.pid)
    p.close()
    assert not stack.survivors(every_child, 20), "processes left after a clean stop"


def _metric(port: str, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_elasticsearch_unreachable_for_30_s_with_the_defaults(defaults_pipeline) -> None:
    p = defaults_pipeline
    expected = make_inbox(p.tmp / "staging", 200)
    with FaultProxy(p.es) as proxy:
        indexer = p.start("indexer", es=proxy.url)
        stack.wait_for(
            lambda: "templates installed" in indexer.logfile.read_text(), 60, "the indexer"
        )
        p.start("worker")
        p.start("watcher")
        paths = list(expected.values())
        for path in paths[:100]:
            path.rename(p.inbox / path.name)
        p.wait_indexed(30, timeout=240)
        proxy.fail(["reset"])  # Elasticsearch unreachable
        down = time.monotonic()
        for path in paths[100:]:
            path.rename(p.inbox / path.name)
        port = p.ports["indexer"]
        stack.wait_for(
            lambda: _metric(port, "wirewatch_indexer_retries_total") > 0,
            30,
            "the indexer's retries to show in its metrics",
        )
        time.sleep(max(0.0, 30 - (time.monotonic() - down)))
        assert indexer.alive(), "the indexer must back off, not crash"
        stuck = len(set(p.ids()))
        assert stuck < 200, "nothing can be indexed while Elasticsearch is unreachable"
        proxy.heal()
        healed = time.monotonic()
        p.wait_indexed(200, timeout=180)
        print(f"Elasticsearch back: all 200 indexed {time.monotonic() - healed:.1f} s later")
    time.sleep(3)
    ids = p.ids()
    assert len(ids) == len(set(ids)) == 200 and set(ids) == set(expected)
    assert indexer.runs == 1 and indexer.alive()


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    from xml.sax.saxutils import escape

    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<description>{escape(text)}</description></item>"
        for t, link, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Chaos wire</title><link>http://example.invalid/</link>{body}</channel></rss>"
    ).encode()


def test_kill_9_of_the_feeds_service_with_the_defaults(defaults_pipeline) -> None:
    from tests.integration.feed_server import FeedServer

    p = defaults_pipeline
    items = []
    for k in range(60):
        vendor = ("Huawei", "Ericsson", "Nokia", "ZTE")[k % 4]
        items.append(
            (
                f"Operator {k} signs network contract with {vendor}",
                f"http://example.invalid/item/{k}",
                f"Telecom operator number {k} signed a contract with {vendor} to build its 5G "
                f"network, the company said on day {k}. The deal covers radio equipment.",
            )
        )
    with FeedServer() as server:
        server.put("/wire.xml", _rss(items[:30]))
        config = p.tmp / "feeds.yaml"
        config.write_text(
            f"feeds:\n  - url: {server.url('/wire.xml')}\n    name: wire\n    interval: 2s\n",
            encoding="utf-8",
        )
        p.start("indexer")
        p.start("worker")
        feeds = p.start_feeds(config)
        p.wait_indexed(30, timeout=240)
        assert feeds.proc is not None
        children = stack.descendants(feeds.proc.pid)
        feeds.kill9()
        server.put("/wire.xml", _rss(items))  # 30 new items while it is down
        feeds.start()
        restarted = time.monotonic()
        p.wait_indexed(60, timeout=180)
        print(f"feeds: all 60 indexed {time.monotonic() - restarted:.1f} s after the restart")
        time.sleep(5)  # a few more polls: nothing is published twice
    ids = p.ids()
    assert len(ids) == len(set(ids)) == 60
    raw = p.consume_all("wirewatch.articles.raw")
    links = [dict(m.headers).get("wirewatch-source-path") for m in raw]
    assert len(raw) == 60, f"{len(raw)} messages for 60 items: something was published twice"
    assert len(set(links)) == 60
    assert not stack.survivors(children, 0), "orphans of the killed feeds service"
