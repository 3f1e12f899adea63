"""Listeners pass data and views speak: no sentence for a person is written in bot/handlers.

A text in a listener escapes the catalogs, so Korean readers would get English. Log messages,
regular expressions and docstrings are not texts for a person; everything else that reads like
words (two words or more) is reported with its place, to be moved into bot/views (texts.py,
refusals.py or the view it belongs to) and wrapped with ``_()``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[2] / "bot" / "handlers"
NOT_FOR_PEOPLE = {"debug", "info", "warning", "error", "exception", "critical", "getLogger"}
REGEX = {"compile", "match", "search", "fullmatch", "sub", "split", "findall"}
WORDS = re.compile(r"[A-Za-z]{2,}[\s,.;:!?]+[A-Za-z]{2,}")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _ignored(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in NOT_FOR_PEOPLE | REGEX:
                found |= {id(sub) for sub in ast.walk(node)}
    return found


def texts_in_listeners() -> list[str]:
    found = []
    for path in sorted(HANDLERS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _ignored(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and WORDS.search(node.value)
            ):
                found.append(f"bot/handlers/{path.name}:{node.lineno}: {node.value!r}")
    return sorted(found)


def test_listeners_write_no_texts() -> None:
    found = texts_in_listeners()
    assert not found, (
        "texts written in listeners (move them into bot/views and wrap them with _()):\n"
        + "\n".join(found)
    )
