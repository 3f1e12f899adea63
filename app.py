"""Composition root: settings -> bootstrap -> Slack app -> HTTP server or Socket Mode."""

from __future__ import annotations

import sys

from bot.config import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
        settings.require_slack()
    except SettingsError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    from bot.bootstrap import bootstrap

    container = bootstrap(settings)
    rooms = container.queries.rooms()
    print(f"roombot: settings loaded, database ready with {len(rooms)} active room(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
