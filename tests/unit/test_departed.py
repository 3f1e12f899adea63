"""People who left the workspace: what Slack's users.info says about them, how the senders report
it, and what releasing them does to their bookings, their outbox rows and the admins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web import SlackResponse

from bot.adapters.directory import Directory
from bot.domain import commands, events
from bot.domain.model import LEFT_WORKSPACE, BookingStatus, Room
from bot.notifications.failures import RecipientGone
from bot.notifications.notice import Departure, FreedBooking
from bot.notifications.outbox import OutboxRow
from bot.notifications.publishers import HomePublisher
from bot.notifications.senders import DmSender, EmailSender
from bot.services.handlers import Context
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel
from bot.views.blocks import SECTION_TEXT_MAX
from bot.views.cards import card
from bot.views.i18n import use_locale
from bot.views.notifications import DEPARTURE_LISTED, departure_message
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BOOKER, OTHER, ADMIN, ADMIN2 = "UBOOKER", "UOTHER", "UADMIN", "UADMIN2"


def _error(method: str, error: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url=f"https://slack.com/api/{method}",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=200,
    )
    return SlackApiError(error, response)


class Slack:
    """Just enough of WebClient: users.info for the people it knows (deleted or not), and
    chat.postMessage, refused for a deleted user as Slack refuses it (``channel_not_found``)."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.info_calls = 0
        self.posted: list[dict[str, Any]] = []
        self.info_error: str | None = None

    def add(self, user_id: str, deleted: bool = False) -> None:
        self.users[user_id] = {"id": user_id, "tz": "Asia/Seoul", "deleted": deleted}

    def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        self.info_calls += 1
        if self.info_error is not None:
            raise _error("users.info", self.info_error)
        if user not in self.users:
            raise _error("users.info", "user_not_found")
        return {"ok": True, "user": dict(self.users[user])}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:  # noqa: N802 (slack_sdk)
        user = self.users.get(kwargs["channel"])
        if user is None or user["deleted"]:
            raise _error("chat.postMessage", "channel_not_found")
        self.posted.append(kwargs)
        return {"ok": True}


def directory(slack: Slack) -> Directory:
    return Directory(slack, ZoneInfo("UTC"))  # type: ignore[arg-type]


# --- users.info ----------------------------------------------------------------------------------


def test_a_deleted_or_unknown_user_is_gone_and_cached() -> None:
    slack = Slack()
    slack.add("UGONE", deleted=True)
    slack.add("UHERE")
    people = directory(slack)
    assert people.profile("UGONE").gone
    assert people.profile("UNEVER").gone  # user_not_found
    assert people.profile("UNEVER").known
    assert not people.profile("UHERE").gone
    people.profile("UGONE")
    people.profile("UNEVER")
    assert slack.info_calls == 3  # each answer cached like any other


@pytest.mark.parametrize("error", ["user_not_visible", "internal_error", "ratelimited"])
def test_other_errors_do_not_make_anyone_gone(error: str) -> None:
    slack = Slack()
    slack.info_error = error
    found = directory(slack).profile("UHERE")
    assert not found.known
    assert not found.gone


# --- the DM sender -------------------------------------------------------------------------------


def dm_row(payload: dict[str, Any], recipient: str = BOOKER) -> OutboxRow:
    return OutboxRow(
        id=1,
        event_id="e" * 32,
        channel="dm",
        recipient=recipient,
        status="sending",
        attempts=1,
        next_attempt_at=NOW,
        last_error=None,
        created_at=NOW,
        sent_at=None,
        payload=payload,
    )


NOTICE = {
    "kind": "approved",
    "actor": ADMIN,
    "at": NOW.isoformat(),
    "booking": {
        "booking_id": 7,
        "room_id": "102",
        "room_name": "Board room",
        "starts_at": (NOW + timedelta(days=1)).isoformat(),
        "ends_at": (NOW + timedelta(days=1, hours=1)).isoformat(),
        "booker": BOOKER,
        "title": "Sync",
    },
}


def test_a_dm_to_someone_gone_is_not_posted() -> None:
    slack = Slack()
    slack.add(BOOKER, deleted=True)
    with pytest.raises(RecipientGone) as raised:
        DmSender(slack, directory(slack))(dm_row(NOTICE))  # type: ignore[arg-type]
    assert raised.value.user == BOOKER
    assert slack.posted == []


def test_a_dm_refused_after_the_profile_was_cached_asks_slack_again() -> None:
    slack = Slack()
    slack.add(BOOKER)
    send = DmSender(slack, directory(slack))  # type: ignore[arg-type]
    send(dm_row(NOTICE))
    slack.users[BOOKER]["deleted"] = True  # deactivated while the profile was cached
    with pytest.raises(RecipientGone):
        send(dm_row(NOTICE))
    assert len(slack.posted) == 1


def test_an_email_to_someone_gone_is_not_built_or_sent() -> None:
    slack = Slack()
    slack.add(BOOKER, deleted=True)
    sent: list[Any] = []

    class Mailer:
        def send(self, message: Any) -> None:
            sent.append(message)

    email = EmailSender(Mailer(), directory(slack), "rooms@example.com")
    with pytest.raises(RecipientGone):
        email(replace(dm_row(NOTICE), channel="email"))
    assert sent == []


def test_a_home_of_someone_gone_is_not_published() -> None:
    slack = Slack()
    slack.add(ADMIN, deleted=True)  # an admin left; ADMIN_USER_IDS still names them
    homes = HomePublisher(
        slack,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # nothing is read for someone gone
        directory(slack),
        is_admin=lambda user: True,
        dead_count=lambda: 0,
        clock=lambda: NOW,
    )
    row = dm_row({}, ADMIN)
    with pytest.raises(RecipientGone):
        homes(row)


def departure(count: int) -> Departure:
    start = NOW + timedelta(days=1)
    freed = tuple(
        FreedBooking(i, "102", "Board room", start + timedelta(hours=i), start, "Weekly & <sync>")
        for i in range(1, count + 1)
    )
    return Departure(BOOKER, NOW, freed)


def test_the_admins_dm_is_rendered_in_their_language_and_zone() -> None:
    slack = Slack()
    slack.add(ADMIN)
    DmSender(slack, directory(slack))(dm_row(departure(2).to_payload(), ADMIN))  # type: ignore[arg-type]
    [posted] = slack.posted
    assert posted["channel"] == ADMIN
    assert f"<@{BOOKER}>" in posted["text"]
    body = posted["blocks"][0]["text"]["text"]
    assert "#1" in body and "#2" in body and "Asia/Seoul" in body
    assert "Weekly &amp; &lt;sync&gt;" in body


@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("count", [0, 1, DEPARTURE_LISTED + 5])
def test_the_admins_dm_is_valid_block_kit(locale: str, count: int) -> None:
    with use_locale(locale):
        message = departure_message(departure(count), ZoneInfo("Asia/Seoul"))
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert all(len(text) <= SECTION_TEXT_MAX for text in texts)
    listed = "\n".join(texts)
    assert f"#{min(count, DEPARTURE_LISTED)}" in listed if count else "#" not in listed
    assert f"#{DEPARTURE_LISTED + 1}" not in listed
    if count > DEPARTURE_LISTED:
        assert "5" in texts[-1]  # …and 5 more
    if locale == "ko":
        assert "워크스페이스" in message["text"]


def test_a_departure_survives_its_payload() -> None:
    assert Departure.from_payload(departure(3).to_payload()) == departure(3)


# --- releasing someone who left ------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    store = Store()
    store.rooms["102"] = Room("102", "Board room", 10)
    return store


@pytest.fixture
def bus(store: Store) -> MessageBus:
    context = Context(admins=frozenset({ADMIN, ADMIN2}), clock=FixedClock(NOW))
    return MessageBus(lambda: FakeUnitOfWork(store), context)


def book(bus: MessageBus, start: float, by: str = BOOKER) -> int:
    starts = NOW + timedelta(hours=start)
    booking_id: int = bus.handle(
        commands.RequestBooking("102", starts, starts + timedelta(hours=1), by, "Sync")
    )
    return booking_id


def test_releasing_cancels_upcoming_bookings_and_tells_each_admin_once(
    bus: MessageBus, store: Store
) -> None:
    pending, approved, others = book(bus, 2), book(bus, 4), book(bus, 6, by=OTHER)
    bus.handle(commands.ApproveBooking(approved, ADMIN))
    before = len(store.outbox)

    assert bus.handle(commands.ReleaseDeparted(BOOKER)) == 2

    for booking_id in (pending, approved):
        assert store.bookings[booking_id].status == BookingStatus.CANCELLED
        assert store.booking_list[booking_id].reason == LEFT_WORKSPACE
        assert store.booking_list[booking_id].cancelled_by == "system"
    assert store.bookings[others].status == BookingStatus.PENDING
    assert store.approvals.get(pending) is None
    new = store.outbox[before:]
    assert not [m for m in new if m.recipient == BOOKER]  # nothing more to them
    assert {m.channel for m in new if m.recipient == "approvals"} == {Channel.CARD}
    dms = [m for m in new if m.channel == Channel.DM]
    assert sorted(m.recipient for m in dms) == [ADMIN, ADMIN2]
    left = Departure.from_payload(dms[0].payload)
    assert [b.booking_id for b in left.bookings] == [pending, approved]
    assert {m.event_id for m in dms} == {events.member_left_id(BOOKER)}
    assert store.skipped == [(BOOKER, ("dm", "email", "home"), f"{BOOKER} left the workspace")]

    after = len(store.outbox)
    assert bus.handle(commands.ReleaseDeparted(BOOKER)) == 0  # Slack says it again: no-op
    assert len(store.outbox) == after


def test_someone_who_came_back_and_left_again_is_released_again(
    bus: MessageBus, store: Store
) -> None:
    book(bus, 2)
    bus.handle(commands.ReleaseDeparted(BOOKER))
    later = book(bus, 8)  # back in the workspace for a while, booking again

    assert bus.handle(commands.ReleaseDeparted(BOOKER)) == 1

    assert store.bookings[later].status == BookingStatus.CANCELLED
    told = [m for m in store.outbox if m.channel == Channel.DM and m.recipient == ADMIN]
    assert [Departure.from_payload(m.payload).bookings[0].booking_id for m in told] == [1, later]
    assert told[1].event_id == events.member_left_id(BOOKER, later)
    assert bus.handle(commands.ReleaseDeparted(BOOKER)) == 0
    admins_told = [m for m in store.outbox if m.channel == Channel.DM and m.recipient != BOOKER]
    assert len(admins_told) == 4  # two admins, once for each departure


def test_an_admin_who_left_is_not_told_about_themselves(bus: MessageBus, store: Store) -> None:
    bus.handle(commands.ReleaseDeparted(ADMIN2))
    [dm] = [m for m in store.outbox if m.channel == Channel.DM]
    assert dm.recipient == ADMIN
    assert Departure.from_payload(dm.payload).bookings == ()


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_card_says_the_booker_left(bus: MessageBus, store: Store, locale: str) -> None:
    booking_id = book(bus, 2)
    bus.handle(commands.ReleaseDeparted(BOOKER))
    with use_locale(locale):
        text = str(card(store.booking_list[booking_id]))
    assert ("left the workspace" if locale == "en" else "워크스페이스") in text
