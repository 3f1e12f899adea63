"""What listeners need, handed to them through Bolt's ``context`` by a global middleware."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from slack_sdk import WebClient

from bot.adapters.directory import Directory
from bot.config import Settings
from bot.services.messagebus import MessageBus
from bot.services.queries import Queries
from bot.views.i18n import use_locale


@dataclass
class Deps:
    settings: Settings
    bus: MessageBus
    queries: Queries
    directory: Directory
    clock: Callable[[], datetime]

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
    only when a text is actually rendered."""

    @functools.wraps(listener)
    def run(*args: Any, **kwargs: Any) -> Any:
        deps = deps_of(kwargs["context"])
        user = acting_user(kwargs.get("body") or kwargs.get("command"))
        if user is None:
            return listener(*args, **kwargs)
        with use_locale(lambda: deps.directory.locale(user)):
            return listener(*args, **kwargs)

    return run  # type: ignore[return-value]


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Say something to the user who acted, where they are: ephemeral in a channel, else a DM."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if channel and not str(channel).startswith("D"):
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        client.chat_postMessage(channel=user, text=text)
