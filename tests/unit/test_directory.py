"""The users.info cache: answers reused within the TTL, shared by the lookups of one process, and a
long-running process does not keep every user it ever saw."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.adapters.directory import SWEEP_AT, Directory
from bot.services.ports import Reader


class Users:
    """Just enough of WebClient: ``users_info`` answering for anyone, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        self.calls += 1
        return {"user": {"id": user, "tz": "Asia/Seoul", "profile": {"email": f"{user}@x.test"}}}


def test_answers_are_reused_until_they_expire() -> None:
    now = [0.0]
    users = Users()
    directory = Directory(users, ZoneInfo("UTC"), ttl_seconds=60, monotonic=lambda: now[0])  # type: ignore[arg-type]
    assert directory.tz("U1") == ZoneInfo("Asia/Seoul")
    assert directory.profile("U1").email == "U1@x.test"
    assert users.calls == 1
    now[0] = 61
    directory.tz("U1")
    assert users.calls == 2


def test_expired_entries_are_swept_as_new_users_arrive() -> None:
    now = [0.0]
    directory = Directory(Users(), ZoneInfo("UTC"), ttl_seconds=60, monotonic=lambda: now[0])  # type: ignore[arg-type]
    for hour in range(5):  # a new crowd every hour, each gone quiet by the next
        now[0] = hour * 3600.0
        for n in range(SWEEP_AT - 1):
            directory.tz(f"U{hour}-{n}")
    assert len(directory) < 2 * SWEEP_AT
    assert directory.profile(f"U4-{SWEEP_AT - 2}").known  # the current crowd is still cached


class Speakers(Users):
    """``users_info`` with a Slack locale, which Slack sends only with ``include_locale``."""

    def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        answer = super().users_info(user)
        if include_locale:
            answer["user"]["locale"] = {"UKO": "ko-KR", "UFR": "fr-FR"}.get(user, "en-US")
        return answer


def test_each_users_language_comes_from_their_slack_locale_and_is_cached() -> None:
    users = Speakers()
    directory = Directory(users, ZoneInfo("UTC"), enabled_locales=("en", "ko"))  # type: ignore[arg-type]
    assert directory.locale("UKO") == "ko"
    assert directory.locale("UEN") == "en"
    assert directory.locale("UFR") == "en"  # not enabled: the default language
    directory.tz("UKO")
    assert users.calls == 3


def test_korean_speakers_get_the_default_when_korean_is_not_enabled() -> None:
    directory = Directory(Speakers(), ZoneInfo("UTC"), enabled_locales=("en",))  # type: ignore[arg-type]
    assert directory.locale("UKO") == "en"
    directory = Directory(
        Speakers(), ZoneInfo("UTC"), default_locale="ko", enabled_locales=("en", "ko")
    )  # type: ignore[arg-type]
    assert directory.locale("UFR") == "ko"


class Unreachable(Users):
    def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        raise OSError("no route to Slack")


def test_known_readers_come_from_the_cache_alone_and_never_from_a_fallback() -> None:
    users = Speakers()
    directory = Directory(users, ZoneInfo("UTC"), enabled_locales=("en", "ko"))  # type: ignore[arg-type]
    assert directory.known("UKO") is None
    assert users.calls == 0  # nothing is asked
    directory.profile("UKO")
    assert directory.known("UKO") == Reader("Asia/Seoul", "ko")
    down = Directory(Unreachable(), ZoneInfo("UTC"))  # type: ignore[arg-type]
    down.profile("UKO")
    assert down.known("UKO") is None  # the default zone is not theirs


def test_lookups_through_another_client_share_the_answers() -> None:
    """The listeners' and the senders' lookups (each through its own client) fetch a profile
    once between them, forget it together, and see it expire together."""
    now = [0.0]
    listeners_client, senders_client = Users(), Users()
    listeners = Directory(
        listeners_client,  # type: ignore[arg-type]
        ZoneInfo("UTC"),
        ttl_seconds=60,
        monotonic=lambda: now[0],
    )
    senders = listeners.through(senders_client)  # type: ignore[arg-type]
    assert senders.profile("U1").email == "U1@x.test"
    assert listeners.tz("U1") == ZoneInfo("Asia/Seoul")
    assert (listeners_client.calls, senders_client.calls) == (0, 1)
    listeners.profile("U2")
    listeners.forget("U1")
    assert senders.cached("U1") is None and senders.cached("U2") is not None
    now[0] = 61.0
    assert senders.cached("U2") is None


def test_a_failed_lookup_is_remembered_only_by_the_lookup_that_met_it() -> None:
    """The senders' client sleeps out nothing: its failure (a 429, say) must not leave the
    listeners, whose client would have waited for Slack, with the fallbacks, nor the other
    way round; an answer either gets is both's."""
    listeners_client = Users()
    listeners = Directory(listeners_client, ZoneInfo("UTC"))  # type: ignore[arg-type]
    senders = listeners.through(Unreachable())  # type: ignore[arg-type]
    assert not senders.profile("U1").known
    assert not senders.profile("U1").known  # remembered: Slack is not asked again at once
    assert listeners.profile("U1").known
    assert senders.profile("U1").known  # the answer the listeners got
    assert listeners_client.calls == 1
