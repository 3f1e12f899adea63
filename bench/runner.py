"""``python -m bench``: run the benchmark suites and write ``bench/RESULTS.md``.

Everything the suites need is started here or by them, on loopback: a throwaway PostgreSQL
database (created next to ``BENCH_DATABASE_URL``, else ``TEST_DATABASE_URL``, else the local
default, and dropped at the end, even after a crash), SQLite files and logs under a fresh work
directory in ``bench/.work/`` (kept for reading the app's logs afterwards).

A missed target is a result, not an error: the table says FAIL and the exit code stays 0. A suite
that raises is an error: its traceback is printed, the other suites still run, and the exit code
is 1. ``--merge`` keeps the other suites' lines of an existing report and replaces the chosen
suites' (one suite can be rerun without losing the rest). The suites ``scale`` and ``outbox`` are
optional here: if their module does not exist yet, they are skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import importlib.metadata
import math
import os
import platform
import re
import shutil
import sqlite3
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import stack
from bench.common import Context, Figure

BENCH = Path(__file__).resolve().parent
SUITES = ("latency", "faults", "memory", "scale", "outbox", "burst")
OPTIONAL = frozenset({"scale", "outbox"})  # written in parallel; may not exist yet
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
PACKAGES = ("slack_bolt", "slack_sdk", "SQLAlchemy", "waitress", "psycopg", "aiosmtpd", "alembic")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (the smoke test); numbers mean little"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated suites to run (default: all of {SUITES})"
    )
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md", help="the report")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other suites' rows and notes of the existing report; replace the chosen",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(SUITES)
    unknown = sorted(set(chosen) - set(SUITES))
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    args.suites = [name for name in SUITES if name in chosen]
    return args


def database_base_url() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def machine(postgres_url: str | None) -> list[str]:
    """What the numbers were measured on."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    databases = [f"SQLite {sqlite3.sqlite_version}"]
    if postgres_url:
        engine = create_engine(stack.sqlalchemy_url(postgres_url))
        try:
            with engine.connect() as conn:
                databases.append(f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}")
        finally:
            engine.dispose()
    return [
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"Versions: {', '.join(versions)}",
        f"Databases: {', '.join(databases)}",
    ]


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    text_value = (
        f"{value:.0f}"
        if magnitude >= 100
        else f"{value:.1f}"
        if magnitude >= 10
        else (f"{value:.2f}")
    )
    return f"{text_value} {unit}".strip()


def _target(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    if figure.target_on == "value":
        return f"{figure.direction} {_number(figure.target, figure.unit)}"
    return f"{figure.direction} {figure.target:g}x"


def _result(figure: Figure) -> str:
    passed = figure.passed
    if figure.target is None:
        return "info"
    return "pass" if passed else "FAIL"


@dataclass
class Kept:
    """What ``--merge`` keeps of an earlier report: the other suites' lines, as they were."""

    date: str = ""
    rows: list[str] = field(default_factory=list)
    figure_notes: list[str] = field(default_factory=list)
    run_notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def kept_from(report: str, replaced: Sequence[str]) -> Kept:
    """The rows, notes and suite times of ``report`` that belong to suites not in ``replaced``
    (a run note belongs to the suite it starts with, as in ``- latency: ...``)."""
    kept = Kept()
    others = [name for name in SUITES if name not in replaced]
    section = ""
    for line in report.splitlines():
        if line.startswith("## "):
            section = line
        elif line.startswith("Date: ") and not kept.date:
            kept.date = line.removeprefix("Date: ").split(";")[0]
        elif line.startswith("Rows of ") and " from the run of " in line:
            # merged before: the kept rows are older than the report's own date
            kept.date = line.split(" from the run of ")[1].split(" (--merge)")[0]
        elif line.startswith("| ") and line.split("|")[1].strip() in others:
            kept.rows.append(line)
        elif section == "## Figure notes" and line.startswith("- **"):
            if line[4:].split(" / ")[0] in others:
                kept.figure_notes.append(line)
        elif section == "## Run notes" and line.startswith("- "):
            if re.split(r"[:/ ]", line[2:], maxsplit=1)[0] in others:
                kept.run_notes.append(line)
        elif section == "## Suite times" and line.strip():
            for item in line.split(", "):
                name, _, seconds = item.partition(" ")
                if name in others:
                    kept.timings[name] = float(seconds.removesuffix(" s"))
    return kept


def render(
    figures: list[Figure],
    *,
    header: list[str],
    notes: list[str],
    timings: dict[str, float],
    kept: Kept | None = None,
) -> str:
    """RESULTS.md: the table, then what each figure's note says, then the run's notes."""
    kept = kept or Kept()
    lines = ["# roombot benchmarks", "", *[f"{line}  " for line in header], ""]
    lines += [
        "| suite | figure | value | baseline | ratio | target | result |",
        "|---|---|--:|--:|--:|---|---|",
    ]
    rows = list(kept.rows)
    for f in figures:
        ratio = f.ratio
        rows.append(
            f"| {f.suite} | {f.name} | {_number(f.value, f.unit)} | "
            f"{_number(f.baseline, f.unit)} | "
            f"{'-' if ratio is None else _number(ratio) + 'x'} | {_target(f)} | {_result(f)} |"
        )
    order = {name: n for n, name in enumerate(SUITES)}
    rows.sort(key=lambda row: order.get(row.split("|")[1].strip(), len(SUITES)))  # stable
    lines += rows
    results = [(row.split("|")[2].strip(), row.split("|")[7].strip()) for row in rows]
    failed = [name for name, result in results if result == "FAIL"]
    targets = [name for name, result in results if result in ("pass", "FAIL")]
    lines += [
        "",
        f"{len(targets) - len(failed)} of {len(targets)} targets pass"
        + (f"; missed: {', '.join(failed)}" if failed else "")
        + ".",
    ]
    with_notes = [f"- **{f.suite} / {f.name}**: {f.note}" for f in figures if f.note]
    if with_notes or kept.figure_notes:
        lines += ["", "## Figure notes", ""]
        lines += sorted(
            [*kept.figure_notes, *with_notes],
            key=lambda line: order.get(line[4:].split(" / ")[0], len(SUITES)),
        )
    if notes or kept.run_notes:
        lines += ["", "## Run notes", ""]
        lines += kept.run_notes + [f"- {note}" for note in notes]
    timings = {**kept.timings, **timings}
    if timings:
        lines += ["", "## Suite times", ""]
        lines.append(", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()))
    return "\n".join(lines) + "\n"


def prune_work(root: Path, keep: int = 5) -> None:
    """Remove all but the newest ``keep`` run directories (their databases add up)."""
    runs = sorted(p for p in root.glob("2*-*") if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def run_suite(name: str, ctx: Context) -> list[Figure] | None:
    """The suite's figures; None if it is optional and not written yet."""
    try:
        module = importlib.import_module(f"bench.suites.{name}")
    except ModuleNotFoundError as exc:
        if name in OPTIONAL and exc.name == f"bench.suites.{name}":
            return None
        raise
    ctx.work.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = module.run(ctx)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stamp = datetime.now(UTC)
    work = BENCH / ".work" / f"{stamp:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"
    work.mkdir(parents=True)
    prune_work(work.parent)
    ctx = Context(work=work, postgres_url=None, quick=args.quick)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    crashed: list[str] = []
    with contextlib.ExitStack() as cleanup:
        base = database_base_url()
        unreachable = stack.postgres_reachable(base)
        if unreachable is None:
            try:
                ctx.postgres_url = cleanup.enter_context(stack.throwaway_postgres(base))
            except Exception as exc:  # reachable, but no database of our own (permissions)
                unreachable = f"cannot create a database: {type(exc).__name__}: {exc}"
        if unreachable is not None:
            if os.environ.get("REQUIRE_POSTGRES") == "1":
                print(f"bench: REQUIRE_POSTGRES=1 but PostgreSQL is unusable: {unreachable}")
                return 1
            ctx.notes.append(f"PostgreSQL at {base} unreachable ({unreachable}): SQLite only")
        mode = "quick (smoke sizes)" if args.quick else "full"
        header = [f"Date: {stamp:%Y-%m-%d %H:%M} UTC; mode: {mode}"]
        header += machine(ctx.postgres_url)
        for name in args.suites:
            print(f"bench: running {name} ...", flush=True)
            suite_started = time.monotonic()
            try:
                found = run_suite(name, dataclasses.replace(ctx, work=work / name))
            except Exception:
                traceback.print_exc()
                crashed.append(name)
                ctx.notes.append(
                    f"suite {name} CRASHED (traceback on stderr); its figures are missing"
                )
                found = []
            timings[name] = time.monotonic() - suite_started
            if found is None:
                ctx.notes.append(f"suite {name} skipped: bench/suites/{name}.py does not exist yet")
                continue
            figures += found
            print(f"bench: {name} done in {timings[name]:.0f} s", flush=True)
    total = time.monotonic() - started
    header.append(f"Total time: {total:.0f} s; work directory: {work.relative_to(BENCH.parent)}")
    kept = None
    if args.merge and args.out.exists():
        kept = kept_from(args.out.read_text(), args.suites)
        others = sorted({row.split("|")[1].strip() for row in kept.rows})
        if others:
            header.append(f"Rows of {', '.join(others)}: from the run of {kept.date} (--merge)")
    report = render(figures, header=header, notes=ctx.notes, timings=timings, kept=kept)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    print(f"bench: wrote {args.out}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
