"""What listeners need, handed to them through Bolt's ``context`` by a global middleware."""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.adapters.directory import Directory, UserProfile
from bot.adapters.feeds import FeedStore
from bot.adapters.member_changes import MemberChangeFeed
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.errors import BookingError
from bot.domain.rules import is_id
from bot.services.messagebus import MessageBus
from bot.services.queries import Queries
from bot.views import refusals, texts
from bot.views.booking_modal import loading_modal
from bot.views.i18n import use_locale

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    bus: MessageBus
    queries: Queries
    directory: Directory
    clock: Callable[[], datetime]
    #: Calendar feed links (None: the app hands out none).
    feeds: FeedStore | None = None
    #: Releases someone Slack says was deactivated (the dispatcher's release, told quietly).
    release_departed: Callable[[str], None] | None = None
    #: What other processes heard of Slack's ``user_change``, read after a request now and then.
    member_changes: MemberChangeFeed | None = None
    #: Runs a click's transaction so the listener can wait for it only as long as the ack allows.
    decisions: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="decisions")
    )

    def is_admin(self, user: str) -> bool:
        return user in self.settings.admin_user_ids


def deps_of(context: Any) -> Deps:
    deps: Deps = context["deps"]
    return deps


def acting_user(payload: dict[str, Any] | None) -> str | None:
    """Who clicked, typed or submitted: ``user.id`` in interactions, ``user_id`` in commands."""
    payload = payload or {}
    user = (payload.get("user") or {}).get("id") or payload.get("user_id")
    return str(user) if user else None


F = TypeVar("F", bound=Callable[..., Any])


def in_users_language(listener: F) -> F:
    """Run a listener with the acting user's language active, so every view it renders and
    every reply it sends speaks it. The user's Slack locale is read (from the directory cache)
    only when a text is actually rendered, and waited for no longer than the ack budget: a text
    rendered for the ack must not miss Slack's 3 seconds because users.info is slow or its
    client is retrying an unreachable Slack. Past the budget the default language speaks, as it
    does when users.info fails, and the lookup goes on to fill the cache."""

    @functools.wraps(listener)
    def run(*args: Any, **kwargs: Any) -> Any:
        deps = deps_of(kwargs["context"])
        user = acting_user(kwargs.get("body") or kwargs.get("command"))
        if user is None:
            return listener(*args, **kwargs)

        def locale() -> str:
            profile = deps.directory.profile_within(user, ACK_BUDGET_SECONDS)
            return profile.locale if profile is not None else deps.directory.default_locale

        with use_locale(locale):
            try:
                return listener(*args, **kwargs)
            except Exception as error:
                ack = kwargs.get("ack")
                if ack is None or ack.response is None:
                    raise  # not acknowledged yet: Bolt answers, and its error handler reports
                # Acknowledged, then failed: Bolt's runner would clear the ack it may not have
                # seen yet (it looks every 10 ms) and answer 404 after 3 s instead of the 200.
                context = kwargs["context"]
                payload = kwargs.get("body") or kwargs.get("command") or {}
                report_error(error, payload, kwargs.get("client") or context.client, context)
                return None

    return run  # type: ignore[return-value]


def report_error(error: Exception, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Log an unexpected error with a reference, and tell the user who acted that reference (in
    their language), unless the request was not verified."""
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error (reference %s)", ref, exc_info=error)
    if not context.get("verified"):
        return  # the body names whoever the sender chose: tell nobody
    user = acting_user(body) if isinstance(body, dict) else None
    if user is None:
        return
    try:
        deps = deps_of(context)
        with use_locale(lambda: deps.directory.locale(user)):
            tell(client, body, texts.oops(ref))
    except Exception:
        log.exception("could not tell the user about error %s", ref)


#: Of Slack's 3 seconds to acknowledge, what work that must come before the ack may take (a
#: users.info lookup, a decision's transaction); past it the ack goes out and the work finishes
#: after it.
ACK_BUDGET_SECONDS = 1.5


#: What :func:`decide` gives back for a click that was refused (the clicker has been told).
REFUSED: Any = object()


def decide(
    ack: Ack,
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    command: c.Command,
    refused: Callable[[BookingError], None] | None = None,
) -> Any:
    """Commit a click's command, then ack: an acknowledged click is a stored one. Gives back the
    command's result, or :data:`REFUSED` once the clicker has been told why not (by
    ``refused``, which gets the error after the ack; by default a reply where they are).

    When the transaction does not finish within the ack budget (the database is busy), the
    click is acked anyway and the clicker is told it is still being saved, then told if it
    failed; so no click is acked in silence and lost."""

    def refuse(error: BookingError) -> Any:
        if refused is None:
            tell(client, body, refusals.reply(error))
        else:
            refused(error)
        return REFUSED

    pending = deps.decisions.submit(deps.bus.handle, command)
    try:
        result = pending.result(timeout=ACK_BUDGET_SECONDS)
    except FutureTimeout:
        ack()
        tell(client, body, texts.still_saving())
        try:
            return pending.result()
        except BookingError as error:
            return refuse(error)
    except BookingError as error:
        ack()
        return refuse(error)
    except Exception:
        ack()  # the error handler tells the clicker nothing was changed
        raise
    ack()
    return result


def open_form(
    client: WebClient,
    deps: Deps,
    trigger_id: str,
    user: str,
    form: Callable[[UserProfile], dict[str, Any]],
    *,
    push: bool = False,
) -> None:
    """Open (or ``push`` onto a modal) ``form`` for the user's profile before anything slow:
    the trigger expires 3 s after the request.

    With the profile cached, the form opens at once. Otherwise a short placeholder opens first
    and the form replaces it once Slack has said the zone (``form`` sees an unknown zone when
    Slack cannot say, and says which one it uses)."""
    show = client.views_push if push else client.views_open
    cached = deps.directory.cached(user)
    if cached is not None:
        show(trigger_id=trigger_id, view=form(cached))
        return
    opened = show(trigger_id=trigger_id, view=loading_modal())  # it has no words to translate
    view = form(deps.directory.profile(user))
    client.views_update(view_id=opened["view"]["id"], view=view)


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Say something to the user who acted, where they are.

    Commands and message buttons carry a ``response_url``, which reaches the user in any channel
    (``chat.postEphemeral`` fails with ``not_in_channel`` where the bot is not a member). App Home
    and modal actions have none: the answer goes to the user's DM with the app."""
    url = body.get("response_url")
    if isinstance(url, str) and url:
        WebhookClient(url, timeout=10).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        return
    user = acting_user(body)
    if user is None:  # Slack names the user in every payload it sends
        log.warning("nothing told: the payload names no user")
        return
    client.chat_postMessage(channel=user, text=text)


def replace_at(url: str, message: dict[str, Any]) -> None:
    """Put ``message`` in place of the one a ``response_url`` belongs to (an ephemeral list a
    form was opened from: a submission has no response_url of its own)."""
    WebhookClient(url, timeout=10).send(
        text=message.get("text"),
        blocks=message.get("blocks"),
        response_type="ephemeral",
        replace_original=True,
    )


def booking_number(value: Any) -> int | None:
    """A booking id from a button value, typed text or modal metadata: ASCII digits in range.
    Slack hands back what we wrote, so anything else was tampered with (``abc``, ``1.0``, ``²``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if is_id(value) else None
    text = value.strip().lstrip("#") if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    number = int(text)
    return number if is_id(number) else None


def metadata(view: dict[str, Any] | None) -> dict[str, Any]:
    """A view's ``private_metadata`` as the dict the app wrote, or empty if it is not one."""
    try:
        meta = json.loads((view or {}).get("private_metadata") or "{}")
    except (ValueError, TypeError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}
