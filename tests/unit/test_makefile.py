"""The Makefile refuses a Python older than 3.11 with one clear message, before making a .venv
that pip would fail in (and that every later run would reuse until ``make clean``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLD_PYTHON = """#!/bin/sh
case "$1" in
  --version) echo "Python 3.9.18" ;;
  *) exit 1 ;;
esac
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("python", "named"), [("./old-python", "Python 3.9.18"), ("./nope", "missing")]
)
def test_an_old_or_missing_python_is_one_message_and_no_venv(
    tmp_path: Path, python: str, named: str
) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    old = tmp_path / "old-python"
    old.write_text(OLD_PYTHON)
    old.chmod(0o755)
    done = subprocess.run(
        ["make", f"PYTHON={python}", "test"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.startswith(
        f"roombot needs Python 3.11 or newer, and '{python}' is {named}.\n"
        f"Install one, then run for example: make PYTHON=python3.11 test\n"
    ), done.stderr
    assert not (tmp_path / ".venv").exists()  # the next run, with a good Python, starts clean
