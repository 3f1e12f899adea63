"""The app manifest is what an admin pastes into Slack; a mistake there only shows up when
someone tries to install roombot, so we check it against Slack's schema and our needs here."""

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
MANIFEST_PATH = PROJECT_ROOT / "manifest.yml"
# Slack's published schema lives beside the project, not in it: it has its own licence.
SCHEMA_PATH = PROJECT_ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

BOT_SCOPES = {
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
}
# The schema states this with the non-standard "regex" keyword, which validators ignore.
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    with MANIFEST_PATH.open(encoding="utf-8") as file:
        loaded = yaml.safe_load(file)
    assert isinstance(loaded, dict), "manifest.yml must be a YAML mapping"
    return loaded


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
    assert commands["/book"]["should_escape"] is False


def test_app_home_is_enabled_and_subscribed(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_every_request_url_points_at_the_bolt_endpoint(manifest: dict[str, Any]) -> None:
    urls = list(_request_urls(manifest))

    assert len(urls) == 3, urls  # slash command, events, interactivity
    assert all(url.endswith("/slack/events") for url in urls), urls


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
