"""``python -m bot demo`` shows the whole flow offline, as a newcomer would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def section(out: str, title: str) -> str:
    """The lines under the ``=== title ...`` header, up to the next header."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("===") and title in line)
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if line.startswith("===")), len(rest))
    return "\n".join(rest[:end])


def test_the_demo_runs_the_original_scenario_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # the booker's DMs, in order
    dms = section(out, "What Minji saw")
    # Minji's Slack locale is ko-KR: everything roombot tells her is Korean
    assert dms.count("예약 요청이 접수되어 승인을 기다리고 있습니다") == 3
    assert "예약이 변경되어 다시 승인을 기다리고 있습니다" in dms  # the change
    assert "예약이 승인되었습니다" in dms and "예약 요청이 거절되었습니다" in dms
    assert "사유: The room is being repainted" in dms and "예약을 취소했습니다" in dms
    assert "waiting for approval" not in dms
    # the approvals channel: two cards, updated in place, without buttons
    channel = section(out, "approvals channel")
    assert "Cancelled by requester (approved by @U0ADMIN before)" in channel
    assert "Denied by @U0ADMIN" in channel and "[Approve]" not in channel
    # the mailbox: an email per step, with invites and a cancellation
    mailbox = section(out, "The mailbox")
    assert mailbox.count("to Minji <minji@example.com>") >= 8
    assert "method=REQUEST" in mailbox and "method=CANCEL" in mailbox
    # the change: the card asked again showing old -> new, the email moves the invite
    changing = section(out, "7. Minji moves it")
    assert "*Changed*" in changing and "[Approve]" in changing
    moved = [line for line in mailbox.splitlines() if "4:30" in line and "method=REQUEST" in line]
    assert moved and all("text/calendar" in line for line in moved)
