"""Senders that render current state: the approval card of a booking and a user's App Home."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from bot.adapters import orm
from bot.adapters.directory import Directory
from bot.notifications.failures import PermanentFailure
from bot.notifications.limits import Call
from bot.notifications.notice import BadPayload, CardRefresh, HomeRefresh
from bot.notifications.outbox import OutboxRow
from bot.services.queries import Queries
from bot.views.cards import card
from bot.views.home import HISTORY_SIZE, PENDING_PAGE, UPCOMING_PAGE, HomeData, home_view
from bot.views.i18n import use_locale

log = logging.getLogger(__name__)


class CardPublisher:
    """Posts the approval card of a booking, or updates it in place once it exists.

    The card shows the booking's *current* state from the read model, so a delayed or repeated
    outbox row can only ever make the card more up to date.
    """

    def __init__(
        self,
        client: WebClient,
        channel: str,
        queries: Queries,
        engine: Engine,
        locale: str | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.locale = locale
        self.queries = queries
        self.engine = engine

    def __call__(self, row: OutboxRow) -> None:
        try:
            refresh = CardRefresh.from_payload(row.payload)
        except BadPayload as exc:
            raise PermanentFailure(f"cannot read card row {row.id}: {exc}") from exc
        self.publish(refresh.booking_id)

    def calls(self, row: OutboxRow) -> list[Call]:
        """An update of the card in place, or a first post: both in the approvals channel."""
        try:
            booking_id = CardRefresh.from_payload(row.payload).booking_id
        except BadPayload:
            return []
        where = self.location(booking_id)
        if where is None:
            return [("chat.postMessage", self.channel)]
        return [("chat.update", where[0])]

    def location(self, booking_id: int) -> tuple[str, str] | None:
        c = orm.approval_cards.c
        with self.engine.connect() as conn:
            found = conn.execute(
                select(c.channel, c.ts).where(c.booking_id == booking_id)
            ).one_or_none()
        return (found.channel, found.ts) if found else None

    def publish(self, booking_id: int) -> None:
        booking = self.queries.booking(booking_id)
        if booking is None:
            log.warning("no booking #%s to show on a card", booking_id)
            return
        with use_locale(self.locale):
            room = self.queries.room(booking.room_id)
            message = card(booking, approvers=room.approvers if room is not None else ())
        where = self.location(booking_id)
        if where is not None:
            self.client.chat_update(channel=where[0], ts=where[1], **message)
            return
        posted = self.client.chat_postMessage(
            channel=self.channel, unfurl_links=False, unfurl_media=False, **message
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(orm.approval_cards).values(
                        booking_id=booking_id,
                        channel=posted["channel"],
                        ts=posted["ts"],
                        posted_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # Another worker posted the card first: keep theirs, bring it up to date, drop ours.
            self.client.chat_delete(channel=posted["channel"], ts=posted["ts"])
            where = self.location(booking_id)
            if where is not None:
                self.client.chat_update(channel=where[0], ts=where[1], **message)

    def forget(self, booking_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(orm.approval_cards).where(orm.approval_cards.c.booking_id == booking_id)
            )


class HomePublisher:
    """Renders a user's App Home from the read model and publishes it."""

    def __init__(
        self,
        client: WebClient,
        queries: Queries,
        directory: Directory,
        is_admin: Callable[[str], bool],
        dead_count: Callable[[], int],
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.queries = queries
        self.directory = directory
        self.is_admin = is_admin
        self.dead_count = dead_count
        self.clock = clock

    def __call__(self, row: OutboxRow) -> None:
        try:
            refresh = HomeRefresh.from_payload(row.payload)
        except BadPayload as exc:
            raise PermanentFailure(f"cannot read home row {row.id}: {exc}") from exc
        self.publish(row.recipient, dict(refresh.pages))

    def calls(self, row: OutboxRow) -> list[Call]:
        return [("views.publish", None)]

    def data(self, user: str, pages: dict[str, int] | None = None) -> HomeData:
        pages = pages or {}
        now = self.clock()
        admin = self.is_admin(user)
        upcoming = self.queries.upcoming_for(
            user, now, limit=UPCOMING_PAGE * pages.get("upcoming", 1)
        )
        pending = (
            self.queries.pending(limit=PENDING_PAGE * pages.get("pending", 1)) if admin else None
        )
        return HomeData(
            user=user,
            tz=self.directory.tz(user),
            now=now,
            upcoming=upcoming.rows,
            upcoming_total=upcoming.total,
            history=self.queries.history_for(user, now, limit=HISTORY_SIZE),
            is_admin=admin,
            pending=pending.rows if pending else [],
            pending_total=pending.total if pending else 0,
            dead_notifications=self.dead_count() if admin else 0,
            pages=pages,
        )

    def publish(self, user: str, pages: dict[str, int] | None = None) -> None:
        data = self.data(user, pages)
        with use_locale(self.directory.locale(user)):
            view = home_view(data)
        self.client.views_publish(user_id=user, view=view)
