"""Composition root: settings -> bootstrap -> Slack app -> HTTP server or Socket Mode.

``python app.py`` serves Slack on ``PORT`` (``POST /slack/events``, ``GET /healthz``,
``GET /readyz``), or connects through Socket Mode when ``SLACK_APP_TOKEN`` is set. Unless
``RUN_SCHEDULER=false``, the same process delivers notifications and runs the periodic jobs.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from bot import logs
from bot.config import Settings, SettingsError, load_settings

log = logging.getLogger("roombot")


def main() -> int:
    try:
        settings = load_settings()
        settings.require_slack()
    except SettingsError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings)
    return run(settings)


def run(settings: Settings) -> int:
    from bot.adapters import migrate
    from bot.adapters.http import HttpServer, WebApp, readiness
    from bot.bootstrap import bootstrap

    runtime = bootstrap(settings, slack=True)
    if not migrate.is_up_to_date(runtime.engine):
        print(
            "roombot: the database schema is not up to date: run `python -m bot db upgrade`",
            file=sys.stderr,
        )
        runtime.close()
        return 2
    if settings.run_scheduler:
        runtime.start()
    else:
        log.info("RUN_SCHEDULER=false: notifications are delivered by `python -m bot worker`")

    web = WebApp(runtime.app, readiness(runtime.engine))
    server = HttpServer(web, host="0.0.0.0", port=settings.port, threads=settings.web_threads)  # noqa: S104 - a server listens on all interfaces
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
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler
            from slack_sdk.errors import SlackApiError

            server.start()  # health checks only: Slack talks to us over the socket
            handler = SocketModeHandler(runtime.app, settings.slack_app_token)
            try:
                handler.connect()
            except SlackApiError as exc:
                error = exc.response.get("error", "error")
                print(
                    f"roombot: Socket Mode connection failed ({error}): check SLACK_APP_TOKEN",
                    file=sys.stderr,
                )
                server.stop()
                return 2
            log.info("connected to Slack in Socket Mode; health checks on port %s", server.port)
            stopping.wait()
            handler.close()
            server.stop()
        else:
            log.info("roombot listening on port %s", server.port)
            server.serve_forever()
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
