"""The outbox table seen from the dispatcher's and the operator's side.

A row moves ``pending -> sending -> sent | skipped | dead`` (and back to ``pending`` to be retried).
``sending`` is a lease, not a lock held by a connection: :meth:`OutboxStore.claim` sets
``next_attempt_at`` to the end of the lease, and a row whose lease expired is claimed again. So a
worker that dies mid-send loses nothing; at worst the row in flight is sent twice.

Every outcome is also appended to ``deliveries``, the notification log operators read.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.adapters import orm
from bot.adapters.db import READ_ONLY

OUTBOX = orm.outbox.c
DELIVERIES = orm.deliveries.c

#: Statuses a later mark may not leave: the row's story is over.
FINAL = ("sent", "skipped")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str | None
    channel: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One line of the notification log: what happened to one outbox row at one attempt."""

    id: int
    at: datetime
    outbox_id: int
    channel: str
    recipient: str
    kind: str | None
    attempt: int
    outcome: str
    error: str | None
    duration_ms: int | None


_ROW_COLUMNS = [OUTBOX[f] for f in OutboxRow.__dataclass_fields__]
#: A claimed row's attempt count with the claim's attempt given back.
_GIVEN_BACK = case((OUTBOX.attempts > 0, OUTBOX.attempts - 1), else_=0)


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._install_id: str | None = None

    def install_id(self) -> str | None:
        """This installation's id: made by migration 0006 (or here, should its row be gone),
        never changed, so read once. None on a database not migrated that far."""
        if self._install_id is None:
            table = orm.installation
            query = select(table.c.install_id).where(table.c.id == 1)
            try:
                with self.engine.connect().execution_options(**READ_ONLY) as conn:
                    found = conn.execute(query).scalar()
                if found is None:
                    made = {"id": 1, "install_id": secrets.token_hex(6), "created_at": _utcnow()}
                    try:
                        with self.engine.begin() as conn:
                            conn.execute(insert(table).values(made))
                    except IntegrityError:
                        pass  # another process made it first: theirs counts
                    with self.engine.connect().execution_options(**READ_ONLY) as conn:
                        found = conn.execute(query).scalar()
            except DBAPIError:
                return None
            self._install_id = found
        return self._install_id

    # -- operator's view ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            rows = conn.execute(select(OUTBOX.status, func.count()).group_by(OUTBOX.status))
            return {status: count for status, count in rows}

    def dead_count(self) -> int:
        """How many rows gave up (the admins' home tab warns about them): one index range."""
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            query = select(func.count()).select_from(orm.outbox).where(OUTBOX.status == "dead")
            return int(conn.execute(query).scalar_one())

    def dead(self, limit: int = 100) -> list[OutboxRow]:
        query = (
            select(*_ROW_COLUMNS).where(OUTBOX.status == "dead").order_by(OUTBOX.id).limit(limit)
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def get(self, outbox_id: int) -> OutboxRow | None:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            found = conn.execute(select(*_ROW_COLUMNS).where(OUTBOX.id == outbox_id)).first()
            return OutboxRow(**found._mapping) if found is not None else None

    def recent(self, limit: int = 50) -> list[Delivery]:
        """The newest entries of the delivery log, newest first."""
        query = (
            select(
                DELIVERIES.id,
                DELIVERIES.at,
                DELIVERIES.outbox_id,
                OUTBOX.channel,
                OUTBOX.recipient,
                OUTBOX.payload,
                DELIVERIES.attempt,
                DELIVERIES.outcome,
                DELIVERIES.error,
                DELIVERIES.duration_ms,
            )
            .join_from(orm.deliveries, orm.outbox, DELIVERIES.outbox_id == OUTBOX.id)
            .order_by(DELIVERIES.at.desc(), DELIVERIES.id.desc())
            .limit(limit)
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            result = []
            for r in conn.execute(query):
                values = dict(r._mapping)
                payload = values.pop("payload") or {}
                kind = payload.get("kind") if isinstance(payload, dict) else None
                result.append(Delivery(kind=kind, **values))
            return result

    def retry_dead(self, now: datetime | None = None) -> int:
        """Give every dead row a fresh set of attempts (after the operator fixed the cause)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(orm.outbox)
                .where(OUTBOX.status == "dead")
                .values(status="pending", attempts=0, next_attempt_at=now or _utcnow())
            )
            return int(done.rowcount)

    # -- dispatcher's side ----------------------------------------------------------------------

    def claim(
        self,
        now: datetime,
        limit: int,
        lease_seconds: float,
        *,
        max_attempts: int | None = None,
        channels: Collection[str] | None = None,
    ) -> list[OutboxRow]:
        """Take up to ``limit`` due rows for this worker, oldest first, in one short transaction;
        only rows of ``channels`` when given (each dispatcher lane claims its own channel).

        Due means pending and ``next_attempt_at <= now``, or sending with an expired lease (its
        worker died). PostgreSQL skips rows another worker is claiming (``SKIP LOCKED``), so
        workers never share a row; SQLite's ``BEGIN IMMEDIATE`` makes claims take turns.

        A row whose lease expired after its last allowed attempt is not tried again: something
        kills the worker while sending it, so it is marked dead instead of killing the next one.
        """
        due = (
            select(OUTBOX.id, OUTBOX.status, OUTBOX.attempts)
            .where(OUTBOX.status.in_(("pending", "sending")), OUTBOX.next_attempt_at <= now)
            .order_by(OUTBOX.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if channels is not None:
            due = due.where(OUTBOX.channel.in_(list(channels)))
        with self.engine.begin() as conn:
            found = conn.execute(due).all()
            if not found:
                return []
            exhausted = [
                r.id
                for r in found
                if max_attempts is not None and r.status == "sending" and r.attempts >= max_attempts
            ]
            for outbox_id in exhausted:
                self._mark(
                    conn,
                    outbox_id,
                    "dead",
                    now,
                    error="the worker stopped while sending the last attempt (lease expired)",
                    values={"status": "dead"},
                )
            ids = [r.id for r in found if r.id not in exhausted]
            if not ids:
                return []
            claimed = conn.execute(
                update(orm.outbox)
                .where(OUTBOX.id.in_(ids))
                .values(
                    status="sending",
                    next_attempt_at=now + timedelta(seconds=lease_seconds),
                    attempts=OUTBOX.attempts + 1,
                )
                .returning(*_ROW_COLUMNS)
            )
            return sorted((OutboxRow(**r._mapping) for r in claimed), key=lambda r: r.id)

    def mark_sent(
        self,
        outbox_id: int,
        now: datetime,
        *,
        duration_ms: int | None = None,
        covering: Sequence[int] = (),
    ) -> bool:
        """Record a delivery. A send that succeeded is always recorded, even if the lease had
        expired meanwhile, so a retry already in flight does not send it a third time.

        ``covering`` are older rows the same send made redundant (an App Home or a card shows
        current state, so one publish answers every refresh queued before it): they are marked
        sent too, in the same transaction, and logged as ``coalesced``.
        """
        values = {"status": "sent", "sent_at": now, "last_error": None}
        with self.engine.begin() as conn:
            for older in covering:
                self._mark(conn, older, "coalesced", now, values=values, only_from=None)
            return self._mark(
                conn, outbox_id, "sent", now, duration_ms=duration_ms, values=values, only_from=None
            )

    def mark_failed(
        self,
        outbox_id: int,
        error: str,
        now: datetime,
        retry_at: datetime | None,
        *,
        duration_ms: int | None = None,
        covering: Sequence[int] = (),
    ) -> bool:
        """A failed attempt: retry at ``retry_at``, or give up (``dead``) when it is ``None``.

        ``covering`` are older rows the same send stood for (see :meth:`mark_sent`): the failure
        is one attempt, this row's, so theirs is given back; they are due again with it, or dead
        with it. All in one transaction."""
        values: dict[str, Any] = {"last_error": error}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values.update(status="pending", next_attempt_at=retry_at)
        outcome = "failed" if retry_at is not None else "dead"
        with self.engine.begin() as conn:
            for older in covering:
                self._mark(
                    conn,
                    older,
                    "deferred" if retry_at is not None else "dead",
                    now,
                    error=error,
                    values={**values, "attempts": _GIVEN_BACK},
                )
            return self._mark(
                conn,
                outbox_id,
                outcome,
                now,
                error=error,
                duration_ms=duration_ms,
                values=values,
            )

    def mark_skipped(
        self,
        outbox_id: int,
        reason: str,
        *,
        now: datetime | None = None,
        duration_ms: int | None = None,
    ) -> bool:
        """Never deliver this row, and it is not an error (say, the user has no email)."""
        with self.engine.begin() as conn:
            return self._mark(
                conn,
                outbox_id,
                "skipped",
                now or _utcnow(),
                error=reason,
                duration_ms=duration_ms,
                values={"status": "skipped", "last_error": reason},
            )

    def defer(self, outbox_id: int, until: datetime, *, now: datetime | None = None) -> bool:
        """Put a claimed row back without trying it (its channel's circuit is open, or the batch
        ran out of lease): pending again, and the claim's attempt is given back."""
        with self.engine.begin() as conn:
            return self._mark(
                conn,
                outbox_id,
                "deferred",
                now or _utcnow(),
                values={
                    "status": "pending",
                    "next_attempt_at": until,
                    "attempts": _GIVEN_BACK,
                },
            )

    def _mark(
        self,
        conn: Connection,
        outbox_id: int,
        outcome: str,
        now: datetime,
        *,
        values: dict[str, Any],
        error: str | None = None,
        duration_ms: int | None = None,
        only_from: tuple[str, ...] | None = ("sending",),
    ) -> bool:
        """Change the row (unless another worker already moved it on) and log the outcome.

        The log line is written either way: it records what this worker did.
        """
        condition = (
            OUTBOX.status.in_(only_from) if only_from is not None else OUTBOX.status.not_in(FINAL)
        )
        # One round trip when the row moves (the usual case); a second only to log a late mark.
        attempt = conn.execute(
            update(orm.outbox)
            .where(OUTBOX.id == outbox_id, condition)
            .values(values)
            .returning(OUTBOX.attempts)
        ).scalar()
        changed = attempt is not None
        if attempt is None:
            attempt = conn.execute(select(OUTBOX.attempts).where(OUTBOX.id == outbox_id)).scalar()
            if attempt is None:
                return False
        conn.execute(
            insert(orm.deliveries).values(
                outbox_id=outbox_id,
                attempt=attempt,
                at=now,
                outcome=outcome,
                error=error,
                duration_ms=duration_ms,
            )
        )
        return changed
