"""The waitlist on SQLite and PostgreSQL: a freed slot (cancelled, denied, shortened, released
unattended) is offered to the first person waiting, in the same transaction as the change that
freed it, with its DM row; an offer not taken passes on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.adapters import orm
from bot.bootstrap import Container, bootstrap
from bot.domain import commands as c
from bot.domain.errors import InvalidBooking, InvalidTransition, NotAllowed, RoomUnavailable
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.integration.helpers import add_rooms, bookings, events, outbox, rows, slot


def _waitlist(engine: Engine) -> dict[str, str]:
    return {r["user"]: r["status"] for r in rows(engine, orm.waitlist, orm.waitlist.c.id)}


def test_a_cancelled_slot_is_offered_to_the_first_in_line_in_the_same_transaction(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    held = container.bus.handle(c.RequestBooking("102", start, end, by="UBOB"))
    container.bus.handle(c.ApproveBooking(held, by=ADMIN))
    with pytest.raises(RoomUnavailable):
        container.bus.handle(c.RequestBooking("102", start, end, by="UCAROL"))
    first = container.bus.handle(c.JoinWaitlist("102", start, end, by="UCAROL", title="Retro"))
    assert container.bus.handle(c.JoinWaitlist("102", start, end, by="UCAROL")) == first
    container.bus.handle(c.JoinWaitlist("102", start, end, by="UDAN"))

    container.bus.handle(c.CancelBooking(held, by="UBOB"))

    assert _waitlist(engine) == {"UCAROL": "OFFERED", "UDAN": "WAITING"}
    [cancelled] = [e for e in events(engine) if e["type"] == "BookingCancelled"]
    [offered] = [e for e in events(engine) if e["type"] == "WaitlistOffered"]
    assert offered["at"] == cancelled["at"]
    [dm] = [r for r in outbox(engine) if r["event_id"] == offered["event_id"]]
    assert (dm["channel"], dm["recipient"], dm["payload"]["kind"]) == ("dm", "UCAROL", "offer")
    assert dm["payload"]["entry_id"] == first

    # Carol books it with one click: a request for her, and the entry is done
    booking = container.bus.handle(c.ClaimOffer(first, by="UCAROL"))
    assert {b["id"]: (b["booker"], b["status"]) for b in bookings(engine)}[booking] == (
        "UCAROL",
        "PENDING",
    )
    assert _waitlist(engine)["UCAROL"] == "BOOKED"
    with pytest.raises(InvalidTransition, match="booked this slot already"):
        container.bus.handle(c.ClaimOffer(first, by="UCAROL"))


def test_an_offer_not_taken_in_time_passes_to_the_next_person(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    held = container.bus.handle(c.RequestBooking("102", start, end, by="UBOB"))
    carol = container.bus.handle(c.JoinWaitlist("102", start, end, by="UCAROL"))
    dan = container.bus.handle(c.JoinWaitlist("102", start, end, by="UDAN"))
    container.bus.handle(c.DenyBooking(held, by=ADMIN, reason="painting"))
    with pytest.raises(NotAllowed):
        container.bus.handle(c.ClaimOffer(carol, by="UDAN"))

    clock.advance(timedelta(minutes=14))
    assert container.bus.handle(c.LapseOffers()) == 0
    clock.advance(timedelta(minutes=1))
    assert container.bus.handle(c.LapseOffers()) == 1
    assert _waitlist(engine) == {"UCAROL": "LAPSED", "UDAN": "OFFERED"}
    with pytest.raises(InvalidTransition, match="no longer open"):
        container.bus.handle(c.ClaimOffer(carol, by="UCAROL"))
    container.bus.handle(c.ClaimOffer(dan, by="UDAN"))
    assert _waitlist(engine)["UDAN"] == "BOOKED"


@pytest.mark.parametrize("minutes", [15, 5])
def test_an_offer_lasts_waitlist_offer_minutes_then_the_next_person_is_told(
    engine: Engine, database_url: str, clock: FixedClock, minutes: int
) -> None:
    """M is the WAITLIST_OFFER_MINUTES setting (15 by default)."""
    overrides = {} if minutes == 15 else {"waitlist_offer_minutes": minutes}
    container = bootstrap(make_settings(database_url, **overrides), engine=engine, clock=clock)
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    held = container.bus.handle(c.RequestBooking("102", start, end, by="UBOB"))
    container.bus.handle(c.JoinWaitlist("102", start, end, by="UCAROL"))
    container.bus.handle(c.JoinWaitlist("102", start, end, by="UDAN"))
    container.bus.handle(c.CancelBooking(held, by="UBOB"))
    [carol] = [r for r in outbox(engine) if r["recipient"] == "UCAROL"]
    assert carol["payload"]["kind"] == "offer"

    clock.advance(timedelta(minutes=minutes) - timedelta(seconds=1))
    assert container.bus.handle(c.LapseOffers()) == 0
    clock.advance(timedelta(seconds=1))
    assert container.bus.handle(c.LapseOffers()) == 1

    assert _waitlist(engine) == {"UCAROL": "LAPSED", "UDAN": "OFFERED"}
    [lapsed] = [e for e in events(engine) if e["type"] == "WaitlistLapsed"]
    [dan] = [r for r in outbox(engine) if r["recipient"] == "UDAN"]
    assert (dan["channel"], dan["payload"]["kind"]) == ("dm", "offer")
    [offered] = [e for e in events(engine) if e["event_id"] == dan["event_id"]]
    assert offered["type"] == "WaitlistOffered" and offered["at"] == lapsed["at"] == clock.now


def test_only_a_slot_that_is_wholly_free_is_offered(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    first = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 2, 3), by="UBOB"))
    container.bus.handle(c.RequestBooking("102", *slot(clock.now, 3, 4), by="UERIN"))
    container.bus.handle(c.JoinWaitlist("102", *slot(clock.now, 2.5, 3.5), by="UCAROL"))
    container.bus.handle(c.CancelBooking(first, by="UBOB"))
    assert _waitlist(engine) == {"UCAROL": "WAITING"}  # 3:00-3:30 is still Erin's


def test_shortening_a_booking_offers_the_freed_part(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    held = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 2, 4), by="UBOB"))
    container.bus.handle(c.JoinWaitlist("102", *slot(clock.now, 3, 4), by="UCAROL"))
    container.bus.handle(c.ChangeBooking(held, by="UBOB", ends_at=clock.now + timedelta(hours=3)))
    assert _waitlist(engine) == {"UCAROL": "OFFERED"}


def test_a_free_slot_is_booked_not_waited_for(container: Container, clock: FixedClock) -> None:
    add_rooms(container.bus, "102")
    with pytest.raises(InvalidBooking, match="is free then"):
        container.bus.handle(c.JoinWaitlist("102", *slot(clock.now, 2, 3), by="UCAROL"))


def test_a_released_slot_is_offered_in_the_release_transaction_with_both_notices(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    start, end = slot(clock.now, 1, 2)
    held = container.bus.handle(c.RequestBooking("102", start, end, by="UBOB"))
    container.bus.handle(c.ApproveBooking(held, by=ADMIN))
    rest = (start + timedelta(minutes=30), end)  # the second half, still ahead at the release
    carol = container.bus.handle(c.JoinWaitlist("102", *rest, by="UCAROL"))

    clock.now = start + timedelta(minutes=10)
    assert container.bus.handle(c.ReleaseUnattended()) == 1

    assert _waitlist(engine) == {"UCAROL": "OFFERED"}
    [released] = [e for e in events(engine) if e["type"] == "BookingReleased"]
    [offered] = [e for e in events(engine) if e["type"] == "WaitlistOffered"]
    assert offered["at"] == released["at"] == clock.now
    notices = {
        (r["channel"], r["recipient"], r["payload"].get("kind"))
        for r in outbox(engine)
        if r["event_id"] in (released["event_id"], offered["event_id"])
    }
    assert {("dm", "UBOB", "released"), ("email", "UBOB", "released")} <= notices
    assert ("dm", "UCAROL", "offer") in notices
    assert container.bus.handle(c.ClaimOffer(carol, by="UCAROL"))
