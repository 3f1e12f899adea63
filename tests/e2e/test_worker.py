"""``python -m bot worker``: a separate process delivers what the app commits, and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bootstrap import bootstrap
from bot.domain import commands as c
from tests.conftest import ADMIN, make_settings
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import add_rooms, outbox

ROOT = Path(__file__).resolve().parents[2]
BOB = "UBOB"


def _dms_to(fake: StrictSlackApi, user: str, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [
            call.params["text"]
            for call in fake.calls_to("chat.postMessage")
            if call.params.get("channel") == user and call.status == 200
        ]
        if len(texts) >= count:
            return texts
        time.sleep(0.05)
    raise AssertionError(f"expected {count} DM(s) to {user}; calls: {fake.calls}")


def test_the_worker_delivers_committed_notifications_until_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    with StrictSlackApi(channels=("CAPPROVALS",)) as fake:
        fake.add_user(BOB, tz="Asia/Seoul", email="bob@example.com")
        fake.add_user(ADMIN, tz="Europe/Berlin")
        container = bootstrap(make_settings(database_url))
        add_rooms(container.bus, "102")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        booking = container.bus.handle(
            c.RequestBooking("102", start, start + timedelta(hours=1), by=BOB, title="Sync")
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": fake.url,
            "APPROVALS_CHANNEL": "CAPPROVALS",
            "ADMIN_USER_IDS": ADMIN,
            "OUTBOX_POLL_SECONDS": "0.2",
        }
        env.pop("SMTP_HOST", None)
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=tmp_path,  # no developer .env
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert "waiting for approval" in _dms_to(fake, BOB, 1)[0]
            # committed by another process (the web app): picked up by the worker's poll
            container.bus.handle(c.ApproveBooking(booking, by=ADMIN))
            assert "approved" in _dms_to(fake, BOB, 2)[1]
        finally:
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=30)
        container.close()
    assert worker.returncode == 0, err
    assert "worker running" in out and "worker stopped" in out
    assert "email off" in err  # said once at start
    # timestamped like the web process's lines; the scheduler's every-job-run lines stay out
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \S+: email off", err, re.M), err
    assert "apscheduler" not in err, err
    dms = [r for r in outbox(container.engine) if r["channel"] == "dm"]
    assert {r["status"] for r in dms} == {"sent"}
