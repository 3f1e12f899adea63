"""Bolt listeners, grouped by Slack kind. :func:`register` wires them and the app-wide pieces."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.handlers import actions, commands, events, find, submissions
from bot.handlers.deps import Deps, acting_user, tell
from bot.views import texts
from bot.views.i18n import use_locale

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


def register(app: App, deps: Deps) -> None:
    seen = SeenEvents()

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
    def on_error(error: Exception, body: dict[str, Any], client: WebClient) -> None:
        ref = uuid.uuid4().hex[:8]
        log.error("unhandled error (reference %s)", ref, exc_info=error)
        if not isinstance(body, dict) or not (
            (body.get("user") or {}).get("id") or body.get("user_id")
        ):
            return
        try:
            user = acting_user(body)
            with use_locale(lambda: deps.directory.locale(user) if user else None):
                tell(client, body, texts.oops(ref))
        except Exception:
            log.exception("could not tell the user about error %s", ref)

    commands.register(app)
    actions.register(app)
    submissions.register(app)
    events.register(app)
    find.register(app)
