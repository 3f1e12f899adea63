"""Who a Slack user is, as far as roombot cares: their time zone, language and email, from
``users.info`` (with ``include_locale``).

Answers are cached with a TTL: a modal submission, a card and a home tab each need the viewer's
time zone and language, and Slack rate-limits ``users.info``. A lookup that fails falls back to the
default time zone and language (and no email) without caching the failure for long, so a passing
outage heals itself. A person Slack says is deleted, or knows no longer (``user_not_found``), is
``gone``: they left the workspace.
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
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, UserProfile]] = {}
        self._sweep_at = SWEEP_AT
        self._lookups: ThreadPoolExecutor | None = None
        #: Caches of the same users in this process (the dispatcher's) that :meth:`changed`
        #: updates as well.
        self.followers: list[Directory] = []

    def cached(self, user_id: str) -> UserProfile | None:
        with self._lock:
            hit = self._cache.get(user_id)
            return hit[1] if hit is not None and hit[0] > self._now() else None

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
        with self._lock:
            hit = self._cache.get(user_id)
            if hit is not None and hit[0] > self._now():
                return hit[1]
        profile, ttl = self._fetch(user_id)
        with self._lock:
            now = self._now()
            self._cache[user_id] = (now + ttl, profile)
            if len(self._cache) >= self._sweep_at:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                self._sweep_at = max(SWEEP_AT, 2 * len(self._cache))
        return profile

    def __len__(self) -> int:
        """How many users are cached (expired entries included until the next sweep)."""
        with self._lock:
            return len(self._cache)

    def tz(self, user_id: str) -> ZoneInfo:
        return self.profile(user_id).tz

    def locale(self, user_id: str) -> str:
        """The language to speak to ``user_id`` in (``ko-KR`` -> ``ko`` when enabled)."""
        return self.profile(user_id).locale

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._cache.pop(user_id, None)

    def changed(self, user: dict[str, Any]) -> bool:
        """Slack's ``user_change`` event: ``user`` is the member as ``users.info`` shows them.
        Their cached profile is dropped, so the next lookup asks Slack and a new time zone or
        language counts at once (the event carries no ``locale``, so it cannot fill the cache
        itself). A deactivated member (``deleted: true``) is cached as gone, so nothing more is
        sent to them without asking Slack. True if they are gone."""
        user_id = str(user.get("id") or "")
        if not user_id:
            return False
        for follower in self.followers:
            follower.changed(user)
        if not user.get("deleted"):
            self.forget(user_id)
            return False
        gone = self._gone(user_id)
        with self._lock:
            self._cache[user_id] = (self._now() + self.ttl, gone)
        return True

    def _gone(self, user_id: str) -> UserProfile:
        return UserProfile(user_id, self.default_tz, locale=self.default_locale, gone=True)

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
