"""The HTTP face of the app: Slack's endpoint and the health checks, served by waitress.

Bolt's own server is for development only. waitress is a production WSGI server (multi-threaded,
pure Python, handles slow clients and keep-alive), and the same server runs in tests and benchmarks.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine
from waitress.server import create_server

from bot.adapters import migrate
from bot.adapters.db import database_problem
from bot.adapters.selfcheck import StartupReport

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
SLACK_PATH = "/slack/events"


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
    """WSGI: ``POST /slack/events`` to Bolt, ``GET /healthz`` and ``GET /readyz``."""

    def __init__(self, bolt: App, ready: Readiness) -> None:
        self.slack = SlackRequestHandler(bolt, path=SLACK_PATH)
        self.ready = ready

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            if method != "POST":
                return _reply(start_response, 405, {"error": "use POST"})
            result: Iterable[bytes] = self.slack(environ, start_response)
            return result
        if path == "/healthz":
            return _reply(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            ok, body = self.ready()
            return _reply(start_response, 200 if ok else 503, body)
        return _reply(start_response, 404, {"error": "not found"})


def _reply(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
    start_response(
        f"{status} {reason[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


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
        self.server.task_dispatcher.shutdown()  # type: ignore[union-attr]
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

        self.server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
        if self._thread is not None:
            self._thread.join(timeout=10)
