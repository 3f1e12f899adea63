"""A fake Slack Web API on loopback, for tests that use the real ``slack_sdk.WebClient``.

Mocking ``WebClient`` methods would skip what most often goes wrong in a Slack app: how
arguments are serialised, how errors and rate limits surface as exceptions, and how retry
handlers behave. So the tests point a real client at this server instead::

    with running_fake_slack() as fake:
        fake.add_user("U1", tz="Europe/Paris", email="ann@example.com")
        client = WebClient(token="xoxb-test", base_url=fake.url)
        client.users_info(user="U1")
        assert fake.calls_to("users.info")[0].params == {"user": "U1"}

The server answers in the shapes Slack documents, records every call (faulted ones too),
and can be told, from the test thread at any time, to fail, rate-limit or slow down a method.
It also hands out the ``trigger_id`` and ``response_url`` values that signed requests carry
(:meth:`FakeSlackApi.issue_trigger_id`, :meth:`FakeSlackApi.issue_response_url`) and records
what is POSTed to those URLs. This lenient fake accepts everything; the strict one in
``tests/fakes/slack_api.py`` builds on it and refuses what Slack refuses.
Multipart bodies (file uploads) are not parsed: roombot does not upload files.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

JsonDict = dict[str, Any]
_T = TypeVar("_T")

API_PREFIX = "/api/"
RESPONSE_PREFIX = "/response/"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0ROOMBOT"
ANY_METHOD = "*"

# slack_sdk sends these either as JSON values or as JSON-encoded form fields; decoding them
# lets a test assert on the blocks it sent rather than on a string.
_JSON_ENCODED_FIELDS = frozenset({"view", "blocks", "attachments", "metadata", "unfurls"})
_VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    ``at`` is ``time.monotonic()`` when the request arrived, so tests can order calls and
    measure the gap between retries. ``status`` is the HTTP status the fake answered and
    ``response`` the JSON body it answered with (a posted message's ``ts`` is there).
    """

    method: str
    params: JsonDict
    token: str | None
    at: float
    status: int = HTTPStatus.OK
    response: JsonDict = field(default_factory=dict)


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a ``response_url`` the fake handed out.

    ``body`` is the decoded JSON message (``text``, ``blocks``, ``replace_original`` ...);
    ``status`` and ``answer`` are what the fake replied (``ok``, or why it refused).
    """

    url: str
    body: JsonDict
    at: float
    status: int = HTTPStatus.OK
    answer: str = "ok"


@dataclass
class ResponseUrl:
    """A ``response_url`` handed out with one command or interaction, and its uses so far."""

    issued_at: float
    uses: int = 0


@dataclass(frozen=True)
class _Fault:
    """A canned failure, consumed by exactly one call."""

    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # a plain-text answer (response URLs answer "ok"), else JSON


class FakeSlackApi:
    """A loopback HTTP server speaking enough of the Slack Web API for roombot's tests.

    All configuration methods are safe to call from the test thread while the server is
    handling requests on its own threads.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._users: dict[str, JsonDict] = {}
        # Message timestamps and view ids must be unique and increasing, like Slack's.
        self._sequence = itertools.count(1)
        # The fake's own time: the monotonic clock plus whatever advance() added, so a test
        # can expire a trigger id or a response_url without sleeping.
        self._skew = 0.0
        self._last_ts = 0  # microseconds of the last message ts handed out
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._response_urls: dict[str, ResponseUrl] = {}
        self._responses: list[ResponsePost] = []
        # Where ``apps.connections.open`` sends a Socket Mode client (a test's WebSocket
        # server, ws://127.0.0.1:PORT/...); None keeps the plain ``{"ok": true}`` answer.
        self.socket_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind an ephemeral port and serve on a daemon thread, so a failing test never hangs."""
        if self._server is not None:
            raise RuntimeError("FakeSlackApi is already running")
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient``; it ends with ``/`` because slack_sdk appends
        the method name to it."""
        if self._server is None:
            raise RuntimeError("FakeSlackApi is not running; call start() first")
        return f"{_origin(self._server)}{API_PREFIX}"

    # -- time and the values Slack hands to the app ----------------------------------------

    def now(self) -> float:
        """The fake's clock, in seconds: ``time.monotonic()`` plus every :meth:`advance`."""
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward: trigger ids and response URLs age, rate-limit
        windows refill, as if ``seconds`` had passed."""
        with self._changed:
            self._skew += seconds

    def issue_trigger_id(self) -> str:
        """A new ``trigger_id`` for one command or interaction, issued now.

        Slack's look like ``12345.98765.abcd2358fdea``; the fake remembers when it issued
        each one, so the strict fake can refuse it once it is 3 seconds old.
        """
        with self._changed:
            n = next(self._sequence)
            trigger = f"{n}.{TEAM_ID[2:]}.{n * 2654435761 % 2**48:012x}"
            self._triggers[trigger] = self.now()
            return trigger

    def issue_response_url(self, kind: str = "commands") -> str:
        """A new ``response_url`` (``kind`` is ``commands`` or ``actions``, as in Slack's)."""
        if self._server is None:
            raise RuntimeError("FakeSlackApi is not running; call start() first")
        origin = _origin(self._server)
        with self._changed:
            n = next(self._sequence)
            url = f"{origin}{RESPONSE_PREFIX}{kind}/{TEAM_ID}/{n}"
            self._response_urls[url] = ResponseUrl(self.now())
            return url

    # -- configuration ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        tz: str = "UTC",
        email: str | None = None,
        name: str | None = None,
        locale: str = "en-US",
        deleted: bool = False,
    ) -> JsonDict:
        """Make ``users.info`` know a user; roombot reads their time zone, email and locale
        (which Slack sends only when asked with ``include_locale``) from it.

        ``tz`` must be an IANA name: the offset and label are computed for "now" so tests
        see what Slack would send today, daylight saving included. ``deleted`` marks a
        deactivated account.
        """
        zone = ZoneInfo(tz)
        now = datetime.now(zone)
        offset = now.utcoffset()
        handle = name or user_id.lower()
        profile: JsonDict = {"real_name": handle, "display_name": handle}
        if email is not None:
            profile["email"] = email
        user: JsonDict = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": handle,
            "real_name": handle,
            "deleted": deleted,
            "tz": tz,
            "tz_label": now.tzname() or tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_bot": False,
            "locale": locale,
            "profile": profile,
        }
        with self._changed:
            self._users[user_id] = user
        return user

    def delete_user(self, user_id: str) -> None:
        """Deactivate a user, as an admin removing them from the workspace does: ``users.info``
        then answers ``deleted: true``."""
        with self._changed:
            self._users[user_id]["deleted"] = True

    def user_change(self, user_id: str) -> JsonDict:
        """The ``user_change`` event Slack sends when ``user_id``'s profile changed or they were
        deactivated: the member as ``users.info`` shows them, without ``locale`` (which Slack
        sends only to ``users.info`` asked with ``include_locale``)."""
        with self._changed:
            user = {k: v for k, v in self._users[user_id].items() if k != "locale"}
        return {"type": "user_change", "user": copy.deepcopy(user), "event_ts": f"{self.now():.6f}"}

    def fail_next(
        self,
        method: str,
        error: str = "internal_error",
        status: int = HTTPStatus.OK,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls to ``method`` with ``{ok: false, error}``.

        Slack reports most errors with HTTP 200; pass ``status=500`` to simulate an outage.
        """
        self._queue_faults(method, _Fault(status, {"ok": False, "error": error}), count)

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """Answer the next ``count`` calls to ``method`` with HTTP 429 and ``Retry-After``."""
        fault = _Fault(
            HTTPStatus.TOO_MANY_REQUESTS,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": str(retry_after)},
        )
        self._queue_faults(method, fault, count)

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering ``method`` (or every method, with ``"*"``).

        A delay for a named method wins over ``"*"``; ``seconds=0`` clears it. Calls are
        recorded on arrival, so ``wait_for`` returns while the slow answer is still pending.
        """
        with self._changed:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def reset(self) -> None:
        """Forget recorded calls, responses, pending faults and delays; users stay configured."""
        with self._changed:
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
            self._delays.clear()

    # -- inspection ------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A copy of every call so far, in arrival order."""
        with self._changed:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one method, in arrival order."""
        with self._changed:
            return [call for call in self._calls if call.method == method]

    def wait_until(
        self, ready: Callable[[list[Call]], bool], what: str, timeout: float = 5.0
    ) -> list[Call]:
        """Block until ``ready`` holds for the calls so far; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready(list(self._calls)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(call.method for call in self._calls)
                    raise AssertionError(f"no {what} within {timeout}s; recorded: {dict(seen)}")
                self._changed.wait(remaining)
            return list(self._calls)

    def shown_view(self, opened_before: int = 0) -> JsonDict:
        """The view a user sees after the next ``views.open``: the opened one, or what a later
        ``views.update`` of it replaced it with (a placeholder first, then the form)."""
        opened = self.wait_for("views.open", count=opened_before + 1)[opened_before]
        view_id = opened.response["view"]["id"]

        def updates(calls: list[Call]) -> list[Call]:
            return [
                c
                for c in calls
                if c.method == "views.update" and c.params.get("view_id") == view_id
            ]

        if opened.params["view"].get("blocks") and opened.params["view"].get("private_metadata"):
            return dict(opened.params["view"])
        return dict(
            updates(self.wait_until(lambda c: bool(updates(c)), "views.update"))[-1].params["view"]
        )

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``method`` was called at least ``count`` times; return those calls.

        Bolt listeners and scheduled jobs call Slack from other threads, so a test has to
        wait for the effect instead of asserting straight away.
        """

        def matching() -> list[Call]:
            return [call for call in self._calls if call.method == method]

        def failure() -> str:
            seen = Counter(call.method for call in self._calls)
            return (
                f"expected {count} call(s) to {method} within {timeout}s, "
                f"got {len(matching())}; recorded: {dict(seen) or 'nothing'}"
            )

        return self._wait(lambda: len(matching()) >= count, matching, failure, timeout)

    @property
    def responses(self) -> list[ResponsePost]:
        """A copy of every POST to a ``response_url`` so far, in arrival order."""
        with self._changed:
            return list(self._responses)

    def wait_for_responses(self, count: int = 1, timeout: float = 5.0) -> list[ResponsePost]:
        """Block until ``count`` POSTs reached response URLs; return them all."""
        return self._wait(
            lambda: len(self._responses) >= count,
            lambda: list(self._responses),
            lambda: (
                f"expected {count} POST(s) to a response_url within {timeout}s, "
                f"got {len(self._responses)}"
            ),
            timeout,
        )

    def _wait(
        self,
        done: Callable[[], bool],
        result: Callable[[], _T],
        failure: Callable[[], str],
        timeout: float,
    ) -> _T:
        """Wait on the lock's condition until ``done()``; the callables run under the lock."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(failure())
                self._changed.wait(remaining)
            return result()

    # -- request handling (server threads) -------------------------------------------------

    def _queue_faults(self, method: str, fault: _Fault, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._changed:
            self._faults.setdefault(method, deque()).extend([fault] * count)

    def _handle(self, method: str, params: JsonDict, token: str | None) -> _Answer:
        with self._changed:
            pending = self._faults.get(method)
            fault = pending.popleft() if pending else None
            answer = (
                _Answer(fault.status, fault.body, fault.headers)
                if fault is not None
                else self._answer(method, params, token)
            )
            pause = self._delays.get(method, self._delays.get(ANY_METHOD, 0.0))
            self._record(Call(method, params, token, self.now(), int(answer.status), answer.body))
            self._changed.notify_all()
        if pause:
            time.sleep(pause)
        return answer

    def _record(self, call: Call) -> None:
        """Keep a call for the test to inspect; callers hold the lock."""
        self._calls.append(call)

    def _answer(self, method: str, params: JsonDict, token: str | None) -> _Answer:
        """The answer to a call no fault was queued for; callers hold the lock.

        The lenient fake says yes to everything; the strict fake overrides this."""
        return _Answer(HTTPStatus.OK, self._default_answer(method, params))

    def _handle_response(self, url: str, raw: bytes) -> _Answer:
        """Record a POST to a response URL and answer it as Slack does (``ok``)."""
        try:
            decoded = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            decoded = {"_raw": raw.decode("utf-8", "replace")}
        body = decoded if isinstance(decoded, dict) else {"_body": decoded}
        with self._changed:
            status, text = self._response_answer(url, body)
            self._record_response(ResponsePost(url, body, self.now(), status, text))
            self._changed.notify_all()
        return _Answer(status, {}, text=text)

    def _record_response(self, post: ResponsePost) -> None:
        """Keep a response URL POST for the test to inspect; callers hold the lock."""
        self._responses.append(post)

    def _response_answer(self, url: str, body: JsonDict) -> tuple[int, str]:
        """Whether a POST to ``url`` is accepted; callers hold the lock. Lenient: always."""
        known = self._response_urls.get(url)
        if known is not None:
            known.uses += 1
        return HTTPStatus.OK, "ok"

    def _next_ts(self) -> str:
        """A message ts as Slack makes them: the wall clock (moved on by :meth:`advance`) in
        microseconds, unique and increasing."""
        micros = max(int((time.time() + self._skew) * 1_000_000), self._last_ts + 100)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _default_answer(self, method: str, params: JsonDict) -> JsonDict:
        """Build the documented success shape; callers hold the lock."""
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://roombot-test.slack.com/",
                "team": "Roombot Test",
                "user": "roombot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "users.info":
            user = self._users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            answer = copy.deepcopy(user)
            if not truthy(params.get("include_locale")):
                answer.pop("locale", None)  # Slack sends it only when asked
            return {"ok": True, "user": answer}
        if method == "conversations.open":
            first_user = str(params.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": f"D{first_user}"}}
        if method == "chat.postMessage":
            ts = self._next_ts()
            message: JsonDict = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": params.get("text", ""),
                "ts": ts,
            }
            if "blocks" in params:
                message["blocks"] = params["blocks"]
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts"),
                "text": params.get("text", ""),
                "message": {"text": params.get("text", ""), "user": BOT_USER_ID},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.delete":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method in _VIEW_METHODS:
            return {"ok": True, "view": self._view_answer(method, params)}
        if method == "apps.connections.open" and self.socket_url is not None:
            return {"ok": True, "url": self.socket_url}
        return {"ok": True}

    def _view_answer(self, method: str, params: JsonDict) -> JsonDict:
        sent = params.get("view")
        view: JsonDict = dict(sent) if isinstance(sent, dict) else {}
        number = next(self._sequence)
        view_id = params.get("view_id") if method == "views.update" else None
        view.update(
            {
                "id": view_id or f"V{number:010d}",
                "team_id": TEAM_ID,
                "hash": f"{int(time.time())}.{number:08x}",
                "app_id": "AROOMBOT",
                "bot_id": BOT_ID,
                "state": {"values": {}},
            }
        )
        if method == "views.publish":
            view["type"] = "home"
        return view


def truthy(value: Any) -> bool:
    """A boolean argument as slack_sdk sends it: JSON ``true``, or ``1``/``true`` in a form."""
    return value is True or str(value).lower() in ("1", "true")


def _parse_body(raw: bytes, content_type: str) -> JsonDict:
    if not raw:
        return {}
    if content_type.split(";")[0].strip().lower() == "application/json":
        decoded = json.loads(raw)
        return decoded if isinstance(decoded, dict) else {"_body": decoded}
    return _flatten(parse_qs(raw.decode("utf-8"), keep_blank_values=True))


def _flatten(form: dict[str, list[str]]) -> JsonDict:
    """Turn ``parse_qs`` lists into scalars, as Slack reads a field sent once."""
    return {key: values[0] if len(values) == 1 else values for key, values in form.items()}


def _decode_json_fields(params: JsonDict) -> JsonDict:
    decoded = dict(params)
    for key in _JSON_ENCODED_FIELDS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            # A malformed value stays a string: the test then sees what was really sent.
            with suppress(json.JSONDecodeError):
                decoded[key] = json.loads(value)
    return decoded


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else authorization.strip()


def _origin(server: BaseServer) -> str:
    """``http://host:port`` of a server bound to an IPv4 (host, port) pair."""
    address = server.server_address
    assert isinstance(address, tuple)  # not a Unix socket path
    host, port = address[:2]
    return f"http://{host}:{port}"


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    """Bind a request handler class to one fake, since http.server instantiates it per request."""

    class _SlackApiHandler(BaseHTTPRequestHandler):
        server_version = "FakeSlackApi/1.0"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet; the recorded calls are the log."""

        def _serve(self) -> None:
            url = urlsplit(self.path)
            if url.path.startswith(RESPONSE_PREFIX):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self._send(fake._handle_response(f"{_origin(self.server)}{url.path}", raw))
                return
            if not url.path.startswith(API_PREFIX):
                self._send(_Answer(HTTPStatus.NOT_FOUND, {"ok": False, "error": "not_found"}))
                return
            method = url.path.removeprefix(API_PREFIX).strip("/")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = _parse_body(raw, self.headers.get("Content-Type", ""))
            except (json.JSONDecodeError, UnicodeDecodeError):
                self._send(_Answer(HTTPStatus.OK, {"ok": False, "error": "invalid_json"}))
                return
            params = _decode_json_fields(
                {**_flatten(parse_qs(url.query, keep_blank_values=True)), **body}
            )
            token = _bearer_token(self.headers.get("Authorization"))
            if token is None and isinstance(params.get("token"), str):
                token = params.pop("token")
            self._send(fake._handle(method, params, token))

        def _send(self, answer: _Answer) -> None:
            if answer.text is not None:
                payload, content_type = answer.text.encode("utf-8"), "text/plain"
            else:
                payload, content_type = json.dumps(answer.body).encode("utf-8"), "application/json"
            self.send_response(answer.status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return _SlackApiHandler


@contextmanager
def running_fake_slack() -> Iterator[FakeSlackApi]:
    """Yield a started fake and stop it afterwards, even if the test fails."""
    with FakeSlackApi() as fake:
        yield fake
