"""The strict fake Slack Web API: the lenient demo fake, refusing what Slack refuses.

``bot/demo/fake_slack.py`` answers every call with success, which is right for a demo and wrong
for tests: an app that posts into a channel its bot was never invited to, opens a modal with a
stale trigger id or sends a section of 4000 characters works against it and fails in a real
workspace. :class:`StrictSlackApi` models what Slack's method pages document:

- **latency**: every call takes ``latency`` seconds (tests: none; the bench: 150 ms);
- **rate limits** per method by tier (Tier 2 ~20/min, Tier 3 ~50/min, Tier 4 ~100/min) and for
  ``chat.postMessage`` per channel (1/s after a burst of 4), answered with HTTP 429,
  ``{"error": "ratelimited"}`` and ``Retry-After`` (whole seconds);
- **channels**: the bot posts (``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``)
  only where it is a member (``not_in_channel``); unknown channels, and private ones it is not
  in, are ``channel_not_found``, archived ones ``is_archived``; a DM to a user id (or the
  ``D...`` id of ``conversations.open``) works while the user is active;
- **trigger ids** (issued by :meth:`issue_trigger_id`, as the signed-request helpers do) expire
  3 s after they were issued (``expired_trigger_id``), work once (``exchanged_trigger_id``), and
  unknown ones are ``invalid_trigger_id``;
- **messages** are kept per channel with their ``metadata``: ``chat.update``/``chat.delete`` of an
  unknown ts is ``message_not_found``; ``conversations.history`` returns them, newest first, the
  metadata only with ``include_all_metadata``;
- **users**: ``users.info`` answers ``deleted: true`` for deactivated users, ``user_not_found`` for
  unknown ones, and ``locale`` only with ``include_locale``;
- **tokens**: a call without a token is ``not_authed``, with another token than the app's
  ``invalid_auth``; ``apps.connections.open`` takes only the app-level token (``xapp-``), every
  other method only the bot token (``not_allowed_token_type``); :meth:`break_token` makes every
  call fail with a token-level error (``token_revoked``, ``account_inactive``, ``team_disabled``
  ...) and :meth:`require_scope` makes a method answer ``missing_scope`` with ``needed``;
- **outages**: while :meth:`outage` is on, every call answers HTTP 503 ``service_unavailable``;
- **blocks and views** are parsed with slack_sdk's own models (``Block.parse``, ``View``, which
  validate on ``to_dict()``): a bad message is ``invalid_blocks``, a bad view
  ``invalid_arguments``, both with the reason in ``response_metadata.messages``;
- **response URLs** (issued by :meth:`issue_response_url`) take 5 POSTs within 30 minutes; the
  sixth is ``used_url``, a late one ``expired_url``, and every POST is recorded in ``responses``;
- **user groups**: ``usergroups.users.list`` for the groups :meth:`add_usergroup` configured.

Time is the fake's clock (``now()``): real monotonic time plus :meth:`advance`, so a test ages a
trigger id or refills a rate-limit window without sleeping. Faults queued with ``fail_next`` or
``rate_limit_next`` still win over everything, as in the lenient fake.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.demo.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    FakeSlackApi,
    JsonDict,
    ResponsePost,
    _Answer,
    running_fake_slack,
    truthy,
)

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "SLACK_LIMITS",
    "TEAM_ID",
    "TOKEN",
    "TOKEN_ERRORS",
    "Call",
    "FakeSlackApi",
    "Rate",
    "ResponsePost",
    "StrictSlackApi",
    "running_fake_slack",
    "running_strict_slack",
]

TOKEN = "xoxb-test"
TRIGGER_TTL = 3.0  # seconds a trigger_id stays usable
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0
MESSAGE_BLOCKS_MAX = 50
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
    | {"team_disabled", "no_permission", "org_login_required"}
)


@dataclass(frozen=True)
class Rate:
    """A token bucket: ``calls`` per ``per`` seconds, with bursts of up to ``burst`` calls
    (``calls`` when unset). Slack's tiers are per-minute quotas that tolerate bursts."""

    calls: float
    per: float = 60.0
    burst: int | None = None

    @property
    def capacity(self) -> float:
        return float(self.burst if self.burst is not None else self.calls)

    @property
    def refill(self) -> float:
        """Calls regained per second."""
        return self.calls / self.per


TIER_2, TIER_3, TIER_4 = Rate(20), Rate(50), Rate(100)
POST_PER_CHANNEL = Rate(1, 1.0, burst=4)
# Each method's tier, from its page in Slack's method reference. chat.postMessage is "special":
# about one message a second per channel, after a short burst.
SLACK_LIMITS: Mapping[str, Rate] = {
    "chat.postMessage": POST_PER_CHANNEL,
    "chat.postEphemeral": TIER_4,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "users.info": TIER_4,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "conversations.history": TIER_3,
    "usergroups.users.list": TIER_2,
    "apps.connections.open": Rate(1, burst=2),
}
PER_CHANNEL = frozenset({"chat.postMessage"})
# Methods the lenient fake's answers are right for; anything else the app calls is unknown here.
_PLAIN_METHODS = frozenset({"auth.test", "users.info", "apps.connections.open"})
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})  # need the app-level xapp- token


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Channel:
    """A conversation as the fake knows it; ``is_member`` is the bot's membership."""

    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False
    is_private: bool = False
    messages: list[JsonDict] = field(default_factory=list)

    def info(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "context_team_id": TEAM_ID,
        }


def _error(error: str, **extra: Any) -> _Answer:
    return _Answer(HTTPStatus.OK, {"ok": False, "error": error, **extra})


def _problems(messages: list[str]) -> JsonDict:
    return {"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}


def block_problems(blocks: Any) -> list[str]:
    """Why Slack would refuse these message blocks (empty when it would take them)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        return [f"no more than {MESSAGE_BLOCKS_MAX} items allowed [json-pointer:/blocks]"]
    found = []
    for i, raw in enumerate(blocks):
        found += [f"{m} [json-pointer:/blocks/{i}]" for m in _one_block(raw)]
    return found


def _one_block(raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return ["a block must be an object"]
    try:
        parsed = Block.parse(raw)
        if parsed is None:
            return [f"unsupported block type {raw.get('type')!r}"]
        parsed.to_dict()  # validates the block and everything inside it
    except (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError) as error:
        return [str(error) or type(error).__name__]
    return []


def view_problems(view: Any) -> list[str]:
    """Why Slack would refuse this view (empty when it would take it)."""
    if not isinstance(view, dict):
        return ["view must be an object"]
    if view.get("type") not in ("modal", "home"):
        return [f"unsupported view type {view.get('type')!r} [json-pointer:/view/type]"]
    found = []
    for i, raw in enumerate(view.get("blocks") or []):
        found += [f"{m} [json-pointer:/view/blocks/{i}]" for m in _one_block(raw)]
    if found:
        return found
    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError) as error:
        return [f"{error} [json-pointer:/view]"]
    return []


class StrictSlackApi(FakeSlackApi):
    """The fake Slack API with Slack's rules; see the module docstring for what it refuses.

    ``channels`` is where the bot is a member (more with :meth:`add_channel`); ``limits`` maps
    methods to their :class:`Rate` (``None`` turns rate limiting off; pass a smaller mapping,
    or call :meth:`set_limit`, to shrink windows in a test); ``latency`` is added to each call.
    """

    def __init__(
        self,
        *,
        token: str | None = TOKEN,
        app_token: str | None = None,
        channels: tuple[str, ...] = (),
        limits: Mapping[str, Rate] | None = SLACK_LIMITS,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.app_token = app_token
        self._limits: dict[str, Rate] = dict(limits or {})
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._channels: dict[str, Channel] = {}
        self._dms: dict[str, str] = {}  # D... id -> user id
        self._usergroups: dict[str, list[str]] = {}
        self._token_error: str | None = None
        self._down = False
        self._scopes_needed: dict[str, str] = {}
        for channel in channels:
            self.add_channel(channel)
        if latency:
            self.delay("*", latency)

    # -- configuration ---------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        member: bool = True,
        archived: bool = False,
        private: bool = False,
    ) -> Channel:
        """Create a channel; the bot is a member unless ``member=False``."""
        with self._changed:
            channel = Channel(channel_id, name or channel_id.lower(), member, archived, private)
            self._channels[channel_id] = channel
            return channel

    def join(self, channel_id: str) -> None:
        """The bot is invited to a channel (``/invite @roombot``)."""
        with self._changed:
            self._channels[channel_id].is_member = True

    def leave(self, channel_id: str) -> None:
        """The bot is removed from a channel."""
        with self._changed:
            self._channels[channel_id].is_member = False

    def archive(self, channel_id: str) -> None:
        with self._changed:
            self._channels[channel_id].is_archived = True

    def unarchive(self, channel_id: str) -> None:
        with self._changed:
            self._channels[channel_id].is_archived = False

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        """A user group (``S...``) whose members ``usergroups.users.list`` returns."""
        with self._changed:
            self._usergroups[group_id] = list(users)

    def set_limit(self, method: str, rate: Rate | None) -> None:
        """Change (or with ``None`` remove) one method's rate limit; its window restarts."""
        with self._changed:
            if rate is None:
                self._limits.pop(method, None)
            else:
                self._limits[method] = rate
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != method}

    def refill_limits(self) -> None:
        """Every rate-limit window starts full again, as after a quiet minute."""
        with self._changed:
            self._buckets.clear()

    def clear_messages(self) -> None:
        """Every channel and DM empties, as in a workspace nobody has written to yet."""
        with self._changed:
            for channel in self._channels.values():
                channel.messages.clear()

    def break_token(self, error: str | None) -> None:
        """Answer every call with a token-level ``error`` (``token_revoked``, ``invalid_auth``,
        ``account_inactive``, ``team_disabled`` ...) until called again with ``None``."""
        if error is not None and error not in TOKEN_ERRORS:
            raise ValueError(f"{error!r} is not a token-level error: {sorted(TOKEN_ERRORS)}")
        with self._changed:
            self._token_error = error

    def outage(self, down: bool = True) -> None:
        """Slack is down: every call answers HTTP 503 ``service_unavailable`` ("the service is
        temporarily unavailable") until called with ``False``."""
        with self._changed:
            self._down = down

    def require_scope(self, method: str, needed: str | None) -> None:
        """Make ``method`` answer ``missing_scope`` naming the ``needed`` scope (None: granted)."""
        with self._changed:
            if needed is None:
                self._scopes_needed.pop(method, None)
            else:
                self._scopes_needed[method] = needed

    # -- inspection ------------------------------------------------------------------------

    def messages(self, channel_id: str) -> list[JsonDict]:
        """The messages now in a channel (or DM), oldest first, as last updated."""
        with self._changed:
            return [dict(m) for m in self._conversation_messages(channel_id)]

    # -- the rules (server threads, under the lock) ----------------------------------------

    def _answer(self, method: str, params: JsonDict, token: str | None) -> _Answer:
        if self._down:
            return _Answer(
                HTTPStatus.SERVICE_UNAVAILABLE, {"ok": False, "error": "service_unavailable"}
            )
        if token is None:
            return _error("not_authed")
        if self._token_error is not None:
            return _error(self._token_error)
        if method in _APP_TOKEN_METHODS:
            if token == self.token or not token.startswith("xapp-"):
                return _error("not_allowed_token_type")
            if self.app_token is not None and token != self.app_token:
                return _error("invalid_auth")
        elif token.startswith("xapp-"):
            return _error("not_allowed_token_type")
        elif self.token is not None and token != self.token:
            return _error("invalid_auth")
        if method in self._scopes_needed:
            return _error(
                "missing_scope", needed=self._scopes_needed[method], provided="chat:write"
            )
        limited = self._rate_limited(method, params)
        if limited is not None:
            return limited
        rule = _RULES.get(method)
        if rule is not None:
            return rule(self, method, params)
        if method in _PLAIN_METHODS:
            return super()._answer(method, params, token)
        return _error("unknown_method")

    def _rate_limited(self, method: str, params: JsonDict) -> _Answer | None:
        rate = self._limits.get(method)
        if rate is None:
            return None
        key = (method, str(params.get("channel", "")) if method in PER_CHANNEL else "")
        now = self.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate.capacity, now)
        bucket.tokens = min(rate.capacity, bucket.tokens + (now - bucket.at) * rate.refill)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        wait = max(1, math.ceil((1 - bucket.tokens) / rate.refill))
        return _Answer(
            HTTPStatus.TOO_MANY_REQUESTS,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": str(wait)},
        )

    def _conversation(self, channel_id: str) -> Channel | str:
        """The channel a message goes to, or the error Slack answers for it."""
        if channel_id[:1] in ("U", "W"):
            user = self._users.get(channel_id)
            if user is None or user["deleted"]:
                return "channel_not_found"
            return self._dm_with(channel_id)
        if channel_id.startswith("D"):
            user_id = self._dms.get(channel_id)
            if user_id is None or self._users[user_id]["deleted"]:
                return "channel_not_found"
            return self._dm_with(user_id)
        channel = self._channels.get(channel_id)
        if channel is None:
            return "channel_not_found"
        if channel.is_private and not channel.is_member:
            return "channel_not_found"  # a private channel is invisible to who is not in it
        if channel.is_archived:
            return "is_archived"
        if not channel.is_member:
            return "not_in_channel"
        return channel

    def _dm_with(self, user_id: str) -> Channel:
        dm_id = f"D{user_id}"
        self._dms[dm_id] = user_id
        dm = self._channels.get(dm_id)
        if dm is None:
            dm = self._channels[dm_id] = Channel(dm_id, user_id.lower())
        return dm

    def _conversation_messages(self, channel_id: str) -> list[JsonDict]:
        target = self._conversation(channel_id)
        return target.messages if isinstance(target, Channel) else []

    def _message_content(self, params: JsonDict) -> _Answer | None:
        """``invalid_blocks``/``no_text``/``invalid_metadata_format`` for a message, if any."""
        if "blocks" in params:
            problems = block_problems(params["blocks"])
            if problems:
                return _error("invalid_blocks", **_problems(problems))
        elif not params.get("text") and not params.get("attachments"):
            return _error("no_text")
        metadata = params.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _error("invalid_metadata_format")
        return None

    def _post_message(self, method: str, params: JsonDict) -> _Answer:
        target = self._conversation(str(params.get("channel", "")))
        if isinstance(target, str):
            return _error(target)
        refused = self._message_content(params)
        if refused is not None:
            return refused
        body = self._default_answer(method, params)
        body["channel"] = target.id
        message = dict(body["message"])
        if "metadata" in params:
            message["metadata"] = params["metadata"]
        target.messages.append(message)
        return _Answer(HTTPStatus.OK, body)

    def _update_message(self, method: str, params: JsonDict) -> _Answer:
        target = self._conversation(str(params.get("channel", "")))
        if isinstance(target, str):
            return _error(target)
        ts = str(params.get("ts", ""))
        found = [m for m in target.messages if m["ts"] == ts]
        if not found:
            return _error("message_not_found")
        if method == "chat.delete":
            target.messages.remove(found[0])
            return _Answer(HTTPStatus.OK, {"ok": True, "channel": target.id, "ts": ts})
        refused = self._message_content(params)
        if refused is not None:
            return refused
        message = found[0]
        message["text"] = params.get("text", "")
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        else:
            message.pop("blocks", None)
        if "metadata" in params:
            message["metadata"] = params["metadata"]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        body = {
            "ok": True,
            "channel": target.id,
            "ts": ts,
            "text": message["text"],
            "message": dict(message),
        }
        return _Answer(HTTPStatus.OK, body)

    def _post_ephemeral(self, method: str, params: JsonDict) -> _Answer:
        target = self._conversation(str(params.get("channel", "")))
        if isinstance(target, str):
            return _error(target)
        user = self._users.get(str(params.get("user", "")))
        if user is None or user["deleted"]:
            return _error("user_not_in_channel")
        refused = self._message_content(params)
        if refused is not None:
            return refused
        return _Answer(HTTPStatus.OK, self._default_answer(method, params))

    def _open_view(self, method: str, params: JsonDict) -> _Answer:
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        if method in ("views.open", "views.push"):
            if not trigger:
                return _error("invalid_arguments", **_problems(["missing trigger_id"]))
            issued = self._triggers.get(str(trigger))
            if issued is None:
                return _error("invalid_trigger_id")
            if trigger in self._used_triggers:
                return _error("exchanged_trigger_id")
            if self.now() - issued > TRIGGER_TTL:
                return _error("expired_trigger_id")
        if method == "views.update" and bool(params.get("view_id")) == bool(
            params.get("external_id")
        ):  # Slack: exactly one of them names the view to update
            return _error("invalid_arguments", **_problems(["view_id or external_id required"]))
        if method == "views.publish":
            user = self._users.get(str(params.get("user_id", "")))
            if user is None or user["deleted"]:
                return _error("invalid_arguments", **_problems(["invalid user_id"]))
        problems = view_problems(params.get("view"))
        if problems:
            return _error("invalid_arguments", **_problems(problems))
        if method in ("views.open", "views.push"):
            self._used_triggers.add(str(trigger))
        return _Answer(HTTPStatus.OK, self._default_answer(method, params))

    def _open_conversation(self, method: str, params: JsonDict) -> _Answer:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if not users:
            return _error("users_list_not_supplied")
        user = self._users.get(users[0])
        if user is None:
            return _error("user_not_found")
        if user["deleted"]:
            return _error("user_disabled")
        dm = self._dm_with(users[0])
        return _Answer(HTTPStatus.OK, {"ok": True, "channel": {"id": dm.id}})

    def _conversation_info(self, method: str, params: JsonDict) -> _Answer:
        channel_id = str(params.get("channel", ""))
        if channel_id.startswith("D") and channel_id in self._dms:
            user = self._dms[channel_id]
            info = {"id": channel_id, "is_im": True, "user": user, "is_member": True}
            return _Answer(HTTPStatus.OK, {"ok": True, "channel": info})
        channel = self._channels.get(channel_id)
        if channel is None or channel.id.startswith("D"):
            return _error("channel_not_found")
        return _Answer(HTTPStatus.OK, {"ok": True, "channel": channel.info()})

    def _history(self, method: str, params: JsonDict) -> _Answer:
        channel_id = str(params.get("channel", ""))
        channel = self._channels.get(channel_id)
        if channel is None and channel_id not in self._dms:
            return _error("channel_not_found")
        if channel is not None and not channel.is_member:
            return _error("channel_not_found" if channel.is_private else "not_in_channel")
        messages = list(reversed(channel.messages if channel is not None else []))
        inclusive = truthy(params.get("inclusive"))
        latest = float(params.get("latest") or "inf")
        oldest = float(params.get("oldest") or 0)
        messages = [
            m
            for m in messages
            if oldest < float(m["ts"]) < latest
            or (inclusive and float(m["ts"]) in (oldest, latest))
        ]
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        page = messages[start : start + limit]
        with_metadata = truthy(params.get("include_all_metadata"))
        shown = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in page]
        has_more = start + limit < len(messages)
        body: JsonDict = {"ok": True, "messages": shown, "has_more": has_more}
        body["response_metadata"] = {"next_cursor": str(start + limit) if has_more else ""}
        return _Answer(HTTPStatus.OK, body)

    def _usergroup_users(self, method: str, params: JsonDict) -> _Answer:
        users = self._usergroups.get(str(params.get("usergroup", "")))
        if users is None:
            return _error("no_such_subteam")
        return _Answer(HTTPStatus.OK, {"ok": True, "users": list(users)})

    def _response_answer(self, url: str, body: JsonDict) -> tuple[int, str]:
        known = self._response_urls.get(url)
        if known is None:
            return HTTPStatus.NOT_FOUND, "no_service"
        if self.now() - known.issued_at > RESPONSE_URL_TTL:
            return HTTPStatus.NOT_FOUND, "expired_url"
        if known.uses >= RESPONSE_URL_USES:
            return HTTPStatus.NOT_FOUND, "used_url"
        if "blocks" in body and block_problems(body["blocks"]):
            return HTTPStatus.BAD_REQUEST, "invalid_blocks"
        if not body.get("text") and "blocks" not in body and not body.get("delete_original"):
            return HTTPStatus.BAD_REQUEST, "no_text"
        known.uses += 1
        return HTTPStatus.OK, "ok"


_RULES = {
    "chat.postMessage": StrictSlackApi._post_message,
    "chat.update": StrictSlackApi._update_message,
    "chat.delete": StrictSlackApi._update_message,
    "chat.postEphemeral": StrictSlackApi._post_ephemeral,
    "views.open": StrictSlackApi._open_view,
    "views.push": StrictSlackApi._open_view,
    "views.update": StrictSlackApi._open_view,
    "views.publish": StrictSlackApi._open_view,
    "conversations.open": StrictSlackApi._open_conversation,
    "conversations.info": StrictSlackApi._conversation_info,
    "conversations.history": StrictSlackApi._history,
    "usergroups.users.list": StrictSlackApi._usergroup_users,
}


@contextmanager
def running_strict_slack(**options: Any) -> Iterator[StrictSlackApi]:
    """Yield a started strict fake and stop it afterwards, even if the test fails."""
    with StrictSlackApi(**options) as fake:
        yield fake
