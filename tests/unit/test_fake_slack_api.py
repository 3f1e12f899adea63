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
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import (
    BOT_USER_ID,
    TOKEN,
    Call,
    FakeSlackApi,
    Rate,
    StrictSlackApi,
    running_fake_slack,
    running_strict_slack,
)


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


# -- the strict fake: what Slack refuses, it refuses -------------------------------------------

APPROVALS, GENERAL = "CAPPROVALS", "CGENERAL"


@pytest.fixture
def strict() -> Iterator[StrictSlackApi]:
    with running_strict_slack(token=TOKEN, channels=(APPROVALS,)) as server:
        server.add_channel(GENERAL, "general", member=False)
        server.add_user("U1", tz="Asia/Seoul", email="u1@example.com", locale="ko-KR")
        yield server


@pytest.fixture
def sclient(strict: StrictSlackApi) -> WebClient:
    return WebClient(token=TOKEN, base_url=strict.url, timeout=10)


def _error(call) -> tuple[str, dict]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"], raised.value.response.data


def test_strict_posts_only_where_the_bot_is_a_member(
    strict: StrictSlackApi, sclient: WebClient
) -> None:
    assert sclient.chat_postMessage(channel=APPROVALS, text="card")["ok"]
    assert _error(lambda: sclient.chat_postMessage(channel=GENERAL, text="x"))[0] == (
        "not_in_channel"
    )
    assert _error(lambda: sclient.chat_postEphemeral(channel=GENERAL, user="U1", text="x"))[0] == (
        "not_in_channel"
    )
    assert _error(lambda: sclient.chat_postMessage(channel="CNOPE", text="x"))[0] == (
        "channel_not_found"
    )
    strict.join(GENERAL)
    assert sclient.chat_postEphemeral(channel=GENERAL, user="U1", text="now")["ok"]
    strict.archive(GENERAL)
    assert _error(lambda: sclient.chat_postMessage(channel=GENERAL, text="x"))[0] == "is_archived"
    info = sclient.conversations_info(channel=GENERAL)["channel"]
    assert info["is_archived"] is True and info["is_member"] is True


def test_strict_dms_a_user_id_while_the_user_is_active(
    strict: StrictSlackApi, sclient: WebClient
) -> None:
    posted = sclient.chat_postMessage(channel="U1", text="hi")
    assert posted["channel"] == "DU1"
    assert sclient.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert _error(lambda: sclient.chat_postMessage(channel="UNOBODY", text="x"))[0] == (
        "channel_not_found"
    )
    strict.delete_user("U1")
    assert sclient.users_info(user="U1")["user"]["deleted"] is True
    assert _error(lambda: sclient.conversations_open(users="U1"))[0] == "user_disabled"
    assert _error(lambda: sclient.chat_postMessage(channel="U1", text="x"))[0] == (
        "channel_not_found"
    )


def test_strict_users_info_answers_locale_only_when_asked(sclient: WebClient) -> None:
    assert "locale" not in sclient.users_info(user="U1")["user"]
    user = sclient.users_info(user="U1", include_locale=True)["user"]
    assert user["locale"] == "ko-KR" and user["tz"] == "Asia/Seoul"
    assert user["profile"]["email"] == "u1@example.com" and user["deleted"] is False
    assert _error(lambda: sclient.users_info(user="UNOBODY"))[0] == "user_not_found"


def test_strict_trigger_ids_work_once_within_three_seconds(
    strict: StrictSlackApi, sclient: WebClient
) -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Book"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    fresh, stale = strict.issue_trigger_id(), strict.issue_trigger_id()
    assert sclient.views_open(trigger_id=fresh, view=modal)["view"]["id"].startswith("V")
    assert _error(lambda: sclient.views_open(trigger_id=fresh, view=modal))[0] == (
        "exchanged_trigger_id"
    )
    strict.advance(3.01)
    assert _error(lambda: sclient.views_open(trigger_id=stale, view=modal))[0] == (
        "expired_trigger_id"
    )
    assert _error(lambda: sclient.views_open(trigger_id="1.2.made-up", view=modal))[0] == (
        "invalid_trigger_id"
    )


def test_strict_views_update_names_its_view_once(sclient: WebClient) -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Book"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    assert sclient.views_update(view_id="V1", hash="h", view=modal)["ok"]
    assert sclient.views_update(external_id="form-1", view=modal)["ok"]
    for named in ({}, {"view_id": "V1", "external_id": "form-1"}):
        answer = lambda named=named: sclient.api_call(  # noqa: E731
            "views.update", json={"view": modal, **named}
        )
        assert _error(answer)[0] == "invalid_arguments"


def test_strict_keeps_messages_with_metadata_for_history_and_updates(
    strict: StrictSlackApi, sclient: WebClient
) -> None:
    metadata = {"event_type": "booking_card", "event_payload": {"booking_id": 7}}
    first = sclient.chat_postMessage(channel=APPROVALS, text="one", metadata=metadata)
    sclient.chat_postMessage(channel=APPROVALS, text="two")
    sclient.chat_update(channel=APPROVALS, ts=first["ts"], text="one, decided")
    assert _error(lambda: sclient.chat_update(channel=APPROVALS, ts="1.000001", text="x"))[0] == (
        "message_not_found"
    )
    plain = sclient.conversations_history(channel=APPROVALS)["messages"]
    assert [m["text"] for m in plain] == ["two", "one, decided"]  # newest first
    assert all("metadata" not in m for m in plain)
    full = sclient.conversations_history(channel=APPROVALS, include_all_metadata=True, limit=1)
    assert full["has_more"] is True and full["messages"][0]["text"] == "two"
    rest = sclient.conversations_history(
        channel=APPROVALS,
        include_all_metadata=True,
        cursor=full["response_metadata"]["next_cursor"],
    )
    assert rest["messages"][0]["metadata"] == metadata
    assert _error(lambda: sclient.conversations_history(channel=GENERAL))[0] == "not_in_channel"
    bad = {"event_type": "x"}
    assert _error(lambda: sclient.chat_postMessage(channel=APPROVALS, text="x", metadata=bad))[
        0
    ] == ("invalid_metadata_format")
    sclient.chat_delete(channel=APPROVALS, ts=first["ts"])
    assert [m["text"] for m in strict.messages(APPROVALS)] == ["two"]


def test_strict_validates_blocks_and_views_with_slack_sdk_models(sclient: WebClient) -> None:
    long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    error, data = _error(lambda: sclient.chat_postMessage(channel=APPROVALS, text="t", blocks=long))
    assert error == "invalid_blocks"
    assert "3000" in data["response_metadata"]["messages"][0]
    unknown = [{"type": "fancy_widget"}]
    assert _error(lambda: sclient.chat_postMessage(channel=APPROVALS, text="t", blocks=unknown))[
        0
    ] == ("invalid_blocks")
    assert _error(lambda: sclient.api_call("chat.postMessage", json={"channel": APPROVALS}))[0] == (
        "no_text"
    )
    home = {"type": "home", "blocks": long}
    assert _error(lambda: sclient.views_publish(user_id="U1", view=home))[0] == "invalid_arguments"
    titled = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "fine"}}],
    }
    assert sclient.views_publish(user_id="U1", view=titled)["ok"]
    too_long_title = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 25},
        "blocks": titled["blocks"],
    }
    assert _error(lambda: sclient.views_publish(user_id="U1", view=too_long_title))[0] == (
        "invalid_arguments"
    )


def test_strict_rate_limits_per_channel_and_per_method_with_retry_after(
    strict: StrictSlackApi, sclient: WebClient
) -> None:
    for n in range(4):  # the burst
        sclient.chat_postMessage(channel=APPROVALS, text=str(n))
    with pytest.raises(SlackApiError) as raised:
        sclient.chat_postMessage(channel=APPROVALS, text="fifth")
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "1"
    assert sclient.chat_postMessage(channel="U1", text="another channel")["ok"]
    strict.advance(1.0)  # one message a second refills
    assert sclient.chat_postMessage(channel=APPROVALS, text="later")["ok"]

    strict.set_limit("users.info", Rate(2, 60))  # a shrunk window: 2 a minute
    sclient.users_info(user="U1")
    sclient.users_info(user="U1")
    with pytest.raises(SlackApiError) as raised:
        sclient.users_info(user="U1")
    assert raised.value.response.headers["Retry-After"] == "30"
    strict.advance(30)
    assert sclient.users_info(user="U1")["ok"]
    assert [c.status for c in strict.calls_to("users.info")] == [200, 200, 429, 200]


def test_strict_token_errors(strict: StrictSlackApi, sclient: WebClient) -> None:
    assert sclient.auth_test()["user_id"] == BOT_USER_ID
    wrong = WebClient(token="xoxb-other", base_url=strict.url)
    assert _error(wrong.auth_test)[0] == "invalid_auth"
    assert _error(WebClient(base_url=strict.url).auth_test)[0] == "not_authed"
    for error in ("token_revoked", "account_inactive", "team_disabled", "invalid_auth"):
        strict.break_token(error)
        assert _error(lambda: sclient.chat_postMessage(channel=APPROVALS, text="x"))[0] == error
    strict.break_token(None)
    strict.require_scope("users.info", "users:read.email")
    error, data = _error(lambda: sclient.users_info(user="U1"))
    assert error == "missing_scope" and data["needed"] == "users:read.email"
    with pytest.raises(ValueError):
        strict.break_token("channel_not_found")


def test_strict_response_urls_take_five_posts_within_thirty_minutes(
    strict: StrictSlackApi,
) -> None:
    url = strict.issue_response_url("actions")
    hook = WebhookClient(url)
    for n in range(5):
        assert hook.send(text=f"reply {n}", replace_original=True).status_code == 200
    sixth = hook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    late = WebhookClient(strict.issue_response_url())
    strict.advance(30 * 60 + 1)
    assert (late.send(text="too late").status_code, strict.responses[-1].answer) == (
        404,
        "expired_url",
    )
    long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    fresh = WebhookClient(strict.issue_response_url())
    assert fresh.send(text="t", blocks=long).status_code == 400
    posts = strict.wait_for_responses(8)
    assert [p.body.get("text") for p in posts[:2]] == ["reply 0", "reply 1"]
    assert posts[0].url == url and posts[0].body["replace_original"] is True


def test_strict_usergroups_and_unknown_methods(strict: StrictSlackApi, sclient: WebClient) -> None:
    strict.add_usergroup("SADMINS", ["U1", "U2"])
    assert sclient.usergroups_users_list(usergroup="SADMINS")["users"] == ["U1", "U2"]
    assert _error(lambda: sclient.usergroups_users_list(usergroup="SNOPE"))[0] == (
        "no_such_subteam"
    )
    assert _error(lambda: sclient.api_call("reactions.add", params={"name": "ok"}))[0] == (
        "unknown_method"
    )


def test_strict_latency_delays_every_call() -> None:
    with running_strict_slack(latency=0.05) as server:
        client = WebClient(token=TOKEN, base_url=server.url)
        client.auth_test()
        [call] = server.calls_to("auth.test")
        assert call.status == 200
        assert server._delays == {"*": 0.05}
