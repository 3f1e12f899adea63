"""Untrusted text in mrkdwn: escaped everywhere it is shown, clipped without breaking it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.model import BookingStatus
from bot.notifications.notice import Notice
from bot.services.ports import BookingRow, RoomRow
from bot.views import lists, modals, texts
from bot.views.blocks import SECTION_TEXT_MAX, sections
from bot.views.cards import card
from bot.views.home import HomeData, home_view
from bot.views.mrkdwn import ELLIPSIS, clip, escape, mention, shown, typed, user_id_in
from bot.views.notifications import dm_message, email_content

EVIL = "<!channel> <https://evil.example|Free pizza> <@U0VICTIM> & <#C1>"
SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
# Markup our own views write: Slack date tokens and mentions of real user ids.
OWN_MARKUP = re.compile(r"<!date\^[^<>]*>|<@[UW][A-Z0-9]+>")


def test_escape_turns_slack_markup_into_text() -> None:
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert escape("<https://evil.example|x>") == "&lt;https://evil.example|x&gt;"
    assert escape("a & b") == "a &amp; b"
    assert escape("&amp;") == "&amp;amp;"  # shown as typed, not decoded


def test_clip_keeps_short_text_and_marks_a_cut_with_an_ellipsis() -> None:
    assert clip("short", 10) == "short"
    assert clip("abcdefghij", 10) == "abcdefghij"
    assert clip("abcdefghijk", 10) == "abcdefghi" + ELLIPSIS
    assert clip("abcdefghijk", 0) == ""


def test_clip_never_cuts_inside_an_entity() -> None:
    text = escape("aaaaaa<b>")  # aaaaaa&lt;b&gt;
    for limit in range(1, len(text)):
        clipped = clip(text, limit)
        assert len(clipped) <= limit
        body = clipped.removesuffix(ELLIPSIS)
        assert re.sub(r"&(?:lt|gt|amp);", "", body).count("&") == 0, clipped


def test_clip_never_cuts_inside_a_mention_or_a_date_token() -> None:
    text = "Approved by <@UADMIN123> at <!date^1700000000^{time}|12:00>"
    for limit in range(1, len(text)):
        body = clip(text, limit).removesuffix(ELLIPSIS)
        assert body.count("<") == body.count(">"), body


def test_clip_keeps_a_character_with_its_combining_marks() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, five code points
    text = "x" * 5 + family + "tail"
    for limit in range(6, 12):
        body = clip(text, limit).removesuffix(ELLIPSIS)
        assert body in ("x" * 5, "x" * 5 + family), body
    assert clip("e\u0301tail", 3) == "e\u0301" + ELLIPSIS
    assert clip("ee\u0301tail", 3) == "e" + ELLIPSIS


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_clip_fits_and_is_a_prefix(text: str, limit: int) -> None:
    clipped = clip(escape(text), limit)
    assert len(clipped) <= limit
    assert escape(text).startswith(clipped.removesuffix(ELLIPSIS))


@given(st.text(alphabet="&<>a회", max_size=400), st.integers(min_value=1, max_value=300))
def test_shown_escapes_before_it_clips(text: str, limit: int) -> None:
    result = shown(text, limit)
    assert len(result) <= limit
    body = result.removesuffix(ELLIPSIS)
    assert escape(text).startswith(body)
    assert re.fullmatch(r"(?:[^&<>]|&amp;|&lt;|&gt;)*", body)  # no half entity, no raw markup


def test_sections_keep_lines_whole_across_as_many_sections_as_needed() -> None:
    lines = [f"{n:02d} " + "x" * 996 for n in range(7)]  # three fit in one, with newlines
    found = sections(lines)
    texts = [b["text"]["text"] for b in found]
    assert all(len(t) <= SECTION_TEXT_MAX for t in texts)
    assert "\n".join(texts).split("\n") == lines
    assert len(found) == 3
    [one] = sections(["y" * 5000])
    assert len(one["text"]["text"]) == SECTION_TEXT_MAX  # a line too long for any is clipped


def test_mention_only_for_user_ids() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>"
    assert mention("W0123ABC") == "<@W0123ABC>"
    assert mention("!channel") == "!channel"
    assert mention("U1> <!channel") == "U1&gt; &lt;!channel"
    assert mention("") == ""


def _row(status: BookingStatus = BookingStatus.PENDING, **extra: Any) -> BookingRow:
    values: dict[str, Any] = {
        "booking_id": 7,
        "room_id": EVIL,
        "room_name": EVIL,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "booker": "UBOOKER",
        "title": EVIL,
        "status": status,
        "requested_at": START - timedelta(days=1),
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "cancelled_by": None,
    }
    values.update(extra)
    return BookingRow(**values)


# Values Slack hands back to the app or puts into an input box as typed; never read as mrkdwn.
_NOT_SHOWN = {"private_metadata", "value", "action_id", "block_id", "initial_value"}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []  # Slack shows plain text as typed
        return [s for k, v in value.items() if k not in _NOT_SHOWN for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _assert_inert(rendered: Any) -> None:
    for text in _strings(rendered):
        rest = OWN_MARKUP.sub("", text)
        assert "<" not in rest and ">" not in rest, text


def _every_view() -> list[Any]:
    denied = _row(BookingStatus.DENIED, decided_by="UADMIN", decided_at=START, reason=EVIL)
    cancelled = _row(BookingStatus.CANCELLED, decided_by="UADMIN", cancelled_by="UADMIN")
    room = RoomRow(EVIL, EVIL, 4, True)
    home = HomeData(
        user="UBOOKER",
        tz=SEOUL,
        now=START - timedelta(days=1),
        upcoming=[_row()],
        upcoming_total=1,
        history=[denied, cancelled],
        is_admin=True,
        pending=[_row()],
        pending_total=1,
    )
    payload = {
        "kind": "denied",
        "actor": "UADMIN",
        "at": START.isoformat(),
        "booking": {
            "booking_id": 7,
            "room_id": EVIL,
            "room_name": EVIL,
            "starts_at": START.isoformat(),
            "ends_at": (START + timedelta(hours=1)).isoformat(),
            "booker": "UBOOKER",
            "title": EVIL,
            "reason": EVIL,
        },
    }
    notice = Notice.from_payload(payload)
    return [
        card(_row()),
        card(denied),
        card(cancelled),
        home_view(home),
        lists.my_bookings([_row()], 1, SEOUL),
        lists.rooms_list([room], is_admin=True),
        modals.deny_modal(_row(), channel="C1", message_ts="1.2"),
        modals.room_modal(room),
        dm_message(notice, SEOUL),
        texts.unknown_subcommand(EVIL, email=True),
    ]


@pytest.mark.parametrize("index", range(len(_every_view())))
def test_every_view_shows_hostile_room_names_titles_and_reasons_as_text(index: int) -> None:
    rendered = _every_view()[index]
    _assert_inert(rendered)
    assert "&lt;!channel&gt;" in json.dumps(rendered)


def test_email_subject_and_greeting_carry_no_control_characters() -> None:
    payload = {
        "kind": "approved",
        "actor": "UADMIN",
        "at": START.isoformat(),
        "booking": {
            "booking_id": 7,
            "room_id": "102",
            "room_name": "Lab\x00\r\nBcc: eve@example.com",
            "starts_at": START.isoformat(),
            "ends_at": (START + timedelta(hours=1)).isoformat(),
            "booker": "UBOOKER",
            "title": "sync\x00\x1b[31m\r\nX-Injected: 1",
        },
    }
    mail = email_content(Notice.from_payload(payload), SEOUL, recipient_name="Bob\r\nBcc: x")
    assert not re.search(r"[\x00-\x1f\x7f]", mail.subject)
    assert mail.text.startswith("Hello Bob Bcc: x,\n")


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("<@U0ADA123|ada>", "U0ADA123"),
        ("<@W0ADA123>", "W0ADA123"),
        (" U0ADA123 ", "U0ADA123"),
        ("102", None),
        ("@ada", None),
        ("<@U0ADA123|ada> 102", None),
        ("<#C0GENERAL|general>", None),
        ("u0ada123", None),
    ],
)
def test_the_person_a_command_names(text: str, user: str | None) -> None:
    assert user_id_in(text) == user


def test_a_commands_text_reads_as_typed() -> None:
    sent = (
        "Sync &amp; &lt;plan&gt; with <@U1|ada> in <#C1|general>: <https://x.example|x.example> "
        "<https://y.example> <mailto:a@b.example|a@b.example> <!here> <!subteam^S1|@team>"
    )
    assert typed(sent) == (
        "Sync & <plan> with @ada in #general: x.example https://y.example a@b.example @here @team"
    )
    assert typed("&amp;lt;") == "&lt;"  # an entity typed as text stays as typed
