"""The Slack client's retry policy and the users.info cache, against the fake Web API."""

from __future__ import annotations

import socket
import threading
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError

from bot.adapters.directory import Directory
from bot.adapters.slack import delivery_client, make_client
from tests.fakes.slack_api import StrictSlackApi


@pytest.fixture
def fake() -> StrictSlackApi:
    with StrictSlackApi(token="xoxb-t", channels=("C1",)) as fake:
        fake.add_user("USEOUL", tz="Asia/Seoul", email="s@example.com", name="Seo")
        fake.add_user("U1")
        yield fake


def test_rate_limits_are_waited_out_and_server_errors_retried(fake: StrictSlackApi) -> None:
    client = make_client("xoxb-t", fake.url, timeout=5)
    fake.rate_limit_next("chat.postMessage", retry_after=0, count=2)
    assert client.chat_postMessage(channel="C1", text="hello")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]
    fake.fail_next("views.publish", status=500)
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    assert client.views_publish(user_id="U1", view=home)["ok"]
    assert [c.status for c in fake.calls_to("views.publish")] == [500, 200]
    fake.fail_next("chat.update", error="message_not_found")  # an answer, not an outage
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C1", ts="1", text="x")
    assert len(fake.calls_to("chat.update")) == 1


def test_dropped_connections_are_retried_then_reported() -> None:
    """A server that accepts and hangs up at once: the client tries 1 + 2 times, then raises."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def drop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    port = listener.getsockname()[1]
    client = make_client("xoxb-t", f"http://127.0.0.1:{port}/api/", timeout=2)
    try:
        with pytest.raises(OSError):
            client.auth_test()
    finally:
        listener.close()
    assert len(accepted) == 3


def test_time_zones_are_cached_with_a_ttl_and_fall_back_when_slack_fails(
    fake: StrictSlackApi,
) -> None:
    now = [0.0]
    directory = Directory(
        make_client("xoxb-t", fake.url), ZoneInfo("Europe/Paris"), 60, lambda: now[0]
    )
    profile = directory.profile("USEOUL")
    assert profile.tz == ZoneInfo("Asia/Seoul") and profile.email == "s@example.com"
    directory.tz("USEOUL")
    assert len(fake.calls_to("users.info")) == 1  # served from the cache
    now[0] = 61
    directory.tz("USEOUL")
    assert len(fake.calls_to("users.info")) == 2  # expired, asked again

    assert directory.tz("UNOBODY") == ZoneInfo("Europe/Paris")  # user_not_found -> default
    fake.fail_next("users.info", status=500, count=5)
    profile = directory.profile("UOTHER")
    assert profile.tz == ZoneInfo("Europe/Paris") and profile.known is False


def test_the_delivery_client_never_sends_a_call_twice_itself() -> None:
    """A server that reads the request and hangs up without answering (Slack may have taken the
    post): the dispatcher's client reports it, and the request went out once."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(3)
        received: list[bytes] = []

        def hang_up() -> None:
            for _ in range(2):
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    received.append(conn.recv(65536))

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        port = server.getsockname()[1]
        client = delivery_client(make_client("xoxb-t", f"http://127.0.0.1:{port}/api/", timeout=5))
        with pytest.raises(OSError):
            client.chat_postMessage(channel="C1", text="hello")
        server.close()
        thread.join(10)
    assert len(received) == 1
