"""A feed server on loopback for the feed tests: http.server in a thread.

Serves ``docs[path]`` with an ETag and Last-Modified, answers conditional requests
with 304, and can be told to fail (``fail[path] = status`` or ``"garbage"``).
Records every request's path, status and headers.
"""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS_DIR = Path(__file__).resolve().parents[1] / "data" / "feeds"


class FeedServer:
    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {}
        self.modified: dict[str, str] = {}
        self.fail: dict[str, int | str] = {}
        self.requests: list[tuple[str, int, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server.answer(self)

            def send_response(self, code: int, message: str | None = None) -> None:
                # logged before the answer goes out (send_error comes here too): the
                # client may look at ``requests`` as soon as it has read the answer
                server.requests.append((self.path, code, dict(self.headers.items())))
                super().send_response(code, message)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def put(self, path: str, body: bytes) -> None:
        self.docs[path] = body
        self.modified[path] = formatdate(usegmt=True)

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        failure = self.fail.get(h.path)
        if failure == "garbage":
            body = b"\x00\x01 this is not a feed <html><body>oops"
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        if isinstance(failure, int):
            h.send_error(failure)
            return
        body = self.docs.get(h.path)
        if body is None:
            h.send_error(404)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/xml; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("ETag", etag)
        h.send_header("Last-Modified", self.modified[h.path])
        h.end_headers()
        h.wfile.write(body)


def feed_doc(name: str) -> bytes:
    return (FEEDS_DIR / name).read_bytes()


def add_rss2_item(doc: bytes, guid: str, title: str, html: str, date: str) -> bytes:
    """The RSS 2.0 document with one more item on top (feeds list the newest first)."""
    item = (
        f"<item><title>{title}</title><link>http://feeds.test/nl/artikel/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>'
        f"<description><![CDATA[{html}]]></description></item>"
    )
    text = doc.decode("utf-8")
    at = text.index("<item>")
    return (text[:at] + item + "\n    " + text[at:]).encode("utf-8")
