"""``python -m bot demo``: the original system's scenario, offline, through the real app stack.

Book, approve, book again, deny, cancel, book and change, then a weekly series around a week a
colleague holds: signed HTTP requests go into the real app (waitress, Bolt, bus, SQLite), which
talks to a local fake Slack Web API and sends email to a local SMTP sink. Each step prints what
the booker, the admin, the approvals channel and the mailbox saw, and keeps its views, DMs,
emails and invites in the demo's folder.
"""

from __future__ import annotations

import email.policy
import json
import logging
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.adapters import migrate
from bot.adapters.http import HttpServer
from bot.bootstrap import Runtime, bootstrap, build_web
from bot.config import Settings
from bot.demo.fake_slack import Call, FakeSlackApi
from bot.demo.listeners import Listeners
from bot.demo.loopback import Inbox, smtp_server
from bot.demo.signed import SlackSender, booking_values, repeat_values
from bot.domain import commands
from bot.views import ids

SECRET = "demo-signing-secret"
APPROVALS = "C0APPROVALS"
BOOKER, ADMIN, JAE = "U0MINJI", "U0ADMIN", "U0JAE"


def _plain(blocks: list[dict[str, Any]]) -> str:
    lines = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            lines.append(text["text"])
        for item in block.get("fields", []):
            lines.append(item["text"].replace("\n", ": ", 1))  # label: value
        elements: list[dict[str, Any]] = block.get("elements", [])
        for item in elements:
            if block["type"] == "context":
                lines.append(item["text"])
            elif item.get("type") == "button":
                lines.append(f"[{item['text']['text']}]")
    text = "\n".join(lines)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)  # what a UTC reader sees
    return re.sub(r"<@(\w+)>", r"@\1", text)


def _say(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


@dataclass
class Kept:
    """What the demo saves in its folder, each with a name that says what it is."""

    folder: Path
    files: list[Path] = field(default_factory=list)

    def view(self, name: str, payload: dict[str, Any]) -> None:
        """A Home tab view, or a message's blocks, as the app sent them: Block Kit JSON that
        Slack's Block Kit Builder draws."""
        self._write(f"{name}.json", json.dumps(payload, ensure_ascii=False, indent=2) + "\n")

    def email(self, name: str, message: EmailMessage) -> None:
        """The message as the mail server received it, and its calendar part as an .ics file."""
        self._write(f"{name}.eml", message.as_bytes(policy=email.policy.SMTP))  # CRLF lines
        for data in _calendars(message):
            self._write(f"{name}.ics", data)

    def _write(self, name: str, content: str | bytes) -> None:
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        self.files.append(path)


def run(out_dir: Path | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    work = (Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="roombot-demo-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    kept = Kept(work)
    database = work / "demo.db"
    database.unlink(missing_ok=True)  # a folder given again: the scenario starts from nothing
    database_url = f"sqlite:///{database}"
    with FakeSlackApi() as fake, smtp_server() as (mailbox, smtp_port):
        # Minji's Slack speaks Korean, so roombot does too; the admin's is English.
        fake.add_user(
            BOOKER, tz="Asia/Seoul", email="minji@example.com", name="Minji", locale="ko-KR"
        )
        fake.add_user(
            ADMIN, tz="Europe/Berlin", email="admin@example.com", name="Ada (admin)", locale="en-US"
        )
        fake.add_user(JAE, tz="Asia/Seoul", email="jae@example.com", name="Jae", locale="ko-KR")
        settings = Settings(
            _env_file=None,
            database_url=database_url,
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
        listeners = Listeners()
        runtime = bootstrap(settings, slack=True, listener_executor=listeners)
        migrate.upgrade(runtime.engine)
        server = HttpServer(build_web(runtime), host="127.0.0.1", port=0, threads=4).start()
        send = SlackSender(server.url, SECRET, fake)
        try:
            _scenario(runtime, send, fake, mailbox, listeners, kept)
            _report(fake, mailbox)
        finally:
            # in this order: no request comes in, every listener has finished, the last
            # notifications are out; only then do the database and the fake Slack go away
            server.stop()
            listeners.shutdown(wait=True)
            runtime.close()
    _say(f"Saved in {work}")
    for path in kept.files:
        print(f"- {path.name}")
    print(
        "The .json files are Block Kit: paste one into Slack's Block Kit Builder to see it "
        "drawn.\nThe .eml opens in a mail client; the .ics in a calendar app."
    )
    print(f"\nThe database is kept. To list its bookings:\n  {_bookings_command(database_url)}")
    return 0


def _bookings_command(database_url: str) -> str:
    """The shell line that lists the demo database's bookings with this same Python."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return f"DATABASE_URL={shlex.quote(database_url)} {shlex.quote(shown)} -m bot bookings list"


def _last(fake: FakeSlackApi, method: str, **params: str) -> Call:
    """The latest call of ``method`` whose parameters include ``params``."""
    found = [
        c for c in fake.calls_to(method) if all(c.params.get(k) == v for k, v in params.items())
    ]
    if not found:
        raise RuntimeError(f"no {method} call with {params}")
    return found[-1]


def _scenario(
    container: Runtime,
    send: SlackSender,
    fake: FakeSlackApi,
    mailbox: Inbox,
    listeners: Listeners,
    kept: Kept,
) -> None:
    bus = container.bus

    def deliver() -> None:
        """Let the clicks' listeners finish, then send what they queued."""
        listeners.wait_idle()
        container.dispatcher.drain()

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
    posted = _last(fake, "chat.postMessage", channel=APPROVALS)
    kept.view("card-1-before-approval", {"blocks": posted.params["blocks"]})
    print(f"\nthe approval card in #approvals:\n{_plain(posted.params['blocks'])}")
    admin_home = _last(fake, "views.publish", user_id=ADMIN).params["view"]
    kept.view("home-admin", admin_home)
    print(f"\nthe admin's App Home, with the request waiting:\n{_plain(admin_home['blocks'])}")

    _say("2. The admin approves on the card in #approvals")
    card_ts = posted.response["ts"]
    send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts=card_ts)
    _approved(container, 1)
    deliver()
    updated = _last(fake, "chat.update", ts=card_ts).params
    kept.view("card-1-after-approval", {"blocks": updated["blocks"]})
    print(f"the same card, updated in place:\n{_plain(updated['blocks'])}")
    approval = mailbox.wait_for(2)[-1].message
    kept.email("email-approved", approval)
    _show_email(approval)

    _say("3. Minji books again in one line")
    print(send.command(BOOKER, f"102 {day} 14:00-15:00 1:1 with Jae").text)
    deliver()

    _say("4. The admin denies it, with a reason")
    send.click(ADMIN, ids.DENY, "2", channel=APPROVALS, message_ts=_card_ts(fake, 2))
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
    send.click(ADMIN, ids.APPROVE, "3", channel=APPROVALS, message_ts=_card_ts(fake, 3))
    _approved(container, 3)
    deliver()

    _say("7. Minji moves it half an hour later with Change on her App Home tab")
    _change(send, fake, mailbox, deliver, kept, container, day)

    _say("8. Jae holds next week's 09:00 in the small room, and the admin approves it")
    next_week = (date.fromisoformat(day) + timedelta(weeks=1)).isoformat()
    print(send.command(JAE, f"102 {next_week} 09:00-09:30 Jae's interview").text)
    deliver()
    card = _last(fake, "chat.postMessage", channel=APPROVALS)
    held = _button(card.params["blocks"], ids.APPROVE)["value"]
    send.click(ADMIN, ids.APPROVE, held, channel=APPROVALS, message_ts=card.response["ts"])
    _approved(container, int(held))
    deliver()

    _say("9. Minji books a weekly stand-up, four times, with Repeat on the form")
    _series(send, fake, mailbox, deliver, kept, container, day)

    _say("10. Minji opens roombot's Home tab")
    published = len(fake.calls_to("views.publish"))
    send.event({"type": "app_home_opened", "user": BOOKER, "tab": "home"})
    deliver()
    fake.wait_for("views.publish", count=published + 1)
    booker_home = _last(fake, "views.publish", user_id=BOOKER).params["view"]
    kept.view("home-booker", booker_home)
    print(_plain(booker_home["blocks"]))


def _change(
    send: SlackSender,
    fake: FakeSlackApi,
    mailbox: Inbox,
    deliver: Callable[[], None],
    kept: Kept,
    container: Runtime,
    day: str,
) -> None:
    """Booking #3, approved, moved by its booker: the form filled in with it, the card asking
    again with old -> new, her DM, and the email moving the invite (same UID, next SEQUENCE)."""
    home = _last(fake, "views.publish", user_id=BOOKER).params["view"]  # as the last one left it
    opened = len(fake.calls_to("views.open"))
    send.click(BOOKER, ids.CHANGE, _button(home["blocks"], ids.CHANGE)["value"], view=home)
    form = fake.wait_for("views.open", count=opened + 1)[-1].params["view"]
    kept.view("change-form", form)
    print(f"the Change form opens filled in with the booking:\n{_filled_in(form)}")
    mails = len(mailbox.messages)
    reply = send.submit(BOOKER, form, booking_values("201", day, "16:30", "17:30", "Planning"))
    print(f"\nshe sets 16:30-17:30; the modal answers:\n{_plain(reply.json['view']['blocks'])}")
    deliver()
    card = _last(fake, "chat.update", ts=_card_ts(fake, 3)).params
    kept.view("card-3-changed", {"blocks": card["blocks"]})
    print(f"\nthe card goes back to waiting, showing old -> new:\n{_plain(card['blocks'])}")
    dm = _last(fake, "chat.postMessage", channel=BOOKER).params
    kept.view("dm-changed", {"blocks": dm["blocks"]})
    print(f"\nher DM:\n{_plain(dm['blocks'])}")
    changed = mailbox.wait_for(mails + 1)[-1].message
    kept.email("email-changed", changed)
    _show_email(changed)
    [now] = _events(changed)
    before = [e for m in mailbox.messages[:mails] for e in _events(m) if e["UID"] == now["UID"]]
    if before:
        print(
            f"\nthe same UID as the invite the approval sent ({now['UID']}), SEQUENCE "
            f"{before[-1]['SEQUENCE']} -> {now['SEQUENCE']}: her calendar moves the entry"
        )
    print("\nthe admin approves the change")
    send.click(ADMIN, ids.APPROVE, "3", channel=APPROVALS, message_ts=_card_ts(fake, 3))
    _approved(container, 3)
    deliver()


def _series(
    send: SlackSender,
    fake: FakeSlackApi,
    mailbox: Inbox,
    deliver: Callable[[], None],
    kept: Kept,
    container: Runtime,
    day: str,
) -> None:
    """A weekly series with its second week taken by Jae: the preview of every date, the free
    ones booked as one series, its one card approved with one click, its DM and its invite."""
    opened = len(fake.calls_to("views.open"))
    send.command(BOOKER)
    form = fake.shown_view(opened)
    values = booking_values("102", day, "09:00", "09:30", "Stand-up") | repeat_values(
        "weekly", count=4
    )
    preview = _submitted(send, fake, form, values)
    kept.view("series-preview", preview)
    print(f"the form turns into a preview of every date:\n{_plain(preview['blocks'])}")
    print(f"[{preview['submit']['text']}]")

    sent = _submitted(send, fake, preview, {})
    kept.view("series-sent", sent)
    print(f"\nshe clicks it; the modal answers:\n{_plain(sent['blocks'])}")
    deliver()
    posted = _last(fake, "chat.postMessage", channel=APPROVALS)
    kept.view("card-series-before-approval", {"blocks": posted.params["blocks"]})
    print(f"\nONE card for the whole series in #approvals:\n{_plain(posted.params['blocks'])}")

    mails = len(mailbox.messages)
    approve = _button(posted.params["blocks"], ids.APPROVE_SERIES)
    print(f"\nthe admin clicks [{approve['text']['text']}] once")
    send.click(
        ADMIN,
        ids.APPROVE_SERIES,
        approve["value"],
        channel=APPROVALS,
        message_ts=posted.response["ts"],
    )
    _until(
        lambda: (
            (s := container.queries.series(int(approve["value"]))) is not None
            and all(o.status == "APPROVED" for o in s.occurrences)
        ),
        f"series #{approve['value']} approved",
    )
    deliver()
    updated = _last(fake, "chat.update", ts=posted.response["ts"]).params
    kept.view("card-series-after-approval", {"blocks": updated["blocks"]})
    print(f"the same card, updated in place:\n{_plain(updated['blocks'])}")
    dm = _last(fake, "chat.postMessage", channel=BOOKER).params
    kept.view("dm-series-approved", {"blocks": dm["blocks"]})
    print(f"\nMinji's one DM for the series:\n{_plain(dm['blocks'])}")
    approved = mailbox.wait_for(mails + 1)[-1].message
    kept.email("email-series-approved", approved)
    _show_email(approved)


def _submitted(
    send: SlackSender, fake: FakeSlackApi, view: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """Submit the booker's modal and return the view put in its place: the ack's, or, when a
    busy database kept the answer past Slack's seconds and the ack is the wait note (one
    context line, nothing to submit), the views.update that replaces the note."""

    def updates(calls: list[Call]) -> list[Call]:
        return [
            c for c in calls if c.method == "views.update" and c.params.get("view_id") == "VMODAL"
        ]

    before = len(updates(fake.calls))
    answer: dict[str, Any] = send.submit(BOOKER, view, values).json["view"]
    if [b["type"] for b in answer["blocks"]] != ["context"] or "callback_id" in answer:
        return answer
    calls = fake.wait_until(lambda c: len(updates(c)) > before, "the answer", timeout=30)
    late: dict[str, Any] = updates(calls)[before].params["view"]
    return late


def _button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The first button with ``action_id``: its value is what Slack sends back on a click."""
    for block in blocks:
        elements: list[dict[str, Any]] = block.get("elements", [])
        for item in elements:
            if item.get("action_id") == action_id:
                return item
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == action_id:
            return accessory
    raise RuntimeError(f"no {action_id} button")


def _card_ts(fake: FakeSlackApi, booking_id: int) -> str:
    """The ts of booking ``booking_id``'s card: the one posted with its Approve button."""
    for call in fake.calls_to("chat.postMessage"):
        if call.params["channel"] != APPROVALS:
            continue
        buttons = [b for b in call.params["blocks"] for b in b.get("elements", [])]
        if any(
            b.get("action_id") == ids.APPROVE and b.get("value") == str(booking_id) for b in buttons
        ):
            return str(call.response["ts"])
    raise RuntimeError(f"no card for booking #{booking_id}")


def _filled_in(form: dict[str, Any]) -> str:
    """The form's fields as it opens: each label with the value it starts with."""
    lines = []
    for block in form["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        value = (
            (element.get("initial_option") or {}).get("text", {}).get("text")
            or element.get("initial_date")
            or element.get("initial_time")
            or element.get("initial_value")
        )
        if value:
            lines.append(f"{block['label']['text']}: {value}")
    return "\n".join(lines)


def _events(message: EmailMessage) -> list[Any]:
    """The VEVENTs of a message's calendar parts."""
    return [e for data in _calendars(message) for e in Calendar.from_ical(data).walk("VEVENT")]


def _calendars(message: EmailMessage) -> list[bytes]:
    """The message's calendar parts (text/calendar), as sent."""
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            found.append(data)
    return found


def _show_email(message: EmailMessage) -> None:
    """An email as its reader sees it: the headers, the text, and the calendar entry."""
    print(f"\nthe email Minji got (From {message['From']}):")
    print(f"To: {message['To']}\nSubject: {message['Subject']}\n")
    body = message.get_body(preferencelist=("plain",))
    if body is not None:
        print(str(body.get_content()).rstrip())
    for data in _calendars(message):
        print("\nits calendar entry (.ics):")
        print(data.decode("utf-8").replace("\r\n ", "").replace("\r\n", "\n").rstrip())


def _approved(container: Any, booking_id: int) -> None:
    """A click is answered before its listener runs: wait until the approval is committed."""
    _until(
        lambda: (
            (row := container.queries.booking(booking_id)) is not None and row.status == "APPROVED"
        ),
        f"booking #{booking_id} approved",
    )


def _until(ready: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout:g} s")
        time.sleep(0.02)


def _report(fake: FakeSlackApi, mailbox: Inbox) -> None:
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
    _say("The mailbox")
    for message in mailbox.messages:
        attachments = [
            f"calendar ({part.get_content_type()}, method={part.get_param('method')})"
            for part in message.walk()
            if part.get_content_type() == "text/calendar"
        ]
        extra = f"  + {', '.join(attachments)}" if attachments else ""
        print(f"- to {message['To']}: {message['Subject']}{extra}")
