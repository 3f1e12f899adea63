"""Every DM, card, App Home, modal and reply with the longest inputs roombot accepts, in English
and Korean, fits Slack's limits and passes slack_sdk's own Block Kit models.

The renders are those of the pseudo-locale test (so a view added there is swept here too), fed
the longest title (MAX_TITLE_LENGTH at its highest), room name, room id, denial reason,
location, tags and display name the app takes, made of what escaping grows (``&`` becomes
``&amp;``) and of characters a careless cut would break (Hangul, an emoji with a skin tone, a
letter with a combining mark).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.config import Settings
from bot.domain.model import MAX_LOCATION_LENGTH, MAX_TAG_LENGTH, MAX_TAGS
from bot.views.blocks import MESSAGE_TEXT_MAX, SECTION_TEXT_MAX
from bot.views.i18n import use_locale
from bot.views.mrkdwn import escape
from tests.fakes.slack_api import block_problems, view_problems
from tests.unit import slack_limits
from tests.unit import test_pseudo_locale as views

#: What escaping grows more than threefold, and what a careless cut breaks: an entity, an
#: emoji with its skin tone, a letter with a combining accent, Hangul.
PIECE = "&&&&&&<>회👍🏽é\u0301 "
TITLE_MAX = Settings.model_fields["max_title_length"].metadata[-1].le
ROOM_NAME_MAX = 80
REASON_MAX = 500
ROOM_ID_MAX = 32
NAME_MAX = 80  # Slack's display names


def longest(length: int) -> str:
    """``length`` characters of :data:`PIECE`, the way the app stores them (no edge spaces)."""
    text = (PIECE * (length // len(PIECE) + 1))[:length]
    return text.rstrip() + "&" * (length - len(text.rstrip()))


@pytest.fixture
def longest_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pseudo-locale test's data, each value at its longest."""
    title, room_name, reason = longest(TITLE_MAX), longest(ROOM_NAME_MAX), longest(REASON_MAX)
    person = longest(NAME_MAX)
    for name, value in (
        ("TITLE", title),
        ("ROOM_NAME", room_name),
        ("REASON", reason),
        ("PERSON", person),
    ):
        monkeypatch.setattr(views, name, value)
    rows = [
        replace(
            r,
            title=title if r.title else "",
            room_name=room_name,
            reason=reason if r.reason and r.reason != "left_workspace" else r.reason,
            was_title=title if r.was_title is not None else None,
            was_room_name=room_name if r.was_room_name else None,
        )
        for r in views.ROWS
    ]
    monkeypatch.setattr(views, "ROWS", rows)
    notices = [
        replace(
            n,
            title=title if n.title else "",
            room_name=room_name,
            reason=reason if n.reason else None,
            was_room_name=room_name if n.was_room_name else None,
        )
        for n in views.NOTICES
    ]
    monkeypatch.setattr(views, "NOTICES", notices)
    long_id = "9" * ROOM_ID_MAX
    rooms = [replace(r, name=room_name) for r in views.ROOMS]
    monkeypatch.setattr(views, "ROOMS", [replace(rooms[0], id=long_id), *rooms[1:]])
    tags = tuple(f"{i:02d}{longest(MAX_TAG_LENGTH - 2)}" for i in range(MAX_TAGS))
    found = [
        replace(r, name=room_name, location=longest(MAX_LOCATION_LENGTH), tags=tags)
        for r in views.FOUND_ROOMS
    ]
    monkeypatch.setattr(views, "FOUND_ROOMS", found)


def _problems(name: str, rendered: Any, check: Any) -> list[str]:
    """Why Slack would refuse this render: the documented limits, then slack_sdk's models."""
    found = []
    if check is not None:
        try:
            check(rendered)
        except AssertionError as error:
            found.append(f"{name}: {error}")
    if not isinstance(rendered, dict):
        return found
    fallback = rendered.get("text")
    if isinstance(fallback, str) and len(fallback) > MESSAGE_TEXT_MAX:
        found.append(f"{name}: a fallback text of {len(fallback)} characters")
    for block in rendered.get("blocks") or ():
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if len(text) >= SECTION_TEXT_MAX:
            found.append(f"{name}: a section cut at {SECTION_TEXT_MAX}, losing what followed")
    if rendered.get("type") in ("modal", "home"):
        if check is None:
            try:
                slack_limits.check_view(rendered, rendered["type"])
            except AssertionError as error:
                found.append(f"{name}: {error}")
        found += [f"{name}: slack_sdk: {p}" for p in view_problems(rendered)]
    elif "blocks" in rendered:
        found += [f"{name}: slack_sdk: {p}" for p in block_problems(rendered["blocks"])]
    return found


@pytest.mark.usefixtures("longest_inputs")
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_view_takes_the_longest_inputs(locale: str) -> None:
    problems = []
    count = 0
    with use_locale(locale):
        for name, (render, check) in views.renders():
            problems += _problems(name, render(), check)
            count += 1
    assert count > 100
    assert not problems, "\n".join(problems)


@pytest.mark.usefixtures("longest_inputs")
def test_the_inputs_are_the_longest_the_app_accepts() -> None:
    """The sweep means something only if its data is as long as the app lets it be, and
    escaping makes it longer still."""
    assert TITLE_MAX == 1000
    assert len(views.TITLE) == TITLE_MAX and len(escape(views.TITLE)) > 3000
    assert len(views.ROOM_NAME) == ROOM_NAME_MAX and len(views.REASON) == REASON_MAX
