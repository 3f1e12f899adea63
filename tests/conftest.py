"""Shared fixtures: databases (SQLite and PostgreSQL, schema made by Alembic), clock, container.

PostgreSQL comes from ``TEST_DATABASE_URL`` (for example
``postgresql://postgres@127.0.0.1:5432/test``). Each test session creates its own database next to
it and drops it afterwards (and creates the database the URL names first, if a fresh server
lacks it). Without the variable, or when the server is unreachable or refuses the login (each
said in one line), the PostgreSQL cases skip, unless ``REQUIRE_POSTGRES=1`` (set by ``.ci/run``),
which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.adapters import migrate, orm
from bot.adapters.db import make_engine
from bot.bootstrap import Container, bootstrap
from bot.config import Settings

ADMIN = "UADMIN"
BACKENDS = ["sqlite", "postgres"]

# Hypothesis: no deadline anywhere (the machine is shared: a slow example is no failure). In CI
# (``CI=true``, as .ci/run is run) fewer examples, the same ones every run, so a failure there
# repeats on any machine; elsewhere more, random, and a failing one is kept in .hypothesis/ and
# replayed first next time. HYPOTHESIS_PROFILE chooses one by name.
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


def _require_postgres() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


class FixedClock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))


class PostgresUnusable(Exception):
    """Why the PostgreSQL tests cannot run, in one line that says what to do."""


def _maintenance_engine(url: URL) -> Engine:
    """An AUTOCOMMIT engine on the server of ``url`` for CREATE/DROP DATABASE.

    A fresh server has only the ``postgres`` database: when the one named in the URL is
    missing, it is created from there. A server that does not answer and one that answers "no"
    need different fixes, so they get different messages.
    """
    where = url.render_as_string(hide_password=True)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        engine.connect().close()
        return engine
    except OperationalError as exc:
        engine.dispose()
        said = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        # libpq reports connection-time errors as text only: FATAL means the server answered.
        answered = "FATAL:" in said
        said = said.split("FATAL:", 1)[-1].strip() if answered else said
        if said == f'database "{url.database}" does not exist' and url.database != "postgres":
            maintenance = _maintenance_engine(url.set(database="postgres"))
            with maintenance.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            maintenance.dispose()
            return _maintenance_engine(url)
        if not answered:
            raise PostgresUnusable(
                f"PostgreSQL at {where} is unreachable ({said}): start the server, or set "
                "TEST_DATABASE_URL to one that runs"
            ) from None
        raise PostgresUnusable(
            f"PostgreSQL at {where} refused the connection ({said}): check the user, password "
            "and database in TEST_DATABASE_URL"
        ) from None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        if _require_postgres():
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    admin_url = make_url(Settings(_env_file=None, database_url=base).database_url)
    name = f"roombot_test_{uuid.uuid4().hex[:12]}"
    unusable: str | None = None
    try:
        admin = _maintenance_engine(admin_url)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except PostgresUnusable as exc:
        unusable = str(exc)
    if unusable is not None:
        if _require_postgres():
            pytest.fail(f"{unusable} (REQUIRE_POSTGRES=1 makes this a failure)", pytrace=False)
        pytest.skip(unusable)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "roombot.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close folds the WAL back into the file
    return path


def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in orm.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database; parametrised over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "roombot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "admin_user_ids": ADMIN,
        "approvals_channel": "CAPPROVALS",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def container(engine: Engine, database_url: str, clock: FixedClock) -> Iterator[Container]:
    orm.start_mappers()
    container = bootstrap(make_settings(database_url), engine=engine, clock=clock)
    yield container


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per skip reason, with how many tests it skipped (``-ra`` printed one line per
    test location: some 70 lines saying the same thing when PostgreSQL is not there)."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skipped", sep="-")
        for reason, count in reasons.most_common():
            terminalreporter.line(f"{count} skipped: {reason}")
