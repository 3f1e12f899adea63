"""``python -m bot demo``: the original system's scenario, offline, through the real app stack.

Book, approve, book again, deny, cancel, book and change: signed HTTP requests go into the real
app (waitress, Bolt, bus, SQLite), which talks to a local fake Slack Web API and sends email to a
local SMTP sink. Then we print what the booker, the admin, the approvals channel and the mailbox
saw.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from bot.adapters import migrate
from bot.adapters.http import HttpServer
from bot.bootstrap import bootstrap, build_web
from bot.config import Settings
from bot.demo.fake_slack import FakeSlackApi
from bot.demo.signed import SlackSender, booking_values
from bot.domain import commands
from bot.views import ids

SECRET = "demo-signing-secret"
APPROVALS = "C0APPROVALS"
BOOKER, ADMIN = "U0MINJI", "U0ADMIN"


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def mail_sink() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _plain(blocks: list[dict[str, Any]]) -> str:
    lines = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            lines.append(text["text"])
        for item in block.get("fields", []):
            lines.append(item["text"].replace("\n", ": "))
        for item in block.get("elements", []):
            if block["type"] == "context":
                lines.append(item["text"])
            elif item.get("type") == "button":
                lines.append(f"[{item['text']['text']}]")
    text = "\n".join(lines)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)  # what a UTC reader sees
    return re.sub(r"<@(\w+)>", r"@\1", text)


def _say(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def run(out_dir: Path | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    work = Path(out_dir or tempfile.mkdtemp(prefix="roombot-demo-"))
    with FakeSlackApi() as fake, mail_sink() as (mailbox, smtp_port):
        # Minji's Slack speaks Korean, so roombot does too; the admin's is English.
        fake.add_user(
            BOOKER, tz="Asia/Seoul", email="minji@example.com", name="Minji", locale="ko-KR"
        )
        fake.add_user(
            ADMIN, tz="Europe/Berlin", email="admin@example.com", name="Ada (admin)", locale="en-US"
        )
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{work / 'demo.db'}",
            slack_bot_token="xoxb-demo",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
            approvals_channel=APPROVALS,
            admin_user_ids=ADMIN,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_starttls=False,
            mail_from="roombot@example.com",
        )
        runtime = bootstrap(settings, slack=True)
        migrate.upgrade(runtime.engine)
        server = HttpServer(build_web(runtime), host="127.0.0.1", port=0, threads=4).start()
        send = SlackSender(server.url, SECRET, fake)
        try:
            _scenario(runtime, send, fake, runtime.dispatcher.drain)
            _report(fake, mailbox)
        finally:
            server.stop()
            runtime.close()
    print(f"\n(database kept in {work})")
    return 0


def _scenario(container: Any, send: SlackSender, fake: FakeSlackApi, deliver: Any) -> None:
    bus = container.bus
    bus.handle(commands.AddRoom("102", "Small room", 4, by="cli"))
    bus.handle(commands.AddRoom("201", "Board room", 12, by="cli"))
    seoul = ZoneInfo("Asia/Seoul")
    day = (datetime.now(UTC).astimezone(seoul) + timedelta(days=1)).date().isoformat()

    _say("1. Minji types /book and fills the modal (times in her zone, Asia/Seoul)")
    opened = len(fake.calls_to("views.open"))
    send.command(BOOKER)
    modal = fake.shown_view(opened)
    reply = send.submit(
        BOOKER, modal, booking_values("102", day, "10:00", "11:00", "Design review")
    )
    print(
        f"modal answer: {reply.json['response_action']} -> {_plain(reply.json['view']['blocks'])}"
    )
    deliver()

    _say("2. The admin approves on the card in #approvals")
    send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    deliver()

    _say("3. Minji books again in one line")
    print(send.command(BOOKER, f"102 {day} 14:00-15:00 1:1 with Jae").text)
    deliver()

    _say("4. The admin denies it, with a reason")
    send.click(ADMIN, ids.DENY, "2", channel=APPROVALS, message_ts="2")
    deny = fake.wait_for("views.open", count=2)[-1].params["view"]
    reason = {ids.REASON_BLOCK: {ids.REASON_ACTION: {"value": "The room is being repainted"}}}
    send.submit(ADMIN, deny, reason)
    deliver()

    _say("5. Minji cancels the approved booking")
    print(send.command(BOOKER, "cancel 1").text)
    deliver()

    _say("6. Minji books the board room, and the admin approves it")
    print(send.command(BOOKER, f"201 {day} 16:00-17:00 Planning").text)
    deliver()
    send.click(ADMIN, ids.APPROVE, "3", channel=APPROVALS, message_ts="3")
    _approved(container, 3)
    deliver()

    _say("7. Minji moves it half an hour later with Change on her App Home tab")
    home = [c for c in fake.calls_to("views.publish") if c.params["user_id"] == BOOKER][-1]
    home = home.params["view"]  # her Home tab as the last delivery left it
    opened = len(fake.calls_to("views.open"))
    send.click(BOOKER, ids.CHANGE, "3", view=home)
    form = fake.wait_for("views.open", count=opened + 1)[-1].params["view"]
    reply = send.submit(BOOKER, form, booking_values("201", day, "16:30", "17:30", "Planning"))
    print(f"modal answer: {_plain(reply.json['view']['blocks'])}")
    deliver()
    card = fake.calls_to("chat.update")[-1].params
    print(f"the card asks the admin again, showing old -> new:\n{_plain(card['blocks'])}")
    print("the admin approves the change")
    send.click(ADMIN, ids.APPROVE, "3", channel=APPROVALS, message_ts="3")
    _approved(container, 3)
    deliver()
    send.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    fake.wait_for("views.publish")


def _approved(container: Any, booking_id: int, timeout: float = 10.0) -> None:
    """A click is answered before its listener runs: wait until the approval is committed."""
    deadline = time.monotonic() + timeout
    while (row := container.queries.booking(booking_id)) is None or row.status != "APPROVED":
        if time.monotonic() > deadline:
            raise RuntimeError(f"booking #{booking_id} was not approved in {timeout:g} s")
        time.sleep(0.02)


def _report(fake: FakeSlackApi, mailbox: Mailbox) -> None:
    _say("What Minji saw (DMs from roombot)")
    for call in fake.calls_to("chat.postMessage"):
        if call.params["channel"] == BOOKER:
            print("-", call.params["text"])
    _say("What the approvals channel shows now (each card, last version)")
    cards = {
        call.response["ts"]: call.params
        for call in fake.calls_to("chat.postMessage")
        if call.params["channel"] == APPROVALS
    }
    for update in fake.calls_to("chat.update"):
        cards[update.params["ts"]] = update.params
    for n, card in enumerate(cards.values(), start=1):
        print(f"--- card {n}\n{_plain(card['blocks'])}")
    _say("What the admin's App Home shows")
    homes = [c for c in fake.calls_to("views.publish") if c.params["user_id"] == ADMIN]
    print(_plain(homes[-1].params["view"]["blocks"]) if homes else "(not opened)")
    _say("The mailbox")
    for message in mailbox.messages:
        attachments = [
            f"calendar ({part.get_content_type()}, method={part.get_param('method')})"
            for part in message.walk()
            if part.get_content_type() == "text/calendar"
        ]
        extra = f"  + {', '.join(attachments)}" if attachments else ""
        print(f"- to {message['To']}: {message['Subject']}{extra}")
