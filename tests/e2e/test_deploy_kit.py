"""The deploy kit: Dockerfile, docker-compose.yml and Procfile name commands that exist, and the
image's own steps work. No Docker engine runs here, so the image is not built: instead its RUN,
HEALTHCHECK and CMD lines run as written in a fresh virtualenv, which is what the image does on
top of its slim Python base."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from tests.e2e.processes import logged_port
from tests.fakes.slack_api import StrictSlackApi

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)
    return parsed


def _assert_is_a_roombot_command(argv: list[str]) -> None:
    """``python app.py`` or ``python -m bot ...`` with arguments the CLI accepts."""
    assert argv[0] == "python", argv
    if argv[1:] == ["app.py"]:
        assert (ROOT / "app.py").is_file()
        return
    assert argv[1:3] == ["-m", "bot"], argv
    build_parser().parse_args(argv[3:])  # exits (fails the test) on an unknown command


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_dockerfile_is_slim_non_root_locked_and_health_checked() -> None:
    steps = _dockerfile()
    instructions = [name for name, _ in steps]
    python = (ROOT / ".python-version").read_text().strip()

    assert steps[0] == ("FROM", f"python:{python}-slim")
    user = dict(steps)["USER"]
    assert user not in ("root", "0")
    assert instructions.index("USER") > max(
        i for i, name in enumerate(instructions) if name == "RUN"
    ), "every RUN that needs root comes before USER"
    runs = [args for name, args in steps if name == "RUN"]
    assert any("-r requirements.txt" in run for run in runs), "installed from the lock"
    assert all("--no-deps" in run for run in runs if "pip install" in run), (
        "only the lock decides versions"
    )
    health = dict(steps)["HEALTHCHECK"]
    assert "/healthz" in health
    _assert_is_a_roombot_command(_exec_form(dict(steps)["CMD"]))


def test_compose_runs_postgres_a_one_shot_release_then_web_and_worker() -> None:
    services = _compose()["services"]

    assert set(services) == {"db", "release", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("release", "web", "worker"):
        service = services[name]
        _assert_is_a_roombot_command(service["command"])
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["release"]["command"][3:] == ["db", "upgrade"]
    assert services["release"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {
            "release": {"condition": "service_completed_successfully"}
        }
    assert services["web"]["environment"]["RUN_SCHEDULER"] == "false"
    assert services["web"]["command"] == ["python", "app.py"]
    assert services["worker"]["command"][3:] == ["worker"]


def test_the_procfile_names_the_same_commands() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(entries) == {"release", "web", "worker"}
    for command in entries.values():
        argv = [a for a in shlex.split(command) if not re.fullmatch(r"[A-Z_]+=.*", a)]
        _assert_is_a_roombot_command(argv)
    assert "RUN_SCHEDULER=false" in entries["web"]


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv built by the Dockerfile's own RUN lines (from WORKDIR, the project)."""
    where = tmp_path_factory.mktemp("image") / "venv"
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    for name, command in _dockerfile():
        if name == "RUN" and "pip install" in command:
            pip_part = command.split("&&")[0]  # useradd needs root and Docker; not here
            subprocess.run(pip_part, shell=True, cwd=ROOT, env=env, check=True, timeout=600)
    yield bin_dir


@pytest.mark.slow
def test_the_images_commands_run_in_a_plain_venv(image_venv: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_", "PYTHON"))}
    env.update(
        PATH=f"{image_venv}{os.pathsep}{os.environ['PATH']}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}",
        PORT="0",
        APPROVALS_CHANNEL="CAPPROVALS",
        SLACK_BOT_TOKEN="xoxb-image",
        SLACK_SIGNING_SECRET="image-secret",
    )
    steps = dict(_dockerfile())
    services = _compose()["services"]
    # Run from an empty directory with the installed package only: nothing from the checkout.
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text((ROOT / "app.py").read_text())

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=app_dir, env=env, capture_output=True, text=True, timeout=120
        )

    version = run(["python", "-c", "import sys; print(*sys.version_info[:2], sep='.')"])
    assert version.stdout.strip() == (ROOT / ".python-version").read_text().strip()
    upgrade = run(services["release"]["command"])
    assert upgrade.returncode == 0, upgrade.stderr
    assert "database at revision" in upgrade.stdout

    with StrictSlackApi(token="xoxb-image", channels=("CAPPROVALS",)) as fake:
        env["SLACK_API_URL"] = fake.url
        # the self-check works with the runtime dependencies alone; here one thing is missing
        check = run(["python", "-m", "bot", "check"])
        assert check.returncode == 1, check.stderr
        assert [line.split(":")[0:2] for line in check.stdout.splitlines()] == [
            ["problem", " ADMIN_USER_IDS is empty, so nobody can approve bookings"]
        ], check.stdout
        log = tmp_path / "web.log"
        with log.open("wb") as sink:
            web = subprocess.Popen(_exec_form(steps["CMD"]), cwd=app_dir, env=env, stderr=sink)
        try:
            port = logged_port(web, log)
            env["PORT"] = str(port)  # what the image's HEALTHCHECK reads
            health = _exec_form(steps["HEALTHCHECK"].split("CMD", 1)[1].strip())
            deadline = time.monotonic() + 60
            while run(health).returncode != 0:
                assert web.poll() is None, "the web process exited"
                assert time.monotonic() < deadline, "HEALTHCHECK never passed"
                time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
                assert json.load(ready)["status"] == "ready"
        finally:
            web.send_signal(signal.SIGTERM)
            assert web.wait(timeout=30) == 0

        worker = subprocess.Popen(
            services["worker"]["command"], cwd=app_dir, env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            assert worker.stdout is not None
            assert "worker running" in worker.stdout.readline()
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
