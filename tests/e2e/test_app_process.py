"""``python app.py`` as an operator runs it: settings from the environment, HTTP on PORT (0 here),
a clear one-line error when a setting is missing, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.demo.loopback import unused_port
from bot.demo.signed import SlackSender
from tests.e2e.processes import logged_port
from tests.fakes.slack_api import StrictSlackApi

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        **extra,
    }


def _readyz(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
        assert response.status == 200
        body: dict[str, Any] = json.load(response)
        return body


def _wait_ready(
    app: subprocess.Popen[bytes], base: str, until: Callable[[dict[str, Any]], bool] = bool
) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers 200 with a body ``until`` accepts; return the body."""
    deadline = time.monotonic() + 30
    while True:
        try:
            body = _readyz(base)
            assert body["status"] == "ready"
            if until(body):
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, "the app did not come up"
        assert app.poll() is None, "the app exited"
        time.sleep(0.1)


def test_a_missing_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("roombot: SLACK_BOT_TOKEN is not set")
    assert "Traceback" not in done.stderr


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python app.py`` on a free port (``PORT=0``); return it and its base URL."""
    log = cwd / "app.log"
    with log.open("wb") as sink:
        app = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=cwd, env={**env, "PORT": "0"}, stderr=sink
        )
    return app, f"http://127.0.0.1:{logged_port(app, log)}"


def test_the_app_serves_slack_and_health_checks_and_stops_on_sigterm(tmp_path: Path) -> None:
    with StrictSlackApi(token="xoxb-process", channels=("CAPPROVALS",)) as fake:
        fake.add_user("UBOB", tz="Asia/Seoul")
        env = _env(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-process",
            SLACK_SIGNING_SECRET="process-secret",
            SLACK_API_URL=fake.url,
            APPROVALS_CHANNEL="CAPPROVALS",
        )
        subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=tmp_path,
            env=env,
            check=True,
            timeout=60,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "rooms",
                "add",
                "102",
                "--name",
                "Small",
                "--capacity",
                "4",
            ],
            cwd=tmp_path,
            env=env,
            check=True,
            timeout=60,
        )
        app, base = _start(env, tmp_path)
        try:
            _wait_ready(app, base)
            reply = SlackSender(base, "process-secret", fake).command("UBOB", "help")
            assert reply.status == 200 and "/book list" in reply.text
            one_line = SlackSender(base, "process-secret", fake).command(
                "UBOB", "102 2026-12-30 10:00-11:00"
            )
            assert "Requested room 102" in one_line.text
            # the scheduler runs in this process: the card goes out without anyone draining
            deadline = time.monotonic() + 15
            while not any(
                c.params.get("channel") == "CAPPROVALS" for c in fake.calls_to("chat.postMessage")
            ):
                assert time.monotonic() < deadline, "no approval card was posted"
                time.sleep(0.05)
        finally:
            app.send_signal(signal.SIGTERM)
            assert app.wait(timeout=30) == 0


def _migrated(tmp_path: Path, template: Path) -> str:
    shutil.copy(template, tmp_path / "r.db")
    return f"sqlite:///{tmp_path / 'r.db'}"


def _start_fails(tmp_path: Path, **env: str) -> str:
    """Run ``python app.py`` expecting it to refuse to start; return its one line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=_env(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-process",
            SLACK_SIGNING_SECRET="process-secret",
            APPROVALS_CHANNEL="CAPPROVALS",
            # start-up news ("email off") is not what is tested here
            **{"LOG_LEVEL": "WARNING", **env},
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        (
            "postgresql://roombot:pw@127.0.0.1:{closed}/roombot",
            "roombot: cannot use the database postgresql+psycopg://roombot:***@127.0.0.1:",
        ),
        ("mysql://roombot@127.0.0.1/roombot", "roombot: DATABASE_URL mysql://roombot@127.0.0.1/"),
        ("postgresql://roombot@:port/roombot", "roombot: DATABASE_URL: not a database URL"),
        ("roombot.db", "roombot: DATABASE_URL: not a database URL"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(
    tmp_path: Path, database_url: str, expected: str
) -> None:
    line = _start_fails(tmp_path, DATABASE_URL=database_url.format(closed=unused_port()))
    assert line.startswith(expected)


def test_an_unknown_log_level_is_one_line(tmp_path: Path) -> None:
    line = _start_fails(tmp_path, LOG_LEVEL="verbose")
    assert line == (
        "roombot: LOG_LEVEL: 'verbose' is not a level; use one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL"
    )


def test_a_port_in_use_is_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _start_fails(
            tmp_path, DATABASE_URL=_migrated(tmp_path, sqlite_template), PORT=str(port)
        )
    assert line == f"roombot: port {port} is in use: stop what listens there, or set PORT"


def test_socket_mode_without_a_network_is_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}/api/"
    line = _start_fails(
        tmp_path,
        DATABASE_URL=_migrated(tmp_path, sqlite_template),
        SLACK_APP_TOKEN="xapp-process",
        SLACK_API_URL=nowhere,
        PORT="0",
    )
    assert line.startswith(f"roombot: cannot reach Slack at {nowhere} for Socket Mode")


def _http_app(tmp_path: Path, database_url: str, slack_api_url: str) -> tuple[Any, str]:
    env = _env(
        tmp_path,
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-process",
        SLACK_SIGNING_SECRET="process-secret",
        SLACK_API_URL=slack_api_url,
        APPROVALS_CHANNEL="CAPPROVALS",
        ADMIN_USER_IDS="UADMIN",
    )
    return _start(env, tmp_path)


def _stop(app: subprocess.Popen[bytes]) -> None:
    app.send_signal(signal.SIGTERM)
    assert app.wait(timeout=30) == 0


def test_a_slack_outage_at_start_does_not_stop_serving(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Bolt's lazy auth.test made every request a 500 while Slack was unreachable after a
    restart; requests that need no Slack call must work, and /readyz says what is pending."""
    nowhere = f"http://127.0.0.1:{unused_port()}/api/"
    app, base = _http_app(tmp_path, _migrated(tmp_path, sqlite_template), nowhere)
    try:
        body = _wait_ready(app, base)
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["slack"].startswith("waiting for Slack (unreachable")
        with StrictSlackApi() as fake:  # only records the response_url replies
            reply = SlackSender(base, "process-secret", fake).command("UBOB", "help")
        assert reply.status == 200 and "/book list" in reply.text
    finally:
        _stop(app)


def test_auth_test_is_retried_in_the_background_then_the_checks_run(
    tmp_path: Path, sqlite_template: Path
) -> None:
    with StrictSlackApi(token="xoxb-process") as fake:
        fake.add_user("UADMIN")
        fake.add_channel("CAPPROVALS", "approvals", member=False)
        fake.fail_next("auth.test", "service_unavailable", status=503, count=2)
        app, base = _http_app(tmp_path, _migrated(tmp_path, sqlite_template), fake.url)
        try:
            body = _wait_ready(app, base, until=lambda body: "bot token" in body["checks"])
            assert len(fake.calls_to("auth.test")) >= 3
            assert body["checks"] == {
                "database": "ok",
                "bot token": "ok",
                "approvals channel": "the bot is not in the approvals channel #approvals: "
                "type /invite @roombot there",
                "admin UADMIN": "ok",
            }
            # ... and each problem is a warning in the log, one line
            warned = [
                line for line in (tmp_path / "app.log").read_text().splitlines() if "check:" in line
            ]
            assert len(warned) == 1 and "WARNING" in warned[0], warned
            assert warned[0].endswith(
                "check: the bot is not in the approvals channel #approvals: "
                "type /invite @roombot there"
            )
        finally:
            _stop(app)


def test_a_refused_bot_token_makes_the_app_not_ready(tmp_path: Path, sqlite_template: Path) -> None:
    with StrictSlackApi(token="xoxb-process") as fake:
        fake.break_token("invalid_auth")
        app, base = _http_app(tmp_path, _migrated(tmp_path, sqlite_template), fake.url)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/readyz", timeout=2).close()
                except urllib.error.HTTPError as refused:
                    assert refused.code == 503
                    body = json.load(refused)
                    break
                except OSError:
                    pass
                assert time.monotonic() < deadline and app.poll() is None
                time.sleep(0.1)
            assert body["status"] == "Slack refused SLACK_BOT_TOKEN (invalid_auth)"
        finally:
            _stop(app)
