"""Putting untrusted text into Slack mrkdwn: escaping, clipping, and mentions.

Room names and ids, titles, reasons and display names come from people. Slack reads ``<...>``
as markup (``<!channel>`` pings everyone, ``<https://evil.example|Free pizza>`` is a disguised
link), so every such value goes through :func:`escape` before it is interpolated; Slack's own
documentation names exactly ``&``, ``<`` and ``>``. Only the markup our views write themselves
(mentions, date tokens) keeps its angle brackets.

:func:`clip` shortens text to Slack's field limits without breaking what escaping made: it never
cuts inside an entity such as ``&amp;``, inside a ``<...>`` token, or between a character and the
marks that combine with it.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"

_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,20}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
_ZWJ = "\u200d"
#: Slack's markup in what people type, as a command's text carries it: mentions, channels,
#: links (``<https://x|label>``) and special mentions (``<!here>``).
_MARKUP = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack documents them, so user text is shown and never obeyed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def typed(text: str) -> str:
    """What someone typed, from a command's text as Slack sends it (``/book`` asks Slack to
    escape it, so mentions arrive as ``<@U123|ada>``): ``@ada``, ``#general``, a link's label
    or address, and ``&``, ``<`` and ``>`` as themselves."""

    def readable(found: re.Match[str]) -> str:
        sign, target, label = found.groups()
        if sign == "!":
            return label or "@" + target.split("^")[0]
        if sign:
            return sign + (label or target)
        return label or target.removeprefix("mailto:")

    text = _MARKUP.sub(readable, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_id_in(text: str) -> str | None:
    """The Slack user id of a mention in a command's text (``<@U123|ada>`` or ``<@U123>``) or
    of a member ID typed as it is (``U123``); ``None`` for anything else."""
    text = text.strip()
    if found := _MENTION.fullmatch(text):
        return found[1]
    return text if _USER_ID.match(text) else None


def _joins_previous(char: str) -> bool:
    """A mark, joiner or selector that belongs to the character before it."""
    return (
        unicodedata.combining(char) != 0
        or char == _ZWJ
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tone modifiers
        or "\udc00" <= char <= "\udfff"  # the second half of a surrogate pair
    )


def _safe_cut(text: str, cut: int) -> int:
    """The largest index <= ``cut`` that splits neither an entity, a token nor a character."""
    # An entity or a <...> token that straddles the cut is dropped whole.
    amp = text.rfind("&", max(0, cut - 10), cut)
    if amp != -1 and (entity := _ENTITY.match(text, amp)) and entity.end() > cut:
        cut = amp
    lt = text.rfind("<", 0, cut)
    if lt != -1 and text.find(">", lt, cut) == -1:
        cut = lt
    while cut > 0 and (_joins_previous(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    return cut


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else a prefix of it and an ellipsis.

    Works on escaped mrkdwn and on plain text alike: the prefix never ends in half an entity,
    half a mention or half a character, so Slack shows what it shows in full.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = _safe_cut(text, limit - len(ELLIPSIS))
    return text[:cut].rstrip() + ELLIPSIS


#: How much of one piece of user text (a title, a reason) a line shows once escaped: the longest
#: the app accepts, escaped, would otherwise crowd the rest of a section out of Slack's 3000.
SHOWN_MAX = 800


def shown(text: str, limit: int = SHOWN_MAX) -> str:
    """What a line of mrkdwn shows of user text: escaped first, then clipped, so the cut
    never splits an entity such as ``&amp;``."""
    return clip(escape(text), limit)


def mention(user_id: str) -> str:
    """``<@U123>``, which Slack shows as the person's current name in every reader's client.

    Anything that is not a Slack user id (a tampered value, a system actor) is shown as text,
    escaped, instead of being turned into markup.
    """
    if _USER_ID.match(user_id or ""):
        return f"<@{user_id}>"
    if _GROUP_ID.match(user_id or ""):
        return f"<!subteam^{user_id}>"  # a user group (room approvers, policies)
    if _CHANNEL_ID.match(user_id or ""):
        return f"<#{user_id}>"  # a channel (the approvals channel)
    return escape(user_id or "")
