"""The load generator: signed Slack requests from N client threads, in a process of its own.

It runs as ``python -m bench.loadgen SPEC.json RESULT.json`` so that its threads do not share a
GIL with the server under test. The runner builds every request body beforehand (each booking
submission asks for a different slot, each Approve click names a different booking); here each
body is signed just before it is sent, because Slack signatures carry a timestamp that Bolt
rejects after five minutes.

Each client thread keeps one ``http.client`` keep-alive connection, as Slack's own senders do.
A warm-up phase (not timed) opens the connections and fills the server's caches; then the
measured phase sends a fixed list of requests, bounded by count *and* by a time limit, and the
latency of every request (seconds, from the first byte sent to the last byte read) is returned
with the wall time of the phase.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.demo.signed import SlackSender, sign

PATH = "/slack/events"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Request:
    """One request to send: the raw body, its content type, and (optionally) a text the answer
    must contain for the request to count as done (a submission's ``"update"`` proves the booking
    was committed, not refused)."""

    body: str
    content_type: str = FORM
    expect: str | None = None


@dataclass
class Spec:
    port: int
    secret: str
    concurrency: int
    warmup: list[Request]
    measure: list[Request]
    time_limit: float = 120.0
    request_timeout: float = 30.0
    host: str = "127.0.0.1"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Spec:
        data = dict(data)
        data["warmup"] = [Request(**r) for r in data["warmup"]]
        data["measure"] = [Request(**r) for r in data["measure"]]
        return cls(**data)


@dataclass
class Result:
    """What one measured phase gave: per-request latencies of the successful requests."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    sent: int = 0
    errors: int = 0
    unexpected: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    first_error: str = ""

    @property
    def rate(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies) / self.wall if self.wall > 0 else 0.0


class _Phase:
    """A shared cursor over one list of requests, and what came back."""

    def __init__(self, requests: list[Request], deadline: float) -> None:
        self.requests = requests
        self.deadline = deadline
        self._next = itertools.count()
        self._lock = threading.Lock()
        self.result = Result()

    def take(self) -> Request | None:
        index = next(self._next)  # itertools.count is atomic under the GIL
        if index >= len(self.requests):
            return None
        if time.monotonic() > self.deadline:
            self.result.timed_out = True
            return None
        return self.requests[index]

    def record(self, latency: float | None, status: int, ok: bool, error: str = "") -> None:
        with self._lock:
            result = self.result
            result.sent += 1
            result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
            if latency is None:
                result.errors += 1
                result.first_error = result.first_error or error
            elif not ok:
                result.unexpected += 1
                result.first_error = result.first_error or error
            else:
                result.latencies.append(latency)


class _Client:
    """One keep-alive connection, reopened after an error."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.conn: http.client.HTTPConnection | None = None

    def send(self, request: Request) -> tuple[float | None, int, bool, str]:
        body = request.body.encode()
        ts = int(time.time())
        headers = {
            "Content-Type": request.content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(self.spec.secret, ts, body),
        }
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.spec.host, self.spec.port, timeout=self.spec.request_timeout
                )
            started = time.perf_counter()
            self.conn.request("POST", PATH, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            latency = time.perf_counter() - started
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return None, 0, False, f"{type(exc).__name__}: {exc}"
        if response.status != 200:
            return None, response.status, False, f"HTTP {response.status}: {data[:200]!r}"
        if request.expect is not None and request.expect.encode() not in data:
            return latency, response.status, False, f"unexpected answer: {data[:300]!r}"
        return latency, response.status, True, ""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def send_one(port: int, secret: str, request: Request, timeout: float = 30.0) -> str:
    """Send one signed request on a connection of its own; return "" if it was answered as
    expected, else what went wrong (for suites that time single requests themselves)."""
    spec = Spec(port, secret, 1, [], [], request_timeout=timeout)
    client = _Client(spec)
    try:
        return client.send(request)[3]
    finally:
        client.close()


def run(spec: Spec) -> Result:
    """Warm up, then send ``spec.measure`` with ``spec.concurrency`` threads; return the result.

    Both phases together stop at ``spec.time_limit`` seconds, whatever is left unsent.
    """
    deadline = time.monotonic() + spec.time_limit
    warm = _Phase(spec.warmup, deadline)
    measured = _Phase(spec.measure, deadline)
    barrier = threading.Barrier(spec.concurrency + 1)
    start_gate = threading.Event()

    patience = spec.time_limit + spec.request_timeout

    def worker() -> None:
        client = _Client(spec)
        try:
            try:
                while (request := warm.take()) is not None:
                    warm.record(*client.send(request))
            finally:
                barrier.wait(patience)  # even after an error, or the others would wait forever
            start_gate.wait(patience)
            while (request := measured.take()) is not None:
                measured.record(*client.send(request))
        except threading.BrokenBarrierError:
            pass
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, name=f"client-{n}", daemon=True)
        for n in range(spec.concurrency)
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(patience)
    started = time.perf_counter()
    start_gate.set()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + spec.request_timeout + 1)
    measured.result.wall = time.perf_counter() - started
    return measured.result


def run_in_process(spec: Spec, work: Path, name: str) -> Result:
    """Run :func:`run` in a child Python process (its own GIL) and read back its result."""
    spec_path = work / f"{name}.spec.json"
    out_path = work / f"{name}.result.json"
    spec_path.write_text(json.dumps(spec.to_json()))
    out_path.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
        check=True,
        timeout=spec.time_limit + spec.request_timeout + 30,
        cwd=Path(__file__).resolve().parent.parent,
    )
    data = json.loads(out_path.read_text())
    spec_path.unlink(missing_ok=True)
    out_path.unlink(missing_ok=True)
    return Result(**data)


class _OfflineIssuer:
    """Trigger ids and response URLs for bodies built before the run, in another process than
    the fake Slack API: the lenient fake takes any trigger id and records any response URL."""

    def __init__(self) -> None:
        self.response_base = "http://127.0.0.1/api/"
        self.next_trigger: str | None = None  # one issued by a strict fake, for the next body
        self._numbers = itertools.count(1)

    def issue_trigger_id(self) -> str:
        trigger, self.next_trigger = self.next_trigger, None
        return trigger or f"{next(self._numbers)}.bench.trigger"

    def issue_response_url(self, kind: str = "commands") -> str:
        root = self.response_base.removesuffix("/").removesuffix("/api")
        return f"{root}/response/{kind}/bench/{next(self._numbers)}"


class _Capture(SlackSender):
    """SlackSender's request shapes, captured instead of sent, so the bodies are the ones the
    end-to-end tests send."""

    def __init__(self) -> None:
        self.issuer = _OfflineIssuer()
        super().__init__("http://127.0.0.1", "unused", self.issuer)
        self.captured: Request | None = None

    def post(self, body: bytes, content_type: str, **_: Any) -> Any:
        self.captured = Request(body.decode(), content_type)
        return None


_capture = _Capture()


def command_body(
    user: str, text: str = "", *, response_base: str, trigger_id: str | None = None
) -> Request:
    """``/book`` (``text`` empty: open the modal), as Slack sends it; ``trigger_id``: one the
    fake issued (the strict fake refuses any other)."""
    _capture.issuer.response_base = response_base
    _capture.issuer.next_trigger = trigger_id
    _capture.command(user, text)
    assert _capture.captured is not None
    return _capture.captured


def click_body(
    user: str, action_id: str, value: str, *, channel: str, message_ts: str, response_base: str
) -> Request:
    """A button click on a message (an approval card)."""
    _capture.issuer.response_base = response_base
    _capture.click(user, action_id, value, channel=channel, message_ts=message_ts)
    assert _capture.captured is not None
    return _capture.captured


def submit_body(user: str, view: dict[str, Any], values: dict[str, Any]) -> Request:
    """A modal submission with ``view.state.values``."""
    _capture.submit(user, view, values)
    assert _capture.captured is not None
    return _capture.captured


def main(argv: list[str]) -> int:
    spec = Spec.from_json(json.loads(Path(argv[0]).read_text()))
    result = run(spec)
    Path(argv[1]).write_text(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
