"""Slack request signatures, checked strictly and before anything reads the body.

Slack signs ``v0:<timestamp>:<raw body>`` with HMAC-SHA256 and the signing secret. slack_sdk's
verifier calls ``int()`` on the timestamp header, so ``abc`` or ``1e9`` raise instead of being
refused; here every malformed header is simply "not signed".
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: Slack's window: a request whose timestamp is further than this from our clock is refused.
MAX_AGE_SECONDS = 300

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


def is_signed(secret: str, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """True when ``signature`` is Slack's for ``body`` at ``timestamp``, within the window."""
    if not secret or not _TIMESTAMP.match(timestamp or "") or not _SIGNATURE.match(signature or ""):
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
