"""Every refusal the domain and the services give has a text in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain.errors import BookingError, RoomUnavailable
from bot.views import refusals
from bot.views.i18n import use_locale
from tests.unit.test_pseudo_locale import REFUSALS

ROOT = Path(__file__).resolve().parents[2]


def raised_codes() -> set[str]:
    found: set[str] = set()
    for path in [
        *(ROOT / "bot" / "domain").glob("*.py"),
        *(ROOT / "bot" / "services").glob("*.py"),
    ]:
        found |= set(re.findall(r'code="(\w+)"', path.read_text(encoding="utf-8")))
    return found


def test_every_code_the_domain_raises_has_a_text_and_a_sample() -> None:
    codes = raised_codes()
    assert codes, "no refusal codes found in bot/domain and bot/services"
    assert codes <= set(refusals.TEXTS), (
        f"no text in bot/views/refusals.py for {codes - set(refusals.TEXTS)}"
    )
    assert codes <= {code for code, _ in REFUSALS}, "add a sample to REFUSALS in test_pseudo_locale"


def test_a_refusal_is_told_in_the_readers_language_and_escaped() -> None:
    error = BookingError("Room 1<2 exists already.", code="room_exists", params={"room_id": "1<2"})
    with use_locale("en"):
        assert refusals.reply(error) == ":warning: Room 1&lt;2 exists already."
        assert refusals.text(error) == "Room 1<2 exists already."
    with use_locale("ko"):
        assert refusals.text(error) == "회의실 1<2은(는) 이미 있습니다."
    assert refusals.text(RoomUnavailable("102")).startswith("Room 102 is taken")


def test_a_refusal_without_a_text_falls_back_to_its_english_message() -> None:
    with use_locale("ko"):
        assert refusals.text(BookingError("Something new.")) == "Something new."
