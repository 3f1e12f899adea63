"""The app manifests are what an admin pastes into Slack; a mistake there only shows up when
someone tries to install roombot, so we check them against Slack's schema and our needs here.

``manifest.yml`` is for HTTP (request URLs), ``manifest.socket.yml`` for Socket Mode (no URLs);
apart from that they must ask for the same thing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import validator_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = {"http": PROJECT_ROOT / "manifest.yml", "socket": PROJECT_ROOT / "manifest.socket.yml"}
# Slack's published schema lives beside the project, not in it: it has its own licence.
SCHEMA_PATH = PROJECT_ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

# What the code calls, scope by scope (README.md, "Scopes and why", says the same to admins).
# No im:write: DMs are chat.postMessage to the user's id; conversations.open is never called.
BOT_SCOPES = {
    "commands",  # /book
    "chat:write",  # cards, DMs
    "users:read",  # users.info: time zone, locale
    "users:read.email",  # users.info: profile email
    "channels:read",  # conversations.info on a public approvals channel (python -m bot check)
    "groups:read",  # the same on a private one
    "channels:history",  # conversations.history: a card posted but never recorded
    "groups:history",  # the same in a private approvals channel
    "usergroups:read",  # usergroups.users.list: members of the groups policies name
}
# The schema states this with the non-standard "regex" keyword, which validators ignore.
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


def _load(kind: str) -> dict[str, Any]:
    with MANIFESTS[kind].open(encoding="utf-8") as file:
        loaded = yaml.safe_load(file)
    assert isinstance(loaded, dict), f"{MANIFESTS[kind].name} must be a YAML mapping"
    return loaded


@pytest.fixture(scope="module", params=sorted(MANIFESTS))
def manifest(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        reason = f"Slack's manifest schema is not at {SCHEMA_PATH}"
        if os.environ.get("REQUIRE_SHARED") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SHARED=1 says it must be")
        pytest.skip(f"{reason}; set REQUIRE_SHARED=1 to make this a failure")
    with SCHEMA_PATH.open(encoding="utf-8") as file:
        loaded = yaml.safe_load(file)  # JSON is YAML; one parser keeps the imports small
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_is_valid_against_slacks_schema(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    errors = sorted(validator.iter_errors(manifest), key=lambda error: list(error.path))

    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors
    )


def test_background_colour_is_a_hex_colour(manifest: dict[str, Any]) -> None:
    assert HEX_COLOUR.match(manifest["display_information"]["background_color"])


def test_bot_scopes_are_exactly_what_roombot_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]

    assert len(scopes) == len(set(scopes))
    assert set(scopes) == BOT_SCOPES


def test_book_command_exists(manifest: dict[str, Any]) -> None:
    commands = {command["command"]: command for command in manifest["features"]["slash_commands"]}

    assert "/book" in commands
    # Slack sends a mention as <@U123|name> (``/book list @someone``), links and & < > escaped
    assert commands["/book"]["should_escape"] is True


def test_app_home_is_enabled_and_subscribed(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_members_changing_or_leaving_are_subscribed(manifest: dict[str, Any]) -> None:
    # user_change (scope users:read): new time zones at once, deactivated members released
    assert "user_change" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "users:read" in manifest["oauth_config"]["scopes"]["bot"]


def test_every_request_url_points_at_the_bolt_endpoint() -> None:
    manifest = _load("http")
    urls = list(_request_urls(manifest))

    assert manifest["settings"]["socket_mode_enabled"] is False
    assert len(urls) == 3, urls  # slash command, events, interactivity
    assert all(url.endswith("/slack/events") for url in urls), urls


def test_the_socket_mode_manifest_is_the_http_one_without_urls() -> None:
    http, socket = _load("http"), _load("socket")

    assert socket["settings"].pop("socket_mode_enabled") is True
    assert list(_request_urls(socket)) == []
    http["settings"].pop("socket_mode_enabled")
    assert _without_urls(http) == socket


def test_the_readme_explains_exactly_the_scopes_asked_for() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Scopes and why", 1)[1].split("\n#", 1)[0]
    explained = {
        scope
        for line in table.splitlines()
        if line.startswith("| `")
        for scope in re.findall(r"`([a-z:.]+)`", line.split("|")[1])
    }
    assert explained == BOT_SCOPES


def _without_urls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_urls(v) for k, v in node.items() if k not in ("request_url", "url")}
    if isinstance(node, list):
        return [_without_urls(item) for item in node]
    return node


def _request_urls(node: Any) -> Iterator[str]:
    """Every URL Slack will call: ``request_url`` keys, and ``url`` on slash commands."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("request_url", "url") and isinstance(value, str):
                yield value
            else:
                yield from _request_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _request_urls(item)
