"""Who is in a Slack user group, from ``usergroups.users.list`` (scope ``usergroups:read``).

Policies ask on every booking request and every decision by a room approver, and the method is
rate limited (Tier 2), so answers are cached for ``GROUP_CACHE_TTL_SECONDS``. A failed lookup
answers ``None`` (nobody is treated as a member, so a person decides, as without the policy) and
is cached only briefly, so an outage heals itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

FAILURE_TTL_SECONDS = 30.0


class SlackGroups:
    def __init__(
        self,
        client: WebClient,
        ttl_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str] | None]] = {}

    def members(self, group_id: str) -> frozenset[str] | None:
        with self._lock:
            hit = self._cache.get(group_id)
            if hit is not None and hit[0] > self._now():
                return hit[1]
        members, ttl = self._fetch(group_id)
        with self._lock:
            self._cache[group_id] = (self._now() + ttl, members)
        return members

    def forget(self, group_id: str) -> None:
        with self._lock:
            self._cache.pop(group_id, None)

    def _fetch(self, group_id: str) -> tuple[frozenset[str] | None, float]:
        try:
            answer = self.client.usergroups_users_list(usergroup=group_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("usergroups.users.list for %s failed (%s)", group_id, exc)
            return None, FAILURE_TTL_SECONDS
        return frozenset(answer.get("users") or ()), self.ttl
