"""``/readyz`` during a rolling deploy: the release step migrates first, and the instances still
running the previous release must stay in the load balancer (migrations are expand-first)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from bot.adapters import migrate
from bot.adapters.http import readiness


def _set_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_ready_at_the_newest_revision(engine: Engine) -> None:
    ok, body = readiness(engine)()
    assert ok and body == {"status": "ready", "checks": {"database": "ok"}}


def test_still_ready_when_a_newer_release_has_migrated(engine: Engine) -> None:
    head = migrate.head_revision()
    assert head is not None and head.isdigit()
    newer = f"{int(head) + 1:04d}"
    _set_revision(engine, newer)

    ok, body = readiness(engine)()

    assert ok, body
    assert body["checks"]["database"] == (
        f"ok: at revision {newer}, newer than this code's {head} (migrations are expand-first)"
    )


def test_not_ready_when_the_database_is_behind(engine: Engine) -> None:
    head = migrate.head_revision()
    assert head is not None
    older = f"{int(head) - 1:04d}"
    _set_revision(engine, older)

    ok, body = readiness(engine)()

    assert not ok
    assert body["status"] == (
        f"the database schema is at revision {older}, this code needs {head}: "
        "run `python -m bot db upgrade`"
    )


def test_revision_ids_are_increasing_numbers() -> None:
    """The rule above compares revision ids as numbers: every migration must keep to it."""
    revisions = migrate.revisions()
    assert all(r.isdigit() and len(r) == 4 for r in revisions), revisions
    assert revisions == sorted(revisions, reverse=True)
