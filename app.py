"""Composition root: settings -> bootstrap -> Slack app -> HTTP server or Socket Mode.

``python app.py`` serves Slack on ``PORT`` (``POST /slack/events``, ``GET /healthz``,
``GET /readyz``), or connects through Socket Mode when ``SLACK_APP_TOKEN`` is set. Unless
``RUN_SCHEDULER=false``, the same process delivers notifications and runs the periodic jobs.

Every mistake an operator can make before the app serves (a setting, the database, the port,
the network) ends the process with one line saying what to do, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from bot import logs
from bot.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.adapters.http import HttpServer, WebApp

log = logging.getLogger("roombot")


class StartupError(Exception):
    """The app cannot start; the message is one line for the operator."""


def main() -> int:
    try:
        settings = load_settings()
        settings.require_slack()
    except SettingsError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings)
    try:
        return run(settings)
    except StartupError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2


def run(settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.adapters import migrate
    from bot.adapters.db import DatabaseUnusable, database_problem
    from bot.adapters.selfcheck import StartupReport
    from bot.bootstrap import bootstrap, build_web

    try:
        core = bootstrap(settings)
        problem = migrate.schema_state(core.engine).problem()
    except DatabaseUnusable as exc:
        raise StartupError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise StartupError(database_problem(exc, settings.database_url)) from None
    if problem is not None:
        core.close()
        raise StartupError(problem)
    runtime = bootstrap(settings, slack=True, engine=core.engine)
    identity = runtime.identity
    assert identity is not None  # a receiving runtime has one
    report = StartupReport(settings, runtime.engine, identity, runtime.client)
    web = build_web(runtime, report)
    try:
        server = _listen(web, settings)
    except StartupError:
        runtime.close()
        raise
    handler = None
    if settings.socket_mode:
        server.start()  # health checks only: Slack talks to us over the socket
        try:
            handler = _connect_socket_mode(runtime.app, settings, server)
        except StartupError:
            runtime.close()
            raise

    # auth.test once before serving; if Slack does not answer, keep asking in the background
    # and serve meanwhile (nothing a request needs waits on it). The other checks follow.
    if identity.verify():
        threading.Thread(target=report.run, name="startup-checks", daemon=True).start()
    else:
        identity.verify_in_background(then=report.run)
    if settings.run_scheduler:
        runtime.start()
    else:
        log.info("RUN_SCHEDULER=false: notifications are delivered by `python -m bot worker`")

    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("signal %s: shutting down", signum)
        if not settings.socket_mode:
            raise SystemExit  # leaves waitress's loop, which finishes requests in flight

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if handler is not None:
            log.info("connected to Slack in Socket Mode; health checks on port %s", server.port)
            stopping.wait()
            handler.close()
            server.stop()
        else:
            log.info("roombot listening on port %s", server.port)
            server.serve_forever()
    finally:
        identity.stop()
        runtime.close()
    return 0


def _listen(web: WebApp, settings: Settings) -> HttpServer:
    from bot.adapters.http import HttpServer

    try:
        return HttpServer(web, host="0.0.0.0", port=settings.port, threads=settings.web_threads)  # noqa: S104 - a server listens on all interfaces
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {settings.port} is in use: stop what listens there, or set PORT"
            ) from None
        raise StartupError(
            f"cannot listen on port {settings.port} ({exc.strerror or exc}): set PORT"
        ) from None


def _connect_socket_mode(bolt: App, settings: Settings, server: HttpServer) -> SocketModeHandler:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(bolt, settings.slack_app_token)
    try:
        handler.connect()
    except SlackApiError as exc:
        server.stop()
        error = exc.response.get("error", "error")
        raise StartupError(
            f"Socket Mode connection failed ({error}): check SLACK_APP_TOKEN"
        ) from None
    except OSError as exc:
        server.stop()
        reason = getattr(exc, "reason", None) or exc
        raise StartupError(
            f"cannot reach Slack at {settings.slack_api_url} for Socket Mode ({reason}): check "
            "the network, a proxy, or SLACK_API_URL"
        ) from None
    return handler


if __name__ == "__main__":
    sys.exit(main())
