"""A listener that acknowledged and then failed: the user is told, and Bolt gets no exception
(its runner would clear the acknowledgement it may not have seen yet and answer 404 after 3 s)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt import Ack

from bot.handlers.deps import in_users_language


class Directory:
    default_locale = "en"

    def profile_within(self, user: str, seconds: float) -> None:
        return None

    def locale(self, user: str) -> str:
        return "en"


class Client:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> None:  # noqa: N802 - slack_sdk's name
        self.posted.append(kwargs)


class Deps:
    directory = Directory()


def _listener(ack: Ack, body: dict[str, Any], client: Client, context: Any) -> None:
    if body.get("ack_first"):
        ack()
    raise RuntimeError("database on fire")


def _run(body: dict[str, Any]) -> tuple[Ack, Client]:
    ack, client = Ack(), Client()
    context = {"deps": Deps(), "verified": True}
    in_users_language(_listener)(ack=ack, body=body, client=client, context=context)
    return ack, client


def test_a_failure_after_the_ack_is_reported_to_the_user_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ack, client = _run({"user": {"id": "UBOB"}, "ack_first": True})
    assert ack.response is not None and ack.response.status == 200
    [told] = client.posted
    assert told["channel"] == "UBOB" and "database on fire" not in told["text"]
    assert any("unhandled error" in r.message and r.exc_info for r in caplog.records)


def test_a_failure_before_the_ack_is_left_to_bolt() -> None:
    with pytest.raises(RuntimeError):
        _run({"user": {"id": "UBOB"}})
