"""Query plans of the statements roombot really sends, captured from the engine and EXPLAINed.

Why capture instead of writing the SQL here: a plan of hand-written SQL proves nothing about the
product. A ``before_cursor_execute`` listener records the statement and the driver-level
parameters while the real code path runs (``HomePublisher.data`` and the booking repository's
``conflicts``), and exactly those are explained afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from bot.adapters.db import is_postgres

#: Tables whose size grows with the history; a sequential scan of one of them does not scale.
HISTORY_TABLES = frozenset({"bookings", "booking_list"})
INDEX_NODES = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})
_QUERY = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)


@dataclass
class Captured:
    statement: str
    parameters: Any


@contextmanager
def capturing(engine: Engine) -> Iterator[list[Captured]]:
    """Record every statement the engine sends while the block runs."""
    seen: list[Captured] = []

    def listener(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if _QUERY.match(statement):
            seen.append(Captured(statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@dataclass
class Plan:
    """One explained statement: the scan nodes it uses and the plan as text."""

    label: str
    statement: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    @property
    def seq_scans(self) -> list[str]:
        return [
            n["relation"]
            for n in self.nodes
            if n["type"] == "Seq Scan" and n.get("relation") in HISTORY_TABLES
        ]

    @property
    def filtered(self) -> int:
        """Rows the scans read and dropped (PostgreSQL's "Rows Removed by Filter")."""
        return sum(n.get("removed") or 0 for n in self.nodes)

    @property
    def returned(self) -> int:
        """Rows the table scans handed up (heap scans, not the index scans feeding them)."""
        return sum(
            n.get("rows") or 0 for n in self.nodes if n["type"] not in ("Bitmap Index Scan",)
        )

    @property
    def uses_index(self) -> bool:
        return any(n["type"] in INDEX_NODES for n in self.nodes)

    @property
    def indexed(self) -> bool:
        return self.uses_index and not self.seq_scans

    def summary(self) -> str:
        parts = []
        for n in self.nodes:
            where = n.get("index") or n.get("relation") or ""
            extra = f" removed-by-filter={n['removed']}" if n.get("removed") else ""
            rows = f" rows={n['rows']}" if n.get("rows") is not None else ""
            parts.append(f"{n['type']}({where}{rows}{extra})")
        return ", ".join(parts)


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def explain_postgres(engine: Engine, label: str, captured: Captured) -> Plan:
    """``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``: which scans, and how many rows each read and
    threw away (an index scan that filters thousands of rows scales no better than a seq scan)."""
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + captured.statement, captured.parameters
        ).scalar_one()
        conn.rollback()
    document = raw if isinstance(raw, list) else json.loads(raw)
    root = document[0]["Plan"]
    nodes = []
    for node in _walk(root):
        if "Scan" not in node["Node Type"]:
            continue
        nodes.append(
            {
                "type": node["Node Type"],
                "relation": node.get("Relation Name"),
                "index": node.get("Index Name"),
                "rows": node.get("Actual Rows"),
                "removed": node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0),
            }
        )
    return Plan(label, captured.statement, nodes, json.dumps(document, indent=1))


def explain_sqlite(engine: Engine, label: str, captured: Captured) -> Plan:
    """``EXPLAIN QUERY PLAN``: SEARCH ... USING INDEX is an index lookup, SCAN a full scan."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + captured.statement, captured.parameters
        ).all()
        conn.rollback()
    nodes = []
    for row in rows:
        detail = str(row[-1])
        words = detail.split()
        table = words[1] if len(words) > 1 else None
        if detail.startswith("SEARCH") or "USING COVERING INDEX" in detail:
            nodes.append({"type": "Index Scan", "relation": table, "index": detail})
        elif detail.startswith("SCAN"):
            kind = "Index Scan" if "USING" in detail and "INDEX" in detail else "Seq Scan"
            nodes.append({"type": kind, "relation": table, "index": detail})
    return Plan(label, captured.statement, nodes, "\n".join(str(r[-1]) for r in rows))


def explain(engine: Engine, label: str, captured: Captured) -> Plan:
    run: Callable[[Engine, str, Captured], Plan] = (
        explain_postgres if is_postgres(engine) else explain_sqlite
    )
    return run(engine, label, captured)
