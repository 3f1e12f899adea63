"""Senders that render current state: the approval card of a booking and a user's App Home."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.adapters import orm
from bot.adapters.directory import Directory
from bot.notifications.failures import (
    APPROVALS_CHANNEL_FIXES,
    ChannelUnusable,
    PermanentFailure,
    RecipientGone,
    log_refused,
    refused_payload,
    with_text_fallback,
)
from bot.notifications.limits import Call
from bot.notifications.notice import BadPayload, CardRefresh, HomeRefresh, Unattended
from bot.notifications.outbox import OutboxRow
from bot.services.queries import Queries
from bot.views.cards import card, series_card
from bot.views.home import HISTORY_SIZE, PENDING_PAGE, UPCOMING_PAGE, HomeData, home_view
from bot.views.i18n import use_locale
from bot.views.notifications import unattended_message

log = logging.getLogger(__name__)


#: The ``event_type`` of the metadata every approval card carries (with the booking id and the
#: installation's id), so a card whose ts was never recorded can be found in the channel again,
#: and not a card another installation (or this one before its database was reset) posted there.
CARD_EVENT = "roombot_approval_card"
#: How far before a recorded post attempt the channel history is searched for its card, for
#: clocks that disagree a little; and how many messages a page of that search reads.
LOOKUP_MARGIN = timedelta(minutes=5)
LOOKUP_PAGE = 100
LOOKUP_PAGES_MAX = 10


def card_metadata(booking_id: int, install: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"booking_id": booking_id}
    if install is not None:
        payload["install"] = install
    return {"event_type": CARD_EVENT, "event_payload": payload}


def _card_booking(message: dict[str, Any], install: str | None) -> int | None:
    """The booking id in the metadata of a card this installation posted, or None for any other
    message (another installation's card included)."""
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != CARD_EVENT:
        return None
    payload = meta.get("event_payload")
    if not isinstance(payload, dict) or payload.get("install") != install:
        return None
    value = payload.get("booking_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class CardPublisher:
    """Posts the approval card of a booking, or updates it in place once it exists. A series
    has one card for all its occurrences, kept under its first occurrence's booking id.

    The card shows the booking's *current* state from the read model, so a delayed or repeated
    outbox row can only ever make the card more up to date.

    At most one card per booking, even across crashes: before the first ``chat.postMessage`` a
    ``card_posts`` row records the attempt, and the card carries the booking id in its message
    metadata. A later attempt that finds the attempt but no recorded ts (the worker died after
    Slack took the post, or the answer was lost) looks the card up in the channel's history
    (``conversations.history`` with ``include_all_metadata``) and updates it; only a card that
    is not there is posted. A recorded card someone deleted (``message_not_found``) is posted
    afresh.

    The approvals channel's notes ride the same rows (:class:`Unattended`: rooms nobody may
    decide for any more, when there is no admin left to DM about it).

    When the approvals channel refuses cards (the bot is not in it, it does not exist or is
    archived) every card would fail alike: :class:`ChannelUnusable` holds the card rows back
    and has the admins told what to do.
    """

    def __init__(
        self,
        client: WebClient,
        channel: str,
        queries: Queries,
        engine: Engine,
        locale: str | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        install: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.client = client
        self.install = install
        self.channel = channel
        self.locale = locale
        self.queries = queries
        self.engine = engine
        self.clock = clock

    def __call__(self, row: OutboxRow) -> None:
        note: Unattended | None = None
        try:
            if Unattended.is_one(row.payload):
                note = Unattended.from_payload(row.payload)
            else:
                booking_id = CardRefresh.from_payload(row.payload).booking_id
        except BadPayload as exc:
            raise PermanentFailure(f"cannot read card row {row.id}: {exc}") from exc
        try:
            if note is not None:
                self.post_note(note)
            else:
                self.publish(booking_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in APPROVALS_CHANNEL_FIXES:
                # every card would meet it: the rows wait (and the admins are told) until fixed
                raise ChannelUnusable(self.channel, str(error)) from exc
            raise

    def calls(self, row: OutboxRow) -> list[Call]:
        """An update of the card in place, or a first post: all in the approvals channel.

        After an attempt to post whose card is not recorded, the card is looked for and, found,
        updated: that is what usually happens (the attempt is another worker's post still
        waiting for Slack's answer, or one whose answer was lost), so it is what is reserved; a
        card not found is posted without the channel's token, and a 429 then puts it back. A
        note (see :meth:`post_note`) is one post."""
        if Unattended.is_one(row.payload):
            return [("chat.postMessage", self.channel)]
        try:
            booking_id = self.card_of(CardRefresh.from_payload(row.payload).booking_id)
        except BadPayload:
            return []
        where = self.location(booking_id)
        if where is not None:
            return [("chat.update", where[0])]
        if self.attempted(booking_id) is not None:
            return [("conversations.history", self.channel), ("chat.update", self.channel)]
        return [("chat.postMessage", self.channel)]

    def location(self, booking_id: int) -> tuple[str, str] | None:
        c = orm.approval_cards.c
        with self.engine.connect() as conn:
            found = conn.execute(
                select(c.channel, c.ts).where(c.booking_id == booking_id)
            ).one_or_none()
        return (found.channel, found.ts) if found else None

    def attempted(self, booking_id: int) -> tuple[str, datetime] | None:
        """Where and when a post of this booking's card was last begun, if ever."""
        c = orm.card_posts.c
        with self.engine.connect() as conn:
            found = conn.execute(
                select(c.channel, c.attempted_at).where(c.booking_id == booking_id)
            ).one_or_none()
        return (found.channel, found.attempted_at) if found else None

    def card_of(self, booking_id: int) -> int:
        """The booking id a booking's card is kept under: its own, or for an occurrence of a
        series the series' anchor (one card for the whole series)."""
        booking = self.queries.booking(booking_id)
        if booking is None or booking.series_id is None:
            return booking_id
        series = self.queries.series(booking.series_id)
        return series.anchor if series is not None else booking_id

    def post_note(self, note: Unattended) -> None:
        """A note to the approvals channel, about no one booking: rooms nobody may decide for
        since someone left (there is no admin left to DM). Posted once, never updated."""
        with use_locale(self.locale):
            message = unattended_message(note)
        with_text_fallback(
            lambda m: self.client.chat_postMessage(
                channel=self.channel, unfurl_links=False, unfurl_media=False, **m
            ),
            message,
            f"the note about rooms {', '.join(i for i, _n in note.rooms)}",
        )

    def publish(self, booking_id: int) -> None:
        """Post or update the card that shows the booking: its own, or its series' one."""
        booking = self.queries.booking(booking_id)
        if booking is None:
            log.warning("no booking #%s to show on a card", booking_id)
            return
        series = self.queries.series(booking.series_id) if booking.series_id is not None else None
        with use_locale(self.locale):
            room = self.queries.room(booking.room_id)
            approvers = room.approvers if room is not None else ()
            if series is not None:
                booking_id = series.anchor
                message = series_card(series, approvers=approvers)
            else:
                message = card(booking, approvers=approvers)
        message["metadata"] = card_metadata(booking_id, self.install())
        with_text_fallback(
            lambda m: self._show(booking_id, m), message, f"the card of booking #{booking_id}"
        )

    def _show(self, booking_id: int, message: dict[str, Any]) -> None:
        """Update the booking's card in place, or post it (once: see the class)."""
        where = self.location(booking_id)
        if where is not None:
            try:
                self.client.chat_update(channel=where[0], ts=where[1], **message)
                return
            except SlackApiError as exc:
                error = exc.response.get("error")
                moved = where[0] != self.channel and error in APPROVALS_CHANNEL_FIXES
                if error != "message_not_found" and not moved:
                    raise
            # Someone deleted the card (it cannot be looked up either), or it is in a channel
            # APPROVALS_CHANNEL no longer names that refuses it: post a fresh one.
            log.warning("card of booking #%s is gone from Slack; posting a new one", booking_id)
            self._forget(booking_id, where[1])
            self._post(booking_id, message)
            return
        attempt = self.attempted(booking_id)
        if attempt is not None and self._adopt(booking_id, attempt, message):
            return
        self._post(booking_id, message)

    def _adopt(
        self, booking_id: int, attempt: tuple[str, datetime], message: dict[str, Any]
    ) -> bool:
        """Find the card an earlier attempt posted without recording it; record it, update it
        to the current state, and delete any further copies. False if there is none."""
        channel, at = attempt
        found = self._find_cards(channel, booking_id, at - LOOKUP_MARGIN)
        if not found:
            return False
        found.sort(key=lambda m: float(m["ts"]))
        keep, *extra = found
        log.info(
            "card of booking #%s found in the channel (ts %s) after an unrecorded post",
            booking_id,
            keep["ts"],
        )
        if not self._record(booking_id, channel, keep["ts"]):
            # another worker recorded a card meanwhile: that one stays, ours go
            extra = [m for m in found if (channel, m["ts"]) != self.location(booking_id)]
        for copy in extra:
            self._delete_quietly(channel, copy["ts"])
        where = self.location(booking_id)
        if where is not None:
            self.client.chat_update(channel=where[0], ts=where[1], **message)
        return True

    def _find_cards(self, channel: str, booking_id: int, since: datetime) -> list[dict[str, Any]]:
        """This booking's cards in ``channel`` posted after ``since``, newest first."""
        found: list[dict[str, Any]] = []
        install = self.install()
        cursor: str | None = None
        for _ in range(LOOKUP_PAGES_MAX):
            page = self.client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=LOOKUP_PAGE,
                cursor=cursor,
            )
            found += [
                m for m in page.get("messages") or [] if _card_booking(m, install) == booking_id
            ]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or cursor is None:
                break
        return found

    def _post(self, booking_id: int, message: dict[str, Any]) -> None:
        begun = self._begin(booking_id)
        try:
            posted = self.client.chat_postMessage(
                channel=self.channel, unfurl_links=False, unfurl_media=False, **message
            )
        except SlackApiError as exc:
            if exc.response.status_code < 500:
                # Slack answered and posted nothing (a 429, an error): no card to look for
                # next time, so the retry is paced as the post it is.
                self._end(booking_id, begun)
            raise
        if not self._record(booking_id, posted["channel"], posted["ts"]):
            # Another worker posted the card first: keep theirs, bring it up to date, drop ours.
            self.client.chat_delete(channel=posted["channel"], ts=posted["ts"])
            where = self.location(booking_id)
            if where is not None:
                self.client.chat_update(channel=where[0], ts=where[1], **message)

    def _begin(self, booking_id: int) -> datetime:
        """Record that a post of this card is about to be made (before Slack sees it); return
        the attempt's time."""
        table, c = orm.card_posts, orm.card_posts.c
        attempted = self.clock()
        values = {"channel": self.channel, "attempted_at": attempted}
        with self.engine.begin() as conn:
            done = conn.execute(update(table).where(c.booking_id == booking_id).values(values))
            if not done.rowcount:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(table).values(booking_id=booking_id, **values))
                except IntegrityError:
                    pass  # another worker began one at the same moment: its row says the same
        return attempted

    def _end(self, booking_id: int, begun: datetime) -> None:
        """Forget an attempt that posted nothing, unless another has begun since."""
        c = orm.card_posts.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(orm.card_posts).where(c.booking_id == booking_id, c.attempted_at == begun)
            )

    def _record(self, booking_id: int, channel: str, ts: str) -> bool:
        """Keep where the card is; False if another card was recorded first."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(orm.approval_cards).values(
                        booking_id=booking_id, channel=channel, ts=ts, posted_at=self.clock()
                    )
                )
        except IntegrityError:
            return False
        return True

    def _forget(self, booking_id: int, ts: str) -> None:
        c = orm.approval_cards.c
        with self.engine.begin() as conn:
            conn.execute(delete(orm.approval_cards).where(c.booking_id == booking_id, c.ts == ts))

    def _delete_quietly(self, channel: str, ts: str) -> None:
        try:
            self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise


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
        feeds: bool = False,
    ) -> None:
        self.feeds = feeds
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
        if self.directory.profile(row.recipient).gone:
            raise RecipientGone(row.recipient)
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
            feeds=self.feeds,
            rooms=[(r.id, r.name) for r in self.queries.rooms()] if admin and self.feeds else [],
        )

    def publish(self, user: str, pages: dict[str, int] | None = None) -> None:
        data = self.data(user, pages)
        with use_locale(self.directory.locale(user)):
            view = home_view(data)
        try:
            self.client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            if refused_payload(exc) is not None:  # a view has no text to fall back to
                log_refused(f"the home tab of {user}", exc, view)
            raise
