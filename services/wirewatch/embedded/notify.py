"""Alert delivery off the ingestion path: one worker thread per channel.

Each immediate delivery - to a rule's own ``{webhook: URL}`` or to a declared
``{channel: NAME}`` (Slack, Teams, e-mail, signed webhook; see docs/CHANNELS.md) - is
stored as ``pending`` in the same transaction that records the alert, then sent and
retried with exponential backoff by the worker of its channel; the outcome
(``delivered`` / ``failed`` with the reason) is stored and visible in ``wirewatch
alerts``. Pending deliveries left by a stopped run are sent on the next start. The
pipeline never waits for a channel, and a slow or failing channel never holds up
another: each has its own queue and thread. Digests (``embedded/digests.py``) go
through the same workers.

Every generic webhook post is signed (``X-Wirewatch-Signature-256: sha256=<hex>``,
HMAC-SHA256 of the exact body with the configured secret) and checked against the
allow-list again at send time. One attempt has one deadline (``timeout``) for
connecting, sending, any same-origin 307/308 redirects and the response; other
redirects are refused, and at most ``max_response_bytes`` of a response body are read.
Webhooks, Slack and Teams messages go through one httpx client (no redirects followed
by it, no proxy variables, no cookies) to allow-listed hosts only; e-mail through SMTP
with STARTTLS (required, certificate verified). Logs and recorded errors name a target
by its channel name and ``scheme://host:port`` only: webhook paths and queries, Slack
and Teams URLs and SMTP passwords are secrets. See docs/WEBHOOKS.md and docs/CHANNELS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import queue
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

import httpx

from wirewatch import __version__, metrics
from wirewatch.core import alerts, channels
from wirewatch.core.channels import Channel, Period

if TYPE_CHECKING:
    from wirewatch.core.alerts import AlertRule, WebhookTarget
    from wirewatch.settings import WebhookSettings

log = logging.getLogger("wirewatch.alerts")
# httpx logs each request's full URL at INFO; a Slack or Teams URL is a secret
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

SIGNATURE_HEADER = "X-Wirewatch-Signature-256"
ALERT_ID_HEADER = "X-Wirewatch-Alert-Id"
USER_AGENT = f"wirewatch/{__version__}"
_FOLLOWED = (307, 308)  # re-send the same POST
_NOT_FOLLOWED = (301, 302, 303)  # clients turn these into a GET
_UNSAFE_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")
WEBHOOK = "webhook"  # the worker (and metric label) of the rules' own webhook URLs


class DeliveryLog(Protocol):
    """Where deliveries are recorded: the SQLite store, or the alerts index."""

    def pending_deliveries(self) -> list[tuple[str, str, str, dict]]: ...

    def set_delivery(
        self, rule: str, article_id: str, target: str, status: str, attempts: int, error: str | None
    ) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Wirewatch-Signature-256`` value of ``body``: ``sha256=`` + lowercase hex."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def alert_id_header(alert_id: str) -> str:
    """The alert id as a header value: ``%`` and anything outside printable ASCII
    percent-encoded (UTF-8), the rest as it is; ``urllib.parse.unquote`` gives it back."""
    return quote(alert_id, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%"))


# -- channels and their secrets ------------------------------------------------------


def load_channel_file(settings: WebhookSettings) -> dict[str, Channel]:
    """The channels of ``WIREWATCH_WEBHOOKS__CHANNELS_FILE`` (none when it is unset).

    Raises ``SettingsError`` (exit code 2) for an unreadable or invalid file."""
    from wirewatch.settings import SettingsError

    path = settings.channels_file
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot read the channels file (WIREWATCH_WEBHOOKS__CHANNELS_FILE): "
            f"{exc.strerror or exc}"
        ) from None
    try:
        return channels.load_channels(text, str(path))
    except channels.ChannelFileError as exc:
        raise SettingsError(f"invalid channels file:\n{exc}") from None


@dataclass(frozen=True)
class Secrets:
    """What a channel's declaration points to: its URL, or its SMTP password."""

    url: str | None = None
    password: str | None = None


def resolve_secrets(name: str, channel: Channel, environ: Mapping[str, str]) -> Secrets:
    """Read the URL or password a channel names (environment variable or file).

    Raises ``ValueError`` naming the channel and the variable or file - never a value."""

    def read(var: str | None, path: Path | None, what: str) -> str | None:
        if var is not None:
            value = environ.get(var, "").strip()
            if not value:
                raise ValueError(f"channel {name!r}: the {what} variable {var} is not set")
            return value
        if path is not None:
            try:
                value = Path(path).read_text(encoding="utf-8").removesuffix("\n").strip()
            except OSError as exc:
                raise ValueError(
                    f"channel {name!r}: cannot read the {what} file {path}: {exc.strerror or exc}"
                ) from None
            if not value:
                raise ValueError(f"channel {name!r}: the {what} file {path} is empty")
            return value
        return None

    url = channel.url or read(channel.url_env, channel.url_file, "URL")
    password = read(channel.password_env, channel.password_file, "password")
    return Secrets(url, password)


def check_webhooks(
    rules: Sequence[AlertRule],
    source: str | Path,
    settings: WebhookSettings,
    digests: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Channel]:
    """Refuse to start when ``rules`` notify in a way the settings do not allow.

    Raises ``SettingsError`` (exit code 2) naming the rules file, each rule, the
    target's host and port or the channel and what to set: webhook URLs off the
    allow-list or without a signing secret, unknown channels (with the closest
    declared name), channel URLs or passwords not set, and digests where they are not
    sent (``digests=False``: the distributed indexer sends alerts immediately only).
    Returns the declared channels.
    """
    from wirewatch.settings import SettingsError

    declared = load_channel_file(settings)
    env = os.environ if environ is None else environ
    problems = alerts.webhook_problems(
        rules, str(source), settings.allowed_hosts, _secret(settings) is not None
    )
    problems += alerts.channel_problems(rules, str(source), list(declared))
    used = {n.channel for r in rules for n in r.notify if n.channel in declared}
    for name in sorted(used):
        channel = declared[name]
        try:
            url = resolve_secrets(name, channel, env).url
        except ValueError as exc:
            problems.append(f"{settings.channels_file}: {exc}")
            continue
        if url is not None:
            refusal = alerts.webhook_refusal(url, settings.allowed_hosts)
            if refusal is not None:
                problems.append(f"{settings.channels_file}: channel {name!r}: {refusal}")
        if channel.type == "webhook" and _secret(settings) is None:
            problems.append(
                f"{settings.channels_file}: channel {name!r} is a signed webhook, but no signing "
                "secret is set; set WIREWATCH_WEBHOOKS__SECRET (or WIREWATCH_WEBHOOKS__SECRET_FILE)"
            )
    if not digests:
        for rule in rules:
            for n in rule.notify:
                if n.digest != "immediate":
                    problems.append(
                        f"{source}: rule {rule.name!r}: digest: {n.digest} is sent by "
                        "`wirewatch run` only; the distributed indexer sends alerts as they "
                        "fire (digest: immediate)"
                    )
    if problems:
        raise SettingsError("notifications refused:\n" + "\n".join(f"  {p}" for p in problems))
    return declared


def _secret(settings: WebhookSettings) -> bytes | None:
    value = settings.secret.get_secret_value() if settings.secret is not None else ""
    return value.encode("utf-8") if value else None


class _Final(Exception):
    """This delivery cannot succeed by trying again (refused redirect, bad URL)."""


class _Retry(Exception):
    """This attempt failed; a later one may succeed (``after``: not before so many
    seconds, as a 429's ``Retry-After`` asks)."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


RETRY_AFTER_CAP = 60.0  # seconds; a longer Retry-After is not waited for within a round


_RETRIED = (_Retry, OSError, ValueError, httpx.HTTPError, smtplib.SMTPException)


def _reason(exc: BaseException) -> str:
    """The ``reason`` label of a failure: low-cardinality, no detail."""
    text = str(exc)
    if isinstance(exc, TimeoutError | httpx.TimeoutException | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLError) or (isinstance(exc, _Retry) and "STARTTLS" in text):
        return "tls"
    if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
        return "smtp_refused"
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPNotSupportedError):
        return "smtp_refused"
    if isinstance(exc, ConnectionError | httpx.ConnectError | smtplib.SMTPConnectError):
        return "connection"
    if isinstance(exc, _Retry | _Final) and text.startswith("HTTP 4"):
        return "http_4xx"
    if isinstance(exc, _Retry | _Final) and text.startswith("HTTP 5"):
        return "http_5xx"
    if isinstance(exc, _Final) and text.startswith("refused"):
        return "refused"
    if isinstance(exc, OSError):
        return "connection"
    return "error"


# -- one message, one channel ---------------------------------------------------------


@dataclass
class Job:
    """One message for one channel: an alert (``period`` is ``None``) or a digest.

    ``done(ok, attempts, error)`` records the outcome where the message came from."""

    rule: str
    key: str  # the alert id (rule:article) or the digest id
    bodies: list[dict[str, Any]]
    period: Period | None
    done: Callable[[bool, int, str | None], None]
    target: str = ""  # where the delivery is recorded: the webhook URL or channel:NAME
    channel: str = WEBHOOK  # the worker: a declared channel, or the rules' own webhooks

    @property
    def kind(self) -> str:
        return "alert" if self.period is None else "digest"

    @property
    def label(self) -> str:
        """``article=ID`` or ``digest=KEY``, for log lines."""
        if self.period is None and self.bodies and self.bodies[0].get("article_id"):
            return f"article={self.bodies[0]['article_id']}"
        return f"{self.kind}={self.key}"


class _Worker:
    """A queue and a thread for one channel: its failures and waits hold up no other."""

    def __init__(self, name: str, send: Callable[[Job], bool]) -> None:
        self.name = name
        self.send = send
        self.queue: queue.Queue[Job | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)

    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            try:
                self.send(job)
            except Exception:  # a bug in one message must not stop the channel
                log.exception("channel %s: sending rule=%s %s failed", self.name, job.rule, job.key)
                job.done(False, 0, "internal error (see the log)")


class WebhookNotifier:
    """Sends alerts to webhooks and declared channels, one worker thread per channel,
    and records each outcome in ``store``. The name is historical: it sends Slack,
    Teams and e-mail as well."""

    def __init__(
        self,
        store: DeliveryLog,
        settings: WebhookSettings,
        backoff: float = 0.5,
        channels: Mapping[str, Channel] | None = None,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.settings = settings
        self.timeout = settings.timeout
        self.attempts = settings.attempts
        self.backoff = backoff
        self.now = now or (lambda: datetime.now(UTC))
        self._key = _secret(settings)
        self._tls = ssl.create_default_context()
        self._stop = threading.Event()
        self._closing = threading.Event()  # ends waits for quiet hours at once
        self.channels: dict[str, Channel] = dict(
            load_channel_file(settings) if channels is None else channels
        )
        env = os.environ if environ is None else environ
        self._secrets: dict[str, Secrets | str] = {}
        for name, channel in self.channels.items():
            try:
                self._secrets[name] = resolve_secrets(name, channel, env)
            except ValueError as exc:  # reported per delivery; start-up checks refuse it first
                self._secrets[name] = str(exc)
        self._http = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            verify=self._tls,
            # a connection per message: the deadline of a webhook attempt ends the
            # connection it opened (_Watchdog), which a pooled one would not be
            limits=httpx.Limits(max_keepalive_connections=0),
            # no cookie set by one receiver goes back to it or to another URL of its host
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )
        self._workers: dict[str, _Worker] = {WEBHOOK: _Worker(WEBHOOK, self._send)}
        for name in self.channels:
            self._workers[name] = _Worker(name, self._send)
        # each channel's series at zero: increase() cannot see a series that starts at 1
        for name, kind in [(WEBHOOK, "webhook")] + [(k, c.type) for k, c in self.channels.items()]:
            metrics.CHANNEL_SENT.labels(kind, name, "alert")
            metrics.CHANNEL_RETRIED.labels(kind, name)
            for reason in metrics.CHANNEL_FAILURE_REASONS:
                metrics.CHANNEL_FAILED.labels(kind, name, reason)
        self._started = False

    # -- the queueing side ---------------------------------------------------------------
    def start(self) -> None:
        for item in self.store.pending_deliveries():
            self.submit(*item)
        for worker in self._workers.values():
            worker.thread.start()
        self._started = True

    def submit(self, rule: str, article_id: str, url: str, payload: dict) -> None:
        """Queue one immediate delivery to a webhook URL or to ``channel:NAME``."""
        job = self._alert_job(rule, article_id, url, payload)
        name = job.channel
        worker = self._workers.get(name)
        if worker is None:
            self._give_up(
                job, name, "webhook", 0, _Final(f"refused, not sent: unknown channel {name!r}")
            )
            return
        worker.queue.put(job)

    def submit_job(self, channel: str, job: Job) -> None:
        """Queue a message (a digest) for a declared channel."""
        job.channel = channel
        worker = self._workers.get(channel)
        if worker is None:
            self._give_up(
                job,
                channel,
                "webhook",
                0,
                _Final(f"refused, not sent: unknown channel {channel!r}"),
            )
            return
        worker.queue.put(job)

    def close(self, drain_seconds: float = 10.0) -> None:
        """Stop after sending what is queued (or after ``drain_seconds``); what waits for
        the end of quiet hours stays pending for the next start."""
        self._closing.set()
        for worker in self._workers.values():
            worker.queue.put(None)
        deadline = time.monotonic() + drain_seconds
        if self._started:
            for worker in self._workers.values():
                worker.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._stop.set()
        if self._started:
            for worker in self._workers.values():
                worker.thread.join(timeout=self.timeout + 1)
        self._http.close()

    def _alert_job(self, rule: str, article_id: str, url: str, payload: dict) -> Job:
        return Job(
            rule,
            str(payload.get("alert_id") or alerts.alert_id(rule, article_id)),
            [payload],
            None,
            self._recorder(rule, article_id, url),
            target=url,
            channel=channels.channel_name(url) or WEBHOOK,
        )

    def _recorder(
        self, rule: str, article_id: str, url: str
    ) -> Callable[[bool, int, str | None], None]:
        def done(ok: bool, attempts: int, error: str | None) -> None:
            self.store.set_delivery(
                rule, article_id, url, "delivered" if ok else "failed", attempts,
                None if ok else (error or "failed")[:500],
            )  # fmt: skip

        return done

    # -- one delivery --------------------------------------------------------------------
    def deliver(self, rule: str, article_id: str, url: str, payload: dict) -> bool:
        """Send one alert now (with retries) and record the outcome; ``True`` if delivered."""
        job = self._alert_job(rule, article_id, url, payload)
        return self._send(job)

    def _send(self, job: Job) -> bool:
        """Send ``job`` on its channel with up to ``attempts`` attempts; record and count."""
        if job.channel == WEBHOOK:
            return self._send_webhook_url(job)
        name = job.channel
        channel = self.channels.get(name)
        if channel is None:
            return self._give_up(
                job, name, "webhook", 0, _Final(f"refused, not sent: unknown channel {name!r}")
            )
        if not self._wait_quiet(channel):
            return False  # stopping in quiet hours: left pending for the next start
        secrets = self._secrets.get(name)
        if not isinstance(secrets, Secrets):
            return self._give_up(
                job, name, channel.type, 0, _Final(f"refused, not sent: {secrets}")
            )
        if channel.type == "email":
            attempt: Callable[[], None] = lambda: self._email(name, channel, secrets, job)  # noqa: E731
            origin = f"smtp://{channel.host}:{channel.port}"
        else:
            url = secrets.url or ""
            origin = alerts.webhook_origin(url)
            refusal = alerts.webhook_refusal(url, self.settings.allowed_hosts)
            if channel.type == "webhook" and self._key is None:
                refusal = refusal or "no signing secret is set; set WIREWATCH_WEBHOOKS__SECRET"
            if refusal is not None:
                return self._give_up(
                    job, name, channel.type, 0, _Final(f"refused, not sent: {refusal}"), origin
                )
            if channel.type == "webhook":
                body = (
                    job.bodies[0]
                    if job.period is None
                    else channels.webhook_digest(job.rule, name, job.bodies, job.period)
                )
                attempt = lambda: self._signed(url, body)  # noqa: E731
            else:
                if channel.type == "slack":
                    payload = channels.slack_payload(job.rule, job.bodies, job.period, channel.zone)
                else:
                    payload = channels.teams_payload(
                        job.rule, job.bodies, job.period, channel.zone, channel.format
                    )
                attempt = lambda: self._chat(url, payload)  # noqa: E731
        return self._with_retries(job, name, channel.type, origin, attempt, url=secrets.url)

    def _send_webhook_url(self, job: Job) -> bool:
        url = job.target
        origin = alerts.webhook_origin(url)
        refusal = alerts.webhook_refusal(url, self.settings.allowed_hosts)
        if self._key is None:
            refusal = refusal or (
                "no signing secret is set; set WIREWATCH_WEBHOOKS__SECRET "
                "(or WIREWATCH_WEBHOOKS__SECRET_FILE)"
            )
        if refusal is not None:
            return self._give_up(
                job, WEBHOOK, "webhook", 0, _Final(f"refused, not sent: {refusal}"), origin
            )
        return self._with_retries(
            job, WEBHOOK, "webhook", origin, lambda: self._signed(url, job.bodies[0]), url=url
        )

    def _with_retries(
        self,
        job: Job,
        name: str,
        kind: str,
        origin: str,
        attempt: Callable[[], None],
        url: str | None,
    ) -> bool:
        started = time.monotonic()
        error: BaseException = _Retry("not attempted")
        n = 0
        for n in range(1, self.attempts + 1):
            try:
                attempt()
            except _Final as exc:
                error = exc
                break
            except _RETRIED as exc:
                error = exc
                if n < self.attempts:
                    metrics.CHANNEL_RETRIED.labels(kind, name).inc()
                    log.info(
                        "retrying rule=%s %s via %s (%s) to %s: attempt %d failed: %s",
                        job.rule, job.label, name, kind, origin, n, self._text(exc, url),
                    )  # fmt: skip
                    wait = self.backoff * 2 ** (n - 1)
                    if isinstance(exc, _Retry) and exc.after is not None:
                        wait = max(wait, exc.after)
                    if self._stop.wait(wait):
                        break
                continue
            metrics.CHANNEL_SEND_SECONDS.labels(kind, name).observe(time.monotonic() - started)
            metrics.CHANNEL_SENT.labels(kind, name, job.kind).inc()
            metrics.ALERTS_DELIVERED.labels(kind).inc()
            job.done(True, n, None)
            log.info(
                "delivered rule=%s %s via %s (%s) to %s (attempt %d)",
                job.rule, job.label, name, kind, origin, n,
            )  # fmt: skip
            return True
        return self._give_up(job, name, kind, n, error, origin, url)

    def _give_up(
        self, job: Job, name: str, kind: str, attempts: int, error: BaseException,
        origin: str = "", url: str | None = None,
    ) -> bool:  # fmt: skip
        text = self._text(error, url)
        metrics.CHANNEL_FAILED.labels(kind, name, _reason(error)).inc()
        metrics.ALERTS_FAILED.labels(kind).inc()
        job.done(False, attempts, text)
        log.warning(
            "delivery failed rule=%s %s via %s (%s) to %s: %s (%d attempt(s))",
            job.rule, job.label, name, kind, origin or f"channel {name}", text, attempts,
        )  # fmt: skip
        return False

    def _text(self, exc: BaseException, url: str | None) -> str:
        text = str(exc) if isinstance(exc, _Retry | _Final) else f"{type(exc).__name__}: {exc}"
        text = self._scrub(text, url) if url else text
        for secrets in self._secrets.values():
            if isinstance(secrets, Secrets) and secrets.password:
                text = text.replace(secrets.password, "…")
        return text

    def _wait_quiet(self, channel: Channel) -> bool:
        """Hold this channel's worker until its quiet hours are over; ``False`` when
        wirewatch stops first. The delivery stays ``pending`` in the store meanwhile, so
        a restart does not lose it."""
        while True:
            now = self.now()
            until = channels.quiet_end(now, channel.quiet_hours, channel.zone)
            if until <= now:
                return True
            if self._closing.is_set():
                return False
            self._closing.wait(min(60.0, (until - now).total_seconds()))

    # -- the senders ---------------------------------------------------------------------
    def _signed(self, url: str, payload: Mapping[str, Any]) -> None:
        assert self._key is not None
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(self._key, body),
        }
        if payload.get("alert_id"):
            headers[ALERT_ID_HEADER] = alert_id_header(str(payload["alert_id"]))
        self._attempt(url, body, headers)

    def _chat(self, url: str, payload: dict[str, Any]) -> None:
        """POST a Slack or Teams message; any 2xx is accepted, a redirect is not followed."""
        resp = self._http.post(url, json=payload, headers={"User-Agent": USER_AGENT})
        if 200 <= resp.status_code < 300:
            return
        # Slack and Teams answer an error with a short text ("invalid_blocks", ...)
        detail = " ".join(resp.text[:200].split())
        after = None
        if resp.status_code == 429:  # Slack allows about one message a second per channel
            with contextlib.suppress(ValueError):
                after = min(RETRY_AFTER_CAP, max(0.0, float(resp.headers.get("Retry-After", ""))))
        raise _Retry(f"HTTP {resp.status_code}" + (f" {detail}" if detail else ""), after)

    def _email(self, name: str, channel: Channel, secrets: Secrets, job: Job) -> None:
        """Send one e-mail over SMTP with STARTTLS (required; the certificate verified)."""
        subject, text = channels.email_text(job.rule, job.bodies, job.period, channel.zone)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = channel.sender or ""
        msg["To"] = ", ".join(channel.to)
        msg["Message-ID"] = make_msgid(idstring=re.sub(r"[^A-Za-z0-9.-]", "-", job.key)[:60])
        msg["X-Wirewatch-Alert-Id"] = alert_id_header(job.key)
        msg.set_content(text)
        tls = ssl.create_default_context(cafile=str(channel.ca_file) if channel.ca_file else None)
        assert channel.host is not None
        with smtplib.SMTP(channel.host, channel.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise _Retry(f"the SMTP server {channel.host}:{channel.port} offers no STARTTLS")
            smtp.starttls(context=tls)
            smtp.ehlo()
            if channel.username:
                smtp.login(channel.username, secrets.password or "")
            smtp.send_message(msg)

    def _scrub(self, text: str, url: str) -> str:
        """``text`` without the URL's path and query (nor the secret), should a library
        have quoted them."""
        parts = urlsplit(url)
        for secret in (url, parts.path + ("?" + parts.query if parts.query else "")):
            if len(secret) > 1:
                text = text.replace(secret, "…")
        if self._key:
            text = text.replace(self._key.decode("utf-8"), "…")
        return text

    def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """One attempt, same-origin 307/308 redirects included, within one deadline."""
        deadline = time.monotonic() + self.timeout
        current = url
        for hop in range(self.settings.max_redirects + 1):
            status, location = self._post(current, body, headers, deadline)
            if 200 <= status < 300:
                return
            if status not in _FOLLOWED + _NOT_FOLLOWED:
                raise _Retry(f"HTTP {status}")
            here = alerts.webhook_target(current)
            if not location:
                raise _Retry(f"HTTP {status} redirect without a Location header")
            following = urljoin(current, location.strip())
            try:
                there: WebhookTarget | None = alerts.webhook_target(following)
            except ValueError:
                there = None
            if there != here or alerts.has_credentials(following):
                metrics.CAPS_HIT.labels("webhook_redirect").inc()
                raise _Final(
                    f"HTTP {status} redirect to {there or 'a non-http(s) URL'} refused: webhooks "
                    f"follow redirects only within {here}; update the webhook URL in the rules"
                )
            if status in _NOT_FOLLOWED:
                raise _Final(
                    f"HTTP {status} redirect refused: a webhook POST is not re-sent as a GET; "
                    "update the webhook URL in the rules (or have the receiver answer 307/308)"
                )
            if hop == self.settings.max_redirects:
                metrics.CAPS_HIT.labels("webhook_redirect").inc()
                raise _Final(
                    f"more than {self.settings.max_redirects} redirect(s) within {here} "
                    "(WIREWATCH_WEBHOOKS__MAX_REDIRECTS); update the webhook URL in the rules"
                )
            current = following

    def _post(
        self, url: str, body: bytes, headers: dict[str, str], deadline: float
    ) -> tuple[int, str | None]:
        """POST ``body`` to ``url``: (status, Location header). Connects to the origin parsed
        here (httpx is handed its parts, not the URL to parse again) and gives up at
        ``deadline``."""
        target = alerts.webhook_target(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if _UNSAFE_IN_TARGET.search(path):
            raise _Final(
                "the webhook URL's path or query holds spaces or control characters; "
                "percent-encode them in the rules"
            )
        try:
            where = httpx.URL(
                scheme=target.scheme,
                host=target.host,
                port=target.port,
                raw_path=path.encode("ascii"),
            )
        except httpx.InvalidURL as exc:  # its text names the part, never its value
            raise _Final(
                f"the webhook URL cannot be sent as it is ({exc}); fix it in the rules"
            ) from None
        watchdog = _Watchdog(deadline - time.monotonic())
        resp: httpx.Response | None = None
        try:
            request = self._http.build_request(
                "POST",
                where,
                content=body,
                headers={**headers, "Accept-Encoding": "identity"},
                timeout=max(0.001, deadline - time.monotonic()),
                extensions={"trace": watchdog.trace},
            )
            resp = self._http.send(request, stream=True, follow_redirects=False)
            if watchdog.expired.is_set():  # the cut ends a dripping header block early
                raise TimeoutError
            status, location = resp.status_code, resp.headers.get("Location")
            self._read_capped(resp)
            return status, location
        except httpx.ConnectTimeout:
            raise TimeoutError(f"no connection to {target} in time") from None
        except (OSError, httpx.TransportError) as exc:
            if watchdog.expired.is_set() or isinstance(exc, TimeoutError | httpx.TimeoutException):
                raise TimeoutError(f"no response within {self.timeout:g}s") from None
            raise _cause(exc) from None
        finally:
            if resp is not None:
                resp.close()
            watchdog.close()

    def _read_capped(self, resp: httpx.Response) -> None:
        """Read (and drop) the body up to ``max_response_bytes``; the status decides."""
        cap = self.settings.max_response_bytes
        got = 0
        try:
            for chunk in resp.iter_raw():
                got += len(chunk)
                if got > cap:
                    break
        except (OSError, httpx.TransportError):
            return  # the status line is in; a body cut short changes nothing
        if got > cap:
            metrics.CAPS_HIT.labels("webhook_response_bytes").inc()
            log.debug("response body beyond %d bytes not read", cap)


class _Watchdog:
    """Ends the connections of one attempt at its deadline: httpx's timeouts are per
    read, and a receiver that drips a byte at a time never trips them."""

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpx's ``trace`` extension: keep each connection the attempt opens."""
        if event != "connection.connect_tcp.complete":
            return
        # a second descriptor of the socket: shutting it down ends the connection
        # whether or not TLS has since wrapped (and detached) the socket object
        sock = info["return_value"].get_extra_info("socket").dup()
        with self._lock:
            self._socks.append(sock)
            if self.expired.is_set():
                _shutdown(sock)

    def _cut(self) -> None:
        with self._lock:
            self.expired.set()
            for sock in self._socks:
                _shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._socks.clear()


def _shutdown(sock: socket.socket) -> None:
    # wakes a read blocked on the connection; the reading thread keeps the TLS state
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _cause(exc: Exception) -> Exception:
    """The error beneath httpx's wrapping of a failed connection, send or read, so that
    its reason (``connection``, ``tls``) and text are those of the socket's own error."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError):
            return cause
        cause = cause.__cause__ or cause.__context__  # httpcore re-raises "from None"
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in str(exc):
        # the receiver closed the connection before any response (httpcore's wording)
        return ConnectionResetError(str(exc))
    return exc
