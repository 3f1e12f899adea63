"""Who a Slack user is, as far as roombot cares: their time zone, language and email, from
``users.info`` (with ``include_locale``).

Answers are cached with a TTL: a modal submission, a card and a home tab each need the viewer's
time zone and language, and Slack rate-limits ``users.info``. A lookup that fails falls back to the
default time zone and language (and no email) without caching the failure for long, so a passing
outage heals itself. A person Slack says is deleted, or knows no longer (``user_not_found``), is
``gone``: they left the workspace.

A process keeps one cache of answers, which the listeners and the notification senders share
(:meth:`Directory.through`): a profile is fetched once, and a ``user_change`` counts for both.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services.ports import Reader
from bot.views.i18n import resolve

log = logging.getLogger(__name__)

FAILURE_TTL_SECONDS = 30.0
#: The cache drops expired entries when it reaches this size (and then twice what was left), so
#: it holds about the users seen within one TTL, however long the process runs.
SWEEP_AT = 1024


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    tz: ZoneInfo
    email: str | None = None
    name: str | None = None
    locale: str = "en"  # the enabled catalog for the user's Slack locale
    known: bool = True  # False: Slack could not be asked; values are fallbacks
    zone_read: bool = True  # False: ``tz`` is the default, not the user's own
    #: The person left the workspace: Slack answers ``deleted: true`` or ``user_not_found``.
    gone: bool = False
    #: Why Slack could not be asked (when ``known`` is False), for who must tell an outage
    #: from a token Slack refuses.
    problem: Exception | None = field(default=None, compare=False)

    @property
    def zone_known(self) -> bool:
        """The zone is the user's: what a typed time may be read in without asking."""
        return self.known and self.zone_read


class _Expiring:
    """Profiles by user id, each until its own expiry on ``monotonic``'s clock; thread-safe."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.now = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, UserProfile]] = {}
        self._sweep_at = SWEEP_AT

    def get(self, user_id: str) -> UserProfile | None:
        with self._lock:
            hit = self._entries.get(user_id)
            return hit[1] if hit is not None and hit[0] > self.now() else None

    def put(self, user_id: str, profile: UserProfile, ttl: float) -> None:
        with self._lock:
            now = self.now()
            self._entries[user_id] = (now + ttl, profile)
            if len(self._entries) >= self._sweep_at:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                self._sweep_at = max(SWEEP_AT, 2 * len(self._entries))

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._entries.pop(user_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class Directory:
    def __init__(
        self,
        client: WebClient,
        default_tz: ZoneInfo,
        ttl_seconds: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        default_locale: str = "en",
        enabled_locales: tuple[str, ...] = ("en",),
    ) -> None:
        self.client = client
        self.default_tz = default_tz
        self.default_locale = default_locale
        self.enabled_locales = enabled_locales
        self.ttl = ttl_seconds
        self._now = monotonic
        #: What Slack answered (``gone`` included): shared with every :meth:`through` twin.
        self._answers = _Expiring(monotonic)
        #: Lookups that failed, remembered briefly: this directory's own (see :meth:`through`).
        self._failures = _Expiring(monotonic)
        self._lock = threading.Lock()
        self._lookups: ThreadPoolExecutor | None = None

    def through(self, client: WebClient) -> Directory:
        """This cache, asking Slack through ``client`` on a miss. The listeners' client sleeps
        out a 429 and the dispatcher's sleeps out nothing (a rate-limited lookup defers its row
        instead), yet one process needs one cache of its users: what Slack answered is shared,
        while a lookup that failed is remembered only by the directory that met it, so the
        dispatcher's 429 does not leave the listeners with fallbacks, nor their retries the
        dispatcher waiting behind them."""
        twin = Directory(
            client,
            self.default_tz,
            self.ttl,
            self._now,
            default_locale=self.default_locale,
            enabled_locales=self.enabled_locales,
        )
        twin._answers = self._answers
        return twin

    def cached(self, user_id: str) -> UserProfile | None:
        return self._answers.get(user_id) or self._failures.get(user_id)

    def known(self, user_id: str) -> Reader | None:
        """The user's zone and language if cached and their own (not the fallbacks of a failed
        lookup); Slack is not asked."""
        hit = self.cached(user_id)
        if hit is None or not hit.zone_known:
            return None
        return Reader(hit.tz.key, hit.locale)

    def profile_within(self, user_id: str, seconds: float) -> UserProfile | None:
        """The profile if it is cached or Slack answers within ``seconds``; else None, while
        the lookup goes on and fills the cache. For work that must finish before an ack."""
        hit = self.cached(user_id)
        if hit is not None:
            return hit
        with self._lock:
            if self._lookups is None:
                self._lookups = ThreadPoolExecutor(4, thread_name_prefix="users-info")
            lookups = self._lookups
        try:
            return lookups.submit(self.profile, user_id).result(timeout=seconds)
        except FutureTimeout:
            return None

    def profile(self, user_id: str) -> UserProfile:
        hit = self.cached(user_id)
        if hit is not None:
            return hit
        profile, ttl = self._fetch(user_id)
        if profile.known:
            self._answers.put(user_id, profile, ttl)
            self._failures.drop(user_id)
        else:
            self._failures.put(user_id, profile, ttl)
        return profile

    def __len__(self) -> int:
        """How many users are cached (expired entries included until the next sweep)."""
        return len(self._answers) + len(self._failures)

    def tz(self, user_id: str) -> ZoneInfo:
        return self.profile(user_id).tz

    def locale(self, user_id: str) -> str:
        """The language to speak to ``user_id`` in (``ko-KR`` -> ``ko`` when enabled)."""
        return self.profile(user_id).locale

    def forget(self, user_id: str) -> None:
        self._answers.drop(user_id)
        self._failures.drop(user_id)

    def changed(self, user: dict[str, Any]) -> bool:
        """Slack's ``user_change`` event: ``user`` is the member as ``users.info`` shows them.
        Their cached profile is dropped, so the next lookup asks Slack and a new time zone or
        language counts at once (the event carries no ``locale``, so it cannot fill the cache
        itself). A deactivated member (``deleted: true``) is cached as gone, so nothing more is
        sent to them without asking Slack. True if they are gone."""
        user_id = str(user.get("id") or "")
        if not user_id:
            return False
        self.forget(user_id)
        if not user.get("deleted"):
            return False
        self._answers.put(user_id, self._gone(user_id), self.ttl)
        return True

    def _gone(self, user_id: str) -> UserProfile:
        return UserProfile(
            user_id, self.default_tz, locale=self.default_locale, zone_read=False, gone=True
        )

    def _fetch(self, user_id: str) -> tuple[UserProfile, float]:
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") != "user_not_found":
                return self._unknown(user_id, exc)
            # No such user in this workspace (any more): as final as deleted, cached as long.
            return self._gone(user_id), self.ttl
        except (SlackClientError, OSError) as exc:
            return self._unknown(user_id, exc)
        zone_read = True
        try:
            tz = ZoneInfo(user.get("tz") or "")
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            log.warning("users.info for %s gave no known zone; using %s", user_id, self.default_tz)
            tz, zone_read = self.default_tz, False
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        locale = resolve(user.get("locale"), self.enabled_locales, self.default_locale)
        found = UserProfile(
            user_id,
            tz,
            profile.get("email") or None,
            name or None,
            locale,
            zone_read=zone_read,
            gone=bool(user.get("deleted")),
        )
        return found, self.ttl

    def _unknown(self, user_id: str, exc: Exception) -> tuple[UserProfile, float]:
        """Slack could not be asked: the defaults, cached briefly so an outage heals."""
        log.warning("users.info for %s failed (%s); using %s", user_id, exc, self.default_tz)
        fallback = UserProfile(
            user_id, self.default_tz, locale=self.default_locale, known=False, problem=exc
        )
        return fallback, FAILURE_TTL_SECONDS
