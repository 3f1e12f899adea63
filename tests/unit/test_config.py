"""Settings: names from DESIGN.md, one-line errors naming the variable, Slack only when needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_match_the_design() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///roombot.db"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.port == 3000 and s.run_scheduler is True and s.default_timezone == "UTC"
    assert s.admin_user_ids == frozenset() and not s.email_enabled and not s.socket_mode
    assert s.limits.max_length.total_seconds() == 8 * 3600 and s.limits.horizon.days == 90


def test_values_come_from_the_environment_and_dotenv(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_USER_IDS=U1, U2 ,,U3\nDEFAULT_TIMEZONE=Asia/Seoul\n")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    s = load_settings()
    assert s.admin_user_ids == frozenset({"U1", "U2", "U3"})
    assert s.default_timezone == "Asia/Seoul"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("MAX_BOOKING_HOURS", "-1"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as failed:
        load_settings()
    assert str(failed.value).startswith(f"{name}:") and "\n" not in str(failed.value)


def test_slack_settings_are_required_only_to_run_the_slack_app(monkeypatch) -> None:
    s = load_settings()  # the CLI needs none of them
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN is not set"):
        s.require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("APPROVALS_CHANNEL", "C1")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is not set"):
        load_settings().require_slack()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")  # Socket Mode needs no signing secret
    load_settings().require_slack()


ROOT = Path(__file__).resolve().parents[2]
SETTING_LINE = re.compile(r"(# )?([A-Z][A-Z0-9_]*)=.*")


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def _assert_lists_every_setting(where: str, listed: set[str], how_to_add: str) -> None:
    """One check for every place that must name exactly the settings (README table, .env.example),
    with a failure message that says what to add or remove there."""
    missing = sorted(_setting_names() - listed)
    unknown = sorted(listed - _setting_names())
    problems = [f"add to {where}: {how_to_add.format(name=name)}" for name in missing]
    problems += [f"remove from {where} (no such setting): {name}" for name in unknown]
    assert not problems, "\n".join(problems)


def test_the_readme_documents_every_setting_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }
    _assert_lists_every_setting(
        "README.md's configuration table",
        documented,
        "a row `| `{name}` | default | meaning |`",
    )


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed: set[str] = set()
    uncommented: list[str] = []
    for number, line in enumerate(lines):
        found = SETTING_LINE.fullmatch(line)
        if not found:
            continue
        listed.add(found[2])
        # Settings may share the comment above a group of them: walk up past other settings.
        above = number - 1
        while above >= 0 and SETTING_LINE.fullmatch(lines[above]) and lines[above][0] == "#":
            above -= 1
        if above < 0 or not lines[above].startswith("#"):
            uncommented.append(found[2])
    _assert_lists_every_setting(
        ".env.example",
        listed,
        "a comment line saying what {name} is, then `# {name}=<default>` (commented out unless "
        "everyone must fill it in)",
    )
    assert not uncommented, f"in .env.example, put a comment line above: {', '.join(uncommented)}"


def test_env_example_loads_as_the_defaults() -> None:
    """Copied as it is, ``.env.example`` starts from the defaults: nothing in it is malformed."""
    env = load_settings(_env_file=str(ROOT / ".env.example"))
    assert env.model_dump(exclude={"limits"}) == load_settings().model_dump(exclude={"limits"})


def test_languages_default_to_english_with_korean_enabled(monkeypatch) -> None:
    s = load_settings()
    assert s.default_locale == "en" and s.enabled_locales == ("en", "ko")
    assert s.card_locale == "en"
    monkeypatch.setenv("ENABLED_LOCALES", "ko, en")
    monkeypatch.setenv("DEFAULT_LOCALE", "ko")
    s = load_settings()
    assert s.enabled_locales == ("ko", "en") and s.card_locale == "ko"
    monkeypatch.setenv("APPROVALS_LOCALE", "en")
    assert load_settings().card_locale == "en"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEFAULT_LOCALE": "xx"}, "DEFAULT_LOCALE: no catalog for locale 'xx'"),
        ({"ENABLED_LOCALES": "en,zz"}, "ENABLED_LOCALES: no catalog for locale 'zz'"),
        ({"APPROVALS_LOCALE": "fr"}, "APPROVALS_LOCALE: no catalog for locale 'fr'"),
        ({"ENABLED_LOCALES": "en", "DEFAULT_LOCALE": "ko"}, "is not in ENABLED_LOCALES"),
    ],
)
def test_a_language_without_a_catalog_is_refused_naming_the_setting(
    monkeypatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings()


def test_a_post_burst_that_cannot_absorb_the_jitter_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_CHANNEL_POST_BURST", "2")
    monkeypatch.setenv("SLACK_POST_JITTER_SECONDS", "1.5")
    with pytest.raises(SettingsError, match="must leave at least one post"):
        load_settings()
