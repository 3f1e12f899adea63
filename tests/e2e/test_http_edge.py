"""The Slack endpoint's edge: nothing runs before the signature is checked, limits come before
work, and a replayed request has no second effect.

Each case is sent the way an attacker (or a broken proxy) would send it, through the real HTTP
server; the fake Slack records every Web API call the app makes, so "nobody was told" is checked
as "no call was made".
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import logging
import socket
import time
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest
from sqlalchemy import select, text

from bot.adapters import orm
from bot.adapters.http import MAX_BODY_BYTES, Rejected, SlackEdge
from bot.adapters.replays import KEEP, MemoryReplays, ReplayStore
from bot.bootstrap import build_web
from tests.e2e.conftest import BOB, SECRET, Stack
from tests.integration.helpers import bookings

VICTIM = "U0VICTIM"
FORM = "application/x-www-form-urlencoded"


def _command_body(text: str = "102 2026-12-02 10:00-11:00 Sneaky", user: str = VICTIM) -> bytes:
    form = {
        "user_id": user,
        "command": "/book",
        "text": text,
        "channel_id": "C0GENERAL",
        "trigger_id": "t.1",
        "response_url": "http://127.0.0.1:9/response",
    }
    return urlencode(form).encode()


def _signature(timestamp: str, body: bytes) -> str:
    """Slack's signature over any timestamp text, so a malformed one is otherwise authentic."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def _post(
    stack: Stack,
    body: bytes,
    *,
    content_type: str = FORM,
    timestamp: str | None = None,
    signed: bool = True,
) -> tuple[int, bytes]:
    ts = str(int(time.time())) if timestamp is None else timestamp
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
    headers["X-Slack-Signature"] = _signature(ts, body) if signed else "v0=" + "0" * 64
    connection = http.client.HTTPConnection("127.0.0.1", stack.server.port, timeout=10)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _nothing_happened(stack: Stack) -> None:
    time.sleep(0.2)  # a listener that was (wrongly) started would have called by now
    # Bolt asks auth.test once on its first dispatch: that is start-up, not an effect.
    assert [c.method for c in stack.fake.calls if c.method != "auth.test"] == []
    assert bookings(stack.engine) == []


DEEP = b"[" * 100_000 + b"]" * 100_000
MALFORMED = {
    "invalid UTF-8": (b"user_id=U0VICTIM&command=/book&text=\xff\xfe", FORM),
    "a JSON list": (b'[{"type": "event_callback"}]', "application/json"),
    "payload that is not JSON": (b"payload=%7Bnot+json&user_id=U0VICTIM", FORM),
    "nesting 100k deep": (b"payload=" + DEEP, FORM),
    "nesting 100k deep as JSON": (b'{"a": ' + DEEP + b"}", "application/json"),
    "a wrong content type": (_command_body(), "text/plain"),
    "a multipart body": (_command_body(), "multipart/form-data; boundary=x"),
}


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "\u00b2\u00b3", "9" * 40])
def test_a_malformed_timestamp_is_refused_and_tells_nobody(
    stack: Stack, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    status, _ = _post(stack, _command_body(), timestamp=timestamp)
    assert status == 401
    _nothing_happened(stack)
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_is_401_unsigned_and_400_signed(
    stack: Stack, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED[case]
    caplog.set_level(logging.DEBUG)
    assert _post(stack, body, content_type=content_type, signed=False)[0] == 401
    assert _post(stack, body, content_type=content_type)[0] == 400
    _nothing_happened(stack)
    assert not any(r.exc_info for r in caplog.records)
    assert not any("U0VICTIM" in r.getMessage() for r in caplog.records)  # bodies are not logged


def test_an_oversized_body_gets_413_without_being_read(stack: Stack) -> None:
    with socket.create_connection(("127.0.0.1", stack.server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 67108864\r\n\r\n" + b"a" * 1000
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    _nothing_happened(stack)


def test_the_edge_refuses_a_large_body_before_reading_it() -> None:
    class Exploding(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the body was read")

    edge = SlackEdge(SECRET, MemoryReplays())
    environ = {"CONTENT_LENGTH": str(64 << 20), "wsgi.input": Exploding()}
    with pytest.raises(Rejected) as refused:
        edge.admit(environ)
    assert refused.value.status == 413
    # without a length (chunked), at most one byte more than the limit is read
    chunked = io.BytesIO(b"a" * (4 * MAX_BODY_BYTES))
    with pytest.raises(Rejected) as refused:
        edge.admit({"wsgi.input": chunked})
    assert refused.value.status == 413 and chunked.tell() == MAX_BODY_BYTES + 1


def test_a_body_of_exactly_the_limit_is_still_read(stack: Stack) -> None:
    body = (
        _command_body("help") + b"&pad=" + b"x" * (MAX_BODY_BYTES - len(_command_body("help")) - 5)
    )
    assert len(body) == MAX_BODY_BYTES
    status, reply = _post(stack, body)
    assert status == 200 and b"/book" in reply


def test_idle_sockets_do_not_stall_health_checks_or_requests(stack: Stack) -> None:
    idle = [socket.create_connection(("127.0.0.1", stack.server.port)) for _ in range(105)]
    try:
        with urllib.request.urlopen(stack.server.url + "/healthz", timeout=5) as response:
            assert response.status == 200
        assert stack.send.command(BOB, "help").status == 200
    finally:
        for sock in idle:
            sock.close()


def test_a_replayed_request_has_one_effect(stack: Stack) -> None:
    body = _command_body("102 2026-12-02 10:00-11:00 Once", user=BOB)
    ts = str(int(time.time()))
    status, reply = _post(stack, body, timestamp=ts)
    assert status == 200 and b"booking #1" in reply
    assert stack.send.command(BOB, "cancel 1").status == 200  # the slot is free again
    status, reply = _post(stack, body, timestamp=ts)  # the same signed request, replayed
    assert status == 200 and reply == b""
    assert [b["status"] for b in bookings(stack.engine)] == ["CANCELLED"]


def test_a_replay_to_another_web_process_has_no_effect_either(stack: Stack) -> None:
    """A second WSGI app on the same database, with nothing shared in memory but the engine."""
    other = build_web(stack.container)
    body = _command_body("102 2026-12-02 10:00-11:00 Once", user=BOB)
    ts = str(int(time.time()))
    assert _post(stack, body, timestamp=ts)[0] == 200
    stack.send.command(BOB, "cancel 1")
    environ = _environ(body, ts, _signature(ts, body))
    assert other.edge.admit(environ) is None
    assert len(bookings(stack.engine)) == 1


def test_a_replayed_book_opens_no_second_form(stack: Stack) -> None:
    """``/book`` writes nothing: its one effect is the form it opens (views.open)."""
    form = {
        "user_id": BOB,
        "command": "/book",
        "text": "",
        "channel_id": "C0GENERAL",
        "trigger_id": stack.fake.issue_trigger_id(),
        "response_url": stack.fake.issue_response_url("commands"),
    }
    body = urlencode(form).encode()
    ts = int(time.time())
    assert stack.send.post(body, FORM, timestamp=ts).status == 200
    stack.until(lambda: len(stack.fake.calls_to("views.open")) == 1)
    replayed = stack.send.post(body, FORM, timestamp=ts)
    assert (replayed.status, replayed.body) == (200, b"")
    _nothing_more_than(stack, "views.open", 1)


def _nothing_more_than(stack: Stack, method: str, count: int) -> None:
    time.sleep(0.2)  # a listener that was (wrongly) started would have called by now
    assert len(stack.fake.calls_to(method)) == count


def test_a_replay_check_whose_connection_the_server_dropped_still_records(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL ends the check's pooled connection (a restart, a proxy's idle timeout): the
    next request is recorded on a fresh one, so another web process still refuses its replay,
    instead of this process admitting it on its own memory alone."""
    if stack.engine.dialect.name != "postgresql":
        pytest.skip("a dropped server connection is PostgreSQL's")
    store = ReplayStore(stack.engine)
    other = ReplayStore(stack.engine)
    assert store.first_time("v0=" + "1" * 64)  # its pool now holds an open connection
    with stack.engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert ended >= 1
    signature = "v0=" + "2" * 64
    with caplog.at_level(logging.WARNING, logger="bot.adapters.replays"):
        assert store.first_time(signature)
    assert not [r for r in caplog.records if r.name == "bot.adapters.replays"]
    assert not other.first_time(signature)  # the row is in the database
    assert not store.first_time(signature)


def test_the_replay_record_and_its_sweep_keep_the_columns_types(stack: Stack) -> None:
    """The check writes its row with the driver's own statement; the sweep reads it back with
    SQLAlchemy's: a row older than the window goes, a recent one stays."""
    now = time.time()
    store = ReplayStore(stack.engine, clock=lambda: now)
    assert store.first_time("v0=old")
    later = ReplayStore(stack.engine, clock=lambda: now + KEEP.total_seconds() + 1)
    assert later.first_time("v0=new")  # the first check of a store sweeps
    with stack.engine.connect() as conn:
        rows = conn.execute(select(orm.seen_requests.c.signature, orm.seen_requests.c.seen_at))
        kept = {signature: seen_at for signature, seen_at in rows}
    assert list(kept) == ["v0=new"]
    assert kept["v0=new"] == datetime.fromtimestamp(now + KEEP.total_seconds() + 1, UTC)


def _environ(body: bytes, ts: str, signature: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": FORM,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
        "HTTP_X_SLACK_SIGNATURE": signature,
        "wsgi.input": io.BytesIO(body),
    }


# "an hour old" is made when the test runs: a time in the test's id would differ between the
# collections of parallel workers (pytest-xdist refuses to run then).
@pytest.mark.parametrize("timestamp", ["abc", "1e9", "an hour old"])
def test_bolt_behind_the_edge_verifies_too_and_its_error_handler_tells_nobody(
    stack: Stack, timestamp: str
) -> None:
    """Bolt reached without the edge (or past a misconfigured proxy) still refuses, and an
    unverified body never decides who gets an error message."""
    if timestamp == "an hour old":
        timestamp = str(int(time.time()) - 3600)
    body = _command_body().decode()
    request = BoltRequest(
        body=body,
        headers={
            "content-type": [FORM],
            "x-slack-request-timestamp": [timestamp],
            "x-slack-signature": ["v0=" + "0" * 64],
        },
    )
    response = stack.container.app.dispatch(request)
    assert response.status == 401
    _nothing_happened(stack)


def test_the_events_url_answers_slacks_verification_challenge(stack: Stack) -> None:
    """Slack checks a new Request URL with a signed ``url_verification`` body and wants the
    ``challenge`` back; unsigned, the same body is refused."""
    body = json.dumps(
        {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9", "type": "url_verification"}
    ).encode()
    reply = stack.send.post(body, "application/json")
    assert reply.status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9" in reply.text
    assert stack.send.post(body, "application/json", secret="wrong").status == 401
