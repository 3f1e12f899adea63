"""``python app.py`` as a child process started with ``PORT=0``: it binds a free port itself
(no other process can take it between a pick and a bind) and names it in its log."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

#: The HTTP mode's and the Socket Mode's start-up lines (app.py).
LISTENING = re.compile(r"(?:listening on port|health checks on port) (\d+)")


def logged_port(app: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> int:
    """The port ``app`` bound, read from its start-up line in ``log`` (its stderr)."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        if found := LISTENING.search(text):
            return int(found.group(1))
        assert app.poll() is None, f"the app exited:\n{text[-4000:]}"
        assert time.monotonic() < deadline, f"the app named no port:\n{text[-4000:]}"
        time.sleep(0.05)
