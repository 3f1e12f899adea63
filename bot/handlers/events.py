"""Events API: the App Home tab, and members changing or leaving the workspace."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.domain.commands import NoteMemberChange, RefreshHome
from bot.handlers.deps import deps_of


def home_opened(event: dict[str, Any], context: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    deps_of(context).bus.handle(RefreshHome(event["user"]))


def user_changed(event: dict[str, Any], context: Any) -> None:
    """Slack's ``user_change``: a member's profile changed, or an admin deactivated them
    (``user.deleted`` is true). Their cached profile goes either way, here and (recorded) in
    every other process, so a new time zone or language counts from the next message;
    someone deactivated is released at once, instead of when a message to them finds them gone
    (the same release, so the admins hear it once)."""
    deps = deps_of(context)
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        return
    gone = deps.directory.changed(user)
    deps.bus.handle(NoteMemberChange(str(user["id"]), deleted=gone))
    if gone and deps.release_departed is not None:
        deps.release_departed(str(user["id"]))


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.event("user_change")(user_changed)
