"""Notifications of recurring series on SQLite and PostgreSQL: a series is one request to
approvers (one card row per act on the series, never one per date), read back as one
:class:`SeriesRow` with the dates it skipped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.domain.recurrence import Frequency, Repeat
from bot.services.ports import Channel
from bot.services.queries import Queries
from tests.conftest import ADMIN, FixedClock
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
