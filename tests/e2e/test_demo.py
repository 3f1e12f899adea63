"""``python -m bot demo`` shows the whole flow offline, as a newcomer would run it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar

ROOT = Path(__file__).resolve().parents[2]


def section(out: str, title: str) -> str:
    """The lines under the ``=== title ...`` header, up to the next header."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("===") and title in line)
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if line.startswith("===")), len(rest))
    return "\n".join(rest[:end])


@dataclass(frozen=True)
class Demo:
    folder: Path  # where it keeps its files (given with --out)
    out: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One run of the demo as a newcomer starts it, for every test here (it takes seconds)."""
    where = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", "kept"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr  # nothing runs on past the teardown
    return Demo(where / "kept", done.stdout, env)


def test_the_demo_runs_the_original_scenario_offline(demo: Demo) -> None:
    out = demo.out
    # the booker's DMs, in order
    dms = section(out, "What Minji saw")
    # Minji's Slack locale is ko-KR: everything roombot tells her is Korean
    assert dms.count("- 예약 요청이 접수되어 승인을 기다리고 있습니다") == 3
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
    assert mailbox.count("to Minji <minji@example.com>") >= 10
    assert "method=REQUEST" in mailbox and "method=CANCEL" in mailbox
    # the change: the card asked again showing old -> new, the email moves the invite
    changing = section(out, "7. Minji moves it")
    assert "*Changed*" in changing and "[Approve]" in changing
    assert "the Change form opens filled in" in changing and "16:00" in changing
    assert "예약이 변경되어 다시 승인을 기다리고 있습니다" in changing  # her DM, and the email
    assert "Subject: [변경됨] 회의실 201" in changing and "SEQUENCE 0 -> 1" in changing
    moved = [line for line in mailbox.splitlines() if "4:30" in line and "method=REQUEST" in line]
    assert moved and all("text/calendar" in line for line in moved)

    # the card before and after the decision, and the booker's and admin's Home tabs
    first = section(out, "1. Minji types /book")
    assert "the approval card in #approvals" in first and "[Approve]" in first
    assert "Waiting for your decision (1)" in first  # the admin's Home
    approved = section(out, "2. The admin approves")
    assert "updated in place" in approved and "Approved by @U0ADMIN" in approved
    # one email read in full, with its calendar entry
    assert "Subject: [승인됨] 회의실 102" in approved and "METHOD:REQUEST" in approved
    assert "다가오는 예약" in section(out, "10. Minji opens")


def test_the_demo_books_a_weekly_series_around_a_taken_week(demo: Demo) -> None:
    series = section(demo.out, "9. Minji books a weekly")
    # the preview: three free dates, the second week taken by Jae, and its submit
    assert series.count(":white_check_mark: 12월") == 3 and "@U0JAE 님이 예약함" in series
    assert "[빈 날짜 3개 예약]" in series and "날짜 3개 요청됨" in series
    # one card for the series, approved with one click, updated in place
    assert series.count("*Series request #1*") == 2 and "[Approve series]" in series
    assert "Approved by @U0ADMIN" in series and "approved: 3" in series
    assert "반복 예약이 승인되었습니다" in series  # her DM and the email
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in series and "EXDATE;TZID=Asia/Seoul" in series
    dms = section(demo.out, "What Minji saw")
    assert dms.count("반복 예약") == 2  # one DM when requested, one when approved
    assert section(demo.out, "approvals channel").count("Series request") == 1


def test_the_demo_keeps_its_views_email_and_invite_as_files(demo: Demo) -> None:
    folder = demo.folder
    saved = section(demo.out, "Saved in")
    assert f"Saved in {folder}" in demo.out
    names = {p.name for p in folder.iterdir()}
    assert {
        "card-1-before-approval.json",
        "card-1-after-approval.json",
        "home-admin.json",
        "home-booker.json",
        "email-approved.eml",
        "email-approved.ics",
        "change-form.json",
        "card-3-changed.json",
        "dm-changed.json",
        "email-changed.eml",
        "email-changed.ics",
        "series-preview.json",
        "series-sent.json",
        "card-series-before-approval.json",
        "card-series-after-approval.json",
        "dm-series-approved.json",
        "email-series-approved.eml",
        "email-series-approved.ics",
        "demo.db",
    } <= names
    assert all(name in saved for name in names - {"demo.db"})

    before = json.loads((folder / "card-1-before-approval.json").read_text(encoding="utf-8"))
    after = json.loads((folder / "card-1-after-approval.json").read_text(encoding="utf-8"))
    assert '"Approve"' in json.dumps(before) and '"Approve"' not in json.dumps(after)
    for home in ("home-admin.json", "home-booker.json"):
        view = json.loads((folder / home).read_text(encoding="utf-8"))
        assert view["type"] == "home" and view["blocks"]

    message = email.message_from_bytes(
        (folder / "email-approved.eml").read_bytes(), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)
    assert str(message["To"]) == "Minji <minji@example.com>"
    assert str(message["Subject"]).startswith("[승인됨]")
    invite = Calendar.from_ical((folder / "email-approved.ics").read_bytes())
    assert str(invite["METHOD"]) == "REQUEST"
    [event] = invite.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Design review"
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    assert Calendar.from_ical(data).walk("VEVENT")[0]["UID"] == event["UID"]

    # the printed line that opens the kept database works as printed
    [line] = [x for x in demo.out.splitlines() if "bookings list" in x]
    url = re.search(r"DATABASE_URL=(\S+)", line)
    assert url is not None and url.group(1) == f"sqlite:///{folder / 'demo.db'}"
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "bookings", "list"],
        cwd=folder,
        env={**demo.env, "DATABASE_URL": url.group(1)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "APPROVED" in listed.stdout and "Planning" in listed.stdout


def _blocks(folder: Path, name: str) -> str:
    """A kept view's or message's JSON, parsed, with its blocks, as one string to search."""
    saved = json.loads((folder / name).read_text(encoding="utf-8"))
    assert saved["blocks"]
    return json.dumps(saved, ensure_ascii=False)


def _email(folder: Path, name: str) -> tuple[EmailMessage, Calendar]:
    message = email.message_from_bytes(
        (folder / f"{name}.eml").read_bytes(), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)
    assert str(message["To"]) == "Minji <minji@example.com>"
    return message, Calendar.from_ical((folder / f"{name}.ics").read_bytes())


def test_the_demo_keeps_the_change_and_the_series(demo: Demo) -> None:
    folder = demo.folder
    form = json.loads((folder / "change-form.json").read_text(encoding="utf-8"))
    assert form["type"] == "modal" and '"initial_time": "16:00"' in json.dumps(form)
    assert "Planning" in _blocks(folder, "card-3-changed.json")
    assert "변경 전" in _blocks(folder, "dm-changed.json")
    message, invite = _email(folder, "email-changed")
    assert str(message["Subject"]).startswith("[변경됨]")
    [moved] = invite.walk("VEVENT")
    assert str(moved["UID"]).startswith("booking-3-")
    assert int(moved["SEQUENCE"]) > 0

    preview = _blocks(folder, "series-preview.json")
    assert "<@U0JAE>" in preview and "빈 날짜 3개 예약" in preview
    assert "날짜 3개 요청됨" in _blocks(folder, "series-sent.json")
    assert "approve_series" in _blocks(folder, "card-series-before-approval.json")
    assert "approve_series" not in _blocks(folder, "card-series-after-approval.json")
    assert "반복 예약이 승인되었습니다" in _blocks(folder, "dm-series-approved.json")
    message, invite = _email(folder, "email-series-approved")
    assert str(message["Subject"]).startswith("[승인됨]")
    [master] = invite.walk("VEVENT")
    assert str(master["UID"]).startswith("series-")
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["COUNT"] == [4]
    assert "EXDATE" in master  # the week Jae holds
