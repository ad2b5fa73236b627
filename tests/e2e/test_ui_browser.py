"""The web UI in a real headless Chromium (Playwright), served by `wirewatch ui` and by
`wirewatch run --ui` as subprocesses over a store the pipeline wrote. Screenshots of the
main pages go to $WIREWATCH_SCREENSHOTS (default tests/artifacts/screenshots/)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, ww

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("WIREWATCH_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
SHOTS = Path(
    os.environ.get("WIREWATCH_SCREENSHOTS") or ROOT / "tests" / "artifacts" / "screenshots"
)


def _need(ok: bool, reason: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

# An article of our own with markup and scripts in its title and body.
HOSTILE = """<script>alert("title")</script> Regulator bans <b>Huawei</b> gear from 5G core

The telecom regulator of Ruritania said on Tuesday 3 March 2021 that it bans Huawei equipment from the core of every 5G network, citing a risk of espionage. <script>document.title="owned"</script> Operators get three years to remove the equipment, the regulator said. <img src=x onerror="document.title='img'"> Vodafone said it would comply.
"""

LATE = """Regulator in Freedonia orders operators to drop ZTE radio gear

The telecom regulator of Freedonia said on Monday 5 July 2021 that it bans ZTE equipment from every mobile network, citing a risk of espionage. Operators have two years to replace the radios.
"""


class Served:
    """A `wirewatch` subprocess that serves the UI; the URL is read from its log."""

    def __init__(self, *args: str, cwd: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wirewatch", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        found: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"(?:ui|web UI) on (http://\S+/)", line)
                if m:
                    found.put(m.group(1))

        threading.Thread(target=read, daemon=True).start()
        try:
            self.url = found.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise AssertionError("the UI did not start:\n" + "".join(self.lines)) from None
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _need(sync_playwright is not None, "playwright is not installed (pip install -e '.[test]')")
    _need(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("ui-browser")
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "en_html_script.txt").write_text(HOSTILE, encoding="utf-8")
    db = tmp / "w.db"
    rules = ROOT / "examples" / "rules.yaml"
    ww(
        "run",
        str(EXAMPLES),
        "--once",
        "--db",
        str(db),
        "--metrics-port",
        "0",
        "--rules",
        str(rules),
    )
    ww("run", str(extra), "--once", "--db", str(db), "--metrics-port", "0", "--rules", str(rules))
    server = Served("ui", "--db", str(db), "--port", "0", "--rules", str(rules), cwd=tmp)
    try:
        yield server
    finally:
        assert server.stop() == 0, "".join(server.lines)


def watched_page(browser: Browser, width: int = 1280, height: int = 900) -> tuple[Page, list[str]]:
    """A page that records console errors, CSP violations and dialogs (an alert() from
    article text would be one)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def on_dialog(d):  # noqa: ANN001
        problems.append(f"dialog: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    return page, problems


def test_search_facet_article_and_screenshots(browser: Browser, served: Served) -> None:
    page, problems = watched_page(browser)
    page.goto(served.url)
    # keyboard: the first Tab reaches the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    page.get_by_label("Search articles").fill("ericsson")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=ericsson"))
    heading = page.locator("#results-h").inner_text()
    m = re.search(r"1–(\d+) of (\d+) articles", heading)
    assert m, heading
    before = int(m.group(2))
    assert page.locator("mark").count() > 0, "query hits are highlighted in the snippets"
    page.screenshot(path=str(SHOTS / "ui-search.png"), full_page=False)

    # keyboard only: Tab from the search box reaches the first facet, Enter follows it
    page.get_by_label("Search articles").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('facet-value')"):
            break
    else:
        raise AssertionError("Tab never reached a facet")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"type="))
    assert page.get_by_label(re.compile(r"^Remove Event type: ")).is_visible()
    page.goto(served.url + "?q=ericsson")

    # a facet narrows the results to its count
    vendor = page.locator("#f-vendor ~ ul a.facet-value").first
    label = vendor.get_attribute("aria-label") or ""
    name, count = re.match(r"(.+), (\d+) articles?", label).groups()  # type: ignore[union-attr]
    vendor.click()
    page.wait_for_url(re.compile(r"vendor="))
    heading = page.locator("#results-h").inner_text()
    assert re.search(rf"of {count} article", heading), heading
    assert int(count) <= before
    assert page.get_by_label(f"Remove Vendor: {name}").is_visible()

    # the article with markup: shown as text, its evidence highlighted (a new search
    # keeps the selected facets: clear them first)
    page.get_by_role("link", name="Clear all").click()
    page.wait_for_url(re.compile(r"^(?!.*vendor=)"))
    page.get_by_label("Search articles").fill("Ruritania")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=Ruritania"))
    page.locator("ol.hits h3 a").first.click()
    page.wait_for_url(re.compile(r"/article/"))
    assert page.locator("h1").inner_text().startswith('<script>alert("title")</script>')
    evidence = page.locator("mark.evidence")
    assert evidence.count() >= 1
    assert '<script>document.title="owned"</script>' in evidence.first.inner_text()
    assert page.locator("main script, main img, main b").count() == 0
    assert page.title().endswith("· wirewatch") and "owned" not in page.title()
    # the event's quote links to the highlighted sentence
    page.locator("blockquote.quote a").first.click()
    assert page.evaluate("location.hash").startswith("#ev-")
    page.screenshot(path=str(SHOTS / "ui-article.png"), full_page=True)

    # the timeline: a click on a bar narrows to its date
    page.goto(served.url + "timeline")
    bars = page.locator("svg.chart a.bar")
    assert bars.count() > 3
    page.screenshot(path=str(SHOTS / "ui-timeline.png"), full_page=True)
    bars.first.click()
    page.wait_for_url(re.compile(r"date=\d{4}"))
    assert page.locator("svg.chart a.bar").count() >= 1

    page.goto(served.url + "alerts")
    assert page.locator("text=vendor-ban-europe").first.is_visible()
    page.screenshot(path=str(SHOTS / "ui-alerts.png"), full_page=True)

    assert problems == [], problems

    # a malformed query: a 400 page with the parser's message, no trace
    response = page.goto(served.url + "?q=%28%28")
    assert response is not None and response.status == 400
    assert "parenthesis" in page.locator(".error .message").inner_text()


def test_phone_layout_has_no_sideways_scroll(browser: Browser, served: Served) -> None:
    page, problems = watched_page(browser, 390, 844)
    for path, shot in (("?q=huawei", "ui-search-phone.png"), ("timeline", None)):
        page.goto(served.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        if shot:
            page.screenshot(path=str(SHOTS / shot), full_page=False)
    assert problems == [], problems


def test_search_works_without_javascript(browser: Browser, served: Served) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(served.url)
    page.get_by_label("Search articles").fill("ericsson")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=ericsson"))
    assert page.locator("ol.hits li").count() > 0
    page.locator("ol.hits h3 a").first.click()
    page.wait_for_url(re.compile(r"/article/"))
    assert page.locator("h2#text-h").is_visible()
    context.close()


def test_live_list_follows_run_without_reload(browser: Browser, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in sorted(EXAMPLES.glob("en_0[1-3]*.txt")):
        shutil.copy(p, inbox / p.name)
    run = Served(
        "run",
        str(inbox),
        "--db",
        str(tmp_path / "live.db"),
        "--metrics-port",
        "0",
        "--ui",
        "--ui-port",
        "0",
        "--poll-interval",
        "0.2",
        "--settle-seconds",
        "0.2",
        cwd=tmp_path,
    )
    try:
        page, problems = watched_page(browser)
        page.goto(run.url + "live")
        # a locator wait, not wait_for_function: the page's CSP forbids the eval that
        # polling a JavaScript expression needs once it is not true at the first look
        page.locator(".live-list li").nth(3).wait_for(timeout=30_000)
        page.evaluate("window.__sameDocument = true")
        (inbox / "en_late.txt").write_text(LATE, encoding="utf-8")
        page.locator(".live-list li", has_text="Freedonia").wait_for(timeout=30_000)
        assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        assert page.locator(".live-list li.new", has_text="Freedonia").count() == 1
        page.screenshot(path=str(SHOTS / "ui-live.png"), full_page=False)
        assert problems == [], problems
    finally:
        code = run.stop()
    assert code == 0, "".join(run.lines)


def test_ui_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = ww("ui", "--db", str(tmp_path / "w.db"), "--port", str(port), check=False)
    assert proc.returncode == 2
    assert f"127.0.0.1:{port} is not available" in proc.stderr and "Traceback" not in proc.stderr
