"""Events API: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.domain.commands import RefreshHome
from bot.handlers.deps import deps_of


def home_opened(event: dict[str, Any], context: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    deps_of(context).bus.handle(RefreshHome(event["user"]))


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
