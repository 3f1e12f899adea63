"""The Slack Web API clients (one for listeners, one for the notification dispatcher), and the
bot's identity (auth.test) for Bolt."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def make_client(token: str | None, base_url: str, *, timeout: int = 10) -> WebClient:
    """A WebClient that waits out 429s (honouring Retry-After) and retries connection errors."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def delivery_client(client: WebClient) -> WebClient:
    """The same workspace and API, without retry handlers: the dispatcher handles 429s (defer
    the row, throttle the method) and outages (backoff, breaker) itself, and no send sleeps.
    Not even slack_sdk's default one for connection errors: a connection reset after Slack took
    a ``chat.postMessage`` would post it again inside the call, where no log shows it."""
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[]
    )


log = logging.getLogger(__name__)


def _nop() -> None:
    pass


class BotIdentity:
    """Who the bot token belongs to, from Slack's ``auth.test``, for Bolt's ``authorize``.

    Bolt's own single-workspace authorization calls ``auth.test`` on the first request and on
    every request until one succeeds; after a restart during a Slack outage every request failed
    with 500, even those that need no Slack call. Here ``auth.test`` is asked once at start and
    retried in the background (:meth:`verify_in_background`); meanwhile requests are authorized
    with the token alone. The bot's own user and bot ids that ``auth.test`` adds only serve to
    ignore the bot's own messages, and roombot subscribes to no message events.
    """

    def __init__(self, client: WebClient, token: str) -> None:
        self.client = client
        self.token = token
        self.answer: dict[str, Any] | None = None
        self.error: str | None = None  # the last failure, while there is no answer
        self.verified = threading.Event()
        self.settled = threading.Event()  # verified, or refused for good
        self._stop = threading.Event()

    @property
    def refused(self) -> bool:
        """Slack answered that the token is not good (as opposed to not answering)."""
        return self.settled.is_set() and not self.verified.is_set()

    def verify(self) -> bool:
        """One ``auth.test``; True once the token is known good."""
        try:
            answer = self.client.auth_test()
        except SlackApiError as exc:
            self.error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            if exc.response.status_code < 500 and self.error != "ratelimited":
                self.settled.set()  # invalid_auth and the like: asking again will not help
            return False
        except OSError as exc:
            self.error = f"unreachable: {getattr(exc, 'reason', None) or exc}"
            return False
        self.answer = dict(answer.data) if isinstance(answer.data, dict) else {}
        self.error = None
        self.verified.set()
        self.settled.set()
        return True

    def verify_in_background(
        self, *, first_wait: float = 1.0, max_wait: float = 60.0, then: Callable[[], None] = _nop
    ) -> threading.Thread:
        """Retry :meth:`verify` with doubling waits until Slack answers, then call ``then``."""

        def loop() -> None:
            wait = first_wait
            while not self.verify() and not self.settled.is_set():
                log.warning("Slack did not answer auth.test (%s); retry in %.0fs", self.error, wait)
                if self._stop.wait(wait):
                    return
                wait = min(wait * 2, max_wait)
            if self.refused:
                log.error(
                    "Slack refused SLACK_BOT_TOKEN (%s): copy the Bot User OAuth Token again",
                    self.error,
                )
            then()

        thread = threading.Thread(target=loop, name="slack-auth", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def authorizer(self) -> Callable[..., AuthorizeResult]:
        """Bolt's ``authorize``: a plain function, since Bolt passes arguments by their names."""

        def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            answer = self.answer or {}
            return AuthorizeResult(
                enterprise_id=answer.get("enterprise_id", enterprise_id),
                team_id=answer.get("team_id", team_id),
                bot_id=answer.get("bot_id"),
                bot_user_id=answer.get("user_id"),
                bot_token=self.token,
                user_id=user_id,
            )

        return authorize
