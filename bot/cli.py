"""``python -m bot``: the operator's shell interface. Errors are one line and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.adapters import migrate
from bot.adapters.db import DatabaseUnusable, database_problem
from bot.bootstrap import Container, bootstrap
from bot.config import SettingsError, load_settings
from bot.domain import commands
from bot.domain.errors import BookingError
from bot.notifications.outbox import OutboxStore
from bot.services.ports import RoomRow

OPERATOR = "cli"


class CliError(Exception):
    pass


def _container() -> Container:
    container = bootstrap(load_settings())
    problem = migrate.schema_state(container.engine).problem()
    if problem is not None:
        raise CliError(problem)
    return container


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = load_settings()
    container = bootstrap(settings)
    before = migrate.current_revision(container.engine)
    migrate.upgrade(container.engine)
    after = migrate.current_revision(container.engine)
    print(f"database at revision {after}" + ("" if before == after else f" (was {before})"))


def _split(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v for v in value.replace(",", " ").split() if v)


def cmd_rooms_add(args: argparse.Namespace) -> None:
    container = _container()
    container.bus.handle(
        commands.AddRoom(
            args.id,
            args.name,
            args.capacity,
            by=OPERATOR,
            location=args.location or "",
            tags=_split(args.tags) or (),
            auto_approve=bool(args.auto_approve),
            auto_approve_groups=_split(args.auto_approve_groups) or (),
            approvers=_split(args.approvers) or (),
        )
    )
    print(f"added room {args.id}: {args.name} (capacity {args.capacity})")


def cmd_rooms_edit(args: argparse.Namespace) -> None:
    container = _container()
    container.bus.handle(
        commands.UpdateRoom(
            args.id,
            by=OPERATOR,
            name=args.name,
            capacity=args.capacity,
            location=args.location,
            tags=_split(args.tags),
            auto_approve=args.auto_approve,
            auto_approve_groups=_split(args.auto_approve_groups),
            approvers=_split(args.approvers),
            active=args.active,
        )
    )
    room = container.queries.room(args.id)
    assert room is not None
    print(f"room {room.id} updated: {_describe(room)}")


def _describe(room: RoomRow) -> str:
    parts = [room.name, f"capacity {room.capacity}"]
    if room.location:
        parts.append(room.location)
    if room.tags:
        parts.append("tags " + ", ".join(room.tags))
    parts.append("auto-approve" if room.auto_approve else "approval needed")
    return "; ".join(parts)


def cmd_rooms_list(args: argparse.Namespace) -> None:
    rooms = _container().queries.rooms(include_inactive=True)
    if not rooms:
        print("no rooms yet: add one with `python -m bot rooms add <id> --name ... --capacity N`")
        return
    print(
        _table(
            [
                "ID",
                "NAME",
                "CAPACITY",
                "LOCATION",
                "TAGS",
                "APPROVAL",
                "APPROVERS",
                "CHECK-IN",
                "ACTIVE",
            ],
            [
                (
                    r.id,
                    r.name,
                    r.capacity,
                    r.location,
                    ",".join(r.tags),
                    _approval(r),
                    ",".join(r.approvers),
                    f"{r.checkin_minutes} min" if r.checkin_minutes else "",
                    "yes" if r.active else "no",
                )
                for r in rooms
            ],
        )
    )


def _approval(room: RoomRow) -> str:
    if room.auto_approve:
        return "auto"
    if room.auto_approve_groups:
        return "auto for " + ",".join(room.auto_approve_groups)
    return "needed"


def cmd_rooms_remove(args: argparse.Namespace) -> None:
    _container().bus.handle(commands.DeactivateRoom(args.id, by=OPERATOR))
    print(f"room {args.id} deactivated (its bookings are kept)")


def cmd_rooms_checkin(args: argparse.Namespace) -> None:
    _container().bus.handle(commands.UpdateRoom(args.id, by=OPERATOR, checkin_minutes=args.minutes))
    if args.minutes:
        print(
            f"room {args.id}: check in within {args.minutes} minutes of the start, "
            "or the booking is released"
        )
    else:
        print(f"room {args.id}: check-in off")


def cmd_bookings_list(args: argparse.Namespace) -> None:
    tz = ZoneInfo(args.tz)
    rows = _container().queries.bookings(room_id=args.room, day=args.date, tz=tz)
    if not rows:
        print("no bookings")
        return
    print(
        _table(
            ["ID", "ROOM", "START", "END", "BOOKER", "STATUS", "TITLE"],
            [
                (
                    r.booking_id,
                    r.room_id,
                    r.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    r.ends_at.astimezone(tz).strftime("%H:%M"),
                    r.booker,
                    r.status,
                    r.title,
                )
                for r in rows
            ],
        )
    )


def cmd_outbox(args: argparse.Namespace) -> None:
    container = _container()
    store = OutboxStore(container.engine)
    if args.action == "retry-dead":
        count = store.retry_dead()
        print(f"{count} dead row(s) queued for delivery again" if count else "no dead rows")
        return
    if args.recent is not None:
        log = store.recent(args.recent)
        if not log:
            print("nothing delivered or attempted yet")
            return
        print(
            _table(
                ["AT", "ROW", "CHANNEL", "RECIPIENT", "KIND", "TRY", "OUTCOME", "MS", "ERROR"],
                [
                    (
                        d.at.strftime("%Y-%m-%d %H:%M:%S"),
                        d.outbox_id,
                        d.channel,
                        d.recipient,
                        d.kind,
                        d.attempt,
                        d.outcome,
                        d.duration_ms,
                        (d.error or "")[:80],
                    )
                    for d in log
                ],
            )
        )
        return
    counts = store.counts()
    print(_table(["STATUS", "ROWS"], sorted(counts.items())) if counts else "outbox is empty")
    dead = store.dead()
    if dead:
        print("\ndead rows (gave up after the last attempt; `outbox retry-dead` tries again):")
        print(
            _table(
                ["ID", "CHANNEL", "RECIPIENT", "ATTEMPTS", "LAST ERROR"],
                [(d.id, d.channel, d.recipient, d.attempts, d.last_error) for d in dead],
            )
        )


def cmd_worker(args: argparse.Namespace) -> None:
    """Deliver notifications and run the periodic jobs until SIGTERM or SIGINT."""
    from bot.bootstrap import bootstrap

    settings = load_settings()
    logs.configure(settings)  # the same timestamped (or JSON) lines as the web process
    runtime = bootstrap(settings, slack=True, receiving=False)
    problem = migrate.schema_state(runtime.engine).problem()
    if problem is not None:
        runtime.close()
        raise CliError(problem)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.start()
    print("worker running: delivering notifications; stop with SIGTERM or Ctrl-C", flush=True)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        runtime.close()
    print("worker stopped", flush=True)


def cmd_check(args: argparse.Namespace) -> None:
    """Check the setup against the real database, Slack and mail server; one line a problem."""
    from bot.adapters.selfcheck import problems, run_checks

    settings = load_settings()
    logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)  # each problem is said once, below
    findings = run_checks(settings)
    found = problems(findings)
    for problem in found:
        print(f"problem: {problem}")
    if found:
        raise CliError(f"{len(found)} problem(s); fix them and run `python -m bot check` again")
    print("all good: " + ", ".join(f.check for f in findings))


def cmd_demo(args: argparse.Namespace) -> None:
    """The original scenario offline: no Slack workspace, no mail server, nothing to set up."""
    from bot.demo.scenario import run

    run(args.out)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-12-01") from None


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except Exception:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IANA time zone") from None
    return value


def _capacity(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None


def _room_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    flag = "store_true" if adding else argparse.BooleanOptionalAction
    parser.add_argument("--location", help="building and floor, such as 'HQ, 3rd floor'")
    parser.add_argument("--tags", help="equipment, comma-separated: projector,video,whiteboard")
    parser.add_argument(
        "--auto-approve", action=flag, default=None, help="approve requests on creation"
    )
    parser.add_argument(
        "--auto-approve-groups",
        metavar="GROUPS",
        help="Slack user group ids (S...) whose members are approved on creation",
    )
    parser.add_argument(
        "--approvers", help="Slack user or user group ids who may decide this room's requests"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="roombot operations")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="migrate the schema to the newest revision").set_defaults(
        func=cmd_db_upgrade
    )

    rooms = sub.add_parser("rooms", help="manage rooms").add_subparsers(
        dest="action", required=True
    )
    add = rooms.add_parser("add", help="add a room")
    add.add_argument("id", help="short room id, such as 102")
    add.add_argument("--name", required=True)
    add.add_argument("--capacity", required=True, type=_capacity)
    _room_options(add, adding=True)
    add.set_defaults(func=cmd_rooms_add)
    edit = rooms.add_parser("edit", help="change a room; options not given stay as they are")
    edit.add_argument("id")
    edit.add_argument("--name")
    edit.add_argument("--capacity", type=_capacity)
    _room_options(edit, adding=False)
    edit.add_argument(
        "--active", action=argparse.BooleanOptionalAction, help="open or close it for booking"
    )
    edit.set_defaults(func=cmd_rooms_edit)
    rooms.add_parser("list", help="list rooms").set_defaults(func=cmd_rooms_list)
    remove = rooms.add_parser("remove", help="deactivate a room (keeps its history)")
    remove.add_argument("id")
    remove.set_defaults(func=cmd_rooms_remove)
    checkin = rooms.add_parser(
        "checkin", help="ask bookers to check in; unattended bookings are released"
    )
    checkin.add_argument("id")
    checkin.add_argument("minutes", type=int, help="the check-in window after the start; 0: off")
    checkin.set_defaults(func=cmd_rooms_checkin)

    bookings = sub.add_parser("bookings", help="bookings").add_subparsers(
        dest="action", required=True
    )
    listing = bookings.add_parser("list", help="list bookings")
    listing.add_argument("--room")
    listing.add_argument("--date", type=_date, help="local day, YYYY-MM-DD")
    listing.add_argument("--tz", type=_zone, default="UTC", help="time zone for --date and times")
    listing.set_defaults(func=cmd_bookings_list)

    outbox = sub.add_parser("outbox", help="notification outbox: counts by status, dead rows")
    outbox.add_argument(
        "action", nargs="?", choices=["retry-dead"], help="retry-dead: give dead rows new attempts"
    )
    outbox.add_argument(
        "--recent",
        nargs="?",
        const=20,
        type=int,
        metavar="N",
        help="show the delivery log, newest first (default 20 entries)",
    )
    outbox.set_defaults(func=cmd_outbox)

    worker = sub.add_parser("worker", help="deliver notifications and run jobs until stopped")
    worker.set_defaults(func=cmd_worker)

    check = sub.add_parser("check", help="check the setup: database, Slack tokens, channel, mail")
    check.set_defaults(func=cmd_check)

    demo = sub.add_parser("demo", help="run book/approve/deny/cancel offline and show the result")
    demo.add_argument(
        "--out",
        type=Path,
        help="folder for the demo's database, views, email and .ics (default: a new temporary one)",
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except (SettingsError, CliError, BookingError, DatabaseUnusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"error: {database_problem(exc, load_settings().database_url)}", file=sys.stderr)
        return 1
    return 0
