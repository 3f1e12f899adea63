"""``python app.py`` in Socket Mode, as an operator runs it: ``SLACK_APP_TOKEN`` set, no signing
secret, Slack's traffic over a WebSocket instead of ``POST /slack/events``.

The process is real and so is its Socket Mode client (slack_sdk's builtin one, via Bolt's
``SocketModeHandler``): it asks the fake Web API for a URL with ``apps.connections.open`` and
connects to :class:`~tests.fakes.socket_mode.FakeSocketModeServer`, which then plays Slack:
it pushes envelopes and reads the acks. One process serves the whole module (starting it
dominates the run time); the SIGTERM test stops it, so it comes last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.views import texts
from tests.e2e.processes import logged_port
from tests.fakes.slack_api import TEAM_ID, StrictSlackApi
from tests.fakes.socket_mode import APP_ID, FakeSocketModeServer

ROOT = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-test"
BOB = "UBOB"
BOB_TZ = "Asia/Seoul"


@dataclass
class Running:
    app: subprocess.Popen[bytes]
    fake: StrictSlackApi
    ws: FakeSocketModeServer
    port: int
    log: Path

    def output(self) -> str:
        """What the app printed so far, for failure messages."""
        return self.log.read_text(errors="replace")[-6000:]


def _env(db: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    return {**keep, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}", **extra}


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, check=True, timeout=60)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("socket_mode")
    with (
        StrictSlackApi(token="xoxb-process", app_token=APP_TOKEN, channels=("CAPPROVALS",)) as fake,
        FakeSocketModeServer() as ws,
    ):
        fake.add_user(BOB, tz=BOB_TZ)
        fake.socket_url = ws.url
        env = _env(
            tmp / "r.db",
            SLACK_BOT_TOKEN="xoxb-process",
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=fake.url,
            APPROVALS_CHANNEL="CAPPROVALS",
            PORT="0",
        )
        _cli(env, tmp, "db", "upgrade")
        _cli(env, tmp, "rooms", "add", "102", "--name", "Small", "--capacity", "4")
        log = tmp / "app.log"
        with log.open("wb") as sink:
            app = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py")],
                cwd=tmp,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            port = logged_port(app, log)  # logged once connected
            state = Running(app, fake, ws, port, log)
            ws.wait_connected(timeout=20)
            yield state
        finally:
            if app.poll() is None:
                app.send_signal(signal.SIGTERM)
                try:
                    app.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    app.kill()
                    app.wait(timeout=10)


def _command(text: str, n: int) -> dict[str, Any]:
    """A slash command's Socket Mode payload: the HTTP form's fields, as a JSON object."""
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "roombot",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": BOB,
        "user_name": BOB.lower(),
        "command": "/book",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.invalid/commands/{TEAM_ID}/{n}/x",
        "trigger_id": f"trigger.socket.{n}",
    }


def test_the_app_asks_for_a_socket_url_with_the_app_token(running: Running) -> None:
    opens = running.fake.calls_to("apps.connections.open")
    assert opens and opens[0].token == APP_TOKEN
    assert running.ws.connected


def test_help_is_acked_over_the_socket(running: Running) -> None:
    envelope_id = running.ws.send_envelope("slash_commands", _command("help", 1))
    ack = running.ws.wait_for_ack(envelope_id, timeout=10)
    assert ack["envelope_id"] == envelope_id
    assert ack.get("payload", {}).get("text") == texts.help_text(email=False), running.output()
    assert "/book list" in ack["payload"]["text"]


def test_a_one_line_booking_is_acked_over_the_socket(running: Running) -> None:
    day = datetime.now(ZoneInfo(BOB_TZ)).date() + timedelta(days=7)
    envelope_id = running.ws.send_envelope(
        "slash_commands", _command(f"102 {day.isoformat()} 10:00-11:00", 2)
    )
    ack = running.ws.wait_for_ack(envelope_id, timeout=10)
    text = ack.get("payload", {}).get("text", "")
    assert "Requested room 102" in text, f"{ack}\n{running.output()}"


def test_app_home_opened_publishes_the_home_tab(running: Running) -> None:
    payload = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": {
            "type": "app_home_opened",
            "user": BOB,
            "channel": f"D{BOB}",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        },
        "type": "event_callback",
        "event_id": "Ev0SOCKET01",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }
    envelope_id = running.ws.send_envelope("events_api", payload, accepts_response_payload=False)
    ack = running.ws.wait_for_ack(envelope_id, timeout=10)
    assert ack == {"envelope_id": envelope_id}  # events are acked with nothing else
    publishes = running.fake.wait_for("views.publish", timeout=10)
    assert any(call.params.get("user_id") == BOB for call in publishes), running.output()


def test_health_checks_answer_in_socket_mode(running: Running) -> None:
    base = f"http://127.0.0.1:{running.port}"
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.load(response) == {"status": "ok"}
    with urllib.request.urlopen(base + "/readyz", timeout=5) as response:
        assert response.status == 200


def test_sigterm_stops_the_app_cleanly(running: Running) -> None:
    running.app.send_signal(signal.SIGTERM)
    try:
        code = running.app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the app did not exit within 30 s of SIGTERM:\n{running.output()}")
    assert code == 0, running.output()
    assert "Traceback" not in running.output(), running.output()


def test_a_refused_app_token_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # Slack answers invalid_auth to an app token that was revoked or never existed.
    with StrictSlackApi(
        token="xoxb-process", app_token=APP_TOKEN, channels=("CAPPROVALS",)
    ) as fake:
        env = _env(
            tmp_path / "r.db",
            SLACK_BOT_TOKEN="xoxb-process",
            SLACK_APP_TOKEN="xapp-revoked",
            SLACK_API_URL=fake.url,
            APPROVALS_CHANNEL="CAPPROVALS",
            PORT="0",
        )
        _cli(env, tmp_path, "db", "upgrade")
        done = subprocess.run(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert (
        "roombot: Socket Mode connection failed (invalid_auth): check SLACK_APP_TOKEN"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
