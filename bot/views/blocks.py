"""Small Block Kit helpers, so builders read like the message they make."""

from __future__ import annotations

from typing import Any

from bot.views.i18n import _
from bot.views.mrkdwn import clip

Block = dict[str, Any]

# Slack's limits, enforced where user input could exceed them.
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTION_TEXT_MAX = 75
HEADER_MAX = 150
MODAL_TITLE_MAX = 24
MESSAGE_TEXT_MAX = 3000  # kept well below chat.postMessage's 40k; a fallback is a summary


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def section(text: str, *, accessory: Block | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = block_id
    return block


def sections(lines: list[str]) -> list[Block]:
    """Lines as few sections as hold them whole: a list that outgrows one section's 3000
    characters goes on in the next instead of losing its last lines (a single line too long
    for a section is clipped)."""
    found: list[Block] = []
    text = ""
    for line in lines:
        if text and len(text) + 1 + len(line) > SECTION_TEXT_MAX:
            found.append(section(text))
            text = line
        else:
            text = f"{text}\n{line}" if text else line
    if text:
        found.append(section(text))
    return found


def fields(*pairs: tuple[str, str]) -> Block:
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{label}*\n{value}", FIELD_MAX) for label, value in pairs],
    }


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def confirm_dialog(title: str, text: str, yes: str, no: str | None = None) -> dict[str, Any]:
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no if no is not None else _("Keep it"), 30),
    }
