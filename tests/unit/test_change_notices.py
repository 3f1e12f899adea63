"""What the booker receives about a change: the DM text and the email with its updated .ics
(METHOD:REQUEST, same UID, higher SEQUENCE), built from the outbox rows the policies write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar

from bot.adapters.directory import UserProfile
from bot.domain import commands as c
from bot.domain.model import Room
from bot.notifications.notice import Notice
from bot.notifications.outbox import OutboxRow
from bot.notifications.senders import EmailSender
from bot.services.handlers import Context
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel, OutboxMessage
from bot.views.notifications import dm_message, when
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store
from tests.unit.test_notify_senders import Outbox, Profiles

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BOB = UserProfile("UBOB", ZoneInfo("UTC"), "bob@example.com", "Bob")
SEOUL = ZoneInfo("Asia/Seoul")


def _bus(store: Store) -> MessageBus:
    store.rooms["102"] = Room("102", "Board room", 10)
    store.rooms["201"] = Room("201", "Focus room", 2)
    return MessageBus(
        lambda: FakeUnitOfWork(store), Context(admins=frozenset({"UADMIN"}), clock=FixedClock(NOW))
    )


def _email(store: Store, kind: str) -> OutboxMessage:
    return [m for m in store.outbox if m.channel is Channel.EMAIL and m.payload["kind"] == kind][-1]


def _sent(message: OutboxMessage) -> EmailMessage:
    mail = Outbox()
    EmailSender(mail, Profiles(BOB), "roombot <rooms@example.com>", clock=lambda: NOW)(
        OutboxRow(
            id=1,
            event_id=message.event_id,
            channel="email",
            recipient="UBOB",
            status="sending",
            attempts=1,
            next_attempt_at=NOW,
            last_error=None,
            created_at=NOW,
            sent_at=None,
            payload=message.payload,
        )
    )
    [sent] = mail.sent
    return sent


def _calendar(message: EmailMessage) -> icalendar.Calendar:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def _approved(bus: MessageBus) -> int:
    booking_id: int = bus.handle(
        c.RequestBooking("102", NOW + 2 * HOUR, NOW + 3 * HOUR, by="UBOB", title="Sync")
    )
    bus.handle(c.ApproveBooking(booking_id, by="UADMIN"))
    return booking_id


def test_a_shortened_booking_moves_the_invite_with_a_higher_sequence() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = _approved(bus)
    invite = _calendar(_sent(_email(store, "approved")))
    bus.handle(c.ChangeBooking(booking_id, by="UBOB", ends_at=NOW + 2.5 * HOUR))

    sent = _sent(_email(store, "changed"))
    assert sent["Subject"].startswith("Changed: Room 102 (Board room)")
    body = sent.get_body(("plain",)).get_content()
    assert "It stays approved. The calendar invite is updated." in body
    assert "Was:" in body
    update = _calendar(sent)
    assert update["method"] == "REQUEST"
    [old] = invite.walk("VEVENT")
    [new] = update.walk("VEVENT")
    assert new["uid"] == old["uid"]
    assert int(new["sequence"]) == int(old["sequence"]) + 1
    assert new["status"] == "CONFIRMED"
    assert new.decoded("dtend") == NOW + 2.5 * HOUR


def test_a_moved_approved_booking_goes_out_tentative_and_its_denial_withdraws_it() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = _approved(bus)
    bus.handle(
        c.ChangeBooking(
            booking_id, by="UBOB", room_id="201", starts_at=NOW + 4 * HOUR, ends_at=NOW + 5 * HOUR
        )
    )
    [moved] = _calendar(_sent(_email(store, "changed"))).walk("VEVENT")
    assert (moved["status"], int(moved["sequence"])) == ("TENTATIVE", 1)
    assert str(moved["location"]) == "Focus room"

    bus.handle(c.DenyBooking(booking_id, by="UADMIN", reason="Busy"))
    withdrawn = _calendar(_sent(_email(store, "denied")))
    assert withdrawn["method"] == "CANCEL"
    [event] = withdrawn.walk("VEVENT")
    assert event["uid"] == moved["uid"] and int(event["sequence"]) == 2


def test_a_change_of_a_pending_request_sends_no_calendar() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = bus.handle(c.RequestBooking("102", NOW + 2 * HOUR, NOW + 3 * HOUR, by="UBOB"))
    bus.handle(
        c.ChangeBooking(booking_id, by="UBOB", starts_at=NOW + 5 * HOUR, ends_at=NOW + 6 * HOUR)
    )
    sent = _sent(_email(store, "changed"))
    assert not [p for p in sent.walk() if p.get_content_type() == "text/calendar"]


def test_the_change_dm_shows_old_and_new_in_the_readers_zone() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = _approved(bus)
    bus.handle(
        c.ChangeBooking(booking_id, by="UBOB", starts_at=NOW + 4 * HOUR, ends_at=NOW + 5 * HOUR)
    )
    [dm] = [m for m in store.outbox if m.channel is Channel.DM and m.payload["kind"] == "changed"]
    message = dm_message(Notice.from_payload(dm.payload), SEOUL)

    text = message["blocks"][0]["text"]["text"]
    assert "waiting for approval again" in text
    assert f"Was: ~{when(NOW + 2 * HOUR, NOW + 3 * HOUR, SEOUL)}~" in text
    assert when(NOW + 4 * HOUR, NOW + 5 * HOUR, SEOUL) in text
    assert "19:00" in when(NOW + 2 * HOUR, NOW + 3 * HOUR, SEOUL)  # in the reader's zone


def test_end_now_tells_the_booker_the_rest_is_free() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = _approved(bus)
    bus.context.clock.now = NOW + 2.5 * HOUR  # type: ignore[attr-defined]
    bus.handle(c.EndBooking(booking_id, by="UBOB"))
    [dm] = [m for m in store.outbox if m.channel is Channel.DM and m.payload["kind"] == "changed"]
    assert "ended early" in dm_message(Notice.from_payload(dm.payload), SEOUL)["text"]


def test_a_released_booking_withdraws_its_invite() -> None:
    store = Store()
    bus = _bus(store)
    booking_id = _approved(bus)
    bus.handle(c.ReleaseBooking(booking_id, by="UBOB"))
    sent = _sent(_email(store, "released"))
    [event] = _calendar(sent).walk("VEVENT")
    assert _calendar(sent)["method"] == "CANCEL" and int(event["sequence"]) == 1
    assert "calendar invite is withdrawn" in sent.get_body(("plain",)).get_content()
