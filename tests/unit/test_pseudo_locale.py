"""Every visible word comes from a catalog, and every view fits Slack's limits in every language.

A pseudo-locale wraps each translated string in ``⟦...⟧``; every view, message, email and calendar
entry is rendered in it with data that has no Latin letters (room names, titles and names are
Greek), and what is left once the markers, the data, mentions, date tokens, emoji codes and zone
names are taken out must have no letters at all. A hard-coded English word shows up there, with
the view it is in. The renders also have to use every text of the catalogs (a text no render
reaches means a view this test does not cover yet) and call every public function of every module
in bot/views, a new module included, except the few in ``NOT_RENDERS`` that render nothing a
person reads: a new view is caught before its first text is (add it to ``renders``).
"""

from __future__ import annotations

import dataclasses
import gettext
import html
import importlib
import inspect
import json
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import CodeType, FrameType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.domain.errors import BookingError
from bot.domain.model import LEFT_WORKSPACE, BookingStatus
from bot.notifications import ics
from bot.notifications.failures import APPROVALS_CHANNEL_FIXES
from bot.notifications.notice import (
    ChannelProblem,
    Departure,
    FreedBooking,
    Notice,
    SeriesDate,
    SeriesPart,
    Unattended,
)
from bot.services.ports import BookingRow, RoomRow, SeriesRow
from bot.views import booking_modal as form
from bot.views import cards, feeds, home, i18n, lists, modals, notifications, refusals, texts
from bot.views.i18n import use_locale
from tests.catalogs import used
from tests.unit.slack_limits import check_message, check_view

SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)  # 15:30 in Seoul
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BOOKER, ADMIN = "UBOOKER1", "UADMIN01"
#: Data the tests put in: none of it has a Latin letter, so any Latin letter left came from code.
ROOM_NAME, TITLE, REASON, PERSON = "Αίθουσα", "Σύσκεψη", "Λόγος", "Μίνα"
ZONES = ("Asia/Seoul",)


class Pseudo(gettext.NullTranslations):
    """Each text wrapped in markers, and the texts that were asked for recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str | None, str]] = set()

    def gettext(self, message: str) -> str:
        self.seen.add((None, message))
        return f"⟦{message}⟧"

    def pgettext(self, context: str, message: str) -> str:
        self.seen.add((context, message))
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.seen.add((None, msgid1))
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


def row(
    booking_id: int = 42, status: BookingStatus = BookingStatus.PENDING, **extra: Any
) -> BookingRow:
    base = BookingRow(
        booking_id=booking_id,
        room_id="102",
        room_name=ROOM_NAME,
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        booker=BOOKER,
        title=TITLE,
        status=status,
        requested_at=NOW,
    )
    return replace(base, **extra)


ROOMS = [RoomRow(str(100 + i), f"{ROOM_NAME} {i}", 1 + i, active=i % 3 != 2) for i in range(45)]
DECIDED = {"decided_by": ADMIN, "decided_at": NOW}
ROWS = [
    row(1),
    row(2, BookingStatus.APPROVED, **DECIDED),
    row(3, BookingStatus.APPROVED, decided_by=ADMIN),
    row(4, BookingStatus.DENIED, **DECIDED, reason=REASON),
    row(5, BookingStatus.DENIED, decided_by=ADMIN),
    row(6, BookingStatus.CANCELLED, cancelled_by=BOOKER),
    row(7, BookingStatus.CANCELLED, cancelled_by=ADMIN),
    row(8, BookingStatus.CANCELLED, cancelled_by=BOOKER, decided_by=ADMIN),
    row(9, BookingStatus.CANCELLED, cancelled_by=ADMIN, decided_by=ADMIN),
    row(10, BookingStatus.EXPIRED),
    row(11, title=""),
    row(12, ends_at=START + timedelta(hours=20)),  # ends the next day
    row(13, BookingStatus.RELEASED, **DECIDED),
    row(
        14,
        changed_at=NOW,
        was_starts_at=START - timedelta(days=1),
        was_ends_at=START,
        was_room_id="201",
        was_room_name=ROOM_NAME,
        was_title="",
    ),
    row(15, BookingStatus.CANCELLED, cancelled_by="system", reason=LEFT_WORKSPACE),
    row(16, BookingStatus.CANCELLED, cancelled_by=ADMIN, decided_by=ADMIN, reason=REASON),
]


#: A booking that was moved to another slot and room.
MOVED = {
    "was_starts_at": (START - timedelta(days=1)).isoformat(),
    "was_ends_at": START.isoformat(),
    "was_room_id": "201",
    "was_room_name": ROOM_NAME,
    "sequence": 2,
}


def payload(kind: str, **extra: Any) -> dict[str, Any]:
    booking = {
        "booking_id": 42,
        "room_id": "102",
        "room_name": ROOM_NAME,
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=1)).isoformat(),
        "booker": BOOKER,
        "title": TITLE,
        "requested_at": NOW.isoformat(),
        "reason": extra.pop("reason", None),
        **extra.pop("booking", {}),
    }
    return {"kind": kind, "actor": extra.pop("actor", ADMIN), "at": NOW.isoformat(), **extra} | {
        "booking": booking
    }


NOTICES = [
    Notice.from_payload(p)
    for p in [
        payload("requested", actor=BOOKER),
        payload("approved"),
        payload("approved", actor="system"),
        payload("denied", reason=REASON),
        payload("denied"),
        payload("denied", actor="cli", was_approved=True),
        payload("cancelled", actor=BOOKER),
        payload("cancelled", by_admin=True, was_approved=True),
        payload("cancelled", actor="cli", by_admin=True),
        payload("cancelled", by_admin=True, was_approved=True, reason=REASON),
        payload("expired", actor="system"),
        payload("reminder", actor="system", minutes=1),
        payload("reminder", actor="system", minutes=10),
        *(payload("nudge", actor="system", waiting_minutes=m) for m in (1, 45, 60, 120, 150)),
        payload("changed", actor=BOOKER, ended_early=True),
        payload("changed", actor=BOOKER, needs_approval=True, booking=MOVED),
        payload("changed", needs_approval=True, booking=MOVED),  # an admin moved it
        payload("changed", was_approved=True, booking=MOVED),
        payload("changed", actor=BOOKER, booking=MOVED | {"was_room_id": "102"}),
        payload("released", actor="system", automatic=True, was_approved=True),
        payload("released", actor=BOOKER, was_approved=True),
        payload("reminder", actor="system", minutes=10, checkin=10),
        payload("offer", actor="system", entry_id=3, expires_at=NOW.isoformat()),
    ]
]


def _departure(count: int) -> Departure:
    """The admins' DM about someone who left, with ``count`` bookings freed and as many rooms
    they approved for (and named in ADMIN_USER_IDS when there are more than one)."""
    freed = FreedBooking(42, "102", ROOM_NAME, START, START + timedelta(hours=1), TITLE)
    bookings = tuple(replace(freed, booking_id=i) for i in range(count))
    rooms = tuple((f"R{i}", ROOM_NAME) for i in range(count))
    grouped = tuple((f"G{i}", ROOM_NAME, "S0TEAM") for i in range(count))
    left = tuple(f"{k}0" for k in "RG")  # the first of each has no approver of its own left
    return Departure(BOOKER, NOW, bookings, rooms, count > 1, grouped, left)


def _home(**extra: Any) -> dict[str, Any]:
    data = home.HomeData(
        user=ADMIN,
        tz=SEOUL,
        now=NOW,
        upcoming=ROWS[:10],
        upcoming_total=25,
        history=ROWS,
        is_admin=True,
        pending=[row(20 + i) for i in range(home.PENDING_PAGE - 1)]
        + [row(30, series_id=9, recurrence_id=START)],
        pending_total=12,
        dead_notifications=1,
    )
    return home.home_view(replace(data, **extra))


def _submitted(values: dict[str, Any], tz: str = "Asia/Seoul") -> dict[str, Any]:
    return {"private_metadata": json.dumps({"tz": tz}), "state": {"values": values}}


def _booking_values(day: str, start: str, end: str) -> dict[str, Any]:
    from bot.views import ids

    return {
        ids.ROOM_BLOCK: {ids.ROOM_ACTION: {"selected_option": {"value": "102"}}},
        ids.DATE_BLOCK: {ids.DATE_ACTION: {"selected_date": day}},
        ids.START_BLOCK: {ids.START_ACTION: {"selected_time": start}},
        ids.END_BLOCK: {ids.END_ACTION: {"selected_time": end}},
    }


def _email(notice: Notice, **names: Any) -> list[str]:
    mail = notifications.email_content(notice, SEOUL, **names)
    body = html.unescape(re.sub(r"<[^>]+>", " ", mail.html))
    return [mail.subject, mail.text, body]


def _calendar(notice: Notice) -> list[str]:
    summary, description = notifications.calendar_text(notice)
    approved = dataclasses.replace(notice, kind="approved")
    data = ics.calendar(approved, summary=summary, description=description)
    [event] = Calendar.from_ical(data).walk("VEVENT")
    return [str(event["SUMMARY"]), str(event["DESCRIPTION"])]


#: name -> (what it renders, how to check it against Slack's limits)
Render = tuple[Callable[[], Any], Callable[[Any], None] | None]


def renders() -> Iterator[tuple[str, Render]]:
    modal: Callable[[Any], None] = lambda v: check_view(v, "modal")  # noqa: E731
    home_tab: Callable[[Any], None] = lambda v: check_view(v, "home")  # noqa: E731
    yield "booking modal", (lambda: form.booking_modal(ROOMS, SEOUL, NOW), modal)
    yield "form placeholder", (form.loading_modal, modal)
    for email in (True, False):
        sent = f"request sent, email {'on' if email else 'off'}"
        yield sent, (lambda e=email: form.request_sent(row(), SEOUL, email=e), modal)
    yield "change form", (lambda: form.booking_modal(ROOMS, SEOUL, NOW, booking=ROWS[1]), modal)
    for status in (BookingStatus.PENDING, BookingStatus.APPROVED):
        saved = row(3, status)
        for email in (True, False):
            yield (
                f"change saved, {status}, email {'on' if email else 'off'}",
                (lambda r=saved, e=email: form.change_saved(r, True, SEOUL, email=e), modal),
            )
    yield "no change", (lambda: form.change_saved(ROWS[1], False, SEOUL, email=True), modal)
    yield (
        "change form, an admin's",
        (lambda: form.booking_modal(ROOMS, SEOUL, NOW, booking=ROWS[1], by=ADMIN), modal),
    )
    for status in (BookingStatus.PENDING, BookingStatus.APPROVED):
        theirs = row(3, status)
        for email in (True, False):
            yield (
                f"change saved by an admin, {status}, email {'on' if email else 'off'}",
                (
                    lambda r=theirs, e=email: form.change_saved(r, True, SEOUL, email=e, by=ADMIN),
                    modal,
                ),
            )
    end = START + timedelta(hours=1)
    for offer in (True, False):
        yield (
            f"slot taken, waitlist {'offered' if offer else 'refused'}",
            (
                lambda o=offer: form.slot_taken(
                    texts.taken("102", PERSON, (START, end), SEOUL, None, []),
                    "102",
                    START,
                    end,
                    TITLE,
                    SEOUL,
                    offer=o,
                    free=(end, end + timedelta(hours=1)) if o else None,
                ),
                modal,
            ),
        )
    yield "on the waitlist", (lambda: form.on_waitlist("102", START, end, SEOUL), modal)
    yield "booking form errors", (lambda: form.read_booking(_submitted({}))[1], None)
    gap = _booking_values("2026-03-08", "02:30", "02:45")
    yield (
        "clock change errors",
        (
            lambda: form.read_booking(_submitted(gap, "America/New_York"))[1],
            None,
        ),
    )
    yield "deny modal", (lambda: modals.deny_modal(row(), channel="C1", message_ts="1"), modal)
    yield "add room", (lambda: modals.room_modal(), modal)
    yield "edit room", (lambda: modals.room_modal(ROOMS[0]), modal)
    for r in ROWS:
        yield f"card #{r.booking_id} {r.status}", (lambda r=r: cards.card(r), check_message)
    yield "home, admin", (_home, home_tab)
    yield "home, last page", (lambda: _home(pages={"upcoming": 4, "pending": 4}), home_tab)
    yield (
        "home, empty",
        (
            lambda: _home(upcoming=[], upcoming_total=0, pending=[], pending_total=0, history=[]),
            home_tab,
        ),
    )
    yield "home, many dead", (lambda: _home(dead_notifications=3), home_tab)
    rooms = [(r.id, r.name) for r in ROOMS]
    yield "home, feeds", (lambda: _home(feeds=True, rooms=rooms), home_tab)
    link = "https://rooms.example.com/calendar/abc.ics"
    yield "feed link", (lambda: modals.feed_link_modal(link), modal)
    yield "room feed link", (lambda: modals.feed_link_modal(link, ROOMS[0].name), modal)
    under_way = START + timedelta(minutes=10)
    yield "home, under way", (lambda: _home(now=under_way), home_tab)
    yield (
        "my bookings, under way",
        (lambda: lists.my_bookings(ROWS[:3], 3, SEOUL, under_way), check_message),
    )
    yield (
        "taken, with the waitlist",
        (
            lambda: lists.taken_reply(
                texts.taken("102", PERSON, (START, under_way), SEOUL, None, []),
                "102",
                START,
                under_way,
                TITLE,
            ),
            check_message,
        ),
    )
    yield "my bookings", (lambda: lists.my_bookings(ROWS[:5], 30, SEOUL), check_message)
    yield "my bookings, one", (lambda: lists.my_bookings(ROWS[:1], 1, SEOUL), check_message)
    yield "no bookings", (lambda: lists.my_bookings([], 0, SEOUL), check_message)
    yield (
        "cancelled in the list",
        (
            lambda: lists.cancelled(7, lists.my_bookings(ROWS[:2], 2, SEOUL)),
            check_message,
        ),
    )
    yield (
        "ended now in the list",
        (
            lambda: lists.after(texts.ended_now(1), lists.my_bookings(ROWS[:2], 2, SEOUL)),
            check_message,
        ),
    )
    yield "rooms, admin", (lambda: lists.rooms_list(ROOMS, is_admin=True), check_message)
    yield "rooms", (lambda: lists.rooms_list(ROOMS[:3], is_admin=False), check_message)
    person, room = lists.Listing("user", BOOKER), lists.Listing("room", "102")
    listed = [*ROWS[:3], row(17, series_id=3), row(18, BookingStatus.APPROVED, series_id=3)]
    yield (
        "someone's bookings",
        (lambda: lists.bookings_of(person, listed, 30, SEOUL), check_message),
    )
    yield (
        "someone's bookings, a later page",
        (
            lambda: lists.bookings_of(lists.Listing("user", BOOKER, 20), ROWS[:1], 21, SEOUL),
            check_message,
        ),
    )
    yield "someone's bookings, none", (lambda: lists.bookings_of(person, [], 0, SEOUL), None)
    for admin in (True, False):
        yield (
            f"a room's bookings, admin {admin}",
            (
                lambda admin=admin: lists.room_bookings(
                    room, ROOMS[2], listed, 25, SEOUL, is_admin=admin
                ),
                check_message,
            ),
        )
    yield (
        "a room's bookings, none",
        (lambda: lists.room_bookings(room, ROOMS[2], [], 0, SEOUL, is_admin=False), None),
    )
    yield (
        "approved in someone's list",
        (
            lambda: lists.after(
                texts.decided(1, BookingStatus.APPROVED),
                lists.bookings_of(person, ROWS[:2], 2, SEOUL),
            ),
            check_message,
        ),
    )
    yield "series approved", (lambda: texts.series_decided(3, BookingStatus.APPROVED), None)
    yield "changed from a list", (lambda: texts.changed(3), None)
    yield "cancel modal", (lambda: modals.cancel_modal(row(2, BookingStatus.APPROVED)), modal)
    back = {"url": "https://hooks.slack.com/actions/1", "list": person.value()}
    yield (
        "cancel modal, a date of a series",
        (
            lambda: modals.cancel_modal(row(18, BookingStatus.APPROVED, series_id=3), back=back),
            modal,
        ),
    )
    for status in (None, BookingStatus.APPROVED, BookingStatus.CANCELLED):
        yield (
            f"cannot cancel, {status}",
            (lambda status=status: texts.cannot_cancel(1, status), None),
        )
    yield "not an admin's list", (texts.not_admin_list, None)
    yield "nothing to list", (lambda: texts.nothing_to_list(PERSON), None)
    yield "no rooms, admin", (lambda: lists.rooms_list([], is_admin=True), check_message)
    yield "no rooms", (lambda: lists.rooms_list([], is_admin=False), check_message)
    for n in NOTICES:
        name = f"{n.kind} by {n.actor}"
        yield f"DM {name}", (lambda n=n: notifications.dm_message(n, SEOUL), check_message)
        yield f"email {name}", (lambda n=n: _email(n, recipient_name=PERSON), None)
        yield f"calendar {name}", (lambda n=n: _calendar(n), None)
    for count in (0, 1, notifications.DEPARTURE_LISTED + 2):
        yield (
            f"departure DM, {count} freed",
            (lambda c=count: notifications.departure_message(_departure(c), SEOUL), check_message),
        )
    for count, admin in ((1, False), (notifications.DEPARTURE_LISTED + 2, True)):
        rooms = tuple((f"R{i}", ROOM_NAME) for i in range(count))
        note = Unattended(BOOKER, NOW, rooms, admin=admin)
        yield (
            f"approvals channel note, {count} rooms nobody decides",
            (lambda u=note: notifications.unattended_message(u), check_message),
        )
    for error in sorted(APPROVALS_CHANNEL_FIXES):
        problem = ChannelProblem("C0APPROVALS", error, NOW)
        yield (
            f"approvals channel DM, {error}",
            (lambda p=problem: notifications.approvals_channel_message(p), check_message),
        )
    yield "email, no names", (lambda: _email(NOTICES[1]), None)
    yield "email, the admin's name", (lambda: _email(NOTICES[1], actor_name=PERSON), None)
    yield (
        "untitled calendar entry",
        (
            lambda: _calendar(replace(NOTICES[1], title="", room_name="102")),
            None,
        ),
    )
    yield from _find_and_policies()
    yield from _replies()
    yield from _series()
    yield from _series_booking()


def series_row(
    *statuses: BookingStatus, rule: str = "FREQ=WEEKLY;BYDAY=FR;COUNT=6", **extra: Any
) -> SeriesRow:
    """A weekly series of ``statuses`` (one date each), one date skipped as taken."""
    week = timedelta(weeks=1)
    decided = DECIDED if statuses[0] != BookingStatus.PENDING else {}
    occurrences = tuple(
        row(
            60 + i,
            status,
            starts_at=START + i * week,
            ends_at=START + i * week + timedelta(hours=1),
            series_id=9,
            recurrence_id=START + i * week,
            **decided,
        )
        for i, status in enumerate(statuses)
    )
    return SeriesRow(
        series_id=9,
        room_id="102",
        room_name=ROOM_NAME,
        booker=BOOKER,
        title=TITLE,
        rule=rule,
        timezone="Asia/Seoul",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        requested_at=NOW,
        occurrences=occurrences,
        skipped=(START + 9 * week,),
        **extra,
    )


def series_part(*statuses: str, end_reason: str | None = None) -> SeriesPart:
    """A weekly series with one date per status (the eighth date of its rule skipped)."""
    week = timedelta(weeks=1)
    return SeriesPart(
        series_id=9,
        rule="FREQ=WEEKLY;BYDAY=FR;COUNT=8",
        timezone="Asia/Seoul",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        dates=tuple(
            SeriesDate(START + i * week, START + i * week, START + i * week + timedelta(hours=1), s)
            for i, s in enumerate(statuses)
        ),
        sequence=3,
        end_reason=end_reason,
    )


def series_notice(kind: str, part: SeriesPart, **extra: Any) -> Notice:
    notice = Notice.from_payload(payload(kind, **extra))
    return dataclasses.replace(notice, series=part, **extra.pop("fields", {}))


_PENDING, _APPROVED = ("PENDING",) * 7, ("APPROVED",) * 7
_ENDED = ("APPROVED", "APPROVED", "CANCELLED", "CANCELLED")
SERIES_NOTICES = {
    "series requested": series_notice("requested", series_part(*_PENDING), actor=BOOKER),
    "series approved": series_notice("approved", series_part(*_APPROVED)),
    "series approved by policy": series_notice("approved", series_part(*_APPROVED), actor="policy"),
    "series denied": series_notice("denied", series_part(*_PENDING), reason=REASON),
    "series cancelled on": series_notice(
        "ended",
        series_part(*_ENDED, end_reason="cancelled"),
        actor=BOOKER,
        was_approved=True,
        fields={"cancelled_dates": 2},
    ),
    "series cancelled on by an admin": series_notice(
        "ended",
        series_part("CANCELLED", "CANCELLED", end_reason="cancelled"),
        was_approved=True,
        by_admin=True,
        fields={"cancelled_dates": 2},
    ),
    "series cancelled, never approved": series_notice(
        "ended",
        series_part("CANCELLED", "CANCELLED", end_reason="cancelled"),
        actor=BOOKER,
        fields={"cancelled_dates": 1},
    ),
    "series released": series_notice(
        "ended",
        series_part(*_ENDED, end_reason="released"),
        actor="system",
        was_approved=True,
        fields={"cancelled_dates": 2},
    ),
    "series released, to admins": series_notice(
        "ended",
        series_part(*_ENDED, end_reason="released"),
        actor="system",
        fields={"to_admins": True, "cancelled_dates": 2},
    ),
    "series cancelled on, to admins": series_notice(
        "ended",
        series_part(*_ENDED, end_reason="cancelled"),
        actor=BOOKER,
        fields={"to_admins": True, "cancelled_dates": 2},
    ),
    "series dates expired at once": series_notice(
        "expired",
        series_part("EXPIRED", "EXPIRED", "PENDING"),
        actor="system",
        fields={"expired_dates": 2},
    ),
    "occurrence cancelled": series_notice(
        "cancelled",
        series_part(*_APPROVED),
        actor=BOOKER,
        was_approved=True,
        fields={"recurrence_id": START},
    ),
}


def _series_calendar(notice: Notice) -> list[str]:
    summary, description = notifications.calendar_text(notice)
    data = ics.calendar(notice, summary=summary, description=description)
    event = Calendar.from_ical(data).walk("VEVENT")[0]
    return [str(event["SUMMARY"]), str(event["DESCRIPTION"])]


def _series() -> Iterator[tuple[str, Render]]:
    pending = (BookingStatus.PENDING,) * 5
    approved = (BookingStatus.APPROVED, BookingStatus.APPROVED, BookingStatus.CANCELLED)
    yield "series card", (lambda: cards.series_card(series_row(*pending)), check_message)
    yield (
        "deny series",
        (
            lambda: modals.deny_series_modal(series_row(*pending), channel="C1", message_ts="1"),
            lambda v: check_view(v, "modal"),
        ),
    )
    for status in (BookingStatus.APPROVED, BookingStatus.DENIED):
        yield (
            f"series card, {status}",
            (lambda s=status: cards.series_card(series_row(s, s)), check_message),
        )
    for reason in ("cancelled", "released"):
        ended = series_row(*approved, ended_at=NOW, end_reason=reason)
        yield f"series card, {reason}", (lambda e=ended: cards.series_card(e), check_message)
    for rule in (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;UNTIL=20261231T145959Z",
        "FREQ=DAILY;COUNT=3",
        "FREQ=DAILY;INTERVAL=2;COUNT=3",
    ):
        yield (
            f"series card, {rule}",
            (lambda r=rule: cards.series_card(series_row(*pending, rule=r)), check_message),
        )

    for name, notice in SERIES_NOTICES.items():
        yield f"DM {name}", (lambda n=notice: notifications.dm_message(n, SEOUL), check_message)
        yield (
            f"email {name}",
            (lambda n=notice: _email(n, recipient_name=PERSON, booker_name=PERSON), None),
        )
        if notice.calendar_method is not None:
            yield f"calendar {name}", (lambda n=notice: _series_calendar(n), None)

    def message(text: str) -> dict[str, Any]:
        return {"text": text}

    yield (
        "series already decided",
        (
            lambda: message(texts.series_already_decided(9, BookingStatus.APPROVED, ADMIN)),
            check_message,
        ),
    )
    yield (
        "series already decided, by nobody",
        (
            lambda: message(texts.series_already_decided(9, BookingStatus.EXPIRED, None)),
            check_message,
        ),
    )


#: Rooms with attributes and policies (tags and places without Latin letters, like the data).
FOUND_ROOMS = [
    RoomRow(
        "102", ROOM_NAME, 4, True, location="Όροφος 3", tags=("προβολέας",), checkin_minutes=10
    ),
    RoomRow("201", ROOM_NAME, 12, True, auto_approve=True, approvers=("UAPPROV1", "S0LEADS")),
    RoomRow("301", ROOM_NAME, 8, False, tags=("βίντεο", "πίνακας")),
]


def _find_and_policies() -> Iterator[tuple[str, Render]]:
    from bot.services.ports import FreeRoom
    from bot.views import find

    modal: Callable[[Any], None] = lambda v: check_view(v, "modal")  # noqa: E731
    now_search = find.FindRequest(NOW, NOW + timedelta(minutes=30), 1, (), True)
    later = find.FindRequest(START, START + timedelta(hours=1), 6, ("προβολέας",), False)
    free = [
        FreeRoom(FOUND_ROOMS[0], NOW + timedelta(hours=2)),
        FreeRoom(FOUND_ROOMS[1], None),
    ]
    many = [FreeRoom(replace(FOUND_ROOMS[0], id=str(500 + n)), None) for n in range(30)]
    yield "found now", (lambda: find.find_results(free, now_search, SEOUL), check_message)
    yield "found later", (lambda: find.find_results(free, later, SEOUL), check_message)
    yield "found many", (lambda: find.find_results(many, later, SEOUL), check_message)
    yield "found none", (lambda: find.find_results([], later, SEOUL), check_message)
    results = find.find_results(free, later, SEOUL)
    yield "found in a modal", (lambda: find.find_results_modal(results), modal)
    yield "find form", (lambda: find.find_modal(SEOUL, NOW), modal)
    yield "find form errors", (lambda: find.read_find_form(_submitted({}), NOW)[1], None)
    yield "find usage", (lambda: {"text": find.find_usage()}, check_message)
    yield "find: out of date", (lambda: {"text": find.out_of_date()}, check_message)
    yield "find: booked", (lambda: find.requested_modal(find.out_of_date()), modal)
    approved = row(1, BookingStatus.APPROVED, decided_by="policy", decided_at=NOW, policy="room")
    by_group = replace(approved, policy="group:S0TEAM")
    for email in (True, False):
        mail = f"email {'on' if email else 'off'}"
        yield (
            f"approved by policy, {mail}",
            (lambda e=email: {"text": find.requested_text(approved, SEOUL, email=e)}, None),
        )
        yield (
            f"requested, pending, {mail}",
            (lambda e=email: {"text": find.requested_text(row(), SEOUL, email=e)}, None),
        )
        yield (
            f"sent, by policy, {mail}",
            (lambda e=email: form.request_sent(approved, SEOUL, email=e), modal),
        )
    yield "card, room policy", (lambda: cards.card(approved), check_message)
    yield "card, group policy", (lambda: cards.card(by_group), check_message)
    cancelled = replace(approved, status=BookingStatus.CANCELLED, cancelled_by=BOOKER)
    yield "card, cancelled after policy", (lambda: cards.card(cancelled), check_message)
    yield (
        "card, room approvers",
        (lambda: cards.card(row(), approvers=("UAPPROV1", "S0LEADS")), check_message),
    )
    yield (
        "rooms with attributes",
        (
            lambda: lists.rooms_list(FOUND_ROOMS, is_admin=True),
            check_message,
        ),
    )
    yield "home, by policy", (lambda: _home(upcoming=[approved], upcoming_total=1), None)
    yield "not an approver", (lambda: {"text": texts.not_allowed_to_decide("102")}, None)
    for text in (
        "",
        "2026-02-30",
        "6 8",
        "0",
        "25:00",
        "now 14:00",
        "07:00",
    ):
        yield f"find {text!r}", (lambda t=text: {"text": _find_error(t)}, None)
    yield (
        "find: clock change",
        (
            lambda: {"text": _find_error("2026-03-08 02:30", ZoneInfo("America/New_York"))},
            None,
        ),
    )
    gap = {
        "find_date": {"find_date_pick": {"selected_date": "2026-03-08"}},
        "find_start": {"find_start_pick": {"selected_time": "02:30"}},
        "find_length": {"find_length_select": {"selected_option": {"value": "30"}}},
    }
    yield (
        "find form: clock change",
        (lambda: find.read_find_form(_submitted(gap, "America/New_York"), NOW)[1], None),
    )
    nobody = {**gap, "find_people": {"find_people_input": {"value": "0"}}}
    yield "find form: people", (lambda: find.read_find_form(_submitted(nobody), NOW)[1], None)
    by_policy = next(n for n in NOTICES if n.kind == "approved")
    yield (
        "DM approved by policy",
        (lambda: notifications.dm_message(replace(by_policy, actor="policy"), SEOUL), None),
    )
    yield (
        "email approved by policy",
        (lambda: _email(replace(by_policy, actor="policy"), recipient_name=PERSON), None),
    )
    past = {**gap, "find_date": {"find_date_pick": {"selected_date": "2026-11-30"}}}
    yield "find form: past", (lambda: find.read_find_form(_submitted(past), NOW)[1], None)


def _find_error(text: str, tz: ZoneInfo = SEOUL) -> str:
    from bot.views import find

    try:
        find.read_find_text(text, tz, NOW)
    except find.FindError as error:
        return str(error)
    return ""


def _series_booking() -> Iterator[tuple[str, Render]]:
    """A repeating booking: the form's Repeat errors, the preview, and what follows it."""
    from bot.demo.signed import repeat_values
    from bot.domain.commands import RequestSeries
    from bot.domain.errors import Conflict
    from bot.domain.recurrence import MAX_OCCURRENCES, Frequency, Repeat
    from bot.services.handlers import Occurrence
    from bot.views import series_preview as series

    modal: Callable[[Any], None] = lambda v: check_view(v, "modal")  # noqa: E731
    base = _booking_values("2026-12-04", "15:30", "16:30")
    for name, fields in {
        "not repeating": {"choice": "none", "count": 3, "weekdays": (1,)},
        "daily on weekdays": {"choice": "daily", "weekdays": (1,), "count": 3},
        "weeks without a number": {"choice": "weeks", "until": "2026-12-30", "count": 3},
        "a number without weeks": {"choice": "weekly", "interval": 3},
        "no end": {"choice": "weekly"},
        "an end before the start": {"choice": "weekly", "until": "2026-12-01"},
        "a count out of range": {"choice": "weekly", "count": 60},
        "tampered": {"choice": "monthly"},
    }.items():
        choice = fields.pop("choice")
        values = {**base, **repeat_values(choice, **fields)}
        yield f"repeat errors: {name}", (lambda v=values: form.read_booking(_submitted(v))[1], None)

    def request(weeks: int) -> RequestSeries:
        return RequestSeries(
            "102",
            START,
            START + timedelta(hours=1),
            by=BOOKER,
            repeat=Repeat(Frequency.WEEKLY, count=weeks),
            timezone="Asia/Seoul",
            title=TITLE,
        )

    def dates(weeks: int, taken: dict[int, str]) -> list[Occurrence]:
        found = []
        for week in range(weeks):
            start = START + timedelta(weeks=week)
            holder = taken.get(week)
            end = start + timedelta(hours=1)
            conflict = Conflict(50 + week, holder, start, end, "") if holder else None
            found.append(Occurrence(start, end, conflict))
        return found

    room = RoomRow("102", ROOM_NAME, 4, True)
    few = dates(6, {1: "UCAROL01", 2: BOOKER})
    yield "series preview", (lambda: series.series_preview(request(6), few, room, SEOUL), modal)
    one_free = dates(2, {0: "UCAROL01"})
    yield (
        "series preview, one free",
        (lambda: series.series_preview(request(2), one_free, room, SEOUL), modal),
    )
    many = dates(MAX_OCCURRENCES, {45: "UCAROL01"})
    yield (
        "series preview, clipped",
        (lambda: series.series_preview(request(MAX_OCCURRENCES), many, room, SEOUL), modal),
    )
    theirs, mine = Conflict(9, "UCAROL01", START, START, ""), Conflict(9, BOOKER, START, START, "")
    yield (
        "series all taken",
        (lambda: {"text": series.all_taken(request(3), theirs, PERSON, SEOUL)}, None),
    )
    yield (
        "series all taken, unnamed",
        (lambda: {"text": series.all_taken(request(3), theirs, None, SEOUL)}, None),
    )
    yield (
        "series all mine",
        (lambda: {"text": series.all_taken(request(3), mine, None, SEOUL)}, None),
    )
    pending, approved = BookingStatus.PENDING, BookingStatus.APPROVED
    sent = series_row(*[pending] * 5)
    yield "series sent", (lambda: series.series_sent(sent, SEOUL, email=True), modal)
    single = replace(series_row(pending), skipped=())
    yield "series sent, one", (lambda: series.series_sent(single, SEOUL, email=False), modal)
    every = series_row(
        *[approved] * MAX_OCCURRENCES, rule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20271130T145959Z"
    )
    yield "series booked, all", (lambda: series.series_sent(every, SEOUL, email=True), modal)
    booked = replace(series_row(approved), skipped=())
    yield "series booked, one", (lambda: series.series_sent(booked, SEOUL, email=False), modal)
    yield "series refused", (lambda: series.series_refused(REASON), modal)
    yield "series waiting", (series.series_waiting, modal)
    dated = list(series_row(*[pending] * 4).occurrences)
    home_tab: Callable[[Any], None] = lambda v: check_view(v, "home")  # noqa: E731
    yield "home, series dates", (lambda: _home(upcoming=dated, upcoming_total=4), home_tab)
    yield (
        "series dates cancelled in the list",
        (
            lambda: lists.cancelled(7, lists.my_bookings(dated, 4, SEOUL), later=2),
            check_message,
        ),
    )
    yield (
        "series date and one later cancelled",
        (lambda: lists.cancelled(7, lists.my_bookings(dated, 4, SEOUL), later=1), check_message),
    )


def _replies() -> Iterator[tuple[str, Render]]:
    def message(text: str) -> dict[str, Any]:
        return {"text": text}

    def reply(make: Callable[[], str]) -> Render:
        return (lambda: message(make()), check_message)

    later = (START + timedelta(hours=2), START + timedelta(hours=3))
    held = (START, START + timedelta(hours=1))
    for email in (True, False):
        mail = f"email {'on' if email else 'off'}"
        yield f"help, {mail}", reply(lambda e=email: texts.help_text(email=e))
        yield (
            f"unknown subcommand, {mail}",
            reply(lambda e=email: texts.unknown_subcommand("Σ", email=e)),
        )
        yield (
            f"requested, {mail}",
            reply(lambda e=email: texts.requested(42, "102", i18n.span(*held, SEOUL), email=e)),
        )
        yield f"offer claimed, {mail}", reply(lambda e=email: texts.claimed(42, email=e))
    yield "usage", reply(texts.one_line_usage)
    yield "not admin: decide", reply(texts.not_admin_decide)
    yield "not admin: rooms", reply(texts.not_admin_rooms)
    yield "no rooms to book", reply(texts.no_rooms)
    yield "feeds off", reply(texts.feeds_off)
    yield "feed's name", reply(lambda: feeds.feed_name(None))
    yield "feed: busy", reply(feeds.room_busy)
    yield "feed: status", reply(lambda: feeds.feed_status(BookingStatus.PENDING))
    yield "feed: booked by", reply(lambda: feeds.booked_by("김민지"))
    yield "oops", reply(lambda: texts.oops("0123"))
    yield "unreadable booking", reply(texts.unreadable_booking)
    yield "no such date", reply(texts.no_such_date)
    yield "clock change", reply(lambda: texts.clock_change(date(2026, 3, 8), SEOUL))
    yield "which booking", reply(texts.which_booking)
    yield "cancelled", reply(lambda: texts.cancelled(42, None, None))
    yield "cancelled, with where", reply(lambda: texts.cancelled(42, ROOM_NAME, "1"))
    yield "no booking", reply(lambda: texts.no_booking(42))
    yield "no booking number", reply(lambda: texts.no_booking_number("99999999999"))
    yield "form out of date", reply(texts.form_outdated)
    yield "stale button", reply(texts.stale_button)
    yield "form zone guessed", reply(lambda: texts.form_zone_guessed("UTC"))
    yield "form times hint", reply(lambda: texts.form_times_hint("Asia/Seoul"))
    yield "zone unknown", reply(texts.zone_unknown)
    yield "still saving", reply(texts.still_saving)
    for status in (BookingStatus.APPROVED, BookingStatus.DENIED, BookingStatus.EXPIRED):
        yield f"already {status}", reply(lambda s=status: texts.already_decided(42, s, None))
        yield f"already {status} by", reply(lambda s=status: texts.already_decided(42, s, ADMIN))
    yield (
        "already cancelled by the requester",
        reply(
            lambda: texts.already_decided(42, BookingStatus.CANCELLED, BOOKER, by_requester=True)
        ),
    )
    yield "no room any more", reply(lambda: texts.no_room_any_more("102"))
    free = [("201", ROOM_NAME)]
    yield "taken", reply(lambda: texts.taken("102", PERSON, held, SEOUL, later, free))
    yield "taken, nameless", reply(lambda: texts.taken("102", None, held, SEOUL, None, []))
    yield "taken, unknown holder", reply(lambda: texts.taken("102", None, None, SEOUL, None, []))
    yield (
        "taken by the one asking",
        reply(lambda: texts.taken_by_you("102", 42, held, SEOUL, markup=True)),
    )
    yield "not a number", reply(texts.capacity_not_a_number)
    yield "cannot change, gone", reply(lambda: texts.cannot_change(42, None))
    yield "not yours to change", reply(texts.not_yours_to_change)
    yield "cannot change, over", reply(lambda: texts.cannot_change(42, BookingStatus.APPROVED))
    yield "cannot change, closed", reply(lambda: texts.cannot_change(42, BookingStatus.CANCELLED))
    yield "ended now", reply(lambda: texts.ended_now(42))
    yield "checked in", reply(lambda: texts.checked_in(42))
    yield "released", reply(lambda: texts.released(42))
    yield "no check-in now", reply(texts.no_checkin_now)
    yield "on the waitlist", reply(lambda: texts.waiting("102"))
    for code, params in REFUSALS:
        error = BookingError("(English)", code=code, params=params)
        yield f"refusal {code} {params}", reply(lambda e=error: refusals.reply(e))
    yield (
        "refusal without a text of its own",
        (
            lambda: message(refusals.text(BookingError("⟦a new refusal⟧"))),
            check_message,
        ),
    )


#: A sample of every refusal the domain gives (tests/unit/test_refusals.py keeps it complete).
REFUSALS: list[tuple[str, dict[str, object]]] = [
    ("room_id_invalid", {}),
    ("interval_invalid", {}),
    ("repeat_end_missing", {}),
    ("count_invalid", {"limit": 52}),
    ("weekdays_invalid", {}),
    ("weekdays_weekly", {}),
    ("single_occurrence", {}),
    ("series_beyond_horizon", {"days": 90}),
    ("unknown_series", {"series_id": 7}),
    ("unknown_zone", {}),
    ("room_name_invalid", {}),
    ("capacity_invalid", {}),
    ("checkin_invalid", {"limit": 120}),
    ("room_inactive", {"room_id": "102", "name": ROOM_NAME}),
    ("cannot_become", {"booking_id": 42, "status": "CANCELLED", "to": "APPROVED"}),
    ("not_yours", {}),
    ("not_pending", {"booking_id": 42, "status": "APPROVED"}),
    ("not_started", {"booking_id": 42}),
    ("naive_time", {}),
    ("end_first", {}),
    ("in_the_past", {}),
    ("too_long", {"minutes": 480}),
    ("too_long", {"minutes": 90}),
    ("too_far_ahead", {"days": 90}),
    ("too_far_ahead", {"days": 1}),
    ("title_too_long", {"length": 151, "limit": 150}),
    ("admins_only", {"doing": "approve bookings"}),
    ("admins_only", {"doing": "deny bookings"}),
    ("admins_only", {"doing": "manage rooms"}),
    ("unknown_room", {"room_id": "102"}),
    ("unknown_booking", {"booking_id": 42}),
    ("reason_too_long", {"limit": 500}),
    ("room_exists", {"room_id": "102"}),
    ("room_taken", {"room_id": "102"}),
    ("room_yours", {"room_id": "102", "booking_id": 42}),
    ("not_yours_change", {}),
    ("not_yours_end", {}),
    ("not_yours_check_in", {}),
    ("not_yours_release", {}),
    ("started", {"booking_id": 42}),
    ("started_grows", {"booking_id": 42}),
    ("end_not_approved", {"booking_id": 42}),
    ("end_not_started", {"booking_id": 42}),
    ("check_in_not_approved", {"booking_id": 42, "status": "PENDING"}),
    ("check_in_closed", {"booking_id": 42, "before": 10, "after": 15}),
    ("release_not_approved", {"booking_id": 42, "status": "CANCELLED"}),
    ("release_checked_in", {"booking_id": 42}),
    ("ended", {"booking_id": 42}),
    ("check_in_open", {"booking_id": 42}),
    ("not_changeable", {"booking_id": 42, "status": "DENIED"}),
    ("end_in_the_past", {}),
    ("offer_not_yours", {}),
    ("offer_booked", {}),
    ("offer_closed", {}),
    ("offer_lapsed", {}),
    ("offer_gone", {}),
    ("no_check_in", {"room_id": "102"}),
    ("free_then", {"room_id": "102"}),
    ("control_characters", {"field": "title"}),
    ("control_characters", {"field": "reason"}),
    ("control_characters", {"field": "location"}),
    ("control_characters", {"field": "tags"}),
    ("control_characters", {"field": "name"}),
    ("quota_bookings", {"held": 1, "limit": 1}),
    ("quota_bookings", {"held": 3, "limit": 3}),
    ("quota_hours", {"left_minutes": 90, "limit_minutes": 600}),
    ("quota_hours", {"left_minutes": 0, "limit_minutes": 60}),
    ("not_approver", {"room_id": "102"}),
    ("slack_ids_invalid", {"value": "X1", "groups_only": True}),
    ("slack_ids_invalid", {"value": "X1", "groups_only": False}),
    ("too_many_ids", {"limit": 20}),
    ("location_too_long", {"limit": 80}),
    ("tags_invalid", {"count": 20, "length": 30}),
]


def visible(rendered: Any) -> Iterator[str]:
    """The text a person can see in a render: text objects, fallbacks, field errors, strings."""
    if isinstance(rendered, str):
        yield rendered
    elif isinstance(rendered, list | tuple):
        for item in rendered:
            yield from visible(item)
    elif isinstance(rendered, dict):
        if rendered.get("type") in ("plain_text", "mrkdwn"):
            yield rendered["text"]
            return
        for key, value in rendered.items():
            if key in ("text", "errors") or isinstance(value, dict | list):
                yield from visible(value)


_MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
_NOT_FROM_CODE = [
    re.compile(r"<!date\^[^>]*>"),  # Slack date tokens: each reader's own language
    re.compile(r"<[@#][A-Z0-9]+>"),
    re.compile(r":[a-z0-9_+-]+:"),  # emoji codes
    re.compile("|".join(re.escape(z) for z in ZONES)),
    re.compile(r"&(amp|lt|gt);"),
    re.compile(r"\broombot\b"),  # the product's name, in every language
]


def leftover(text: str) -> str:
    while _MARKED.search(text):
        text = _MARKED.sub(" ", text)
    for pattern in _NOT_FROM_CODE:
        text = pattern.sub(" ", text)
    return text


@pytest.fixture(scope="module")
def pseudo() -> Pseudo:
    catalog = Pseudo()
    i18n.install("pseudo", catalog, dates_like="ko")
    return catalog


def test_every_visible_text_comes_from_a_catalog(pseudo: Pseudo) -> None:
    problems = []
    with use_locale("pseudo"):
        for name, (render, _check) in renders():
            for text in visible(render()):
                rest = leftover(text)
                if re.search(r"[A-Za-z]", rest):
                    problems.append(f"{name}: {rest.strip()!r} in {text!r}")
    assert not problems, "texts that are not from a catalog:\n" + "\n".join(problems)


def test_the_renders_reach_every_text_of_the_catalogs(pseudo: Pseudo) -> None:
    with use_locale("pseudo"):
        for _name, (render, _check) in renders():
            render()
    missing = sorted(set(used()) - pseudo.seen)
    assert not missing, (
        "texts no render in tests/unit/test_pseudo_locale.py reaches (add the view there):\n"
        + "\n".join(f"{used()[m].where}: {m!r}" for m in missing)
    )


#: Public functions of bot/views that render nothing a person reads: parsers of what Slack sends
#: back, button values, and the language plumbing. Every other one must be called by a render.
NOT_RENDERS = {
    "bot.views.find.read_book_value",
    "bot.views.home.pages_of",
    "bot.views.lists.waitlist_request",
    "bot.views.lists.listing_of",
    "bot.views.mrkdwn.typed",
    "bot.views.mrkdwn.user_id_in",
    "bot.views.series_preview.read_series",
    "bot.views.i18n.set_default_locale",
    "bot.views.i18n.default_locale",
    "bot.views.i18n.available_locales",
    "bot.views.i18n.resolve",
    "bot.views.i18n.install",
    "bot.views.i18n.use_locale",
    "bot.views.i18n.per_language",
}


def view_functions() -> dict[CodeType, str]:
    """Every public function defined in a module of bot/views, by its code."""
    import bot.views

    found = {}
    for module_info in pkgutil.walk_packages(bot.views.__path__, "bot.views."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ):
                found[value.__code__] = f"{module.__name__}.{name}"
    return found


def test_the_renders_call_every_view_function(pseudo: Pseudo) -> None:
    called: set[CodeType] = set()

    def record(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            called.add(frame.f_code)

    # a language no test rendered in: the parts views keep per language are built here too
    i18n.install("pseudo-calls", pseudo, dates_like="ko")
    with use_locale("pseudo-calls"):
        sys.setprofile(record)
        try:
            for _name, (render, _check) in renders():
                render()
        finally:
            sys.setprofile(None)
    functions = view_functions()
    missing = sorted(name for code, name in functions.items() if code not in called)
    missing = [name for name in missing if name not in NOT_RENDERS]
    assert not missing, (
        "view functions no render in tests/unit/test_pseudo_locale.py calls (add a render, or "
        "list it in NOT_RENDERS if it shows nothing to a person):\n" + "\n".join(missing)
    )
    assert set(functions.values()) >= NOT_RENDERS, "NOT_RENDERS names functions that are gone"


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_view_fits_slacks_limits_in_every_language(locale: str) -> None:
    with use_locale(locale):
        for _name, (render, check) in renders():
            if check is not None:
                check(render())


def test_korean_renders_have_no_english_left() -> None:
    """In Korean, nothing the code says is English: only data, markup and command names."""
    allowed = re.compile(
        r"`[^`]*`|/book|roombot|Slack|DM|ID|python -m bot outbox|UTC|<[^>]*>|:[a-z0-9_+-]+:"
    )
    problems = []
    with use_locale("ko"):
        for name, (render, _check) in renders():
            for text in visible(render()):
                rest = allowed.sub(" ", leftover(text))
                for zone in ("Asia/Seoul", "America/New_York"):
                    rest = rest.replace(zone, " ")
                if re.search(r"[A-Za-z]{2,}", rest):
                    problems.append(f"{name}: {rest.strip()!r}")
    assert not problems, "English in Korean texts:\n" + "\n".join(problems)
