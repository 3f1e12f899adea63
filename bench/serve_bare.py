"""The baseline server: a bare Bolt app whose listeners only ``ack()``, on roombot's server stack.

Same Bolt version and settings that matter (signature verification on, ``process_before_response``
off, so listeners run on Bolt's executor and the answer goes out when ``ack()`` is called), same
WSGI wrapper (``WebApp``) and the same waitress server with the same thread count as the app. So
the difference between this and the app is exactly roombot's own work in the listener before it
acks (and whatever else roombot's process does meanwhile, such as delivering notifications).

    python -m bench.serve_bare --port-file F --slack-url URL [--threads 16]
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from bench.stack import SECRET, TOKEN, write_port


def build(slack_url: str, *, open_modal: bool = False) -> Any:
    """The bare Bolt app: ``/book``, the Approve button and the booking modal, each ack only.

    With ``open_modal``, ``/book`` also makes the one Web API call Slack requires of it: after
    ``ack()``, ``views.open`` with a booking form for the bench's 50 rooms, built once at start.
    That is the floor any app answering ``/book`` with a modal pays per request.

    Bolt calls ``auth.test`` once, on the first request; the client points at the fake Slack API
    (as the app's does) so that call stays on loopback.
    """
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from slack_bolt import Ack, App
    from slack_sdk import WebClient

    from bench.stack import ROOM_IDS
    from bot.services.ports import RoomRow
    from bot.views import ids
    from bot.views.booking_modal import booking_modal

    form: dict[str, Any] = {}
    if open_modal:
        rooms = [
            RoomRow(room, f"Bench room {n}", 4 + n % 10, True) for n, room in enumerate(ROOM_IDS)
        ]
        form = booking_modal(rooms, ZoneInfo("UTC"), datetime.now(UTC), max_title=150)

    app = App(
        client=WebClient(token=TOKEN, base_url=slack_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )

    @app.command("/book")
    def book(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        if open_modal:
            client.views_open(trigger_id=command["trigger_id"], view=form)

    @app.action(ids.APPROVE)
    def approve(ack: Ack) -> None:
        ack()

    @app.view(ids.BOOK_MODAL)
    def submit(ack: Ack) -> None:
        ack()

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.serve_bare")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--open-modal", action="store_true", help="/book also calls views.open")
    args = parser.parse_args(argv)

    from bot.adapters.http import HttpServer, SlackEdge, WebApp
    from bot.adapters.replays import MemoryReplays

    bolt = build(args.slack_url, open_modal=args.open_modal)
    server = HttpServer(
        WebApp(bolt, lambda: (True, {"status": "ready"}), SlackEdge(SECRET, MemoryReplays())),
        host="127.0.0.1",
        port=0,
        threads=args.threads,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_port(args.port_file, server.port)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
