"""Settings, read from the environment and an optional ``.env`` file.

Commands that never talk to Slack (the CLI, migrations) must work without Slack credentials, so
Slack settings are optional here and demanded by :meth:`Settings.require_slack` at the one place
that starts the Slack app.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.rules import BookingLimits, Quota

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # `SLACK_APP_TOKEN=` (as left by .env.example) means unset, not an empty token.
        env_ignore_empty=True,
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///roombot.db"
    approvals_channel: str | None = None
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str | None = None

    default_timezone: str = "UTC"
    default_locale: str = "en"
    enabled_locales: Annotated[tuple[str, ...], NoDecode] = ("en", "ko")
    approvals_locale: str | None = None
    #: 0 binds a free port, which the "listening" log line names (tests start the app this way).
    port: int = Field(default=3000, ge=0, le=65535)
    #: Where the HTTP server is reachable from outside (calendar feed links); unset: no feeds.
    public_base_url: str | None = None
    run_scheduler: bool = True
    web_threads: int = Field(default=16, ge=1, le=256)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    max_booking_hours: float = Field(default=8.0, gt=0, le=24 * 14)
    booking_horizon_days: int = Field(default=90, ge=1, le=3650)
    max_title_length: int = Field(default=150, ge=1, le=1000)

    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_base_seconds: float = Field(default=2.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=900.0, gt=0)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)
    outbox_lease_seconds: float = Field(default=300.0, gt=0)
    outbox_breaker_fail_max: int = Field(default=5, ge=1, le=1000)
    outbox_breaker_reset_seconds: float = Field(default=30.0, gt=0)
    outbox_max_age_hours: float = Field(default=24.0, gt=0)
    outbox_max_in_flight: int = Field(default=32, ge=1, le=512)
    outbox_channel_in_flight: int = Field(default=8, ge=1, le=256)
    slack_tier2_per_minute: float = Field(default=20, gt=0)
    slack_tier3_per_minute: float = Field(default=50, gt=0)
    slack_tier4_per_minute: float = Field(default=100, gt=0)
    slack_channel_posts_per_second: float = Field(default=1.0, gt=0)
    slack_channel_post_burst: int = Field(default=4, ge=1, le=100)
    slack_post_jitter_seconds: float = Field(default=0.5, ge=0, le=60)
    reminder_minutes: int = Field(default=10, ge=0, le=24 * 60)
    admin_nudge_minutes: int = Field(default=120, ge=1)
    waitlist_offer_minutes: int = Field(default=15, ge=1, le=24 * 60)
    series_release_limit: int = Field(default=3, ge=0, le=52)
    user_cache_ttl_seconds: int = Field(default=3600, ge=0)

    auto_approve_groups: Annotated[tuple[str, ...], NoDecode] = ()
    group_cache_ttl_seconds: int = Field(default=300, ge=0)
    quota_hours_per_week: float = Field(default=0, ge=0, le=24 * 7)
    quota_bookings_per_week: int = Field(default=0, ge=0, le=1000)

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("enabled_locales", mode="before")
    @classmethod
    def _split_locales(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("default_locale", "approvals_locale", "enabled_locales")
    @classmethod
    def _known_locales(cls, value: Any) -> Any:
        from bot.views.i18n import available_locales

        known = available_locales()
        for locale in [value] if isinstance(value, str) else value or ():
            if locale not in known:
                raise ValueError(f"no catalog for locale {locale!r} (have: {', '.join(known)})")
        return value

    @model_validator(mode="after")
    def _default_is_enabled(self) -> Settings:
        if self.default_locale not in self.enabled_locales:
            raise ValueError(f"DEFAULT_LOCALE {self.default_locale!r} is not in ENABLED_LOCALES")
        return self

    @model_validator(mode="after")
    def _burst_absorbs_jitter(self) -> Settings:
        kept = self.slack_channel_posts_per_second * self.slack_post_jitter_seconds
        if self.slack_channel_post_burst - kept < 1:
            raise ValueError(
                "SLACK_POST_JITTER_SECONDS x SLACK_CHANNEL_POSTS_PER_SECOND must leave at least "
                f"one post of SLACK_CHANNEL_POST_BURST ({self.slack_channel_post_burst})"
            )
        return self

    @property
    def card_locale(self) -> str:
        """The approvals channel card's language: APPROVALS_LOCALE, else DEFAULT_LOCALE."""
        return self.approvals_locale or self.default_locale

    @field_validator("auto_approve_groups", mode="before")
    @classmethod
    def _split_groups(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip().upper() for part in value.split(",") if part.strip()]
        for group in value:
            if not (group.startswith("S") and group.isalnum()):
                raise ValueError(f"{group!r} is not a Slack user group id (S...)")
        return tuple(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a dialect+driver name.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                value = "postgresql+psycopg://" + value[len(prefix) :]
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a database URL; use sqlite:///roombot.db or "
                "postgresql://user:password@host:5432/db"
            ) from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @cached_property
    def limits(self) -> BookingLimits:
        return BookingLimits.of(
            max_hours=self.max_booking_hours,
            horizon_days=self.booking_horizon_days,
            max_title_length=self.max_title_length,
        )

    @property
    def quota(self) -> Quota:
        return Quota(hours=self.quota_hours_per_week, bookings=self.quota_bookings_per_week)

    @property
    def sender(self) -> str:
        """The invites' From: MAIL_FROM, else ``roombot@<SMTP host>``. Its domain is also the
        domain of every calendar event's UID, in invites and feeds alike."""
        return self.mail_from or f"roombot@{self.smtp_host or 'localhost'}"

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def require_slack(self, *, receiving: bool = True) -> None:
        """Fail with one line naming the first Slack setting the app cannot start without.

        ``receiving=False`` is for the worker, which only calls Slack and needs no signing secret.
        """
        needed = ["SLACK_BOT_TOKEN", "APPROVALS_CHANNEL"]
        if receiving and not self.socket_mode:
            needed.append("SLACK_SIGNING_SECRET")
        for name in needed:
            if not getattr(self, name.lower()):
                hint = " (or set SLACK_APP_TOKEN for Socket Mode)" if "SIGNING" in name else ""
                raise SettingsError(f"{name} is not set{hint}; see README.md, 'Configuration'")


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's multi-line report into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
