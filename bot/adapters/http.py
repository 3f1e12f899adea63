"""The HTTP face of the app: Slack's endpoint and the health checks, served by waitress.

Bolt's own server is for development only. waitress is a production WSGI server (multi-threaded,
pure Python, handles slow clients and keep-alive), and the same server runs in tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine
from waitress.server import create_server

from bot.adapters import migrate
from bot.adapters.db import database_problem
from bot.adapters.feeds import FeedStore, http_date, token_of
from bot.adapters.selfcheck import StartupReport
from bot.adapters.signing import is_signed

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
SLACK_PATH = "/slack/events"

#: Slack's payloads are a few kB; a view with 100 blocks stays far below this.
MAX_BODY_BYTES = 1 << 20
_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")


class Replays(Protocol):
    def first_time(self, signature: str) -> bool: ...


class Rejected(Exception):
    """A request refused at the edge: its status and a short reason (never its body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackEdge:
    """What every request to the Slack endpoint passes before Bolt sees it, in this order:
    size (413, unread), signature and timestamp (401), a well-formed body (400: authentic but
    not something Slack sends), and one admission per signature (a replay gets an empty 200).

    Bolt would parse the body before checking the signature, and log refused bodies whole; so
    nothing unsigned reaches it, and refusals are logged as one line without the body.
    """

    def __init__(
        self, signing_secret: str, replays: Replays, clock: Callable[[], float] = time.time
    ) -> None:
        self.secret = signing_secret
        self.replays = replays
        self.clock = clock

    def admit(self, environ: dict[str, Any]) -> bytes | None:
        """The raw body of an admitted request, or None for a replay; raises :class:`Rejected`."""
        body = _read_body(environ)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not is_signed(self.secret, body, timestamp, signature, self.clock()):
            raise Rejected(401, "invalid signature or timestamp")
        _check_shape(environ.get("CONTENT_TYPE", ""), body)
        if not self.replays.first_time(signature):
            return None
        return body


def _read_body(environ: dict[str, Any]) -> bytes:
    length_text = environ.get("CONTENT_LENGTH") or ""
    stream = environ.get("wsgi.input")
    if length_text:
        if not length_text.isdigit():
            raise Rejected(400, "bad Content-Length")
        if int(length_text) > MAX_BODY_BYTES:
            raise Rejected(413, "body too large")
        body: bytes = stream.read(int(length_text)) if stream is not None else b""
    else:
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    return body


def _json_object(text: str) -> None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, "body is not JSON") from None
    if not isinstance(value, dict):
        raise Rejected(400, "JSON body is not an object")


def _check_shape(content_type: str, body: bytes) -> None:
    """Refuse what Bolt could not parse: it would raise (a 500) on each of these."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in _CONTENT_TYPES:
        raise Rejected(400, "unsupported content type")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    if kind == "application/json":
        _json_object(text)
        return
    try:
        form = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except ValueError:
        raise Rejected(400, "malformed form body") from None
    if "payload" in form:
        _json_object(form["payload"][0])


Readiness = Callable[[], tuple[bool, dict[str, Any]]]


def readiness(engine: Engine, startup: StartupReport | None = None) -> Readiness:
    """``/readyz``: ready when the database is reachable and its schema is one this code runs on
    (the newest revision, or a newer one: see :class:`~bot.adapters.migrate.SchemaState`), and
    Slack has not refused the bot token. The body's ``checks`` adds the start-up checks of
    ``python -m bot check`` (read from memory: a probe never waits on Slack)."""

    def check() -> tuple[bool, dict[str, Any]]:
        try:
            state = migrate.schema_state(engine)
        except Exception as exc:  # any failure to reach the database means not ready
            problem: str | None = database_problem(exc, engine.url)
        else:
            problem = state.problem()
        checks = {"database": problem or "ok"}
        if problem is None and state.newer:
            checks["database"] = (
                f"ok: at revision {state.database}, newer than this code's {state.code} "
                "(migrations are expand-first)"
            )
        blocking = problem
        if startup is not None:
            checks.update(startup.details())
            blocking = blocking or startup.blocking()
        return blocking is None, {"status": blocking or "ready", "checks": checks}

    return check


class WebApp:
    """WSGI: ``POST /slack/events`` to Bolt, ``GET /healthz``, ``GET /readyz`` and the calendar
    feeds ``GET /calendar/<token>.ics``."""

    def __init__(
        self, bolt: App, ready: Readiness, edge: SlackEdge, feeds: FeedStore | None = None
    ) -> None:
        self.slack = SlackRequestHandler(bolt, path=SLACK_PATH)
        self.ready = ready
        self.edge = edge
        self.feeds = feeds

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            if method != "POST":
                return _reply(start_response, 405, {"error": "use POST"})
            try:
                body = self.edge.admit(environ)
            except Rejected as refusal:
                log.warning("refused a request to %s: %s", SLACK_PATH, refusal.reason)
                return _reply(start_response, refusal.status, {"error": refusal.reason})
            if body is None:
                log.info("dropped a replayed request (its signature was seen before)")
                return _reply(start_response, 200, {})
            admitted = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
            result: Iterable[bytes] = self.slack(admitted, start_response)
            return result
        if path.startswith(CALENDAR_PREFIX) and self.feeds is not None:
            return self._calendar(environ, path, method, start_response)
        if path == "/healthz":
            return _reply(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            ok, report = self.ready()
            return _reply(start_response, 200 if ok else 503, report)
        return _reply(start_response, 404, {"error": "not found"})

    def _calendar(
        self, environ: dict[str, Any], path: str, method: str, start_response: StartResponse
    ) -> list[bytes]:
        """A public GET, authorised by the secret in its path alone; any bad path is a 404."""
        if method not in ("GET", "HEAD"):
            return _reply(start_response, 405, {"error": "use GET"})
        token = token_of(path)
        assert self.feeds is not None
        feed = (
            self.feeds.feed(
                token,
                environ.get("HTTP_IF_NONE_MATCH", ""),
                environ.get("HTTP_IF_MODIFIED_SINCE", ""),
                body=method == "GET",
            )
            if token
            else None
        )
        if feed is None:
            return _reply(start_response, 404, {"error": "not found"})
        headers = [
            ("ETag", feed.etag),
            ("Last-Modified", http_date(feed.last_modified)),
            ("Cache-Control", "private, max-age=300"),
        ]
        if feed.not_modified:
            start_response("304 Not Modified", headers)
            return []
        headers.append(("Content-Type", "text/calendar; charset=utf-8"))
        if feed.body is None:  # HEAD: the length is known only once the calendar is rendered
            start_response("200 OK", headers)
            return []
        headers.append(("Content-Length", str(len(feed.body))))
        start_response("200 OK", headers)
        return [feed.body]


CALENDAR_PREFIX = "/calendar/"

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    503: "Service Unavailable",
}


def _reply(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode() if body else b""
    reason = _REASONS
    start_response(
        f"{status} {reason[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


#: Open connections waitress accepts. Idle ones cost a socket, not a thread, so the limit is
#: set far above what Slack opens; waitress's default of 100 let 100 idle sockets stop it from
#: accepting anything, health checks included.
CONNECTION_LIMIT = 1000
#: A connection that sends nothing for this long is closed (checked every CLEANUP_SECONDS).
IDLE_TIMEOUT_SECONDS = 15
CLEANUP_SECONDS = 2


class HttpServer:
    """waitress on a host and port; ``port=0`` picks a free one (tests, benchmarks)."""

    def __init__(self, app: Any, *, host: str, port: int, threads: int = 16) -> None:
        self.server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="roombot",
            clear_untrusted_proxy_headers=True,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_TIMEOUT_SECONDS,
            cleanup_interval=CLEANUP_SECONDS,
            asyncore_use_poll=True,  # select() stops at 1024 descriptors
            # waitress answers 413 from the Content-Length header, before reading the body
            max_request_body_size=MAX_BODY_BYTES + 1,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.effective_port)  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop`, or until a signal handler raises
        ``SystemExit``; either way waitress lets the requests in flight finish."""
        self.server.run()
        self.server.task_dispatcher.shutdown()
        self.server.close()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start`, from any thread.

        Sockets must not be closed under the loop's running ``select``; so the loop's own thread
        is asked (through waitress's trigger) to close every channel, and the loop then ends for
        want of anything to watch.
        """
        sockets = self.server._map  # type: ignore[union-attr]

        def close_all() -> None:
            for channel in list(sockets.values()):
                channel.close()

        # If the loop already ended, it closed its trigger too: nothing is left to close.
        with contextlib.suppress(OSError):
            self.server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
        if self._thread is not None:
            self._thread.join(timeout=10)
