"""Recurring series on SQLite and PostgreSQL: one request holding a booking row per free date,
taken dates skipped, approved or denied as one transaction, cancelled one or from one on, ended
after K releases in a row; a series racing a single request wins each slot once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.adapters import orm
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import NotAllowed, RoomUnavailable
from bot.domain.recurrence import Frequency, Repeat
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings, events, rows, slot

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


def _taken_in_week(container: Container, clock: FixedClock, week: int, by: str) -> int:
    start, end = slot(clock.now + week * WEEK, 26, 27)
    booking_id: int = container.bus.handle(c.RequestBooking("102", start, end, by=by))
    return booking_id


def _statuses(engine: Engine, series_id: int) -> list[str]:
    return [b["status"] for b in bookings(engine) if b["series_id"] == series_id]


def test_a_series_previews_then_holds_the_free_dates_and_skips_the_taken_one(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    taken = _taken_in_week(container, clock, 2, "UCAROL")
    request = _weekly(clock, 6)

    preview = container.bus.handle(c.PreviewSeries(request))
    assert len(preview) == 6
    assert [o.conflict.booker if o.conflict else None for o in preview] == [
        None,
        None,
        "UCAROL",
        None,
        None,
        None,
    ]
    assert preview[2].conflict.booking_id == taken
    assert len(bookings(engine)) == 1  # the preview held nothing

    series_id = container.bus.handle(request)

    [series] = rows(engine, orm.series)
    assert series["id"] == series_id and series["rule"] == "FREQ=WEEKLY;BYDAY=WE;COUNT=6"
    held = [b for b in bookings(engine) if b["series_id"] == series_id]
    assert [b["starts_at"] for b in held] == [o.starts_at for i, o in enumerate(preview) if i != 2]
    assert all(b["recurrence_id"] == b["starts_at"] for b in held)
    assert {r["series_id"] for r in booking_list(engine) if r["booking_id"] != taken} == {series_id}


def test_a_series_with_no_free_date_is_refused_with_who_holds_the_first(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    for week in range(2):
        _taken_in_week(container, clock, week, "UCAROL")
    with pytest.raises(RoomUnavailable) as refused:
        container.bus.handle(_weekly(clock, 2))
    assert refused.value.conflict.booker == "UCAROL"
    assert rows(engine, orm.series) == []  # the transaction rolled back as a whole


def test_a_series_is_approved_or_denied_as_one(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    first = container.bus.handle(_weekly(clock, 3))
    with pytest.raises(NotAllowed):
        container.bus.handle(c.ApproveSeries(first, by="UBOB"))
    assert container.bus.handle(c.ApproveSeries(first, by=ADMIN)) == 3
    assert _statuses(engine, first) == ["APPROVED"] * 3
    assert container.bus.handle(c.ApproveSeries(first, by=ADMIN)) == 0  # a repeat: a no-op

    clock.advance(timedelta(hours=2))
    second = container.bus.handle(
        c.RequestSeries(
            "102",
            *slot(clock.now, 30, 31),
            by="UDAN",
            repeat=Repeat(Frequency.DAILY, count=2),
            timezone="UTC",
        )
    )
    assert container.bus.handle(c.DenySeries(second, by=ADMIN, reason="Repairs")) == 2
    assert _statuses(engine, second) == ["DENIED", "DENIED"]
    approved = [e for e in events(engine) if e["type"] == "BookingApproved"]
    assert len(approved) == 3


def test_cancel_one_occurrence_or_this_and_all_following(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    series_id = container.bus.handle(_weekly(clock, 5))
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    ids = [b["id"] for b in bookings(engine) if b["series_id"] == series_id]

    assert container.bus.handle(c.CancelOccurrence(ids[1], by="UBOB")) == 1
    assert _statuses(engine, series_id) == ["APPROVED", "CANCELLED"] + ["APPROVED"] * 3
    with pytest.raises(NotAllowed):
        container.bus.handle(c.CancelOccurrence(ids[3], by="UCAROL", following=True))

    assert container.bus.handle(c.CancelOccurrence(ids[3], by="UBOB", following=True)) == 2
    assert _statuses(engine, series_id) == [
        "APPROVED",
        "CANCELLED",
        "APPROVED",
        "CANCELLED",
        "CANCELLED",
    ]
    [series] = rows(engine, orm.series)
    assert series["end_reason"] == "cancelled" and series["ended_at"] == clock.now
    [ended] = [e for e in events(engine) if e["type"] == "SeriesEnded"]
    assert ended["booking_id"] == ids[3] and ended["payload"]["cancelled"] == 2


def test_a_series_released_k_times_in_a_row_is_ended(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    start, end = slot(clock.now, 1, 2)
    series_id = container.bus.handle(
        c.RequestSeries(
            "102", start, end, by="UBOB", repeat=Repeat(Frequency.DAILY, count=6), timezone="UTC"
        )
    )
    container.bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    limit = container.bus.context.series_release_limit
    for day in range(limit):
        clock.now = start + timedelta(days=day, minutes=11)
        if day == 0:  # a check-in resets the streak
            clock.now = start + timedelta(minutes=1)
            ids = [b["id"] for b in bookings(engine)]
            container.bus.handle(c.CheckIn(ids[0], by="UBOB"))
            continue
        container.bus.handle(c.ReleaseUnattended())
    assert rows(engine, orm.series)[0]["ended_at"] is None
    clock.now = start + timedelta(days=limit, minutes=11)
    container.bus.handle(c.ReleaseUnattended())

    statuses = _statuses(engine, series_id)
    assert statuses[: limit + 1] == ["APPROVED"] + ["RELEASED"] * limit
    assert set(statuses[limit + 1 :]) == {"CANCELLED"}
    [series] = rows(engine, orm.series)
    assert series["end_reason"] == "released"


def test_a_series_racing_a_single_request_wins_each_slot_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    request = _weekly(clock, 4)
    single = c.RequestBooking("102", *slot(clock.now + 2 * WEEK, 26, 27), by="UCAROL")
    barrier = threading.Barrier(2)

    def run(cmd: c.Command) -> Any:
        barrier.wait()
        try:
            return container.bus.handle(cmd)
        except RoomUnavailable:
            return None

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, [request, single]))

    held = [b for b in bookings(engine) if b["status"] in ("PENDING", "APPROVED")]
    starts = [b["starts_at"] for b in held]
    assert len(starts) == len(set(starts)) == 4  # every week held once, by one of them
    assert sum(1 for b in held if b["booker"] == "UCAROL") <= 1


def test_dates_the_asker_holds_are_theirs_in_the_preview_and_the_refusal(
    container: Container, clock: FixedClock
) -> None:
    add_rooms(container.bus, "102")
    mine = [_taken_in_week(container, clock, week, "UBOB") for week in range(2)]
    request = _weekly(clock, 2)
    preview = container.bus.handle(c.PreviewSeries(request))
    assert [o.conflict.booking_id for o in preview if o.conflict] == mine
    with pytest.raises(RoomUnavailable) as refused:
        container.bus.handle(request)
    assert refused.value.yours and refused.value.code == "room_yours"
    # someone else's booking on a later date is what they are told about, not their own
    carol = _taken_in_week(container, clock, 2, "UCAROL")
    with pytest.raises(RoomUnavailable) as refused:
        container.bus.handle(_weekly(clock, 3))
    assert not refused.value.yours and refused.value.conflict.booking_id == carol
