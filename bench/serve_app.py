"""The app under test, in its own process: what ``python app.py`` runs, on 127.0.0.1.

``app.run`` binds 0.0.0.0 on a fixed PORT; the bench must stay on loopback and must not race for
a port, so this mirrors ``app.run`` step by step (bootstrap, Bolt listeners, outbox dispatcher
and scheduler started, waitress with ``WEB_THREADS``) and binds 127.0.0.1 on a free port, which
it writes to ``--port-file`` once it listens.

    python -m bench.serve_app --port-file F --database-url URL --slack-url URL --smtp HOST:PORT|off

``--no-scheduler`` is ``RUN_SCHEDULER=false``: a web process only, for the production split
where ``python -m bot worker`` delivers the notifications.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from bench.stack import ADMIN, APPROVALS, SECRET, TOKEN, write_port


def trace_allocations(path: Path) -> None:
    """Start tracemalloc; on SIGUSR1 dump a snapshot (compare two with ``Snapshot.compare_to``)."""
    import itertools
    import tracemalloc

    tracemalloc.start(6)
    numbers = itertools.count(1)

    def dump(signum: int, _frame: FrameType | None) -> None:
        tracemalloc.take_snapshot().dump(f"{path}.{next(numbers)}")

    signal.signal(signal.SIGUSR1, dump)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.serve_app")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--smtp", default="off", help="HOST:PORT, or off")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--no-scheduler", action="store_true", help="RUN_SCHEDULER=false: web requests only"
    )
    parser.add_argument(
        "--tracemalloc",
        type=Path,
        help="trace Python allocations; each SIGUSR1 writes a snapshot to PATH.<n> (leak hunts)",
    )
    args = parser.parse_args(argv)

    from bot.adapters import migrate
    from bot.adapters.http import HttpServer
    from bot.bootstrap import bootstrap, build_web
    from bot.config import Settings

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    smtp: dict[str, Any] = {}
    if args.smtp != "off":
        host, _, port = args.smtp.rpartition(":")
        smtp = {
            "smtp_host": host,
            "smtp_port": int(port),
            "smtp_starttls": False,
            "mail_from": "roombot@example.com",
        }
    settings = Settings(
        _env_file=None,
        database_url=args.database_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=args.slack_url,
        approvals_channel=APPROVALS,
        admin_user_ids=ADMIN,
        web_threads=args.threads,
        log_level=args.log_level,
        run_scheduler=not args.no_scheduler,
        **smtp,
    )
    runtime = bootstrap(settings, slack=True)
    if not migrate.is_up_to_date(runtime.engine):
        print("bench.serve_app: the database is not migrated", file=sys.stderr)
        return 2
    if settings.run_scheduler:
        runtime.start()
    server = HttpServer(
        build_web(runtime),
        host="127.0.0.1",
        port=0,
        threads=settings.web_threads,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit  # leaves waitress's loop, which finishes requests in flight

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.tracemalloc is not None:
        trace_allocations(args.tracemalloc)
    write_port(args.port_file, server.port)
    try:
        server.serve_forever()
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
