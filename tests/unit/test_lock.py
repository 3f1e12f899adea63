"""``requirements.txt`` is what buildpack platforms and the Dockerfile install: it must pin every
runtime dependency of ``pyproject.toml``, at a version inside the declared range."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REFRESH = "run `make lock` and commit requirements.txt"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.txt: {line!r} is not pinned with ==; {REFRESH}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_runtime_dependency_is_pinned_inside_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    problems = []
    for spec in project["dependencies"]:
        wanted = Requirement(spec)
        pinned = pins.get(canonicalize_name(wanted.name))
        if pinned is None:
            problems.append(f"{wanted.name} is not in requirements.txt")
        elif not wanted.specifier.contains(pinned, prereleases=True):
            problems.append(f"{wanted.name}=={pinned} is outside pyproject.toml's {wanted}")
        for extra in wanted.extras:  # psycopg[binary] installs psycopg-binary
            if canonicalize_name(f"{wanted.name}-{extra}") not in pins:
                problems.append(f"{wanted.name}[{extra}] brings {wanted.name}-{extra}: not pinned")
    assert not problems, "; ".join(problems) + f": {REFRESH}"


def test_the_python_version_file_meets_requires_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = (ROOT / ".python-version").read_text().strip()
    assert Requirement(f"python{project['requires-python']}").specifier.contains(version + ".0")
