"""Bolt listeners, grouped by Slack kind. :func:`register` wires them and the app-wide pieces."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.adapters.signing import is_signed
from bot.handlers import actions, commands, events, find, submissions
from bot.handlers.deps import Deps, report_error

log = logging.getLogger(__name__)


class SeenEvents:
    """Event ids handled recently. Slack retries an event it thinks we missed; the retry must
    have no second effect."""

    def __init__(self, size: int = 2048) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


def _authentic(request: BoltRequest, secret: str) -> bool:
    """Socket Mode requests come over a socket the app opened with its token; HTTP requests
    carry Slack's signature."""
    if request.mode == "socket_mode":
        return True
    headers = request.headers

    def header(name: str) -> str:
        values = headers.get(name) or [""]
        return str(values[0])

    body = request.raw_body.encode("utf-8", "replace")
    timestamp = header("x-slack-request-timestamp")
    return is_signed(secret, body, timestamp, header("x-slack-signature"), time.time())


def register(app: App, deps: Deps) -> None:
    """Wire the listeners. The app must be built with Bolt's own request verification off:
    :func:`verify_first` replaces it (Bolt's raises on a malformed timestamp and logs refused
    bodies whole)."""
    seen = SeenEvents()
    secret = deps.settings.slack_signing_secret or ""

    @app.middleware
    def verify_first(
        request: BoltRequest, context: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        if not _authentic(request, secret):
            log.warning("refused a request with an invalid signature or timestamp")
            return BoltResponse(status=401, body="")
        context["verified"] = True
        next()
        return None

    @app.middleware
    def hear_member_changes(next: Callable[[], None]) -> None:
        # Verified requests only; the look runs on a thread of its own, the request goes on.
        if deps.member_changes is not None:
            deps.member_changes.catch_up_soon()
        next()

    @app.middleware
    def provide_deps(context: Any, next: Callable[[], None]) -> None:
        context["deps"] = deps
        next()

    @app.middleware
    def drop_repeated_events(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id and not seen.first_time(event_id):
            log.info("dropping repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        next()
        return None

    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient, context: Any) -> None:
        report_error(error, body, client, context)

    commands.register(app)
    actions.register(app)
    submissions.register(app)
    events.register(app)
    find.register(app)
