"""The Slack Web API clients: one for listeners, one for the notification dispatcher."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def make_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
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
    the row, throttle the method) and outages (backoff, breaker) itself, and no send sleeps."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout)
