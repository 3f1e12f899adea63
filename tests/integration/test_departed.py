"""Someone left the workspace, on SQLite and PostgreSQL: their upcoming bookings are cancelled in
one transaction with the read model, the card refresh, the waitlist offer and the admins' DM;
what was still waiting to be sent to them is skipped; and a DM finding them gone does all that
through the dispatcher, once."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.directory import Directory
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain import events as e
from bot.domain.model import LEFT_WORKSPACE
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.notice import Notice
from bot.notifications.outbox import OutboxStore
from bot.notifications.senders import DmSender
from bot.views.cards import card
from bot.views.home import status_text
from bot.views.notifications import dm_text
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings, events, outbox, rows, slot
from tests.unit.test_departed import Slack

BOB, CAROL = "UBOB", "UCAROL"


def test_release_cancels_upcoming_bookings_and_skips_what_was_waiting_for_them(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    held = container.bus.handle(c.RequestBooking("102", start, end, by=BOB, title="Retro"))
    container.bus.handle(c.ApproveBooking(held, by=ADMIN))
    later = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 5, 6), by=BOB))
    past = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 0.5, 1), by=BOB))
    container.bus.handle(c.JoinWaitlist("102", start, end, by=CAROL))
    clock.advance(slot(clock.now, 0, 0.75)[1] - clock.now)  # ``past`` is under way
    waiting_for_bob = [r["id"] for r in outbox(engine) if r["recipient"] == BOB]

    assert container.bus.handle(c.ReleaseDeparted(BOB)) == 2

    status = {b["id"]: b["status"] for b in bookings(engine)}
    assert (status[held], status[later], status[past]) == ("CANCELLED", "CANCELLED", "PENDING")
    listed = {r["booking_id"]: r for r in booking_list(engine)}
    assert listed[held]["reason"] == listed[later]["reason"] == "left_workspace"
    assert listed[held]["status"] == "CANCELLED"
    assert {r["booking_id"] for r in rows(engine, orm.approvals)} == {past}
    offers = [r for r in rows(engine, orm.waitlist) if r["user"] == CAROL]
    assert [r["status"] for r in offers] == ["OFFERED"]

    by_id = {r["id"]: r for r in outbox(engine)}
    assert {by_id[i]["status"] for i in waiting_for_bob} == {"skipped"}
    assert {by_id[i]["last_error"] for i in waiting_for_bob} == {f"{BOB} left the workspace"}
    logged = {d["outbox_id"]: d["outcome"] for d in rows(engine, orm.deliveries)}
    assert {logged[i] for i in waiting_for_bob} == {"skipped"}
    new_for_bob = [
        r for i, r in by_id.items() if r["recipient"] == BOB and i not in waiting_for_bob
    ]
    assert new_for_bob == []
    [left] = [ev for ev in events(engine) if ev["type"] == "MemberLeft"]
    assert left["event_id"] == e.member_left_id(BOB)
    assert left["payload"]["released"] == [held, later]
    [told] = [r for r in by_id.values() if r["event_id"] == left["event_id"]]
    assert (told["channel"], told["recipient"], told["status"]) == ("dm", ADMIN, "pending")
    assert [b["booking_id"] for b in told["payload"]["bookings"]] == [held, later]
    cancels = {ev["event_id"] for ev in events(engine) if ev["type"] == "BookingCancelled"}
    cards = [r for r in by_id.values() if r["event_id"] in cancels and r["channel"] == "card"]
    assert len(cards) == 2

    assert container.bus.handle(c.ReleaseDeparted(BOB)) == 0
    assert len(outbox(engine)) == len(by_id)


def test_a_dm_finding_its_recipient_gone_releases_them_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    slack = Slack()
    slack.add(ADMIN)
    add_rooms(container.bus, "102")
    first = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 2, 3), by=BOB))
    second = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 4, 5), by=BOB))
    store = OutboxStore(engine)
    dispatcher = Dispatcher(
        store,
        {"dm": DmSender(slack, Directory(slack, ZoneInfo("UTC")))},  # type: ignore[arg-type]
        DispatchSettings(lease_seconds=60.0),
        clock,
    )
    dispatcher.on_departed = lambda user: container.bus.handle(c.ReleaseDeparted(user))

    dispatcher.drain()  # Bob's first DM finds him unknown to Slack: released
    dispatcher.drain()  # the admin's DM goes out

    assert {b["id"]: b["status"] for b in bookings(engine)} == {
        first: "CANCELLED",
        second: "CANCELLED",
    }
    dms = [r for r in outbox(engine) if r["channel"] == "dm"]
    assert {r["status"] for r in dms if r["recipient"] == BOB} == {"skipped"}
    assert all(r["attempts"] <= 1 for r in dms if r["recipient"] == BOB)
    [told] = [r for r in dms if r["recipient"] == ADMIN]
    assert told["status"] == "sent"
    [posted] = slack.posted
    assert posted["channel"] == ADMIN and f"<@{BOB}>" in posted["text"]
    assert len([ev for ev in events(engine) if ev["type"] == "MemberLeft"]) == 1


def test_who_left_leaves_every_waitlist_and_an_offer_they_held_passes_on(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    held = container.bus.handle(c.RequestBooking("102", start, end, by=BOB))
    other = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 4, 5), by=BOB))
    container.bus.handle(c.JoinWaitlist("102", start, end, by=CAROL))
    container.bus.handle(c.JoinWaitlist("102", start, end, by="UDAN"))
    container.bus.handle(c.JoinWaitlist("102", *slot(clock.now, 4, 5), by=CAROL))
    container.bus.handle(c.CancelBooking(held, by=BOB))  # Carol holds the offer now

    container.bus.handle(c.ReleaseDeparted(CAROL))

    entries = [(r["user"], r["status"]) for r in rows(engine, orm.waitlist, orm.waitlist.c.id)]
    assert entries == [(CAROL, "WITHDRAWN"), ("UDAN", "OFFERED"), (CAROL, "WITHDRAWN")]
    offers = [r for r in outbox(engine) if r["payload"].get("kind") == "offer"]
    assert [r["recipient"] for r in offers] == [CAROL, "UDAN"]
    assert {b["id"]: b["status"] for b in bookings(engine)}[other] == "PENDING"  # Bob's, kept


def test_a_reason_typed_as_the_code_reaches_the_booker_as_typed(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """Words an admin types are never read as the code of someone who left: the booker is told,
    and the card and Home show the words."""
    add_rooms(container.bus, "102")
    held = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 2, 3), by=BOB))
    container.bus.handle(c.ApproveBooking(held, by=ADMIN))
    denied = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 4, 5), by=BOB))
    sent = {r["id"] for r in outbox(engine)}

    container.bus.handle(c.CancelBooking(held, by=ADMIN, reason=f" {LEFT_WORKSPACE} "))
    container.bus.handle(c.DenyBooking(denied, by=ADMIN, reason=LEFT_WORKSPACE))

    new = [r for r in outbox(engine) if r["id"] not in sent and r["channel"] in ("dm", "email")]
    for booking_id in (held, denied):
        told = [r for r in new if r["payload"]["booking"]["booking_id"] == booking_id]
        assert {(r["channel"], r["recipient"]) for r in told} == {("dm", BOB), ("email", BOB)}
        text = dm_text(Notice.from_payload(told[0]["payload"]), ZoneInfo("UTC"))
        assert LEFT_WORKSPACE in text and "left the workspace" not in text
        row = container.queries.booking(booking_id)
        assert row is not None and row.reason != LEFT_WORKSPACE
        for shown in (str(card(row)), status_text(row)):
            assert f"“{LEFT_WORKSPACE}" in shown and "left the workspace" not in shown
    assert {b["id"]: b["status"] for b in bookings(engine)} == {held: "CANCELLED", denied: "DENIED"}

    # The code itself still means what it always did
    left = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 6, 7), by=BOB))
    container.bus.handle(c.ReleaseDeparted(BOB))
    row = container.queries.booking(left)
    assert row is not None and row.reason == LEFT_WORKSPACE
    assert "left the workspace" in status_text(row) and "left the workspace" in str(card(row))
