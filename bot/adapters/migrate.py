"""Schema management through Alembic, the only way the schema is made (tests included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migrating(engine) as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to ``revision`` (rolling back a release); data the older schema
    cannot hold is converted by each migration's downgrade, never silently dropped."""
    with _migrating(engine) as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the migration.

    SQLite changes a table's checks by copying it, while other tables' rows point at it, so its
    foreign keys are switched off meanwhile (the pragma works only outside a transaction) and
    checked once the copy has taken the old table's place.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing nowhere: {broken}")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def revisions() -> list[str]:
    """Every revision this code knows, newest first."""
    return [r.revision for r in ScriptDirectory.from_config(_config()).walk_revisions()]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema is, against the revisions this code knows.

    Migrations are written expand-first: a revision only adds (nullable or defaulted columns, new
    tables, indexes) and never drops or renames what the release before it reads. So the code of
    release N keeps working on a database that release N+1 has already migrated, which is what a
    rolling deploy needs: the release step migrates, and the old instances stay ready until they
    are replaced. Revision ids are names, not an order (the chain is whatever ``down_revision``
    links say), so "newer" is not a comparison: a revision this code has no script for can only
    come from a later release, while a known one other than the head is behind it.
    """

    database: str | None
    code: str | None
    known: frozenset[str] = frozenset()

    @property
    def newer(self) -> bool:
        """The database is at a revision this code does not know: a later release migrated it."""
        return self.database is not None and self.database not in self.known

    @property
    def behind(self) -> bool:
        """The database is at a known revision before the head: it needs upgrading."""
        return self.database is not None and self.database in self.known and not self.at_head

    @property
    def at_head(self) -> bool:
        return self.database is not None and self.database == self.code

    @property
    def usable(self) -> bool:
        return self.at_head or self.newer

    def problem(self) -> str | None:
        """One line saying what to do, or None when this code can run on the database."""
        if self.usable:
            return None
        if self.database is None:
            return "the database has no schema yet: run `python -m bot db upgrade`"
        return (
            f"the database schema is at revision {self.database}, this code needs {self.code}: "
            "run `python -m bot db upgrade`"
        )


def schema_state(engine: Engine) -> SchemaState:
    return SchemaState(
        database=current_revision(engine), code=head_revision(), known=frozenset(revisions())
    )
