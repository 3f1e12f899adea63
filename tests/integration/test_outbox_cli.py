"""``python -m bot outbox``: the delivery log and retrying dead rows, from a shell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.notifications.outbox import OutboxStore
from tests.integration.helpers import outbox
from tests.integration.test_outbox import add_rows


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_recent_shows_the_delivery_log_newest_first(cli, capsys, engine: Engine) -> None:
    now = datetime.now(UTC)
    ids = add_rows(engine, 3, now, kind="approved")
    store = OutboxStore(engine)
    store.claim(now, 10, 60)
    store.mark_sent(ids[0], now, duration_ms=42)
    store.mark_failed(ids[1], "ConnectionRefusedError: refused", now + timedelta(seconds=1), None)
    store.mark_skipped(
        ids[2], "U0002 has no email address in Slack", now=now + timedelta(seconds=2)
    )

    code, out, _ = cli("outbox", "--recent", "10", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "AT", "ROW", "CHANNEL", "RECIPIENT", "KIND", "TRY", "OUTCOME", "MS", "ERROR"
    ]  # fmt: skip
    assert [line.split()[3] for line in lines[1:]] == ["dm"] * 3
    assert [line.split()[7] for line in lines[1:]] == ["skipped", "dead", "sent"]
    assert "42" in lines[3] and "approved" in lines[3]
    code, out, _ = cli("outbox", "--recent", "1", capsys=capsys)
    assert len(out.splitlines()) == 2


def test_recent_on_an_empty_log_says_so(cli, capsys) -> None:
    code, out, _ = cli("outbox", "--recent", capsys=capsys)
    assert code == 0 and out.strip() == "nothing delivered or attempted yet"


def test_retry_dead_gives_dead_rows_new_attempts(cli, capsys, engine: Engine) -> None:
    now = datetime.now(UTC)
    ids = add_rows(engine, 2, now)
    store = OutboxStore(engine)
    store.claim(now, 10, 60)
    store.mark_failed(ids[0], "gave up", now, None)
    store.mark_sent(ids[1], now)

    code, out, _ = cli("outbox", capsys=capsys)
    assert code == 0 and "dead" in out and "gave up" in out and "retry-dead" in out
    code, out, _ = cli("outbox", "retry-dead", capsys=capsys)
    assert code == 0 and out.strip() == "1 dead row(s) queued for delivery again"
    stored = {r["id"]: r for r in outbox(engine)}
    assert (stored[ids[0]]["status"], stored[ids[0]]["attempts"]) == ("pending", 0)
    assert stored[ids[1]]["status"] == "sent"
    code, out, _ = cli("outbox", "retry-dead", capsys=capsys)
    assert out.strip() == "no dead rows"
