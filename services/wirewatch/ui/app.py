"""The Starlette application: pages, the live fragment, error pages and security headers."""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from babel import Locale
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wirewatch import __version__
from wirewatch.core.alerts import AlertRule, webhook_origin
from wirewatch.core.models import EVENT_STATUSES, EVENT_TYPES
from wirewatch.embedded.store import sqlite_query
from wirewatch.ui import chart, data, highlight, queries
from wirewatch.ui.queries import DATE_PREFIX, FACET_NAMES, Filters, StoreUnavailable

log = logging.getLogger("wirewatch.ui")

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 20
MAX_PAGE = 500
MAX_VALUE_CHARS = 200

FACET_TITLES = {
    "type": "Event type",
    "status": "Status",
    "vendor": "Vendor",
    "operator": "Operator",
    "country": "Country",
    "language": "Language",
    "source": "Source",
    "date": "Date",
    "min_relevance": "Relevance at least",
}

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds the security headers to every response, error pages included (it wraps the
    whole application, outside Starlette's own error handling)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class BadRequest(Exception):
    """A parameter the UI cannot use; the message names it and what it accepts."""


# -- request state ---------------------------------------------------------------------
@dataclass(frozen=True)
class State:
    """What a search page shows: the query, the facet selections, the sort and the page;
    ``url`` builds links that keep all of it but what they change."""

    q: str = ""
    filters: Filters = Filters()
    sort: str = "relevance"
    page: int = 1

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        values: dict[str, Any] = {"q": self.q, "sort": self.sort, "page": self.page}
        values.update(dict(self.filters.items()))
        values.update(changes)
        out = []
        for key in ("q", *FACET_NAMES, "date", "min_relevance", "sort", "page"):
            value = values.get(key)
            if value is None or value == "":
                continue
            if key == "sort" and value == "relevance":
                continue
            if key == "page" and int(value) == 1:
                continue
            out.append((key, str(value)))
        return out

    def url(self, path: str = "/", **changes: Any) -> str:
        """``path`` with this state's parameters; a facet change goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        query = urlencode(self.params(**changes))
        return path + ("?" + query if query else "")

    def without(self, name: str, path: str = "/") -> str:
        """This state's link without the selection ``name``."""
        return self.url(path, **{name: None})

    def narrowed(self, name: str, value: str, path: str = "/") -> str:
        """This state's link with ``name`` set to ``value``."""
        return self.url(path, **{name: value})

    def selected(self, name: str) -> str | None:
        value = getattr(self.filters, name)
        return None if value is None else str(value)


def _one(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_VALUE_CHARS:
        raise BadRequest(f"{name}: at most {MAX_VALUE_CHARS} characters")
    return value or None


def parse_state(request: Request) -> State:
    """The search state from the query string; BadRequest for values the UI cannot use."""
    q = (request.query_params.get("q") or "").strip()
    type_ = _one(request, "type")
    if type_ is not None and type_ not in EVENT_TYPES:
        raise BadRequest(f"type: {type_!r} is not an event type ({', '.join(EVENT_TYPES)})")
    status = _one(request, "status")
    if status is not None and status not in EVENT_STATUSES:
        raise BadRequest(f"status: {status!r} is not a status ({', '.join(EVENT_STATUSES)})")
    date = _one(request, "date")
    if date is not None and not DATE_PREFIX.match(date):
        raise BadRequest(f"date: {date!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    min_relevance = None
    raw = _one(request, "min_relevance")
    if raw is not None:
        try:
            min_relevance = float(raw)
        except ValueError:
            min_relevance = math.nan
        if not 0.0 <= min_relevance <= 1.0:
            raise BadRequest(f"min_relevance: {raw!r} is not a number between 0 and 1")
    sort = _one(request, "sort") or "relevance"
    if sort not in ("relevance", "newest"):
        raise BadRequest(f"sort: {sort!r} is not 'relevance' or 'newest'")
    raw_page = _one(request, "page") or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise BadRequest(f"page: {raw_page!r} is not a page number (1 to {MAX_PAGE})")
    language = _one(request, "language")
    country = _one(request, "country")
    filters = Filters(
        type=type_,
        status=status,
        vendor=_one(request, "vendor"),
        operator=_one(request, "operator"),
        country=country.upper() if country else None,
        language=language.lower() if language else None,
        source=_one(request, "source"),
        date=date,
        min_relevance=min_relevance,
    )
    return State(q=q, filters=filters, sort=sort, page=int(raw_page))


# -- names for codes ---------------------------------------------------------------------
_EN = Locale("en")


def language_name(code: str) -> str:
    name = _EN.languages.get(code)
    return f"{name} ({code})" if name else code


def country_name(code: str) -> str:
    name = _EN.territories.get(code)
    return f"{name} ({code})" if name else code


def facet_label(name: str, value: str) -> str:
    if name == "language":
        return language_name(value)
    if name == "country":
        return country_name(value)
    return value


# -- the application -----------------------------------------------------------------------
def create_app(
    db: Path,
    rules: Sequence[AlertRule] | None = None,
    rules_path: Path | None = None,
    allowed_hosts: Sequence[str] | None = None,
    duplicate_threshold: float | None = None,
) -> ASGIApp:
    """The UI over the database at ``db`` (opened read-only for each request; it may not
    exist yet). ``rules``: the alert rules to list on the alerts page. ``allowed_hosts``:
    Host header values to accept (loopback names when serving on loopback), None for any."""
    db = Path(db)
    if duplicate_threshold is None:
        from wirewatch.settings import CoreSettings

        duplicate_threshold = CoreSettings().duplicate_threshold
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        version=__version__,
        facet_titles=FACET_TITLES,
        facet_names=FACET_NAMES,
        facet_label=facet_label,
        language_name=language_name,
        country_name=country_name,
        marked=data.marked,
        event_types=EVENT_TYPES,
        webhook_origin=webhook_origin,
        db_path=str(db),
    )
    templates = Jinja2Templates(env=env)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("nav", "")
        return templates.TemplateResponse(request, name, context, status_code=status)

    @contextmanager
    def connection() -> Iterator[sqlite3.Connection]:
        conn = queries.connect(db)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise queries.unavailable(db, exc) from exc
            raise
        finally:
            conn.close()

    def search_page(request: Request) -> Response:
        state = parse_state(request)
        query = data.combined(data.parse(state.q), state.filters)
        offset = (state.page - 1) * PAGE_SIZE
        with connection() as conn:
            sq = sqlite_query(conn, query)
            result = data.search(
                conn, db, query, state.filters, limit=PAGE_SIZE, offset=offset, sort=state.sort
            )
            facet_values = queries.facets(conn, sq, state.filters)
            timeline = queries.timeline(conn, sq, state.filters)
            totals = queries.totals(conn)
        pages = max(1, math.ceil(result.total / PAGE_SIZE))
        if state.page > pages:
            raise HTTPException(
                404, f"no page {state.page}: these results have {pages} page{'s' * (pages > 1)}"
            )
        return page(
            request,
            "search.html",
            nav="search",
            state=state,
            result=result,
            first=offset + 1 if result.hits else 0,
            last=offset + len(result.hits),
            pages=pages,
            page_numbers=_page_numbers(state.page, pages),
            facets=facet_values,
            chart=chart.layout(timeline),
            timeline=timeline,
            totals=totals,
        )

    def timeline_page(request: Request) -> Response:
        state = parse_state(request)
        with connection() as conn:
            sq = sqlite_query(conn, data.combined(data.parse(state.q), state.filters))
            timeline = queries.timeline(conn, sq, state.filters)
        return page(
            request,
            "timeline.html",
            nav="timeline",
            state=state,
            timeline=timeline,
            chart=chart.layout(timeline),
        )

    def article_page(request: Request) -> Response:
        article_id = request.path_params["id"]
        if not article_id.isalnum() or len(article_id) > 64:
            raise HTTPException(404, f"no article with id {article_id!r}")
        with connection() as conn:
            article = queries.article(conn, article_id)
            if article is None:
                raise HTTPException(404, f"no article with id {article_id!r} in {db}")
            repeats = (
                queries.brief(conn, article.near_duplicate_of)
                if article.near_duplicate_of
                else None
            )
            repeated_by = queries.near_duplicates(conn, article.id)
            story_id = article.story_id or article.id
            story = [b for b in queries.story_articles(conn, story_id) if b.id != article.id]
        evidence = highlight.evidence_list(article)
        paragraphs = highlight.paragraphs(article.body, evidence)
        anchors = {
            n: [ev for ev in evidence if n in ev.events] for n in range(1, len(article.events) + 1)
        }
        return page(
            request,
            "article.html",
            state=State(),
            article=article,
            paragraphs=paragraphs,
            evidence=evidence,
            anchors=anchors,
            repeats=repeats,
            repeated_by=repeated_by,
            repeats_id=article.near_duplicate_of,
            story_id=story_id,
            story=story,
        )

    def stories_page(request: Request) -> Response:
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise HTTPException(400, "page: a whole number, 1 or more") from None
        per_page = 30
        with connection() as conn:
            total, listed = queries.stories(conn, per_page, (number - 1) * per_page)
        pages = max(1, -(-total // per_page))
        if number > pages:
            raise HTTPException(404, f"no page {number}: there are {pages} page(s) of stories")
        return page(
            request,
            "stories.html",
            state=State(),
            nav="stories",
            stories=listed,
            total=total,
            number=number,
            pages=pages,
        )

    def story_page(request: Request) -> Response:
        story_id = request.path_params["id"]
        if not story_id.isalnum() or len(story_id) > 64:
            raise HTTPException(404, f"no story with id {story_id!r}")
        with connection() as conn:
            members = queries.story_articles(conn, story_id)
        if not members:
            raise HTTPException(404, f"no story with id {story_id!r} in {db}")
        return page(
            request,
            "story.html",
            state=State(),
            nav="stories",
            story_id=story_id,
            members=members,
            languages=sorted({m.language for m in members}),
        )

    def alerts_page(request: Request) -> Response:
        since = _day_param(request, "since")
        until = _day_param(request, "until")
        asked = "since" in request.query_params or "until" in request.query_params
        backtest = None
        with connection() as conn:
            store = data.readonly_store(conn, db)
            fired = store.alerts(100)
            per_rule = queries.rule_names(conn)
            if asked and rules:
                from wirewatch.embedded.ledger import SqliteStories
                from wirewatch.pipeline.backtest import per_rule_and_day, replay

                articles = store.articles_between(since, until)
                found = replay(list(rules), articles, SqliteStories(store), duplicate_threshold)
                backtest = (len(articles), per_rule_and_day(found))
        return page(
            request,
            "alerts.html",
            nav="alerts",
            rules=list(rules or []),
            rules_path=str(rules_path) if rules_path else None,
            fired=fired,
            per_rule=per_rule,
            since=request.query_params.get("since", ""),
            until=request.query_params.get("until", ""),
            backtest=backtest,
        )

    def live_state(conn: sqlite3.Connection) -> tuple[str, list[queries.Brief], dict[str, int]]:
        newest = queries.newest(conn, 50)
        totals = queries.totals(conn)
        stamp = conn.execute("SELECT max(first_seen), max(updated_at) FROM articles").fetchone()
        version = f"{totals['articles']}.{totals['events']}.{stamp[0] or ''}.{stamp[1] or ''}"
        return version, newest, totals

    def live_page(request: Request) -> Response:
        with connection() as conn:
            version, newest, totals = live_state(conn)
        seen = str(max((b.rowid for b in newest), default=0))
        return page(
            request,
            "live.html",
            nav="live",
            live_version=version,
            newest=newest,
            totals=totals,
            seen=seen,
            fresh=int(seen),
        )

    def live_fragment(request: Request) -> Response:
        with connection() as conn:
            version, newest, totals = live_state(conn)
        if request.query_params.get("v") == version:
            return Response(status_code=204)  # htmx keeps the list as it is
        try:  # articles stored after the last list the page showed are new
            fresh = int(request.query_params.get("seen") or 0)
        except ValueError:
            fresh = 0
        seen = str(max((b.rowid for b in newest), default=0))
        return page(
            request,
            "_live.html",
            live_version=version,
            newest=newest,
            totals=totals,
            seen=seen,
            fresh=fresh,
        )

    def healthz(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    # -- errors ----------------------------------------------------------------------
    def error_page(request: Request, status: int, title: str, message: str) -> Response:
        response = page(
            request,
            "error.html",
            status=status,
            state=_safe_state(request),
            title=title,
            message=message,
            code=status,
        )
        if status == 503:
            response.headers["retry-after"] = "5"
        return response

    def on_query_error(request: Request, exc: Exception) -> Response:
        return error_page(request, 400, "This query cannot be run", str(exc))

    def on_bad_request(request: Request, exc: Exception) -> Response:
        return error_page(request, 400, "Bad request", str(exc))

    def on_unavailable(request: Request, exc: Exception) -> Response:
        return error_page(request, 503, "The database is not available", str(exc))

    def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = exc.detail if exc.detail != "Not Found" else f"nothing at {request.url.path}"
            return error_page(request, 404, "Not found", message)
        return error_page(request, exc.status_code, "Request refused", str(exc.detail))

    def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("ui: %s %s failed", request.method, request.url.path)
        return error_page(
            request,
            500,
            "Something went wrong",
            "The page could not be built; the server log has the details.",
        )

    routes = [
        Route("/", search_page, name="search"),
        Route("/search", search_page),
        Route("/timeline", timeline_page, name="timeline"),
        Route("/article/{id}", article_page, name="article"),
        Route("/alerts", alerts_page, name="alerts"),
        Route("/stories", stories_page, name="stories"),
        Route("/story/{id}", story_page, name="story"),
        Route("/live", live_page, name="live"),
        Route("/live/list", live_fragment, name="live_list"),
        Route("/healthz", healthz),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = []
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            data.QueryError: on_query_error,
            BadRequest: on_bad_request,
            StoreUnavailable: on_unavailable,
            HTTPException: on_http,
            Exception: on_crash,
        },
    )
    return SecurityHeaders(app)


def _day_param(request: Request, name: str) -> str | None:
    """A YYYY, YYYY-MM or YYYY-MM-DD bound of the backtest form (400 otherwise)."""
    value = (request.query_params.get(name) or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?", value):
        raise HTTPException(400, f"{name}: {value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return value


def _safe_state(request: Request) -> State:
    """The state to refill the search form of an error page (empty when it is the error)."""
    try:
        return parse_state(request)
    except BadRequest:
        return State(q=(request.query_params.get("q") or "")[:MAX_VALUE_CHARS])


def _page_numbers(current: int, pages: int) -> list[int | None]:
    """Page links: the first, the last and two either side of the current; None is a gap."""
    wanted = {1, pages, *range(current - 2, current + 3)}
    out: list[int | None] = []
    previous = 0
    for n in sorted(p for p in wanted if 1 <= p <= pages):
        if previous and n - previous > 1:
            out.append(None)
        out.append(n)
        previous = n
    return out


def loopback_hosts(host: str) -> list[str] | None:
    """Host headers to accept when serving on ``host``: on loopback only the loopback
    names (a page elsewhere cannot reach the UI by a DNS name pointed at 127.0.0.1)."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return ["127.0.0.1", "localhost", "::1", "[::1]"]
    return None
