"""Who a Slack user is, as far as roombot cares: their time zone, language and email, from
``users.info`` (with ``include_locale``).

Answers are cached with a TTL: a modal submission, a card and a home tab each need the viewer's
time zone and language, and Slack rate-limits ``users.info``. A lookup that fails falls back to the
default time zone and language (and no email) without caching the failure for long, so a passing
outage heals itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

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

    def _fetch(self, user_id: str) -> tuple[UserProfile, float]:
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info for %s failed (%s); using %s", user_id, exc, self.default_tz)
            fallback = UserProfile(
                user_id, self.default_tz, locale=self.default_locale, known=False
            )
            return fallback, FAILURE_TTL_SECONDS
        try:
            tz = ZoneInfo(user.get("tz") or "")
        except (ZoneInfoNotFoundError, ValueError):
            tz = self.default_tz
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        locale = resolve(user.get("locale"), self.enabled_locales, self.default_locale)
        found = UserProfile(user_id, tz, profile.get("email") or None, name or None, locale)
        return found, self.ttl
