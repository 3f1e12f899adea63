"""``python -m bench --only SUITE --merge``: that suite's lines of RESULTS.md, the rest kept."""

from __future__ import annotations

from bench.common import Figure
from bench.runner import kept_from, render

OLD = render(
    [
        Figure("latency", "command c=1 sqlite p50", 11.0, 11.1, "ms", 1.5, note="n=25"),
        Figure("burst", "lost, in-process, sqlite", 3, None, "", 0, target_on="value"),
        Figure("scale", "booking throughput, sqlite", 263, 2639, "ops/s", 0.5, ">="),
    ],
    header=["Date: 2026-11-25 13:52 UTC; mode: full"],
    notes=["latency: at 32 clients the app is CPU-bound", "burst: an old note"],
    timings={"latency": 79.0, "scale": 40.0, "burst": 200.0},
)


def test_merge_keeps_the_other_suites_and_replaces_the_chosen_one() -> None:
    kept = kept_from(OLD, ["burst"])
    assert kept.date == "2026-11-25 13:52 UTC"
    assert kept.timings == {"latency": 79.0, "scale": 40.0}
    new = render(
        [Figure("burst", "lost, in-process, sqlite", 0, None, "", 0, target_on="value")],
        header=["Date: 2026-12-02 06:00 UTC; mode: full"],
        notes=["burst: a new note"],
        timings={"burst": 239.0},
        kept=kept,
    )
    rows = [line.split("|")[1:3] for line in new.splitlines() if line.startswith("| ")][1:]
    assert [(suite.strip(), name.strip()) for suite, name in rows] == [
        ("latency", "command c=1 sqlite p50"),
        ("scale", "booking throughput, sqlite"),
        ("burst", "lost, in-process, sqlite"),
    ]
    assert "| burst | lost, in-process, sqlite | 0.00 |" in new
    assert "2 of 3 targets pass; missed: booking throughput, sqlite." in new
    assert "- **latency / command c=1 sqlite p50**: n=25" in new
    assert "- latency: at 32 clients the app is CPU-bound" in new
    assert "old note" not in new and "- burst: a new note" in new
    assert "latency 79 s, scale 40 s, burst 239 s" in new


def test_a_second_merge_keeps_the_date_of_the_kept_rows() -> None:
    once = render(
        [],
        header=[
            "Date: 2026-12-02 06:35 UTC; mode: full",
            "Rows of latency, scale: from the run of 2026-11-25 13:52 UTC (--merge)",
        ],
        notes=[],
        timings={},
        kept=kept_from(OLD, ["burst"]),
    )
    assert kept_from(once, ["burst"]).date == "2026-11-25 13:52 UTC"
