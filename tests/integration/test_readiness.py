"""``/readyz`` during a rolling deploy: the release step migrates first, and the instances still
running the previous release must stay in the load balancer (migrations are expand-first)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from bot.adapters import migrate
from bot.adapters.http import readiness


def _set_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


@pytest.fixture(autouse=True)
def _back_to_head(engine: Engine) -> Iterator[None]:
    """The PostgreSQL database is shared by the session: leave it at the head for later tests."""
    yield
    _set_revision(engine, migrate.head_revision())


def test_ready_at_the_newest_revision(engine: Engine) -> None:
    ok, body = readiness(engine)()
    assert ok and body == {"status": "ready", "checks": {"database": "ok"}}


def test_still_ready_when_a_newer_release_has_migrated(engine: Engine) -> None:
    """A later release's revision has no script here, whatever its id sorts like."""
    head = migrate.head_revision()
    known = set(migrate.revisions())
    for newer in ("0007", "0010", "a1b2c3d4e5f6"):
        if newer in known:
            continue
        _set_revision(engine, newer)

        ok, body = readiness(engine)()

        assert ok, body
        assert body["checks"]["database"] == (
            f"ok: at revision {newer}, newer than this code's {head} (migrations are expand-first)"
        )


def test_not_ready_when_the_database_is_behind(engine: Engine) -> None:
    """Every revision of the chain before the head is behind, whatever its id sorts like."""
    head, *older = migrate.revisions()
    assert head == migrate.head_revision() and older
    for revision in older:
        _set_revision(engine, revision)

        ok, body = readiness(engine)()

        assert not ok, revision
        assert body["status"] == (
            f"the database schema is at revision {revision}, this code needs {head}: "
            "run `python -m bot db upgrade`"
        )


def test_schema_state_follows_the_chain_not_the_numbers() -> None:
    """The chain's order is its down_revision links (0005 -> 0008 -> 0006 -> ... is fine)."""
    chain = migrate.revisions()
    head = chain[0]
    known = frozenset(chain)
    assert migrate.SchemaState(database=head, code=head, known=known).usable
    for revision in chain[1:]:
        state = migrate.SchemaState(database=revision, code=head, known=known)
        assert state.behind and not state.newer and not state.usable, revision
    lower_unknown = migrate.SchemaState(database="0000", code=head, known=known)
    assert lower_unknown.newer and lower_unknown.usable and not lower_unknown.behind
    empty = migrate.SchemaState(database=None, code=head, known=known)
    assert not empty.usable and not empty.newer and not empty.behind
