"""The notice contract: the typed payload that outbox rows carry between policy and senders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.events import BookingApproved, BookingCancelled
from bot.domain.model import BookingStatus
from bot.notifications.notice import BadPayload, CardRefresh, HomeRefresh, Notice
from bot.services.ports import BookingRow, Reader

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ROW = BookingRow(
    booking_id=7,
    room_id="102",
    room_name="Small room",
    starts_at=AT + timedelta(days=1),
    ends_at=AT + timedelta(days=1, hours=1),
    booker="UBOB",
    title="Sync",
    status=BookingStatus.APPROVED,
    requested_at=AT - timedelta(hours=1),
    decided_by="UADMIN",
    decided_at=AT,
    sequence=1,
)


def test_a_notice_survives_its_payload() -> None:
    notice = Notice.of("approved", BookingApproved(booking_id=7, actor="UADMIN", at=AT), ROW)
    assert Notice.from_payload(notice.to_payload()) == notice
    cancel = Notice.of(
        "cancelled",
        BookingCancelled(booking_id=7, actor="UBOB", at=AT, was_approved=True, by_admin=False),
        ROW,
        was_approved=True,
    )
    assert Notice.from_payload(cancel.to_payload()) == cancel
    assert (cancel.calendar_method, cancel.calendar_sequence) == ("CANCEL", 1)
    assert notice.calendar_sequence == 1  # the booking's sequence, whatever the kind


def test_the_payload_keeps_the_shape_earlier_releases_read_and_wrote() -> None:
    """During a rolling deploy an older worker reads rows a newer web process wrote."""
    payload = Notice.of("approved", BookingApproved(booking_id=7, actor="UA", at=AT), ROW)
    written = payload.to_payload()
    assert set(written) >= {"kind", "actor", "at", "booking"}
    assert written["booking"]["starts_at"] == ROW.starts_at.isoformat()
    older = {
        "kind": "denied",
        "actor": "UADMIN",
        "at": AT.isoformat(),
        "booking": {**written["booking"], "status": "DENIED", "reason": "Painting"},
    }
    assert Notice.from_payload(older).reason == "Painting"


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "teleported", "booking": {}},
        {"kind": "approved"},
        {"kind": "approved", "at": "2026-11-30T08:00:00", "booking": {"booking_id": 1}},
    ],
)
def test_an_unreadable_payload_is_a_bad_payload(payload: dict[str, object]) -> None:
    with pytest.raises(BadPayload):
        Notice.from_payload(payload)


def test_refreshes_carry_what_they_render() -> None:
    assert CardRefresh.from_payload(CardRefresh(7).to_payload()) == CardRefresh(7)
    assert HomeRefresh.from_payload({}) == HomeRefresh()
    paged = HomeRefresh({"upcoming": 2})
    assert HomeRefresh.from_payload(paged.to_payload()) == paged
    with pytest.raises(BadPayload):
        HomeRefresh.from_payload({"pages": ["x"]})
    with pytest.raises(BadPayload):
        CardRefresh.from_payload({})


def test_the_booker_s_zone_and_language_travel_with_the_notice() -> None:
    """The policy writes what the listener already knew, so the DM needs no users.info; rows of
    earlier releases carry none, and an older reader ignores it."""
    seoul = Reader("Asia/Seoul", "ko")
    notice = Notice.of(
        "approved", BookingApproved(booking_id=7, actor="UA", at=AT), ROW, reader=seoul
    )
    written = notice.to_payload()
    assert written["reader"] == {"tz": "Asia/Seoul", "locale": "ko"}
    assert Notice.from_payload(written).reader == seoul
    del written["reader"]
    assert Notice.from_payload(written).reader is None
    assert Notice.from_payload({**written, "reader": {"tz": 3}}).reader is None
