"""Requests into the app, shaped and signed exactly as Slack sends them (tests and the demo).

Slack signs ``v0:<timestamp>:<raw body>`` with HMAC-SHA256 and the app's signing secret and sends
``X-Slack-Signature: v0=<hex>`` and ``X-Slack-Request-Timestamp``. Slash commands are form-encoded;
interactivity is form-encoded with one ``payload`` field of JSON; events are JSON. The
``trigger_id`` and ``response_url`` each request carries come from the fake Slack API, which
issues them, so it can tell a fresh trigger id from an expired one and record what the app posts
to a response URL.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

TEAM = "T0ROOMBOT"
APP_ID = "A0ROOMBOT"
_counter = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Issuer(Protocol):
    """What hands out trigger ids and response URLs: the fake Slack API."""

    def issue_trigger_id(self) -> str: ...

    def issue_response_url(self, kind: str = "commands") -> str: ...


class SlackSender:
    def __init__(self, url: str, secret: str, slack: Issuer) -> None:
        self.url = url.rstrip("/") + "/slack/events"
        self.secret = secret
        self.slack = slack

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        ts = int(time.time()) if timestamp is None else timestamp
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": sign(secret or self.secret, ts, body),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read())

    def command(self, user: str, text: str = "", *, channel: str = "C0GENERAL", **kw: Any) -> Reply:
        form = {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "roombot",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/book",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": self.slack.issue_response_url("commands"),
            "trigger_id": self.slack.issue_trigger_id(),
        }
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **kw)

    def interact(self, payload: dict[str, Any], **kw: Any) -> Reply:
        payload = {"team": {"id": TEAM}, "api_app_id": APP_ID, "token": "legacy", **payload}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def click(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        view: dict[str, Any] | None = None,
        ephemeral: bool = False,
        block_id: str | None = None,
        **kw: Any,
    ) -> Reply:
        """A click on a button (``block_id``: of the block it is in, as the app rendered it)."""
        n = next(_counter)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "trigger_id": self.slack.issue_trigger_id(),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id or f"b{n}",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "VHOME")}
            payload["view"] = {"id": "VHOME", "type": view.get("type", "home"), **view}
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel, "name": "approvals"}
            payload["message"] = {"ts": message_ts, "type": "message"}
            payload["response_url"] = self.slack.issue_response_url("actions")
        return self.interact(payload, **kw)

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any], **kw: Any) -> Reply:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "trigger_id": self.slack.issue_trigger_id(),
            "view": {
                "id": "VMODAL",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view.get("private_metadata", ""),
                "state": {"values": values},
                "hash": "h",
            },
        }
        return self.interact(payload, **kw)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kw: Any) -> Reply:
        body = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):08d}",
            "event_time": int(time.time()),
        }
        return self.post(json.dumps(body).encode(), "application/json", **kw)


def booking_values(room: str, day: str, start: str, end: str, title: str = "") -> dict[str, Any]:
    """``view.state.values`` of the booking modal as Slack reports it."""
    return {
        "room": {"room_select": {"type": "static_select", "selected_option": {"value": room}}},
        "date": {"date_pick": {"type": "datepicker", "selected_date": day}},
        "start": {"start_pick": {"type": "timepicker", "selected_time": start}},
        "end": {"end_pick": {"type": "timepicker", "selected_time": end}},
        "title": {"title_input": {"type": "plain_text_input", "value": title or None}},
    }


def repeat_values(
    choice: str,
    *,
    weekdays: tuple[int, ...] = (),
    interval: int | None = None,
    until: str | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """The Repeat fields of the booking modal's ``view.state.values`` as Slack reports them
    (``choice``: none, daily, weekly or weeks); merge them into :func:`booking_values`."""

    def number(value: int | None) -> str | None:
        return str(value) if value is not None else None

    return {
        "repeat": {
            "repeat_select": {"type": "static_select", "selected_option": {"value": choice}}
        },
        "weekdays": {
            "weekdays_check": {
                "type": "checkboxes",
                "selected_options": [{"value": str(d)} for d in weekdays],
            }
        },
        "interval": {"interval_input": {"type": "number_input", "value": number(interval)}},
        "until": {"until_pick": {"type": "datepicker", "selected_date": until}},
        "count": {"count_input": {"type": "number_input", "value": number(count)}},
    }
