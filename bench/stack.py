"""The system under test and its neighbours, each in a process of its own, on loopback only.

- *Peers* (one process): the fake Slack Web API of the tests, an aiosmtpd mail sink, and an SMTP
  server that accepts connections and never answers. Their own process, because a fake that
  shares the app's GIL would slow the app down and make its own answers late.
- *The app* (``bench/serve_app.py``): the production stack (bootstrap, Bolt listeners, waitress,
  outbox dispatcher and scheduler running), one process per configuration.
- *The baseline* (``bench/serve_bare.py``): a bare Bolt app whose listeners only ``ack()``, on the
  same WSGI wrapper and waitress server with the same thread count.

The runner seeds the database (rooms, pending bookings to approve) through the message bus before
the app starts, and reads the app's RSS from ``/proc``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, create_engine, delete, func, or_, select, text
from sqlalchemy.engine import make_url

from bot.views import ids

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench"
APPROVALS = "CBENCHAPPROVALS"
ADMIN = "UBENCHADMIN"
BOOKERS = tuple(f"UBENCH{n:02d}" for n in range(20))
ROOM_COUNT = 50
ROOM_IDS = tuple(f"B{n:02d}" for n in range(ROOM_COUNT))
#: Booking slots are half hours from 08:00 to 20:00 (UTC), in every room, from the day after
#: tomorrow on: far from "the start is in the past" and within the 90-day horizon.
SLOTS_PER_DAY = 24
FIRST_DAY_OFFSET = 2
LAST_DAY_OFFSET = 85
BOOK_VIEW = {"callback_id": "book_modal", "private_metadata": '{"tz": "UTC"}'}
MESSAGE_TS = "1700000000.000100"
#: Web threads of both servers: the production default (``WEB_THREADS``).
WEB_THREADS = 16


# -- slots ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    room: str
    day: date
    start: str
    end: str

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, clock_time.fromisoformat(self.start), tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.day, clock_time.fromisoformat(self.end), tzinfo=UTC)


class Slots:
    """Hands out booking slots that never overlap each other, so every request commits."""

    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()
        self.used = 0

    @property
    def capacity(self) -> int:
        return (LAST_DAY_OFFSET - FIRST_DAY_OFFSET) * SLOTS_PER_DAY * ROOM_COUNT

    def take(self, count: int) -> list[Slot]:
        if self.used + count > self.capacity:
            raise RuntimeError(f"out of bench slots ({self.capacity})")
        slots = [self._slot(i) for i in range(self.used, self.used + count)]
        self.used += count
        return slots

    def _slot(self, index: int) -> Slot:
        day, within = divmod(index, SLOTS_PER_DAY * ROOM_COUNT)
        half_hour, room = divmod(within, ROOM_COUNT)
        start = datetime(2000, 1, 1, 8) + timedelta(minutes=30 * half_hour)
        end = start + timedelta(minutes=30)
        return Slot(
            ROOM_IDS[room],
            self.today + timedelta(days=FIRST_DAY_OFFSET + day),
            f"{start:%H:%M}",
            f"{end:%H:%M}",
        )


# -- databases -----------------------------------------------------------------------------------


def approve_click(booking: int, slack_url: str) -> Any:
    """The admin's Approve click on ``booking``'s approval card, as a load generator request."""
    from bench import loadgen

    return loadgen.click_body(
        ADMIN,
        ids.APPROVE,
        str(booking),
        channel=APPROVALS,
        message_ts=MESSAGE_TS,
        response_base=slack_url,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlalchemy_url(url: str) -> str:
    """The URL as the app reads it (``postgresql://`` becomes ``postgresql+psycopg://``)."""
    from bot.config import Settings

    return Settings(_env_file=None, database_url=url).database_url


def migrated(url: str) -> str:
    """Create the schema with Alembic (the app's only way) and return the URL."""
    from bot.adapters import migrate
    from bot.adapters.db import make_engine

    engine = make_engine(sqlalchemy_url(url))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def throwaway_postgres(base_url: str, prefix: str = "roombot_bench_") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database next to ``base_url``, dropped afterwards."""
    admin_url = make_url(sqlalchemy_url(base_url))
    name = f"{prefix}{os.urandom(6).hex()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        try:
            yield migrated(url)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_reachable(base_url: str) -> str | None:
    """None if the server answers, else why not (one line)."""
    engine = create_engine(sqlalchemy_url(base_url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        engine.dispose()
    return None


def _settings(url: str, **extra: Any) -> Any:
    from bot.config import Settings

    return Settings(
        _env_file=None,
        database_url=url,
        admin_user_ids=ADMIN,
        approvals_channel=APPROVALS,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        **extra,
    )


def seed(url: str, slots: Sequence[Slot] = ()) -> list[int]:
    """Add the bench rooms (if missing) and a pending booking for each slot; return their ids.

    This goes through the message bus, as the CLI does, so the read model and approval records
    are right. The notifications these requests queue are then deleted: they belong to the set-up,
    and the dispatcher should start the measurement idle.
    """
    from bot.adapters import orm
    from bot.bootstrap import bootstrap
    from bot.domain import commands

    container = bootstrap(_settings(sqlalchemy_url(url)))
    try:
        existing = {room.id for room in container.queries.rooms(include_inactive=True)}
        for n, room in enumerate(ROOM_IDS):
            if room not in existing:
                container.bus.handle(
                    commands.AddRoom(room, f"Bench room {n}", 4 + n % 10, by="cli")
                )
        with container.engine.connect() as conn:
            mark = conn.execute(select(func.coalesce(func.max(orm.outbox.c.id), 0))).scalar_one()
        ids = [
            int(
                container.bus.handle(
                    commands.RequestBooking(
                        slot.room,
                        slot.starts_at,
                        slot.ends_at,
                        by=BOOKERS[n % len(BOOKERS)],
                        title="seeded",
                    )
                )
            )
            for n, slot in enumerate(slots)
        ]
        with container.engine.begin() as conn:
            conn.execute(delete(orm.outbox).where(orm.outbox.c.id > mark))
        return ids
    finally:
        container.close()


def count_status(url: str, ids: Sequence[int], status: str) -> int:
    """How many of the bookings ``ids`` have ``status`` (checks that clicks really approved)."""
    from bot.adapters import orm

    engine = create_engine(sqlalchemy_url(url))
    try:
        b = orm.bookings.c
        with engine.connect() as conn:
            found = 0
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                found += conn.execute(
                    select(func.count())
                    .select_from(orm.bookings)
                    .where(b.id.in_(chunk), b.status == status)
                ).scalar_one()
            return int(found)
    finally:
        engine.dispose()


class OutboxWatch:
    """Reads the outbox of the app's database, to wait until the dispatcher has caught up."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(sqlalchemy_url(url))

    def busy(self, channels: Sequence[str] | None = None) -> int:
        """Rows due now or being sent (optionally only of some channels)."""
        from bot.adapters import orm

        o = orm.outbox.c
        query = (
            select(func.count())
            .select_from(orm.outbox)
            .where(
                or_(
                    o.status == "sending",
                    (o.status == "pending") & (o.next_attempt_at <= datetime.now(UTC)),
                )
            )
        )
        if channels is not None:
            query = query.where(o.channel.in_(list(channels)))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts(self) -> dict[str, int]:
        from bot.adapters import orm

        o = orm.outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(o.status, func.count()).group_by(o.status))
            return {status: int(count) for status, count in rows}

    def email_outcomes(self) -> dict[str, int]:
        """Email rows by status; a pending row that was already tried counts as ``retrying``."""
        from bot.adapters import orm

        o = orm.outbox.c
        state = case(((o.status == "pending") & (o.attempts > 0), "retrying"), else_=o.status)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(state, func.count()).where(o.channel == "email").group_by(state)
            )
            return {str(status): int(count) for status, count in rows}

    def delays(self, channel: str) -> tuple[list[float], int]:
        """Seconds from queueing to sending for every row of ``channel`` (rows not sent yet count
        until now, so a stalled channel shows), and how many were sent."""
        from bot.adapters import orm

        o = orm.outbox.c
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(o.created_at, o.sent_at, o.status).where(o.channel == channel)
            ).all()
        waited = [((r.sent_at or now) - r.created_at).total_seconds() for r in rows]
        return waited, sum(1 for r in rows if r.status == "sent")

    def wait_idle(
        self, timeout: float, channels: Sequence[str] | None = None, poll: float = 0.25
    ) -> tuple[bool, float]:
        """Wait (at most ``timeout`` s) until nothing is due; return (idle, seconds waited)."""
        started = time.monotonic()
        while True:
            if self.busy(channels) == 0:
                return True, time.monotonic() - started
            if time.monotonic() - started > timeout:
                return False, time.monotonic() - started
            time.sleep(poll)

    def close(self) -> None:
        self.engine.dispose()


# -- peers: fake Slack, SMTP sink, hanging SMTP ---------------------------------------------------


@dataclass(frozen=True)
class PeerPorts:
    slack_url: str
    smtp_port: int
    hanging_port: int
    refusing_port: int


def write_port(path: Path, port: int) -> None:
    """Write the port atomically, so the runner never reads half a number."""
    partial = path.with_suffix(".partial")
    partial.write_text(str(port))
    partial.replace(path)


#: What a realistic Slack answers in (the bench's figure for one Web API call).
SLACK_CALL_SECONDS = 0.15


def _email_subject(content: bytes) -> str:
    from email.parser import BytesHeaderParser
    from email.policy import default

    return str(BytesHeaderParser(policy=default).parsebytes(content).get("Subject", ""))


def serve_peers(argv: Sequence[str] = ()) -> None:
    """The peers process (``python -m bench.stack [--realistic USER,USER...]``): start everything,
    print the ports as one JSON line, then answer ``stats`` and ``events`` lines on stdin until
    ``stop`` or end of input.

    By default the fake Slack API is the lenient one (instant, never refusing). ``--realistic``
    runs the strict fake of the tests as a workspace would behave: 150 ms a call, Slack's rate
    limits with 429 + Retry-After, the bot a member of the approvals channel only, the given
    users known. Then every ``chat.postMessage``/``chat.update`` the fake answered and every
    email the sink received is kept as an event (with ``time.monotonic()``, the same clock in
    every process of this machine) until the runner reads them with ``events``.
    """
    from http.server import ThreadingHTTPServer

    from bot.demo.fake_slack import FakeSlackApi
    from bot.demo.loopback import LoopbackSmtp, unused_port

    # socketserver's default listen backlog (5) drops connection attempts when the app's
    # listener threads and dispatcher call at once (slack_sdk opens a connection per call); a
    # dropped SYN costs the caller a 1 s retransmit, which would be the fake's fault, not the app's.
    ThreadingHTTPServer.request_queue_size = 128
    realistic = "--realistic" in argv
    users = list(argv[list(argv).index("--realistic") + 1].split(",")) if realistic else []
    events: list[dict[str, Any]] = []
    events_lock = threading.Lock()
    base: type[FakeSlackApi] = FakeSlackApi
    if realistic:
        from tests.fakes.slack_api import StrictSlackApi

        base = StrictSlackApi

    class LeanFake(base):  # type: ignore[valid-type,misc]
        """The fake, minus its call log: a long run would keep every call in memory."""

        def __init__(self) -> None:
            if realistic:
                super().__init__(token=TOKEN, channels=(APPROVALS,), latency=SLACK_CALL_SECONDS)
            else:
                super().__init__()
            self.counts: Counter[str] = Counter()

        def _record(self, call: Any) -> None:
            self.counts[call.method] += 1
            if call.status == 429:
                self.counts["429"] += 1
            if realistic and call.method in ("chat.postMessage", "chat.update"):
                event = {
                    "kind": call.method,
                    # the message shows once Slack has answered
                    "at": call.at - self._skew + SLACK_CALL_SECONDS,
                    "status": call.status,
                    "ok": bool(call.response.get("ok")),
                    "channel": str(call.params.get("channel", "")),
                    "text": str(call.params.get("text", "")),
                    "blocks": json.dumps(call.params.get("blocks", [])),
                    "ts": str(call.response.get("ts", call.params.get("ts", ""))),
                }
                with events_lock:
                    events.append(event)

        def _record_response(self, post: Any) -> None:
            self.counts["response_url"] += 1

    class CountingSink:
        def __init__(self) -> None:
            self.received = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            self.received += 1
            if realistic:
                event = {
                    "kind": "email",
                    "at": time.monotonic(),
                    "to": ",".join(envelope.rcpt_tos),
                    "text": _email_subject(envelope.content),
                }
                with events_lock:
                    events.append(event)
            return "250 OK"

    fake = LeanFake().start()
    for user in (*BOOKERS, ADMIN, *users):
        fake.add_user(user, tz="UTC", email=f"{user.lower()}@example.com", name=user.title())
    sink = CountingSink()
    controller = LoopbackSmtp(sink, hostname="127.0.0.1", port=0)
    controller.start()
    smtp_port = controller.port

    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(64)
    held: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                client, _ = hanging.accept()
            except OSError:
                return
            held.append(client)
            if len(held) > 1000:  # bounded: the oldest silent connection goes
                held.pop(0).close()

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    ports = PeerPorts(fake.url, smtp_port, hanging.getsockname()[1], unused_port())
    print(json.dumps(dataclasses.asdict(ports)), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                stats = {"slack": dict(fake.counts), "emails": sink.received}
                print(json.dumps(stats), flush=True)
            elif command == "refill":  # a quiet minute between two measurements
                if realistic:
                    fake.refill_limits()
                print("{}", flush=True)
            elif command == "trigger":  # a trigger id the strict fake takes for 3 s
                print(json.dumps(fake.issue_trigger_id()), flush=True)
            elif command == "clear":  # a fresh database meets a channel without its cards
                if realistic:
                    fake.clear_messages()
                print("{}", flush=True)
            elif command == "events":
                with events_lock:
                    taken = list(events)
                    events.clear()
                print(json.dumps(taken), flush=True)
            else:
                break
    finally:
        hanging.close()
        for client in held:
            client.close()
        controller.stop()
        fake.stop()


class Peers:
    """The peers process, started and stopped by the runner."""

    def __init__(self, work: Path, *, realistic_users: Sequence[str] = ()) -> None:
        """``realistic_users`` set: the realistic Slack of :func:`serve_peers`, knowing them."""
        self.log_path = work / "peers.log"
        self._log = self.log_path.open("ab")
        extra = ["--realistic", ",".join(realistic_users)] if realistic_users else []
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.stack", *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self._process.stdout is not None
        line = _readline(self._process.stdout, 60)
        if not line:
            self.stop()
            raise RuntimeError(
                f"the fake Slack API and SMTP servers did not start; see {self.log_path}"
            )
        self.ports = PeerPorts(**json.loads(line))

    def stats(self) -> dict[str, Any]:
        """Calls the fake Slack API received, per method (``429``: rate-limited answers), and
        emails the sink accepted."""
        found: dict[str, Any] = self._ask("stats") or {}
        return found

    def events(self) -> list[dict[str, Any]]:
        """Messages posted or updated and emails received since the last call (realistic)."""
        found: list[dict[str, Any]] = self._ask("events") or []
        return found

    def refill(self) -> None:
        """Refill the realistic fake's rate-limit windows, so one burst does not start where
        the previous one left Slack's limits."""
        self._ask("refill")

    def trigger_id(self) -> str:
        """A fresh trigger id of the fake's (the realistic one refuses others), usable once
        within 3 s."""
        found: str = self._ask("trigger")
        return found

    def clear(self) -> None:
        """Empty the realistic fake's channels: booking ids start again with each fresh
        database, and a card of an earlier run's booking #5 is not this run's."""
        self._ask("clear")

    def _ask(self, command: str) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        line = _readline(self._process.stdout, 10)
        return json.loads(line) if line else None

    def stop(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                assert self._process.stdin is not None
                self._process.stdin.write("stop\n")
                self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._log.close()

    def __enter__(self) -> Peers:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _readline(stream: Any, timeout: float) -> str:
    """One line from a child's stdout, or "" after ``timeout`` seconds."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0].strip() if box else ""


# -- servers under test --------------------------------------------------------------------------


def _app_settings() -> set[str]:
    """The environment variables roombot's Settings read (SLACK_BOT_TOKEN, OUTBOX_*, ...)."""
    from bot.config import Settings

    return {name.upper() for name in Settings.model_fields}


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the process finishes what it is doing), SIGKILL after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _child_env(settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: the bench decides every roombot setting, whatever
    the shell exported; ``settings`` are the ones it decides by environment variable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in _app_settings() & set(env):
        env.pop(key)
    return {**env, **(settings or {})}


class Worker:
    """``python -m bot worker``, as an operator runs it beside web processes: it delivers the
    outbox and runs the periodic jobs; ready once it says so on stdout."""

    def __init__(
        self, work: Path, name: str, *, database_url: str, peers: PeerPorts, smtp: str = "healthy"
    ) -> None:
        self.name = name
        self.log_path = work / f"{name}.log"
        self._log = self.log_path.open("ab")
        settings = {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_API_URL": peers.slack_url,
            "APPROVALS_CHANNEL": APPROVALS,
            "ADMIN_USER_IDS": ADMIN,
            "LOG_LEVEL": "INFO",
        }
        address = _smtp_address(peers, smtp)
        if address != "off":
            host, _, port = address.rpartition(":")
            settings |= {
                "SMTP_HOST": host,
                "SMTP_PORT": port,
                "SMTP_STARTTLS": "false",
                "MAIL_FROM": "roombot@example.com",
            }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=work,  # no .env there: the environment is the whole configuration
            env=_child_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> Worker:
        deadline = time.monotonic() + timeout
        while "worker running" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not start; see {self.log_path}:\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        _terminate(self.process)
        self._log.close()


class Server:
    """A server process (``python -m bench.serve_app`` or ``bench.serve_bare``) on loopback.

    It writes its port to a file once listening; we then wait for ``/healthz``.
    """

    def __init__(
        self, module: str, args: Sequence[str], work: Path, name: str, *, wait: bool = True
    ) -> None:
        self.name = name
        self.port_file = work / f"{name}.port"
        self.port_file.unlink(missing_ok=True)
        self.log_path = work / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--port-file", str(self.port_file), *args],
            cwd=ROOT,
            env=_child_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.port = 0
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> Server:
        """Block until the server answers ``/healthz`` (start several, then wait for each)."""
        try:
            self.port = self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_ready(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n"
                    + self.log_path.read_text()[-2000:]
                )
            if self.port_file.exists() and (content := self.port_file.read_text().strip()):
                port = int(content)
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return port
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} did not become healthy in {timeout} s; see {self.log_path}"
        )

    def rss_kib(self) -> int:
        """Resident set size of the server process, from ``/proc/<pid>/status``."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        _terminate(self.process)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _smtp_address(peers: PeerPorts, smtp: str) -> str:
    """``healthy``, ``refusing``, ``hanging`` or ``off`` as HOST:PORT (or ``off``)."""
    return {
        "healthy": f"127.0.0.1:{peers.smtp_port}",
        "refusing": f"127.0.0.1:{peers.refusing_port}",
        "hanging": f"127.0.0.1:{peers.hanging_port}",
        "off": "off",
    }[smtp]


def start_app(
    work: Path,
    name: str,
    *,
    database_url: str,
    peers: PeerPorts,
    smtp: str = "healthy",
    threads: int = WEB_THREADS,
    extra: Sequence[str] = (),
    wait: bool = True,
) -> Server:
    """The roombot stack; ``smtp`` is ``healthy``, ``refusing``, ``hanging`` or ``off``;
    ``extra=["--no-scheduler"]`` makes it a web process only (``RUN_SCHEDULER=false``).

    ``wait=False`` returns at once; call :meth:`Server.wait_ready` before using it."""
    smtp_arg = _smtp_address(peers, smtp)
    return Server(
        "bench.serve_app",
        [
            "--database-url",
            database_url,
            "--slack-url",
            peers.slack_url,
            "--smtp",
            smtp_arg,
            "--threads",
            str(threads),
            *extra,
        ],
        work,
        name,
        wait=wait,
    )


def start_bare(
    work: Path,
    name: str = "bare",
    *,
    peers: PeerPorts,
    threads: int = WEB_THREADS,
    open_modal: bool = False,
) -> Server:
    """The baseline: a bare Bolt app that only acks, on the same server stack (with
    ``open_modal``, its ``/book`` also opens a prebuilt modal: the Web API call alone)."""
    return Server(
        "bench.serve_bare",
        ["--slack-url", peers.slack_url, "--threads", str(threads)]
        + (["--open-modal"] if open_modal else []),
        work,
        name,
    )


if __name__ == "__main__":
    serve_peers(sys.argv[1:])
