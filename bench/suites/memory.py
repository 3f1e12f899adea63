"""Memory (issue part 6): the app's RSS idle, after 1 000 and after 10 000 interactions.

One app process (SQLite, healthy SMTP, dispatcher and scheduler running) gets a steady mix of the
three interactions of the latency suite (``/book``, Approve, booking submission: one of each in
turn, 8 clients), every one doing real work (a new slot per submission, a new booking per click).
Its resident set size is read from ``/proc/<pid>/status`` (VmRSS) after a warm-up, after 1 000
interactions and after 10 000, each time after waiting (45 s at most) for the outbox to drain, so
that the notifications the interactions caused have mostly been sent too (the note says how many
were still due: the dispatcher sends about 150-250 a second here, and 10 000 interactions queue
33 000). With a bounded cache everywhere (the Slack user directory, SQLAlchemy's statement cache,
Bolt's executor, the connection pool), the 10 000 reading should be within 10 % of the 1 000 one
(target ratio <= 1.1). Quick mode (the smoke test): 40 vs 200 interactions.
"""

from __future__ import annotations

from bench import loadgen, stack
from bench.common import Context, Figure
from bot.demo.signed import booking_values

SUITE = "memory"
TARGET = 1.1
CONCURRENCY = 8
MIB = 1024.0
#: Clicks that approve seeded bookings before clicks start approving submitted ones.
LAG_CLICKS = 200


def mix(
    count: int, slots: stack.Slots, seeded: list[int], first_new_id: int, slack_url: str
) -> list[loadgen.Request]:
    """``count`` interactions: ``/book``, an Approve click, a booking submission, in turn.

    The first clicks approve the ``seeded`` bookings; after that, click *i* approves the booking
    of submission *i - len(seeded)*, which was sent about ``3 * len(seeded)`` requests earlier
    and so has long been committed. SQLite numbers bookings in commit order from
    ``first_new_id``, so no click approves a booking twice. (Seeding a booking per click instead
    would cost a quarter of a minute.)
    """
    users = stack.BOOKERS
    requests = []
    clicks = 0
    for n in range(count):
        user = users[n % len(users)]
        kind = n % 3
        if kind == 0:
            requests.append(loadgen.command_body(user, response_base=slack_url))
        elif kind == 1:
            booking = (
                seeded[clicks] if clicks < len(seeded) else first_new_id + clicks - len(seeded)
            )
            clicks += 1
            requests.append(stack.approve_click(booking, slack_url))
        else:
            (slot,) = slots.take(1)
            values = booking_values(slot.room, slot.day.isoformat(), slot.start, slot.end, "mem")
            requests.append(loadgen.submit_body(user, stack.BOOK_VIEW, values))
    return requests


def clicks_in(count: int) -> int:
    """How many of the first ``count`` interactions of :func:`mix` are clicks."""
    return (count + 1) // 3


def run(ctx: Context) -> list[Figure]:
    warm = ctx.size(90, 30)
    first, second = ctx.size(1_000, 40), ctx.size(10_000, 200)
    path = ctx.work / "memory.db"
    path.unlink(missing_ok=True)
    url = stack.migrated(stack.sqlite_url(path))
    slots = stack.Slots()
    seeded = stack.seed(url, slots.take(LAG_CLICKS))
    watch = stack.OutboxWatch(url)
    drain_limit = ctx.size(45, 2)
    readings: dict[str, float] = {}
    problems: list[str] = []
    with (
        stack.Peers(ctx.work) as peers,
        stack.start_app(ctx.work, "memory", database_url=url, peers=peers.ports) as app,
    ):
        requests = mix(warm + second, slots, seeded, max(seeded) + 1, peers.ports.slack_url)
        phases = [
            ("idle", requests[:warm]),
            ("first", requests[warm : warm + first]),
            ("second", requests[warm + first :]),
        ]
        for label, batch in phases:
            spec = loadgen.Spec(
                port=app.port,
                secret=stack.SECRET,
                concurrency=CONCURRENCY,
                warmup=[],
                measure=batch,
                time_limit=ctx.size(240, 60),
            )
            result = loadgen.run_in_process(spec, ctx.work, f"memory-{label}")
            if result.errors or result.timed_out:
                problems.append(
                    f"{label}: {result.errors} errors"
                    + (", time limit hit" if result.timed_out else "")
                    + (f" ({result.first_error[:100]})" if result.first_error else "")
                )
            idle, waited = watch.wait_idle(drain_limit)
            readings[label] = app.rss_kib() / MIB
            if not idle:
                problems.append(
                    f"{label}: RSS read with {watch.busy()} notifications still due "
                    f"(waited {waited:.0f} s)"
                )
        outbox = watch.counts()
    watch.close()
    approved = stack.count_status(
        url, range(1, max(seeded) + 1 + clicks_in(warm + second)), "APPROVED"
    )
    note = (
        f"SQLite, {CONCURRENCY} clients; {approved} bookings approved by "
        f"{clicks_in(warm + second)} clicks; outbox rows by status at the end: {outbox}"
    )
    if ctx.quick:
        note += f"; QUICK: {first} vs {second} interactions"
    if problems:
        note += "; " + "; ".join(problems)
    return [
        Figure(SUITE, "RSS idle (after warm-up)", readings["idle"], None, "MiB", None),
        Figure(
            SUITE,
            f"RSS after {first} interactions",
            readings["first"],
            readings["idle"],
            "MiB",
            None,
        ),
        Figure(
            SUITE,
            f"RSS after {second} vs {first} interactions",
            readings["second"],
            readings["first"],
            "MiB",
            TARGET,
            note=note,
        ),
    ]
