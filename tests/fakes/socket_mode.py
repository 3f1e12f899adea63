"""A fake Slack Socket Mode endpoint: a small RFC 6455 WebSocket server on loopback.

In Socket Mode Slack does not call the app: the app calls ``apps.connections.open`` (the fake
Web API answers with :attr:`FakeSocketModeServer.url`), opens a WebSocket there, and Slack pushes
"envelopes" down it; the app acknowledges each one by sending back ``{"envelope_id", "payload"?}``.
Testing that path with the real ``python app.py`` and slack_sdk's builtin client needs a real
WebSocket server, and a third-party one would be a new dependency for one test, so this speaks
just enough of the protocol with the standard library::

    with FakeSocketModeServer() as ws:
        fake_api.socket_url = ws.url
        ...  # start the app
        ws.wait_connected(timeout=20)
        envelope_id = ws.send_envelope("slash_commands", {"command": "/book", ...})
        ack = ws.wait_for_ack(envelope_id, timeout=10)

What it does, as Slack does: the HTTP Upgrade handshake (``Sec-WebSocket-Accept``), a ``hello``
message on connect, unmasked frames to the client, masked frames from it (unmasked here), pong
for every ping, and an answering close frame for a close. Not supported, because slack_sdk never
sends them: extensions, subprotocols, TLS. Every blocking call is bounded in time and every
thread is a daemon, so a broken app fails a test instead of hanging it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from types import TracebackType
from typing import Any, Self

JsonDict = dict[str, Any]

APP_ID = "A0ROOMBOT"
PATH = "/link"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
_MAX_HANDSHAKE = 16 * 1024
_POLL = 0.1  # how often blocked threads look at the stop flag

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    digest = hashlib.sha1((key.strip() + _GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode: int, payload: bytes = b"") -> bytes:
    """One final, unmasked frame: servers must not mask (RFC 6455 section 5.1)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size <= 125:
        head += bytes([size])
    elif size <= 0xFFFF:
        head += struct.pack("!BH", 126, size)
    else:
        head += struct.pack("!BQ", 127, size)
    return head + payload


class _Closed(Exception):
    """The peer went away, or the server is stopping: the connection's reader ends."""


class _Connection:
    """One client connection; its reader thread answers pings and collects text messages.

    Sends come from the test thread (envelopes) and from the reader thread (pongs, close), so
    they are serialised by a lock to keep frames whole.
    """

    def __init__(self, server: FakeSocketModeServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number
        self._send_lock = threading.Lock()
        self._buffer = bytearray()
        self._closed = threading.Event()
        self.path = ""
        self.thread = threading.Thread(target=self._run, name=f"fake-socket-mode-{number}")
        self.thread.daemon = True

    @property
    def open(self) -> bool:
        return not self._closed.is_set()

    def send_text(self, text: str) -> None:
        self._send(encode_frame(OP_TEXT, text.encode("utf-8")))

    def close(self, code: int = 1001, reason: str = "") -> None:
        """Say goodbye with a close frame (best effort), then drop the socket."""
        if self._closed.is_set():
            return
        with contextlib.suppress(OSError):
            self._send(encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")))
        self._drop()

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            if self._closed.is_set():
                raise ConnectionError(f"connection {self.number} is closed")
            self.sock.sendall(data)

    def _drop(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.server._connection_ended(self)

    # -- reading (the connection's own thread) ----------------------------------------------

    def _run(self) -> None:
        try:
            self.sock.settimeout(_POLL)
            if not self._handshake():
                return
            self.send_text(json.dumps(self.server.hello()))
            # Only now may envelopes come: Slack sends nothing before hello either.
            self.server._connection_opened(self)
            while True:
                opcode, payload = self._read_message()
                if opcode == OP_PING:
                    self._send(encode_frame(OP_PONG, payload))
                    self.server._count("pings")
                elif opcode == OP_PONG:
                    self.server._count("pongs")
                elif opcode == OP_TEXT:
                    self.server._received(payload.decode("utf-8"))
                elif opcode == OP_CLOSE:
                    # Echo the status code, as RFC 6455 section 5.5.1 asks, then hang up.
                    with contextlib.suppress(OSError):
                        self._send(encode_frame(OP_CLOSE, payload[:2]))
                    return
                # binary frames: slack_sdk sends none; ignored
        except (_Closed, OSError):
            return
        finally:
            self._drop()

    def _recv_into_buffer(self, deadline: float | None = None) -> None:
        while True:
            if self.server._stopping.is_set() or self._closed.is_set():
                raise _Closed
            if deadline is not None and time.monotonic() > deadline:
                raise _Closed
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise _Closed
            self._buffer += chunk
            return

    def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._recv_into_buffer()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _handshake(self) -> bool:
        """Read the HTTP Upgrade request and answer 101, or 400/404 and give up."""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_HANDSHAKE:
                self._reply_http("431 Request Header Fields Too Large")
                return False
            self._recv_into_buffer(deadline)
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        self._buffer = bytearray(rest)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if (
            len(parts) != 3
            or parts[0] != "GET"
            or headers.get("upgrade", "").lower() != "websocket"
            or not key
        ):
            self._reply_http("400 Bad Request")
            return False
        self.path = parts[1]
        if self.path.split("?", 1)[0] != PATH:
            self._reply_http("404 Not Found")
            return False
        self._send(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
                "\r\n"
            ).encode("ascii")
        )
        return True

    def _reply_http(self, status: str) -> None:
        with contextlib.suppress(OSError):
            self._send(
                f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._take(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        masked, size = bool(second & 0x80), second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._take(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._take(8))
        if not masked:
            # RFC 6455 section 5.1: a server must close on an unmasked client frame.
            self.close(1002, "client frames must be masked")
            raise _Closed
        mask = self._take(4)
        data = self._take(size)
        return fin, opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))

    def _read_message(self) -> tuple[int, bytes]:
        """Next control frame, or a whole (possibly fragmented) data message."""
        fin, opcode, payload = self._read_frame()
        if opcode >= OP_CLOSE or fin:
            return opcode, payload
        parts = [payload]
        while True:
            fin, next_opcode, more = self._read_frame()
            if next_opcode >= OP_CLOSE:
                # control frames may come between fragments; answer pings at once
                if next_opcode == OP_PING:
                    self._send(encode_frame(OP_PONG, more))
                elif next_opcode == OP_CLOSE:
                    return next_opcode, more
                continue
            parts.append(more)
            if fin:
                return opcode, b"".join(parts)


class FakeSocketModeServer:
    """Slack's Socket Mode WebSocket endpoint on ``127.0.0.1``, driven from a test.

    All public methods are safe to call from any thread while connections are being served.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, app_id: str = APP_ID) -> None:
        self._host = host
        self._port = port
        self.app_id = app_id
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._connections: list[_Connection] = []  # greeted with hello, newest last
        self._all: list[_Connection] = []  # every accepted socket, for stop()
        self._acks: dict[str, JsonDict] = {}
        self._messages: list[JsonDict] = []
        self._counts = {"pings": 0, "pongs": 0}
        self._opened = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on an ephemeral port and accept on a daemon thread."""
        if self._listener is not None:
            raise RuntimeError("FakeSocketModeServer is already running")
        self._stopping.clear()
        listener = socket.create_server((self._host, self._port))
        # accept() is not woken by close() from another thread on Linux: poll instead.
        listener.settimeout(_POLL)
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="fake-socket-mode-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (with a 1001 "going away" frame) and the listener; idempotent."""
        listener, thread = self._listener, self._accept_thread
        if listener is None:
            return
        self._stopping.set()
        if thread is not None:
            thread.join(timeout=5)
        listener.close()
        self._listener = self._accept_thread = None
        with self._changed:
            connections = list(self._all)
        for connection in connections:
            connection.close(1001, "server stopping")
        for connection in connections:
            connection.thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What ``apps.connections.open`` should answer: ``ws://127.0.0.1:PORT/link``.

        slack_sdk's builtin client uses a plain socket for any port but 443, so ``ws://`` works.
        """
        if self._listener is None:
            raise RuntimeError("FakeSocketModeServer is not running; call start() first")
        host, port = self._listener.getsockname()[:2]
        return f"ws://{host}:{port}{PATH}"

    # -- driving the app -------------------------------------------------------------------

    def hello(self) -> JsonDict:
        """The first message on every connection, shaped like Slack's."""
        return {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-fake-socket-mode",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def wait_connected(self, timeout: float = 10.0, count: int = 1) -> None:
        """Block until ``count`` connections have completed the handshake and got ``hello``.

        Envelopes sent before that would have no one to go to.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._opened < count or not self._connections:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no Socket Mode client connected to {self.url} within {timeout}s"
                    )
                self._changed.wait(remaining)

    @property
    def connected(self) -> bool:
        """Whether a client is connected now."""
        with self._changed:
            return bool(self._connections)

    @property
    def connection_count(self) -> int:
        """How many connections ever completed the handshake (reconnects count)."""
        with self._changed:
            return self._opened

    def send_envelope(
        self, type: str, payload: JsonDict, accepts_response_payload: bool = True
    ) -> str:
        """Push one envelope to the newest connection, as Slack does; return its envelope id.

        ``type`` is ``events_api``, ``slash_commands`` or ``interactive``; ``payload`` is what the
        HTTP endpoint would have received as its body (the form fields, for slash commands).
        Slack sets ``accepts_response_payload`` false for events: their ack carries nothing.
        """
        envelope_id = str(uuid.uuid4())
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        with self._changed:
            if not self._connections:
                raise RuntimeError("no Socket Mode client is connected; call wait_connected()")
            connection = self._connections[-1]
        connection.send_text(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> JsonDict:
        """Block until the client acknowledged ``envelope_id``; return what it sent back.

        Slack retries (events) or shows an error (commands, after 3 s) when no ack comes, so a
        missing ack is a bug in the app, reported here with what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while envelope_id not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no ack for envelope {envelope_id} within {timeout}s; "
                        f"acked: {sorted(self._acks)}; other messages: {self._messages}"
                    )
                self._changed.wait(remaining)
            return dict(self._acks[envelope_id])

    @property
    def messages(self) -> list[JsonDict]:
        """Text messages from clients that were not acks (slack_sdk sends none normally)."""
        with self._changed:
            return list(self._messages)

    @property
    def pings(self) -> int:
        """Pings received (and answered with pongs); slack_sdk pings on connect and then
        every ``ping_interval``, and reconnects when pongs stop."""
        with self._changed:
            return self._counts["pings"]

    # -- callbacks from connection threads -------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                if self._stopping.is_set():
                    sock.close()
                    return
                number = len(self._all) + 1
                connection = _Connection(self, sock, number)
                self._all.append(connection)
            connection.thread.start()

    def _connection_opened(self, connection: _Connection) -> None:
        with self._changed:
            self._connections.append(connection)
            self._opened += 1
            self._changed.notify_all()

    def _connection_ended(self, connection: _Connection) -> None:
        with self._changed:
            if connection in self._connections:
                self._connections.remove(connection)
            self._changed.notify_all()

    def _received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = {"_text": text}
        if not isinstance(message, dict):
            message = {"_body": message}
        with self._changed:
            envelope_id = message.get("envelope_id")
            if isinstance(envelope_id, str):
                self._acks[envelope_id] = message
            else:
                self._messages.append(message)
            self._changed.notify_all()

    def _count(self, what: str) -> None:
        with self._changed:
            self._counts[what] += 1
            self._changed.notify_all()
