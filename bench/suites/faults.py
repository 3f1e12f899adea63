"""Fault isolation (issue part 5): booking submissions while the mail server is down.

Three copies of the app run side by side, identical but for SMTP: *healthy* (the aiosmtpd sink),
*refusing* (a port nobody listens on: every connection is refused at once) and *hanging* (a
server that accepts and never says a word, so every attempt waits out ``SMTP_TIMEOUT_SECONDS``).
Each submission commits a booking whose notifications include an email, so the dispatcher keeps
trying SMTP while the requests come in.

The design promise is that email failures stay in the outbox: a booking request never waits for
SMTP. So submission latency with a broken mail server should match the healthy one (target: mean
latency ratio <= 1.1). The mean, not the median: Bolt answers when its 10 ms polling loop sees
the listener's ``ack()``, so latencies cluster around 11, 21, 31 ms, and with 8 clients the
median jumps between clusters from run to run (healthy p50 15-23 ms in three runs of the same
code) while the mean moves smoothly. p50 and p95 are shown as information.

The three apps are measured in rounds, one per order of the three, so drift on a shared machine
hits all alike and each mode follows each other equally often; after each cell the app's
deliverable notifications are given time to go out, so they do not burden the next cell. SQLite
only: what is measured is the isolation of the request path from the mail path, which does not
depend on the database.

Also reported, as information: the share of approval cards (Slack messages, not email) each app
had posted by the end, since a mail outage should not hold up Slack notifications either.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field

from bench import loadgen, stack
from bench.common import Context, Figure, percentile
from bot.demo.signed import booking_values

SUITE = "faults"
MODES = ("healthy", "refusing", "hanging")
TARGET = 1.1
CONCURRENCY = (1, 8)


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    unexpected: int = 0
    first_error: str = ""

    def add(self, result: loadgen.Result) -> None:
        self.latencies += [s * 1000 for s in result.latencies]
        self.errors += result.errors
        self.unexpected += result.unexpected
        self.first_error = self.first_error or result.first_error

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p)

    def mean(self) -> float:
        return statistics.fmean(self.latencies) if self.latencies else float("nan")


def submissions(slots: stack.Slots, count: int) -> list[loadgen.Request]:
    users = stack.BOOKERS
    return [
        loadgen.Request(request.body, request.content_type, '"update"')  # the booking was committed
        for request in (
            loadgen.submit_body(
                users[i % len(users)],
                stack.BOOK_VIEW,
                booking_values(slot.room, slot.day.isoformat(), slot.start, slot.end, "faults"),
            )
            for i, slot in enumerate(slots.take(count))
        )
    ]


#: Channels each app can deliver while its SMTP is what it is: after a cell we wait for those to
#: be sent, so one app's notifications are not still being sent while the next app is measured.
#: The hanging app's dispatcher is stuck in SMTP and uses no CPU: nothing to wait for.
SETTLE: dict[str, tuple[str, ...] | None] = {
    "healthy": None,
    "refusing": ("card", "dm", "home"),
    "hanging": (),
}


def run(ctx: Context) -> list[Figure]:
    # Every order of the three modes once (quick: one order), so each mode follows each other
    # mode equally often: what runs just before a cell cannot favour one mode.
    orders = list(itertools.permutations(MODES))[: ctx.size(6, 1)]
    per_round = {1: ctx.size(25, 8), 8: ctx.size(50, 16)}
    warm = ctx.size(4, 2)
    urls = {}
    for mode in MODES:
        path = ctx.work / f"faults-{mode}.db"
        path.unlink(missing_ok=True)
        urls[mode] = stack.migrated(stack.sqlite_url(path))
        stack.seed(urls[mode])
    slots = {mode: stack.Slots() for mode in MODES}
    samples = {(mode, c): Samples() for mode in MODES for c in CONCURRENCY}
    watches = {mode: stack.OutboxWatch(urls[mode]) for mode in MODES}
    with stack.Peers(ctx.work) as peers:
        apps: dict[str, stack.Server] = {}
        try:
            for mode in MODES:  # start all three, then wait: they import in parallel
                apps[mode] = stack.start_app(
                    ctx.work,
                    f"faults-{mode}",
                    database_url=urls[mode],
                    peers=peers.ports,
                    smtp=mode,
                    wait=False,
                )
            for app in apps.values():
                app.wait_ready()
            emails_before = peers.stats().get("emails", 0)
            for round_number, order in enumerate(orders):
                for concurrency in CONCURRENCY:
                    for mode in order:
                        requests = submissions(slots[mode], warm + per_round[concurrency])
                        spec = loadgen.Spec(
                            port=apps[mode].port,
                            secret=stack.SECRET,
                            concurrency=concurrency,
                            warmup=requests[:warm],
                            measure=requests[warm:],
                            time_limit=ctx.size(60, 30),
                        )
                        result = loadgen.run_in_process(
                            spec, ctx.work, f"{mode}-c{concurrency}-r{round_number}"
                        )
                        samples[mode, concurrency].add(result)
                        if SETTLE[mode] != ():
                            watches[mode].wait_idle(ctx.size(10, 3), channels=SETTLE[mode])
            emails = peers.stats().get("emails", 0) - emails_before
            outboxes = {mode: watch.email_outcomes() for mode, watch in watches.items()}
            cards = {mode: watch.delays("card") for mode, watch in watches.items()}
        finally:
            for app in apps.values():
                app.stop()
            for watch in watches.values():
                watch.close()
    ctx.notes.append(
        f"faults: SQLite; {len(orders)} rounds (mode orders) of {per_round} submissions per "
        f"mode and concurrency; emails the healthy sink "
        f"accepted during the run: {emails}; email rows by status: "
        + "; ".join(f"{mode} {outboxes[mode]}" for mode in MODES)
    )
    figures = []
    for concurrency in CONCURRENCY:
        healthy = samples["healthy", concurrency]
        for mode in MODES[1:]:
            broken = samples[mode, concurrency]
            problems = [
                f"{s.errors} errors, {s.unexpected} refused ({s.first_error[:100]})"
                for s in (broken, healthy)
                if s.errors or s.unexpected
            ]
            note = f"n={len(broken.latencies)} vs {len(healthy.latencies)}"
            if problems:
                note += "; " + "; ".join(problems)
            label = f"submission c={concurrency} SMTP {mode}"
            figures += [
                Figure(
                    SUITE, f"{label} mean", broken.mean(), healthy.mean(), "ms", TARGET, note=note
                ),
                Figure(SUITE, f"{label} p50", broken.ms(50), healthy.ms(50), "ms", None),
                Figure(SUITE, f"{label} p95", broken.ms(95), healthy.ms(95), "ms", None),
            ]
    figures += card_figures(cards)
    return figures


def card_figures(cards: dict[str, tuple[list[float], int]]) -> list[Figure]:
    """How many approval cards (Slack, not email) went out while SMTP was broken, and how late.

    Not a target of the issue, which asks about the request path; but a mail outage should not
    hold up Slack notifications either, and this shows whether it does.
    """
    healthy, healthy_sent = cards["healthy"]
    figures = []
    for mode in MODES[1:]:
        waited, sent = cards[mode]
        figures.append(
            Figure(
                SUITE,
                f"approval cards posted, SMTP {mode}",
                100 * sent / len(waited) if waited else float("nan"),
                100 * healthy_sent / len(healthy) if healthy else float("nan"),
                "%",
                None,
                ">=",
                note=(
                    f"{sent}/{len(waited)} cards posted vs healthy {healthy_sent}/{len(healthy)}; "
                    f"delay p50 {percentile(waited, 50):.2f} s vs {percentile(healthy, 50):.2f} s "
                    "(a card not posted yet counts as waiting until the reading)"
                ),
            )
        )
    return figures
