"""Calendar feeds on SQLite and PostgreSQL, through the WSGI app: contents, ETag and
Last-Modified with 304s, HEAD, a change at once, rotation and bad paths answered 404."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.feeds import USER_SCOPE, FeedStore, room_scope
from bot.adapters.http import SlackEdge, WebApp
from bot.bootstrap import Container, feed_store
from bot.domain import commands as c
from bot.domain.recurrence import Frequency, Repeat
from bot.notifications import ics
from bot.notifications.notice import Notice
from bot.notifications.outbox import OutboxStore
from bot.services.ports import Channel
from bot.views import i18n
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.integration.helpers import bookings, outbox, rows

WEEK = timedelta(weeks=1)


class _NoReplays:
    def first_time(self, signature: str) -> bool:
        return True


def _web(container: Container, clock: FixedClock) -> tuple[WebApp, FeedStore]:
    feeds = FeedStore(container.engine, clock)
    edge = SlackEdge("secret", _NoReplays())
    return WebApp(None, lambda: (True, {}), edge, feeds), feeds  # type: ignore[arg-type]


def _get(
    app: WebApp, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(header_list)

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO(b"")}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _events(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def test_feeds_serve_bookings_and_answer_polls_cheaply(
    container: Container, clock: FixedClock
) -> None:
    bus, now = container.bus, clock.now
    bus.handle(c.AddRoom("R1", "Fjord", 6, by="cli"))
    bus.handle(c.AddRoom("R2", "Delta", 4, by="cli", feed_details=True))
    first = bus.handle(
        c.RequestBooking(
            "R1", now + timedelta(hours=1), now + timedelta(hours=2), by="U1", title="Plan"
        )
    )
    bus.handle(c.ApproveBooking(first, by=ADMIN))
    bus.handle(
        c.RequestBooking(
            "R2", now + timedelta(hours=3), now + timedelta(hours=4), by="U1", title="Sync"
        )
    )
    app, feeds = _web(container, clock)

    user = feeds.issue("U1", USER_SCOPE)
    status, headers, body = _get(app, f"/calendar/{user}.ics")
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    found = {str(e["summary"]): str(e["status"]) for e in _events(body)}
    assert found == {"Plan": "CONFIRMED", "Sync": "TENTATIVE"}

    # the room without details shows busy slots only; the other shows the title, and the
    # booker once their name is known (see below), never their Slack user id
    busy = feeds.issue("admin", room_scope("R1"))
    [slot] = _events(_get(app, f"/calendar/{busy}.ics")[2])
    assert str(slot["summary"]) == "Busy" and "description" not in slot
    assert slot.decoded("dtstart") == now + timedelta(hours=1)
    detailed = feeds.issue("admin", room_scope("R2"))
    [shown] = _events(_get(app, f"/calendar/{detailed}.ics")[2])
    assert str(shown["summary"]) == "Sync" and "description" not in shown

    # an unchanged feed answers 304 to either validator; HEAD has the headers and no body
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert _get(app, f"/calendar/{user}.ics", if_none_match=etag)[0] == 304
    assert _get(app, f"/calendar/{user}.ics", if_modified_since=modified)[0] == 304
    head = _get(app, f"/calendar/{user}.ics", "HEAD")
    assert head[0] == 200 and head[2] == b"" and head[1]["ETag"] == etag

    # a change shows at once: the old ETag no longer matches
    bus.handle(c.CancelBooking(first, by="U1"))
    status, changed, body = _get(app, f"/calendar/{user}.ics", if_none_match=etag)
    assert status == 200 and changed["ETag"] != etag
    assert {str(e["summary"]): str(e["status"]) for e in _events(body)}["Plan"] == "CANCELLED"
    assert _get(app, f"/calendar/{busy}.ics")[2].count(b"BEGIN:VEVENT") == 0

    # rotating: the old link is gone, the new one works
    rotated = feeds.issue("U1", USER_SCOPE)
    assert _get(app, f"/calendar/{user}.ics")[0] == 404
    assert _get(app, f"/calendar/{rotated}.ics")[0] == 200


def test_bad_feed_paths_are_404(container: Container, clock: FixedClock) -> None:
    app, feeds = _web(container, clock)
    token = feeds.issue("U1", USER_SCOPE)
    for path in (
        "/calendar/",
        "/calendar/x.ics",
        f"/calendar/{token[:-1]}A.ics" if token[-1] != "A" else f"/calendar/{token[:-1]}B.ics",
        f"/calendar/{token}",
        f"/calendar/{token}.ics/..",
        "/calendar/%00%ff.ics",
        "/calendar/" + "a" * 5000 + ".ics",
    ):
        assert _get(app, path)[0] == 404, path
    assert _get(app, f"/calendar/{token}.ics", "POST")[0] == 405


def test_feed_events_are_the_invites_and_speak_their_readers_language(
    container: Container, clock: FixedClock
) -> None:
    """A person's feed speaks the language stored with its link; a room's, DEFAULT_LOCALE. The
    UIDs are the invites' (this installation's id, the mail domain)."""
    bus, now = container.bus, clock.now
    bus.handle(c.AddRoom("R1", "Fjord", 6, by="cli"))
    booking = bus.handle(
        c.RequestBooking("R1", now + timedelta(hours=1), now + timedelta(hours=2), by="U1")
    )
    settings = make_settings("sqlite://", mail_from="Rooms <rooms@example.com>")
    feeds = feed_store(container.engine, settings, clock)
    install_id = OutboxStore(container.engine).install_id()
    assert install_id

    token = feeds.issue("U1", USER_SCOPE, "ko")
    full = feeds.feed(token)
    assert full is not None and full.body is not None and not full.not_modified
    [event] = _events(full.body)
    assert str(event["uid"]) == ics.uid(booking, install_id, "example.com")
    assert str(event["description"]) == "예약 상태: 대기 중"

    # HEAD renders nothing; a current copy is said to be so, not with an empty body
    head = feeds.feed(token, body=False)
    assert head is not None and head.body is None and head.etag == full.etag
    polled = feeds.feed(token, if_none_match=full.etag)
    assert polled is not None and polled.not_modified and polled.body is None
    # another mail domain names the events otherwise: the old copy is not current any more
    renamed = feed_store(container.engine, make_settings("sqlite://", mail_from="r@other.org"))
    moved = renamed.feed(token, if_none_match=full.etag)
    assert moved is not None and not moved.not_modified and moved.body is not None
    assert str(_events(moved.body)[0]["uid"]).endswith("@other.org")

    room = feeds.issue("admin", room_scope("R1"))
    default = i18n.default_locale()
    i18n.set_default_locale("ko")
    try:
        served = feeds.feed(room)
    finally:
        i18n.set_default_locale(default)
    assert served is not None and served.body is not None
    [slot] = _events(served.body)
    assert (str(slot["summary"]), str(slot["uid"])) == ("사용 중", str(event["uid"]))


def _held(body: bytes) -> list[tuple[datetime, datetime, str]]:
    """The dates a feed's calendar holds, expanded as a calendar app does: (start, end, status)."""
    found = recurring_ical_events.of(Calendar.from_ical(body)).between(
        date(2026, 1, 1), date(2028, 1, 1)
    )
    return sorted(
        (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC), str(e["STATUS"]))
        for e in found
    )


def test_a_series_is_one_feed_entry_the_same_as_its_invite(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """A series' dates are its invite's one calendar object (series UID, RRULE, EXDATE for the
    dates it does not hold, an override for each date moved or waiting again), so a calendar
    holding the invite and the feed shows each date once; a single booking keeps its own."""
    bus, now = container.bus, clock.now
    bus.handle(c.AddRoom("R1", "Fjord", 6, by="cli"))
    start, end = now + timedelta(hours=26), now + timedelta(hours=27)
    bus.handle(c.RequestBooking("R1", start + WEEK, end + WEEK, by="UCAROL"))  # skipped
    series_id = bus.handle(
        c.RequestSeries(
            "R1",
            start,
            end,
            by="U1",
            repeat=Repeat(Frequency.WEEKLY, count=6),
            timezone="Asia/Seoul",
            title="Weekly sync",
        )
    )
    bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    single = bus.handle(
        c.RequestBooking("R1", now + timedelta(hours=2), now + timedelta(hours=3), by="U1")
    )
    held = [b for b in bookings(engine) if b["series_id"] == series_id]
    assert len(held) == 5
    settings = make_settings("sqlite://", mail_from="Rooms <rooms@example.com>")
    feeds = feed_store(container.engine, settings, clock)
    install_id = OutboxStore(container.engine).install_id()
    user = feeds.issue("U1", USER_SCOPE)
    room = feeds.issue("admin", room_scope("R1"))
    etags = {feeds.feed(t).etag for t in (user, room)}  # type: ignore[union-attr]

    bus.handle(c.CancelBooking(held[1]["id"], by="U1"))  # a date cancelled alone
    shorter = held[2]["ends_at"] - timedelta(minutes=30)  # stays approved
    bus.handle(c.ChangeBooking(held[2]["id"], by="U1", ends_at=shorter))
    later = (held[3]["starts_at"] + timedelta(hours=3), held[3]["ends_at"] + timedelta(hours=3))
    bus.handle(c.ChangeBooking(held[3]["id"], by="U1", starts_at=later[0], ends_at=later[1]))

    [email] = [
        r
        for r in outbox(engine)
        if r["channel"] == Channel.EMAIL and r["payload"]["kind"] == "changed"
    ][-1:]
    invite = Notice.from_payload(email["payload"])
    series_uid = ics.uid_of(invite, install_id, "example.com")
    assert series_uid == ics.uid(series_id, install_id, "example.com", kind="series")

    served = feeds.feed(user)
    assert served is not None and served.body is not None and served.etag not in etags
    events = _events(served.body)
    assert {str(e["uid"]) for e in events} == {
        series_uid,
        ics.uid(single, install_id, "example.com"),
    }
    mine = Calendar.from_ical(served.body)
    one = [e for e in mine.walk("VEVENT") if str(e["uid"]) != series_uid]
    mine.subcomponents = [s for s in mine.subcomponents if s not in one]
    assert _held(mine.to_ical()) == [
        (held[0]["starts_at"], held[0]["ends_at"], "CONFIRMED"),
        (held[2]["starts_at"], shorter, "CONFIRMED"),
        (*later, "TENTATIVE"),  # moved: waits for approval again
        (held[4]["starts_at"], held[4]["ends_at"], "CONFIRMED"),
    ]
    # the invite holds the approved dates of the same object: same UID, same overrides
    sent = Calendar.from_ical(ics.calendar(invite))
    assert [(s, e) for s, e, _ in _held(sent.to_ical())] == [
        (s, e) for s, e, status in _held(mine.to_ical()) if status == "CONFIRMED"
    ]

    # a room's feed: the same object, its busy slots and no titles (the room shows none)
    slots = feeds.feed(room)
    assert slots is not None and slots.body is not None and slots.etag not in etags
    series_events = [e for e in _events(slots.body) if str(e["uid"]) == series_uid]
    assert {str(e["summary"]) for e in series_events} == {"Busy"}
    assert all("description" not in e for e in series_events)
    busy = [(s, e) for s, e, _status in _held(slots.body)]
    assert busy == sorted(
        [(s, e) for s, e, _status in _held(mine.to_ical())]
        + [(start + WEEK, end + WEEK)]  # Carol's
        + [(now + timedelta(hours=2), now + timedelta(hours=3))]  # the single booking
    )

    # any date of the series changing changes both feeds' ETags
    before = {t: feeds.feed(t).etag for t in (user, room)}  # type: ignore[union-attr]
    bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    for token, etag in before.items():
        again = feeds.feed(token, if_none_match=etag)
        assert again is not None and not again.not_modified
    assert (*later, "CONFIRMED") in _held(feeds.feed(user).body)  # type: ignore[union-attr,arg-type]

    # every date cancelled: the person's feed has the series' cancel (its UID, CANCELLED), the
    # room's feed nothing of it
    bus.handle(c.CancelOccurrence(held[0]["id"], by="U1", following=True))
    [gone] = [e for e in _events(feeds.feed(user).body) if str(e["uid"]) == series_uid]  # type: ignore[union-attr,arg-type]
    assert str(gone["status"]) == "CANCELLED" and "exdate" not in gone
    assert series_uid.encode() not in feeds.feed(room).body  # type: ignore[union-attr,operator]


def _summaries(body: bytes) -> list[tuple[datetime, str, str]]:
    """Each date of a feed as a calendar app shows it: (start, title, description)."""
    found = recurring_ical_events.of(Calendar.from_ical(body)).between(
        date(2026, 1, 1), date(2028, 1, 1)
    )
    return sorted(
        (e["DTSTART"].dt.astimezone(UTC), str(e["SUMMARY"]), str(e.get("DESCRIPTION", "")))
        for e in found
    )


def test_a_room_feed_names_bookers_it_knows_and_each_series_date_has_its_own_title(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """A room's feed with details says who booked by name, as Slack shows them, when the name
    is known, and otherwise nothing (never a Slack user id); a series date retitled since it
    was requested shows its own title, in the room's feed and the booker's."""
    bus, now = container.bus, clock.now
    bus.handle(c.AddRoom("R2", "Delta", 4, by="cli", feed_details=True))
    start, end = now + timedelta(hours=26), now + timedelta(hours=27)
    series_id = bus.handle(
        c.RequestSeries(
            "R2",
            start,
            end,
            by="UBOB",
            repeat=Repeat(Frequency.WEEKLY, count=3),
            timezone="Asia/Seoul",
            title="Weekly sync",
        )
    )
    bus.handle(c.ApproveSeries(series_id, by=ADMIN))
    dates = [b for b in bookings(engine) if b["series_id"] == series_id]
    bus.handle(c.ChangeBooking(dates[1]["id"], by="UBOB", title="Planning"))  # stays approved
    single = now + timedelta(hours=2)
    bus.handle(
        c.RequestBooking("R2", single, single + timedelta(hours=1), by="UNEW", title="Intro")
    )
    known = {"UBOB": "Bob"}
    feeds = FeedStore(container.engine, clock, names=known.get)
    room = feeds.issue("admin", room_scope("R2"))

    served = feeds.feed(room)
    assert served is not None and served.body is not None
    assert _summaries(served.body) == [
        (single, "Intro", ""),  # nobody knows UNEW's name yet
        (start, "Weekly sync", "Booked by Bob"),
        (start + WEEK, "Planning", "Booked by Bob"),
        (start + 2 * WEEK, "Weekly sync", "Booked by Bob"),
    ]
    assert b"UBOB" not in served.body and b"UNEW" not in served.body

    # a name learnt since is a new rendering: the client's copy is out of date
    known["UNEW"] = "Nina"
    again = feeds.feed(room, if_none_match=served.etag)
    assert again is not None and not again.not_modified and again.body is not None
    assert _summaries(again.body)[0] == (single, "Intro", "Booked by Nina")

    mine = feeds.feed(feeds.issue("UBOB", USER_SCOPE))
    assert mine is not None and mine.body is not None
    assert [title for _start, title, _text in _summaries(mine.body)] == [
        "Weekly sync",
        "Planning",
        "Weekly sync",
    ]


def test_a_feed_token_is_random_and_stored_only_as_its_sha256(
    container: Container, clock: FixedClock
) -> None:
    feeds = FeedStore(container.engine, clock)
    first, second = feeds.issue("U1", USER_SCOPE), feeds.issue("U2", USER_SCOPE)
    assert first != second and len(first) >= 43  # 32 random bytes, URL-safe
    [row] = [r for r in rows(container.engine, orm.feed_tokens) if r["owner"] == "U1"]
    assert row["token_hash"] == hashlib.sha256(first.encode()).hexdigest()
    assert first not in repr(rows(container.engine, orm.feed_tokens))
