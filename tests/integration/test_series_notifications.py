"""Notifications of recurring series on SQLite and PostgreSQL: a series is one request to
approvers (one card row per act on the series, never one per date), read back as one
:class:`SeriesRow` with the dates it skipped."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import Engine

from bot.bootstrap import Container, bootstrap
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.domain.recurrence import Frequency, Repeat
from bot.notifications import ics
from bot.notifications.notice import Notice
from bot.services.ports import Channel
from bot.services.queries import Queries
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.integration.helpers import add_rooms, bookings, outbox, slot

WEEK = timedelta(weeks=1)


def _weekly(clock: FixedClock, weeks: int, by: str = "UBOB") -> c.RequestSeries:
    start, end = slot(clock.now, 26, 27)
    return c.RequestSeries(
        "102",
        start,
        end,
        by=by,
        repeat=Repeat(Frequency.WEEKLY, count=weeks),
        timezone="Asia/Seoul",
        title="Weekly sync",
    )


def _new_rows(engine: Engine, since: int) -> list[dict]:
    return [r for r in outbox(engine) if r["id"] > since]


def _last_id(engine: Engine) -> int:
    return max((r["id"] for r in outbox(engine)), default=0)


def test_a_series_request_and_its_approval_each_refresh_one_card(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    taken_start, taken_end = slot(clock.now + 2 * WEEK, 26, 27)
    container.bus.handle(c.RequestBooking("102", taken_start, taken_end, by="UCAROL"))
    before = _last_id(engine)

    series_id = container.bus.handle(_weekly(clock, 5))
    requested = _new_rows(engine, before)
    cards = [r for r in requested if r["channel"] == Channel.CARD]
    assert len(cards) == 1  # one card for the series, not one per date
    homes = [r["recipient"] for r in requested if r["channel"] == Channel.HOME]
    assert sorted(homes) == sorted({"UBOB", ADMIN})

    series = Queries(engine).series(series_id)
    assert series is not None
    held = [b for b in bookings(engine) if b["series_id"] == series_id]
    assert [o.booking_id for o in series.occurrences] == [b["id"] for b in held]
    assert series.anchor == held[0]["id"] == cards[0]["payload"]["booking_id"]
    assert series.skipped == (taken_start,)  # the date someone else holds

    before = _last_id(engine)
    assert container.bus.handle(c.ApproveSeries(series_id, by=ADMIN)) == 4
    approved = _new_rows(engine, before)
    assert len([r for r in approved if r["channel"] == Channel.CARD]) == 1
    series = Queries(engine).series(series_id)
    assert series is not None
    assert {o.status for o in series.occurrences} == {BookingStatus.APPROVED}

    before = _last_id(engine)
    assert container.bus.handle(c.ApproveSeries(series_id, by=ADMIN)) == 0  # a repeat
    assert _new_rows(engine, before) == []


def test_cancelling_the_rest_of_a_series_refreshes_its_card_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    series_id = container.bus.handle(_weekly(clock, 5))
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    ids = [b["id"] for b in bookings(engine) if b["series_id"] == series_id]

    before = _last_id(engine)
    assert container.bus.handle(c.CancelOccurrence(ids[1], by="UBOB", following=True)) == 4
    cards = [r for r in _new_rows(engine, before) if r["channel"] == Channel.CARD]
    assert len(cards) == 1
    series = Queries(engine).series(series_id)
    assert series is not None and series.ended_at == clock.now
    assert series.end_reason == "cancelled"


def _to(rows: list[dict], channel: Channel) -> list[tuple[str, str]]:
    return [(r["recipient"], r["payload"]["kind"]) for r in rows if r["channel"] == channel]


def test_the_booker_is_told_once_per_act_on_the_series(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    before = _last_id(engine)
    series_id = container.bus.handle(_weekly(clock, 4))
    requested = _new_rows(engine, before)
    assert _to(requested, Channel.DM) == [("UBOB", "requested")]
    assert _to(requested, Channel.EMAIL) == [("UBOB", "requested")]
    [dm] = [r for r in requested if r["channel"] == Channel.DM]
    assert dm["payload"]["series"]["series_id"] == series_id
    assert len(dm["payload"]["series"]["dates"]) == 4 and "recurrence_id" not in dm["payload"]

    before = _last_id(engine)
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    approved = _new_rows(engine, before)
    assert _to(approved, Channel.DM) == [("UBOB", "approved")]
    assert _to(approved, Channel.EMAIL) == [("UBOB", "approved")]
    [email] = [r for r in approved if r["channel"] == Channel.EMAIL]
    assert {d["status"] for d in email["payload"]["series"]["dates"]} == {"APPROVED"}
    assert email["payload"]["series"]["sequence"] == 0

    # one date cancelled: one notice about that date, carrying its series for the calendar
    ids = [b["id"] for b in bookings(engine) if b["series_id"] == series_id]
    before = _last_id(engine)
    container.bus.handle(c.CancelOccurrence(ids[1], by="UBOB"))
    one = _new_rows(engine, before)
    assert _to(one, Channel.EMAIL) == [("UBOB", "cancelled")]
    [email] = [r for r in one if r["channel"] == Channel.EMAIL]
    assert email["payload"]["booking"]["booking_id"] == ids[1]
    assert email["payload"]["recurrence_id"] is not None
    assert email["payload"]["series"]["sequence"] == 1  # grows with every withdrawal
    # the refresh names the series' card, so refreshes queued together go out as one update
    [card] = [r for r in one if r["channel"] == Channel.CARD]
    assert card["payload"]["booking_id"] == ids[0]

    # the rest cancelled: the end is told once to the booker and once to each admin
    before = _last_id(engine)
    container.bus.handle(c.CancelOccurrence(ids[2], by="UBOB", following=True))
    ended = _new_rows(engine, before)
    assert sorted(_to(ended, Channel.DM)) == [(ADMIN, "ended"), ("UBOB", "ended")]
    assert sorted(_to(ended, Channel.EMAIL)) == [(ADMIN, "ended"), ("UBOB", "ended")]
    mine = next(r for r in ended if r["channel"] == Channel.EMAIL and r["recipient"] == "UBOB")
    assert mine["payload"]["cancelled_dates"] == 2 and mine["payload"]["was_approved"]
    assert mine["payload"]["series"]["sequence"] == 1 + 2 + 1  # two more withdrawn, and ended
    admins = next(r for r in ended if r["channel"] == Channel.EMAIL and r["recipient"] == ADMIN)
    assert admins["payload"]["to_admins"]


def test_a_series_a_policy_approves_is_told_once_as_approved(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", auto_approve=True))
    before = _last_id(engine)
    container.bus.handle(_weekly(clock, 3))
    rows = _new_rows(engine, before)
    assert _to(rows, Channel.DM) == [("UBOB", "approved")]
    assert _to(rows, Channel.EMAIL) == [("UBOB", "approved")]
    assert [r["payload"]["actor"] for r in rows if r["channel"] == Channel.DM] == ["policy"]
    assert len([r for r in rows if r["channel"] == Channel.CARD]) == 1


@pytest.mark.parametrize("limit", [3, 2])
def test_released_too_often_a_series_ends_and_says_so(
    engine: Engine, database_url: str, clock: FixedClock, limit: int
) -> None:
    """K releases in a row end a series; K is the SERIES_RELEASE_LIMIT setting (3 by default)."""
    overrides = {} if limit == 3 else {"series_release_limit": limit}
    container = bootstrap(make_settings(database_url, **overrides), engine=engine, clock=clock)
    assert container.bus.context.series_release_limit == limit
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    start, end = slot(clock.now, 1, 2)
    series_id = container.bus.handle(
        c.RequestSeries(
            "102", start, end, by="UBOB", repeat=Repeat(Frequency.DAILY, count=5), timezone="UTC"
        )
    )
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    before = _last_id(engine)
    for day in range(limit):
        clock.now = start + timedelta(days=day, minutes=11)
        container.bus.handle(c.ReleaseUnattended())
    rows = _new_rows(engine, before)
    released = [
        r for r in rows if r["channel"] == Channel.EMAIL and r["payload"]["kind"] == "released"
    ]
    assert len(released) == limit and all(r["payload"]["recurrence_id"] for r in released)
    ended = [r for r in rows if r["channel"] == Channel.DM and r["payload"]["kind"] == "ended"]
    assert sorted(r["recipient"] for r in ended) == [ADMIN, "UBOB"]
    assert ended[0]["payload"]["series"]["end_reason"] == "released"
    assert ended[0]["payload"]["cancelled_dates"] == 5 - limit


def test_a_date_changed_alone_sends_the_series_again_with_the_change(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    series_id = container.bus.handle(_weekly(clock, 4))
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    held = [b for b in bookings(engine) if b["series_id"] == series_id]

    # shorter: it stays approved, and the series' invite goes out again with that date shorter
    before = _last_id(engine)
    shorter = held[2]["ends_at"] - timedelta(minutes=30)
    container.bus.handle(c.ChangeBooking(held[2]["id"], by="UBOB", ends_at=shorter))
    rows = _new_rows(engine, before)
    assert _to(rows, Channel.EMAIL) == [("UBOB", "changed")]
    [email] = [r for r in rows if r["channel"] == Channel.EMAIL]
    notice = Notice.from_payload(email["payload"])
    assert notice.calendar_method == "REQUEST" and notice.recurrence_id == held[2]["starts_at"]
    assert notice.calendar_sequence == 1
    calendar = Calendar.from_ical(ics.calendar(notice))
    found = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2028, 1, 1))
    ends = sorted(e["DTEND"].dt.astimezone(UTC) for e in found)
    assert ends == sorted([b["ends_at"] for b in held[:2]] + [shorter, held[3]["ends_at"]])
    assert len([r for r in rows if r["channel"] == Channel.CARD]) == 1

    # moved: it waits for approval again, left out of the invite until the series card's
    # Approve takes it back in
    before = _last_id(engine)
    later = (held[1]["starts_at"] + timedelta(hours=3), held[1]["ends_at"] + timedelta(hours=3))
    container.bus.handle(
        c.ChangeBooking(held[1]["id"], by="UBOB", starts_at=later[0], ends_at=later[1])
    )
    [email] = [r for r in _new_rows(engine, before) if r["channel"] == Channel.EMAIL]
    moved = Notice.from_payload(email["payload"])
    assert moved.needs_approval and moved.calendar_sequence > notice.calendar_sequence
    calendar = Calendar.from_ical(ics.calendar(moved))
    assert {str(e["STATUS"]) for e in calendar.walk("VEVENT")} == {"CONFIRMED"}
    found = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2028, 1, 1))
    assert len(list(found)) == 3

    before = _last_id(engine)
    assert container.bus.handle(c.ApproveSeries(series_id, by=ADMIN)) == 1
    [email] = [r for r in _new_rows(engine, before) if r["channel"] == Channel.EMAIL]
    again = Notice.from_payload(email["payload"])
    assert again.about_series and again.calendar_sequence > moved.calendar_sequence
    calendar = Calendar.from_ical(ics.calendar(again))
    found = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2028, 1, 1))
    assert later in [
        (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found
    ]


def test_admins_are_nudged_once_about_a_series_waiting_too_long(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    series_id = container.bus.handle(_weekly(clock, 5))
    clock.advance(container.bus.context.nudge_after + timedelta(minutes=1))
    before = _last_id(engine)
    assert container.bus.handle(c.NudgeAdmins()) == 5  # every date is marked nudged ...
    nudges = _new_rows(engine, before)
    assert _to(nudges, Channel.DM) == [(ADMIN, "nudge")]  # ... and the series told once
    first = min(b["id"] for b in bookings(engine) if b["series_id"] == series_id)
    assert nudges[0]["payload"]["booking"]["booking_id"] == first
    assert nudges[0]["payload"]["series"]["series_id"] == series_id
    assert container.bus.handle(c.NudgeAdmins()) == 0


def test_the_approval_queue_lists_a_series_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102", "201")
    series_id = container.bus.handle(_weekly(clock, 4))
    single = container.bus.handle(c.RequestBooking("201", *slot(clock.now, 30, 31), by="UCAROL"))
    page = Queries(engine).pending()
    first = min(b["id"] for b in bookings(engine) if b["series_id"] == series_id)
    assert [r.booking_id for r in page.rows] == [first, single] and page.total == 2

    # once its first date is decided alone (after a change, say) the next waiting one stands in
    container.bus.handle(c.ApproveBooking(first, by=ADMIN))
    second = sorted(b["id"] for b in bookings(engine) if b["series_id"] == series_id)[1]
    assert [r.booking_id for r in Queries(engine).pending().rows] == [single, second]
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    assert [r.booking_id for r in Queries(engine).pending().rows] == [single]


def test_dates_of_a_series_expiring_at_one_run_are_told_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102", "201")
    series_id = container.bus.handle(_weekly(clock, 4))
    held = sorted(
        (b for b in bookings(engine) if b["series_id"] == series_id), key=lambda b: b["id"]
    )
    single = container.bus.handle(c.RequestBooking("201", *slot(clock.now, 26, 27), by="UCAROL"))

    # nothing ran while three dates started undecided: one notice for the three of them
    clock.now = held[2]["starts_at"] + timedelta(minutes=1)
    before = _last_id(engine)
    assert container.bus.handle(c.ExpirePending()) == 4
    rows = _new_rows(engine, before)
    assert sorted(_to(rows, Channel.DM)) == [("UBOB", "expired"), ("UCAROL", "expired")]
    assert sorted(_to(rows, Channel.EMAIL)) == [("UBOB", "expired"), ("UCAROL", "expired")]
    [email] = [r for r in rows if r["channel"] == Channel.EMAIL and r["recipient"] == "UBOB"]
    notice = Notice.from_payload(email["payload"])
    assert notice.about_series and notice.expired_dates == 3
    assert (notice.booking_id, notice.starts_at) == (held[0]["id"], held[0]["starts_at"])
    assert notice.series is not None
    assert [d.status for d in notice.series.dates] == ["EXPIRED"] * 3 + ["PENDING"]
    assert notice.calendar_method is None  # nothing of it was ever in a calendar
    # the single booking's expiry is told as before, about that booking alone
    [carol] = [r for r in rows if r["channel"] == Channel.EMAIL and r["recipient"] == "UCAROL"]
    assert carol["payload"]["booking"]["booking_id"] == single and "series" not in carol["payload"]
    cards = sorted(r["payload"]["booking_id"] for r in rows if r["channel"] == Channel.CARD)
    assert cards == sorted([held[0]["id"], single])  # the series' card once
    homes = [r["recipient"] for r in rows if r["channel"] == Channel.HOME]
    assert sorted(homes) == sorted(["UBOB", "UCAROL", ADMIN, ADMIN])
    assert {b["status"] for b in bookings(engine) if b["id"] in {h["id"] for h in held[:3]}} == {
        BookingStatus.EXPIRED
    }

    # the last date, expiring alone, is told as one date of its series
    clock.now = held[3]["starts_at"] + timedelta(minutes=1)
    before = _last_id(engine)
    assert container.bus.handle(c.ExpirePending()) == 1
    rows = _new_rows(engine, before)
    assert _to(rows, Channel.EMAIL) == [("UBOB", "expired")]
    [email] = [r for r in rows if r["channel"] == Channel.EMAIL]
    assert email["payload"]["booking"]["booking_id"] == held[3]["id"]
    assert email["payload"]["recurrence_id"] is not None
    assert len([r for r in rows if r["channel"] == Channel.CARD]) == 1
