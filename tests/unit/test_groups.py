"""User group members (bot.adapters.groups): cached, since policies ask on every request and
``usergroups.users.list`` is rate limited; a failed lookup is nobody, and kept only briefly."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.adapters.groups import FAILURE_TTL_SECONDS, SlackGroups


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """``usergroups_users_list`` as Slack answers it, counting the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False

    def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.calls.append(usergroup)
        if self.down:
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="usergroups.users.list",
                req_args={},
                data={"ok": False, "error": "ratelimited"},
                headers={},
                status_code=429,
            )
            raise SlackApiError("ratelimited", response)
        return {"ok": True, "users": ["UAL", "UBO"]}


def test_members_are_asked_once_per_ttl() -> None:
    client, clock = Client(), Clock()
    groups = SlackGroups(client, ttl_seconds=300, monotonic=clock)  # type: ignore[arg-type]
    assert groups.members("S0TEAM") == {"UAL", "UBO"}
    clock.now += 299
    assert groups.members("S0TEAM") == {"UAL", "UBO"}
    assert client.calls == ["S0TEAM"]
    clock.now += 2
    groups.members("S0TEAM")
    assert client.calls == ["S0TEAM", "S0TEAM"]


def test_a_failed_lookup_is_nobody_and_is_asked_again_soon() -> None:
    client, clock = Client(), Clock()
    groups = SlackGroups(client, ttl_seconds=300, monotonic=clock)  # type: ignore[arg-type]
    client.down = True
    assert groups.members("S0TEAM") is None
    assert groups.members("S0TEAM") is None
    assert len(client.calls) == 1
    client.down = False
    clock.now += FAILURE_TTL_SECONDS + 1
    assert groups.members("S0TEAM") == {"UAL", "UBO"}
    assert len(client.calls) == 2
