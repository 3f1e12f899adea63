"""``python -m bench --quick`` keeps working: it starts its stack, measures, and writes the table.

A smoke test only: the quick sizes are far too small to mean anything, so nothing here looks at
a number. Timing targets live in the bench's own report, never in the test suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTERACTIONS = ("command", "click", "submission")


def expected_figures(suite: str, databases: list[str]) -> set[str]:
    """The figures one suite's quick run reports."""
    if suite == "latency":
        names = {
            f"{interaction} c={c} {db} {stat}"
            for db in databases
            for interaction in INTERACTIONS
            for c in (1, 32)
            for stat in ("p50", "p95", "p99", "req/s")
        }
        return names | {
            f"command c={c} {db} {what} vs Bolt + the same views.open"
            for db in databases
            for c in (1, 32)
            for what in ("p50", "CPU per request")
        }
    if suite == "faults":
        names = {
            f"submission c={c} SMTP {mode} {stat}"
            for c in (1, 8)
            for mode in ("refusing", "hanging")
            for stat in ("mean", "p50", "p95")
        }
        return names | {f"approval cards posted, SMTP {mode}" for mode in ("refusing", "hanging")}
    assert suite == "memory"
    return {
        "RSS idle (after warm-up)",
        "RSS after 40 interactions",  # the quick sizes
        "RSS after 200 vs 40 interactions",
    }


@pytest.mark.slow
@pytest.mark.timeout(330)  # beyond the subprocess's own hang guard
@pytest.mark.parametrize("suite", ["latency", "faults", "memory"])  # in parallel under xdist
def test_the_quick_bench_writes_the_results_table(suite: str, tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", suite, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard on a shared machine, not a timing target
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = out.read_text()
    without_postgres = "unreachable" in report and "SQLite only" in report
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        assert not without_postgres, report
    databases = ["sqlite"] if without_postgres else ["sqlite", "postgres"]

    rows = [line for line in report.splitlines() if line.startswith("| ")]
    assert rows[0].split("|")[1:-1] == [
        " suite ",
        " figure ",
        " value ",
        " baseline ",
        " ratio ",
        " target ",
        " result ",
    ]
    assert {row.split("|")[1].strip() for row in rows[1:]} == {suite}
    names = {row.split("|")[2].strip() for row in rows[1:]}
    assert names == expected_figures(suite, databases)
    results = {row.split("|")[7].strip() for row in rows[1:]}
    assert results <= {"pass", "FAIL", "info"}
    assert re.search(r"Machine: .*CPUs", report)
    assert "slack_bolt" in report and "SQLAlchemy" in report
    assert "mode: quick" in report
    assert report.splitlines()[0] in done.stdout  # the same table is printed
    assert rows[1] in done.stdout


BURST_FIGURES = (
    "approval DM p95 / one Slack call",
    "approval email p95",
    "card p95 / the channel limit's bound",
    "lost",
    "duplicated",
)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_quick_burst_suite_runs_both_process_layouts(tmp_path: Path) -> None:
    """The realistic-Slack burst, in quick mode: in-process and web + worker, on SQLite."""
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "burst", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=210,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = out.read_text()
    rows = [line.split("|") for line in report.splitlines() if line.startswith("| burst ")]
    names = {row[2].strip() for row in rows}
    assert names == {
        f"{figure}, {layout}, sqlite"
        for figure in BURST_FIGURES
        for layout in ("in-process", "web + worker")
    }
    assert {row[7].strip() for row in rows} <= {"pass", "FAIL"}
    assert "0 not committed" in report  # every submission became a booking
