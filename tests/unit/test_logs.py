"""Logging of the web and the worker (bot.logs): timestamped text or JSON lines, quiet libraries."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot import logs
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in logs.CHATTY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in chatty.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.parametrize(("level", "libraries"), [("INFO", "WARNING"), ("DEBUG", "DEBUG")])
def test_scheduler_and_migration_libraries_stay_at_warning_unless_debug(
    level: str, libraries: str
) -> None:
    logs.configure(make_settings("sqlite://", log_level=level))
    for name in ("apscheduler.scheduler", "apscheduler.executors.default", "alembic.runtime"):
        assert logging.getLevelName(logging.getLogger(name).getEffectiveLevel()) == libraries


def test_text_lines_start_with_a_timestamp(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(make_settings("sqlite://"))
    logging.getLogger("roombot").info("serving %s", "room 102")
    logging.getLogger("apscheduler.executors.default").info("Running job")
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO roombot: serving room 102", line
    )


def test_a_job_run_skipped_because_the_last_one_still_runs_is_not_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under load a 200 ms delivery poll can outlast its interval: skipping the next is the point
    of max_instances=1, while the scheduler's other warnings still show."""
    logs.configure(make_settings("sqlite://"))
    jobs = logging.getLogger("apscheduler.scheduler")
    jobs.warning(
        'Execution of job "deliver due outbox rows (trigger: interval[0:00:00.200000], next run at:'
        ' 2026-12-02 10:00:00 UTC)" skipped: maximum number of running instances reached (1)'
    )
    jobs.warning("Scheduler found no jobstore")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("Scheduler found no jobstore")


def test_log_format_json_writes_one_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(make_settings("sqlite://", log_format="json"))
    logging.getLogger("roombot").warning("room %s is full", "102")
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("roombot.worker").exception("delivery failed")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first.keys() == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"], first["message"]) == (
        "WARNING",
        "roombot",
        "room 102 is full",
    )
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError: bad" in second["exception"]
