"""Every refusal the domain and the services give has a text in the reader's language."""

from __future__ import annotations

import ast
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


REFUSAL_CLASSES = {
    "BookingError",
    "InvalidBooking",
    "UnknownRoom",
    "RoomInactive",
    "UnknownBooking",
    "NotAllowed",
    "InvalidTransition",
    "QuotaExceeded",
    "DuplicateRoom",
}
#: Refusals only the system itself can cause (the scheduler offering or lapsing a waitlist
#: entry): nobody reads them, so they carry no code.
SYSTEM_ONLY = {("model.py", "offer"), ("model.py", "lapse")}


def refusals_without_a_code() -> list[str]:
    """Every refusal raised in the domain, the services, the listeners or the adapters that
    carries no code: its English message would reach the person as it is."""
    found = []
    for folder in ("domain", "services", "handlers", "adapters"):
        for path in sorted((ROOT / "bot" / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                if (path.name, function.name) in SYSTEM_ONLY:
                    continue
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Name)
                        and node.func.id in REFUSAL_CLASSES
                        and not any(k.arg == "code" for k in node.keywords)
                    ):
                        found.append(f"bot/{folder}/{path.name}:{node.lineno}")
    return found


def test_every_refusal_carries_a_code() -> None:
    found = refusals_without_a_code()
    assert not found, "refusals without a code (give each a code and a text in refusals.py):\n" + (
        "\n".join(found)
    )


def test_quota_and_approver_refusals_are_told_in_korean() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.domain.rules import Quota, check_quota

    start = datetime(2026, 12, 7, 9, tzinfo=UTC)
    held = [(start, start + timedelta(hours=9))]
    try:
        check_quota(Quota(hours=10), held, start, start + timedelta(hours=2))
    except BookingError as error:
        with use_locale("ko"):
            told = refusals.text(error)
        with use_locale("en"):
            assert refusals.text(error) == (
                "You have 1 hour left that week (the limit is 10 hours). "
                "Choose a shorter booking or another week."
            )
    else:
        raise AssertionError("the quota let a booking past its limit")
    assert "1시간" in told and "10시간" in told and "hour" not in told
    with use_locale("ko"):
        approver = refusals.text(
            BookingError("(English)", code="not_approver", params={"room_id": "201"})
        )
    assert "201" in approver and "Only" not in approver


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
