"""``python app.py`` as an operator runs it: settings from the environment, HTTP on PORT,
a clear one-line error when a setting is missing, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.demo.scenario import free_port
from bot.demo.signed import SlackSender
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


def test_the_app_serves_slack_and_health_checks_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with StrictSlackApi(token="xoxb-process", channels=("CAPPROVALS",)) as fake:
        fake.add_user("UBOB", tz="Asia/Seoul")
        env = _env(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-process",
            SLACK_SIGNING_SECRET="process-secret",
            SLACK_API_URL=fake.url,
            APPROVALS_CHANNEL="CAPPROVALS",
            PORT=str(port),
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
        app = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                        assert json.load(response)["status"] == "ready"
                        break
                except OSError:
                    assert time.monotonic() < deadline, "the app did not come up"
                    assert app.poll() is None, "the app exited"
                    time.sleep(0.1)
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
