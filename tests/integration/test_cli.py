"""``python -m bot``: rooms and bookings from a shell, with one-line errors and non-zero exits."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.domain import commands
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "APPROVALS_CHANNEL"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_rooms_add_list_remove_without_any_slack_settings(cli, capsys) -> None:
    assert cli("db", "upgrade", capsys=capsys)[0] == 0
    code, out, _ = cli(
        "rooms", "add", "102", "--name", "Small room", "--capacity", "4", capsys=capsys
    )
    assert code == 0 and "added room 102" in out
    cli("rooms", "add", "201", "--name", "Board room", "--capacity", "12", capsys=capsys)
    code, out, _ = cli("rooms", "remove", "201", capsys=capsys)
    assert code == 0 and "deactivated" in out
    code, out, _ = cli("rooms", "list", capsys=capsys)
    lines = out.splitlines()
    header = ["ID", "NAME", "CAPACITY", "LOCATION", "TAGS", "APPROVAL", "APPROVERS", "CHECK-IN"]
    assert lines[0].split() == [*header, "ACTIVE"]
    assert lines[1].split() == ["102", "Small", "room", "4", "needed", "yes"]
    assert lines[2].split() == ["201", "Board", "room", "12", "needed", "no"]
    assert cli("rooms", "checkin", "102", "10", capsys=capsys)[0] == 0
    code, out, _ = cli("rooms", "list", capsys=capsys)
    assert out.splitlines()[1].split() == [
        "102",
        "Small",
        "room",
        "4",
        "needed",
        "10",
        "min",
        "yes",
    ]


def test_rooms_carry_location_tags_and_policy_from_the_shell(cli, capsys) -> None:
    code, out, err = cli(
        "rooms", "add", "301", "--name", "Studio", "--capacity", "8",
        "--location", "HQ 3F", "--tags", "Projector, video", "--approvers", "U0APPROVER",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = cli("rooms", "list", capsys=capsys)
    assert out.splitlines()[1].split() == [
        "301", "Studio", "8", "HQ", "3F", "projector,video", "needed", "U0APPROVER", "yes",
    ]  # fmt: skip
    code, out, err = cli(
        "rooms", "edit", "301", "--tags", "whiteboard", "--auto-approve", "--no-active",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "tags whiteboard" in out and "auto-approve" in out
    code, out, _ = cli("rooms", "list", capsys=capsys)
    row = out.splitlines()[1].split()
    assert row[5:] == ["whiteboard", "auto", "U0APPROVER", "no"]
    assert row[3:5] == ["HQ", "3F"]  # what was not given stays as it was
    code, _, err = cli("rooms", "edit", "301", "--approvers", "not-an-id", capsys=capsys)
    assert code == 1 and "not one of the Slack" in err


def test_bookings_made_through_the_bus_are_listed(cli, capsys, database_url: str) -> None:
    cli("rooms", "add", "102", "--name", "Small room", "--capacity", "4", capsys=capsys)
    container = bootstrap(make_settings(database_url))
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    booking = container.bus.handle(
        commands.RequestBooking("102", start, start + timedelta(hours=1), by="UBOB", title="1:1")
    )
    container.close()
    code, out, _ = cli("bookings", "list", "--room", "102", capsys=capsys)
    assert code == 0
    row = out.splitlines()[1].split()
    assert row[0] == str(booking) and row[1] == "102" and "PENDING" in row and row[-1] == "1:1"
    code, out, _ = cli(
        "bookings", "list", "--date", start.date().isoformat(), "--tz", "UTC", capsys=capsys
    )
    assert str(start.strftime("%H:%M")) in out
    code, out, _ = cli(
        "bookings", "list", "--date", (start + timedelta(days=1)).date().isoformat(), capsys=capsys
    )
    assert out.strip() == "no bookings"
    code, out, _ = cli("outbox", capsys=capsys)
    assert code == 0 and "pending" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("rooms", "add", "102", "--name", "A", "--capacity", "0"), "Capacity"),
        (("rooms", "remove", "999"), "There is no room '999'"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(cli, capsys, argv, message) -> None:
    code, _, err = cli(*argv, capsys=capsys)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1


def _run(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_settings_and_unmigrated_databases_give_one_clear_line(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    done = _run("rooms", "list", env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: the database has no schema yet: run `python -m bot db upgrade`"
    )
    done = _run("rooms", "list", env={**env, "MAX_BOOKING_HOURS": "lots"}, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: MAX_BOOKING_HOURS:")
    assert "Traceback" not in done.stderr
    done = _run(
        "rooms", "list", env={**env, "DATABASE_URL": "sqlite:////nonexistent/x/y.db"}, cwd=tmp_path
    )
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
