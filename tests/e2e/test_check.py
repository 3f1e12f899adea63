"""``python -m bot check`` against the fake Slack, a real SMTP server and real databases: each
misconfiguration a new installation can have is caught, in one line saying what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.adapters.selfcheck import problems, run_checks
from bot.config import Settings
from bot.demo.loopback import Inbox, smtp_server, unused_port
from tests.fakes.slack_api import StrictSlackApi

ROOT = Path(__file__).resolve().parents[2]
ADMIN, GONE = "UADMIN", "UGONE"
CHANNEL = "CAPPROVALS"
SMTP_USER, SMTP_PASSWORD = "roombot", "s3cret"


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    with StrictSlackApi(token="xoxb-good", app_token="xapp-good") as fake:
        fake.add_user(ADMIN, tz="Europe/Berlin", name="Ada")
        fake.add_user(GONE)
        fake.delete_user(GONE)
        fake.add_channel(CHANNEL, "room-approvals")
        fake.add_channel("CELSEWHERE", "random", member=False)
        yield fake


@pytest.fixture
def smtp_port() -> Iterator[int]:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        good = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=good, handled=False)

    with smtp_server(Inbox(), authenticator=authenticate, auth_require_tls=False) as (_, port):
        yield port


@pytest.fixture
def settings_for(
    fake: StrictSlackApi, smtp_port: int, tmp_path: Path, sqlite_template: Path
) -> Callable[..., Settings]:
    shutil.copy(sqlite_template, tmp_path / "r.db")  # migrated
    url = f"sqlite:///{tmp_path / 'r.db'}"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": url,
            "slack_bot_token": "xoxb-good",
            "slack_api_url": fake.url,
            "approvals_channel": CHANNEL,
            "admin_user_ids": ADMIN,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "smtp_timeout_seconds": 5,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


def test_a_correct_setup_has_no_problems(
    settings_for: Callable[..., Settings], fake: StrictSlackApi
) -> None:
    findings = run_checks(settings_for(slack_app_token="xapp-good"))

    assert problems(findings) == []
    assert [f.check for f in findings] == [
        "database",
        "bot token",
        "app token",
        "approvals channel",
        f"admin {ADMIN}",
        "email",
    ]
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-good"
    assert fake.calls_to("conversations.info")[0].params == {"channel": CHANNEL}


def _one_problem(settings: Settings) -> str:
    found = problems(run_checks(settings))
    assert len(found) == 1, found
    assert "\n" not in found[0]
    return found[0]


def test_a_refused_bot_token(settings_for: Callable[..., Settings], fake: StrictSlackApi) -> None:
    fake.break_token("invalid_auth")
    problem = _one_problem(settings_for())
    assert problem.startswith("SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")
    assert fake.calls_to("users.info") == []  # nothing else asked with a token that fails


def test_a_user_token_in_place_of_the_bot_token(settings_for: Callable[..., Settings]) -> None:
    problem = _one_problem(settings_for(slack_bot_token="xoxp-123"))
    assert "not 'xoxb-'" in problem and "Bot User OAuth Token" in problem


def test_slack_unreachable(settings_for: Callable[..., Settings]) -> None:
    closed = f"http://127.0.0.1:{unused_port()}/api/"
    problem = _one_problem(settings_for(slack_api_url=closed))
    assert problem.startswith(f"cannot reach Slack at {closed}")


@pytest.mark.parametrize(
    ("token", "scope", "expected"),
    [
        ("xoxb-pasted-twice", None, "SLACK_APP_TOKEN starts with 'xoxb-', not 'xapp-'"),
        ("xapp-revoked", None, "SLACK_APP_TOKEN was refused by Slack (invalid_auth)"),
        ("xapp-good", "connections:write", "lacks the connections:write scope"),
    ],
)
def test_a_wrong_app_token(
    settings_for: Callable[..., Settings],
    fake: StrictSlackApi,
    token: str,
    scope: str | None,
    expected: str,
) -> None:
    if scope:
        fake.require_scope("apps.connections.open", scope)
    assert expected in _one_problem(settings_for(slack_app_token=token))


def test_an_approvals_channel_that_does_not_exist(settings_for: Callable[..., Settings]) -> None:
    problem = _one_problem(settings_for(approvals_channel="#approvals"))
    assert problem.startswith("APPROVALS_CHANNEL #approvals was not found: use the channel id")


def test_the_bot_not_in_the_approvals_channel(settings_for: Callable[..., Settings]) -> None:
    problem = _one_problem(settings_for(approvals_channel="CELSEWHERE"))
    assert problem == (
        "the bot is not in the approvals channel #random: type /invite @roombot there"
    )


def test_no_admins(settings_for: Callable[..., Settings]) -> None:
    assert _one_problem(settings_for(admin_user_ids="")).startswith(
        "ADMIN_USER_IDS is empty, so nobody can approve bookings"
    )


@pytest.mark.parametrize(
    ("admin", "expected"),
    [("ada", "ada is not a member of this workspace"), (GONE, f"{GONE} is deactivated")],
)
def test_admins_that_are_not_real_users(
    settings_for: Callable[..., Settings], admin: str, expected: str
) -> None:
    assert expected in _one_problem(settings_for(admin_user_ids=f"{ADMIN},{admin}"))


def test_a_mail_server_that_is_not_there(settings_for: Callable[..., Settings]) -> None:
    port = unused_port()
    problem = _one_problem(settings_for(smtp_port=port))
    assert problem.startswith(f"cannot reach the mail server 127.0.0.1:{port}")


def test_a_refused_mail_login(settings_for: Callable[..., Settings], smtp_port: int) -> None:
    problem = _one_problem(settings_for(smtp_password="wrong"))
    assert problem.startswith(f"the mail server 127.0.0.1:{smtp_port} refused the login (535)")


def test_a_database_that_is_not_migrated(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    problem = _one_problem(settings_for(database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    assert problem == "the database has no schema yet: run `python -m bot db upgrade`"


def test_a_database_that_is_not_there(settings_for: Callable[..., Settings]) -> None:
    url = f"postgresql://roombot:pw@127.0.0.1:{unused_port()}/roombot"
    problem = _one_problem(settings_for(database_url=url))
    assert problem.startswith("cannot use the database postgresql+psycopg://roombot:***@127.0.0.1")
    assert "pw" not in problem


def test_the_command_prints_one_line_a_problem_and_fails(
    fake: StrictSlackApi, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
        SLACK_BOT_TOKEN="xoxb-good",
        SLACK_API_URL=fake.url,
        APPROVALS_CHANNEL="CELSEWHERE",
        ADMIN_USER_IDS="",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "problem: the database has no schema yet: run `python -m bot db upgrade`",
        "problem: the bot is not in the approvals channel #random: type /invite @roombot there",
        "problem: ADMIN_USER_IDS is empty, so nobody can approve bookings: add the admins' member "
        "ids (profile -> ... -> Copy member ID), comma-separated",
    ]
    assert done.stderr.strip() == (
        "error: 3 problem(s); fix them and run `python -m bot check` again"
    )
