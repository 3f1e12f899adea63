"""The fake Slack API must behave like Slack as seen through the real ``slack_sdk`` client,
or every test built on it proves nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack_api import Call, FakeSlackApi, running_fake_slack

TOKEN = "xoxb-test-token"


@pytest.fixture
def fake() -> Iterator[FakeSlackApi]:
    with running_fake_slack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlackApi) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.url, timeout=10)


def test_url_is_a_base_url_for_the_client(fake: FakeSlackApi) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/api/")


def test_auth_test_answers_as_the_bot_and_records_the_token(
    fake: FakeSlackApi, client: WebClient
) -> None:
    response = client.auth_test()

    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "BBOT"
    [call] = fake.calls
    assert call.method == "auth.test"
    assert call.token == TOKEN
    assert call.status == 200


def test_users_info_returns_the_configured_time_zone_and_email(
    fake: FakeSlackApi, client: WebClient
) -> None:
    fake.add_user("U1", tz="Europe/Paris", email="ann@example.com", name="ann")
    fake.add_user("U2", tz="America/New_York")

    ann = client.users_info(user="U1")["user"]
    bob = client.users_info(user="U2")["user"]

    assert ann["tz"] == "Europe/Paris"
    assert ann["tz_offset"] in (3600, 7200)
    assert ann["profile"]["email"] == "ann@example.com"
    assert ann["name"] == "ann"
    assert ann["is_bot"] is False
    assert bob["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert "email" not in bob["profile"]
    assert fake.calls_to("users.info")[0].params["user"] == "U1"


def test_unknown_user_is_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="UNOBODY")

    assert raised.value.response["error"] == "user_not_found"


def test_views_publish_records_the_decoded_view(fake: FakeSlackApi, client: WebClient) -> None:
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your bookings*"}}],
    }

    response = client.views_publish(user_id="U1", view=view)

    [call] = fake.calls_to("views.publish")
    assert call.params["user_id"] == "U1"
    assert call.params["view"] == view
    assert response["view"]["id"].startswith("V")
    assert response["view"]["blocks"] == view["blocks"]


def test_json_encoded_form_fields_are_decoded(fake: FakeSlackApi, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]

    # A form post, as slack_sdk sends for methods it does not post as JSON.
    client.api_call(
        "chat.postEphemeral",
        data={
            "channel": "C1",
            "user": "U1",
            "blocks": json.dumps(blocks),
        },
    )

    assert fake.calls_to("chat.postEphemeral")[0].params["blocks"] == blocks


def test_post_message_timestamps_are_unique_and_increasing(client: WebClient) -> None:
    channel = client.conversations_open(users="U1")["channel"]["id"]

    first = client.chat_postMessage(channel=channel, text="one")
    second = client.chat_postMessage(channel=channel, text="two")

    assert channel == "DU1"
    assert first["channel"] == channel
    assert first["message"]["text"] == "one"
    assert float(first["ts"]) < float(second["ts"])


def test_fail_next_with_status_500_surfaces_as_slack_api_error(
    fake: FakeSlackApi, client: WebClient
) -> None:
    fake.fail_next("chat.postMessage", error="fatal_error", status=500)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")

    assert raised.value.response.status_code == 500
    assert raised.value.response["error"] == "fatal_error"
    assert client.chat_postMessage(channel="C1", text="hello")["ok"] is True
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [500, 200]


def test_rate_limited_call_is_retried_by_the_client(fake: FakeSlackApi) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=fake.url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit_next("chat.postMessage", retry_after=0)

    response = client.chat_postMessage(channel="C1", text="hello")

    assert response["ok"] is True
    calls = fake.calls_to("chat.postMessage")
    assert [call.status for call in calls] == [429, 200]


def test_rate_limit_without_retry_handler_is_an_error(
    fake: FakeSlackApi, client: WebClient
) -> None:
    fake.rate_limit_next("users.info", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_wait_for_returns_calls_made_from_another_thread(
    fake: FakeSlackApi, client: WebClient
) -> None:
    worker = threading.Thread(
        target=lambda: [client.chat_postMessage(channel="C1", text=str(n)) for n in range(2)]
    )
    worker.start()

    calls = fake.wait_for("chat.postMessage", count=2)

    worker.join()
    assert [call.params["text"] for call in calls] == ["0", "1"]


def test_wait_for_times_out_listing_what_was_recorded(
    fake: FakeSlackApi, client: WebClient
) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"views\.open.*auth\.test"):
        fake.wait_for("views.open", timeout=0.05)


def test_delayed_call_still_completes_and_is_recorded(
    fake: FakeSlackApi, client: WebClient
) -> None:
    fake.delay("views.open", 0.2)

    response = client.views_open(trigger_id="123.456", view={"type": "modal", "blocks": []})

    assert response["ok"] is True
    assert len(fake.calls_to("views.open")) == 1


def test_reset_forgets_calls_and_pending_faults(fake: FakeSlackApi, client: WebClient) -> None:
    client.auth_test()
    fake.fail_next("auth.test")

    fake.reset()

    assert fake.calls == []
    assert client.auth_test()["ok"] is True


def test_unknown_methods_answer_ok(client: WebClient) -> None:
    assert client.api_call("reactions.add", params={"name": "ok"})["ok"] is True


def test_call_is_a_plain_record() -> None:
    call = Call(method="auth.test", params={}, token=None, at=0.0)

    assert call.status == 200
