"""Logging for the app and the worker: one format for both, quiet libraries, JSON on request.

APScheduler logs every job run at INFO (28 lines a minute when idle), Alembic logs its context
on every revision read (two lines per ``/readyz``) and slack_sdk every retry; none of it says
anything an operator acts on, so they stay at WARNING unless LOG_LEVEL=DEBUG asks for everything.
APScheduler's warning that a run was skipped because the previous one still runs is dropped too:
every job has ``max_instances=1`` so that a slow pass (a delivery poll under load) makes the next
one unnecessary, which is the design, not a problem.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from bot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("apscheduler", "alembic", "slack_sdk")


def _not_slack_sdks_own_send_error(record: logging.LogRecord) -> bool:
    """slack_sdk logs every failed request at ERROR and then raises it; the caller reports the
    exception (the dispatcher's delivery log, Bolt's error handler, one start-up line), so this
    line would only say it twice."""
    return not record.getMessage().startswith("Failed to send a request to Slack API server")


def _not_a_skipped_overlap(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: what log shippers parse without a grok pattern."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(settings: Settings) -> None:
    """Set up the root logger on stderr for a long-running process (web or worker)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    quiet = logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
    sdk = logging.getLogger("slack_sdk.web.base_client")
    if _not_slack_sdks_own_send_error not in sdk.filters:
        sdk.addFilter(_not_slack_sdks_own_send_error)
    jobs = logging.getLogger("apscheduler.scheduler")
    if _not_a_skipped_overlap not in jobs.filters:
        jobs.addFilter(_not_a_skipped_overlap)
