"""A checker for Slack's documented Block Kit limits.

``check_view(view, "modal" | "home")`` and ``check_message(msg)`` raise ``AssertionError``
naming the path of the first violation (such as ``view.blocks[3].accessory.text.text``). Limits
follow the Block Kit reference (blocks, block elements, composition objects, views); lengths are
counted in Python characters. Block and element types the app does not use are refused, so
nothing goes unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

Surface = Literal["modal", "home"]

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
MESSAGE_TEXT_MAX = 40_000  # chat.postMessage truncates longer text
MODAL_TEXT_MAX = 24  # title, submit, close
ID_MAX = 255  # callback_id, block_id, action_id, external_id
PRIVATE_METADATA_MAX = 3000
TEXT_OBJECT_MAX = 3000
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_MAX = 2000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
SELECT_OPTIONS_MAX = 100
CHECKBOX_OPTIONS_MAX = 10
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
PLACEHOLDER_MAX = 150
INPUT_MAX_LENGTH_MAX = 3000
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30

PLAIN: tuple[str, ...] = ("plain_text",)
ANY_TEXT: tuple[str, ...] = ("plain_text", "mrkdwn")


def _fail(path: str, message: str) -> None:
    raise AssertionError(f"{path}: {message}")


def _require(ok: bool, path: str, message: str) -> None:
    if not ok:
        _fail(path, message)


def _obj(value: Any, path: str) -> dict[str, Any]:
    _require(isinstance(value, dict), path, f"expected an object, got {type(value).__name__}")
    obj: dict[str, Any] = value
    return obj


def _list(value: Any, path: str) -> list[Any]:
    _require(isinstance(value, list), path, f"expected an array, got {type(value).__name__}")
    items: list[Any] = value
    return items


def _string(value: Any, path: str, limit: int, *, empty_ok: bool = False) -> str:
    _require(isinstance(value, str), path, f"expected a string, got {type(value).__name__}")
    text: str = value
    _require(len(text) <= limit, path, f"{len(text)} characters, the limit is {limit}")
    if not empty_ok:
        _require(bool(text.strip()), path, "must not be empty")
    return text


def _optional_string(container: dict[str, Any], key: str, path: str, limit: int) -> None:
    if key in container:
        _string(container[key], f"{path}.{key}", limit)


def _count(items: list[Any], path: str, limit: int, *, minimum: int = 0) -> None:
    _require(len(items) <= limit, path, f"{len(items)} items, the limit is {limit}")
    _require(len(items) >= minimum, path, f"{len(items)} items, at least {minimum} needed")


def check_text(value: Any, path: str, limit: int, kinds: tuple[str, ...] = ANY_TEXT) -> None:
    """A text object: one of ``kinds``, with non-empty ``text`` of at most ``limit`` characters."""
    obj = _obj(value, path)
    _require(obj.get("type") in kinds, f"{path}.type", f"{obj.get('type')!r} is not one of {kinds}")
    _string(obj.get("text"), f"{path}.text", min(limit, TEXT_OBJECT_MAX))
    if obj["type"] == "mrkdwn":
        _require("emoji" not in obj, f"{path}.emoji", "only plain_text takes emoji")


def _confirm(value: Any, path: str) -> None:
    obj = _obj(value, path)
    check_text(obj.get("title"), f"{path}.title", CONFIRM_TITLE_MAX, PLAIN)
    check_text(obj.get("text"), f"{path}.text", CONFIRM_TEXT_MAX)
    check_text(obj.get("confirm"), f"{path}.confirm", CONFIRM_BUTTON_MAX, PLAIN)
    check_text(obj.get("deny"), f"{path}.deny", CONFIRM_BUTTON_MAX, PLAIN)
    if "style" in obj:
        _require(obj["style"] in ("primary", "danger"), f"{path}.style", "primary or danger")


def _option(value: Any, path: str, kinds: tuple[str, ...]) -> str:
    obj = _obj(value, path)
    check_text(obj.get("text"), f"{path}.text", OPTION_TEXT_MAX, kinds)
    option_value = _string(obj.get("value"), f"{path}.value", OPTION_VALUE_MAX)
    if "description" in obj:
        check_text(obj["description"], f"{path}.description", OPTION_DESCRIPTION_MAX, kinds)
    _optional_string(obj, "url", path, URL_MAX)
    return option_value


def _options(
    element: dict[str, Any], path: str, limit: int, kinds: tuple[str, ...], *, required: bool
) -> None:
    if "options" not in element and not required:
        return
    options = _list(element.get("options"), f"{path}.options")
    _count(options, f"{path}.options", limit)
    values = [_option(o, f"{path}.options[{i}]", kinds) for i, o in enumerate(options)]
    dupes = sorted({v for v in values if values.count(v) > 1})
    _require(not dupes, f"{path}.options", f"duplicate option values {dupes}")
    initial = []
    if "initial_option" in element:
        initial.append((element["initial_option"], f"{path}.initial_option"))
    if "initial_options" in element:
        chosen = _list(element["initial_options"], f"{path}.initial_options")
        initial += [(o, f"{path}.initial_options[{i}]") for i, o in enumerate(chosen)]
    for option, option_path in initial:
        _option(option, option_path, kinds)
        _require(option in options, option_path, "is not one of the options")


def _placeholder(element: dict[str, Any], path: str) -> None:
    if "placeholder" in element:
        check_text(element["placeholder"], f"{path}.placeholder", PLACEHOLDER_MAX, PLAIN)


def _button(element: dict[str, Any], path: str) -> None:
    check_text(element.get("text"), f"{path}.text", BUTTON_TEXT_MAX, PLAIN)
    if "value" in element:
        _string(element["value"], f"{path}.value", BUTTON_VALUE_MAX)
    _optional_string(element, "url", path, URL_MAX)
    if "style" in element:
        _require(element["style"] in ("primary", "danger"), f"{path}.style", "primary or danger")


def _static_select(element: dict[str, Any], path: str) -> None:
    _placeholder(element, path)
    _options(element, path, SELECT_OPTIONS_MAX, PLAIN, required=True)


def _checkboxes(element: dict[str, Any], path: str) -> None:
    _options(element, path, CHECKBOX_OPTIONS_MAX, ANY_TEXT, required=True)


def _datepicker(element: dict[str, Any], path: str) -> None:
    _placeholder(element, path)
    if "initial_date" in element:
        _require(
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(element["initial_date"])) is not None,
            f"{path}.initial_date",
            "must be YYYY-MM-DD",
        )


def _timepicker(element: dict[str, Any], path: str) -> None:
    _placeholder(element, path)
    if "initial_time" in element:
        _require(
            re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(element["initial_time"])) is not None,
            f"{path}.initial_time",
            "must be HH:mm (24 hours)",
        )


def _plain_text_input(element: dict[str, Any], path: str) -> None:
    _placeholder(element, path)
    for key in ("min_length", "max_length"):
        if key in element:
            length = element[key]
            _require(isinstance(length, int), f"{path}.{key}", "must be an integer")
            _require(
                0 <= length <= INPUT_MAX_LENGTH_MAX,
                f"{path}.{key}",
                f"{length} is outside 0..{INPUT_MAX_LENGTH_MAX}",
            )
    if "initial_value" in element:
        _string(element["initial_value"], f"{path}.initial_value", INPUT_MAX_LENGTH_MAX)


def _number_input(element: dict[str, Any], path: str) -> None:
    _placeholder(element, path)
    _require(
        isinstance(element.get("is_decimal_allowed"), bool),
        f"{path}.is_decimal_allowed",
        "is required (true or false)",
    )


ELEMENTS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "button": _button,
    "static_select": _static_select,
    "checkboxes": _checkboxes,
    "datepicker": _datepicker,
    "timepicker": _timepicker,
    "plain_text_input": _plain_text_input,
    "number_input": _number_input,
}


def _element(value: Any, path: str, action_ids: set[str]) -> None:
    element = _obj(value, path)
    kind = element.get("type")
    _require(kind in ELEMENTS, f"{path}.type", f"unchecked element type {kind!r}")
    if "action_id" in element:
        action_id = _string(element["action_id"], f"{path}.action_id", ID_MAX)
        _require(
            action_id not in action_ids,
            f"{path}.action_id",
            f"{action_id!r} is not unique within its block",
        )
        action_ids.add(action_id)
    if "confirm" in element:
        _confirm(element["confirm"], f"{path}.confirm")
    ELEMENTS[kind](element, path)


def _section(block: dict[str, Any], path: str) -> None:
    _require("text" in block or "fields" in block, path, "a section needs text or fields")
    if "text" in block:
        check_text(block["text"], f"{path}.text", SECTION_TEXT_MAX)
    if "fields" in block:
        items = _list(block["fields"], f"{path}.fields")
        _count(items, f"{path}.fields", SECTION_FIELDS_MAX, minimum=1)
        for i, item in enumerate(items):
            check_text(item, f"{path}.fields[{i}]", SECTION_FIELD_MAX)
    if "accessory" in block:
        _element(block["accessory"], f"{path}.accessory", set())


def _header(block: dict[str, Any], path: str) -> None:
    check_text(block.get("text"), f"{path}.text", HEADER_MAX, PLAIN)


def _context(block: dict[str, Any], path: str) -> None:
    items = _list(block.get("elements"), f"{path}.elements")
    _count(items, f"{path}.elements", CONTEXT_ELEMENTS_MAX, minimum=1)
    for i, item in enumerate(items):
        check_text(item, f"{path}.elements[{i}]", TEXT_OBJECT_MAX)


def _actions(block: dict[str, Any], path: str) -> None:
    items = _list(block.get("elements"), f"{path}.elements")
    _count(items, f"{path}.elements", ACTIONS_ELEMENTS_MAX, minimum=1)
    action_ids: set[str] = set()
    for i, item in enumerate(items):
        _element(item, f"{path}.elements[{i}]", action_ids)


def _divider(block: dict[str, Any], path: str) -> None:
    extra = set(block) - {"type", "block_id"}
    _require(not extra, path, f"a divider takes no {sorted(extra)}")


def _input(block: dict[str, Any], path: str) -> None:
    check_text(block.get("label"), f"{path}.label", INPUT_LABEL_MAX, PLAIN)
    if "hint" in block:
        check_text(block["hint"], f"{path}.hint", INPUT_HINT_MAX, PLAIN)
    _require("element" in block, f"{path}.element", "an input block needs an element")
    _element(block["element"], f"{path}.element", set())


BLOCKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
    "input": _input,
}


def _blocks(value: Any, path: str, limit: int, *, allow_input: bool) -> None:
    blocks = _list(value, path)
    _count(blocks, path, limit)
    block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        block_path = f"{path}[{i}]"
        block = _obj(raw, block_path)
        kind = block.get("type")
        _require(kind in BLOCKS, f"{block_path}.type", f"unchecked block type {kind!r}")
        _require(
            allow_input or kind != "input",
            f"{block_path}.type",
            "input blocks belong in modals",
        )
        if "block_id" in block:
            block_id = _string(block["block_id"], f"{block_path}.block_id", ID_MAX)
            _require(
                block_id not in block_ids,
                f"{block_path}.block_id",
                f"{block_id!r} is not unique",
            )
            block_ids.add(block_id)
        BLOCKS[kind](block, block_path)


def check_view(view: dict[str, Any], surface: Surface) -> None:
    """Check a ``views.open``/``views.update`` modal or a ``views.publish`` home view."""
    path = "view"
    _obj(view, path)
    _require(view.get("type") == surface, f"{path}.type", f"expected {surface!r}")
    if surface == "modal":
        check_text(view.get("title"), f"{path}.title", MODAL_TEXT_MAX, PLAIN)
        for key in ("submit", "close"):
            if key in view:
                check_text(view[key], f"{path}.{key}", MODAL_TEXT_MAX, PLAIN)
    _optional_string(view, "callback_id", path, ID_MAX)
    _optional_string(view, "external_id", path, ID_MAX)
    if "private_metadata" in view:
        _string(
            view["private_metadata"],
            f"{path}.private_metadata",
            PRIVATE_METADATA_MAX,
            empty_ok=True,
        )
    _blocks(view.get("blocks"), f"{path}.blocks", VIEW_BLOCKS_MAX, allow_input=True)
    if surface == "modal":
        has_input = any(b.get("type") == "input" for b in view["blocks"])
        _require(not has_input or "submit" in view, f"{path}.submit", "inputs need a submit")


def check_message(msg: dict[str, Any]) -> None:
    """Check a chat.postMessage/chat.update/response_url message: ``text`` and optional blocks."""
    path = "message"
    _obj(msg, path)
    _require("text" in msg, f"{path}.text", "a message needs a text fallback")
    _string(msg["text"], f"{path}.text", MESSAGE_TEXT_MAX)
    if "blocks" in msg:
        _blocks(msg["blocks"], f"{path}.blocks", MESSAGE_BLOCKS_MAX, allow_input=False)
