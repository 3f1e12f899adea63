"""What every benchmark suite shares: the figures it reports and the context it runs in.

A suite is a module in ``bench/suites`` with ``run(ctx: Context) -> list[Figure]``. Every figure is
a ratio against a baseline measured in the same run, so it holds on a noisy shared machine.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Direction = Literal["<=", ">=", "<"]


@dataclass(frozen=True)
class Figure:
    """One line of RESULTS.md.

    ``value`` and ``baseline`` are in ``unit``; ``ratio`` is value / baseline. ``target`` is
    compared with ``ratio`` unless ``target_on == "value"`` (for absolute bounds such as p99 < 3 s).
    """

    suite: str
    name: str
    value: float
    baseline: float | None
    unit: str
    target: float | None
    direction: Direction = "<="
    target_on: Literal["ratio", "value"] = "ratio"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        measured = self.ratio if self.target_on == "ratio" else self.value
        if measured is None:
            return None
        if self.direction == "<=":
            return measured <= self.target
        if self.direction == "<":
            return measured < self.target
        return measured >= self.target


@dataclass
class Context:
    """Where and how big: ``quick`` is the smoke mode the test suite runs (tiny sizes)."""

    work: Path
    postgres_url: str | None
    quick: bool = False
    notes: list[str] = field(default_factory=list)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation; samples need not be sorted."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")
