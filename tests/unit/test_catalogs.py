"""The catalogs are complete: every text the views use is in every language, translated, with the
same placeholders; and the messages the i18n module composes come out in the reader's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.views import i18n
from bot.views.i18n import _, ngettext, use_locale
from tests.catalogs import problems

SEOUL = ZoneInfo("Asia/Seoul")
AT = datetime(2026, 12, 4, 15, 30, tzinfo=SEOUL)


def test_every_text_has_every_language_with_the_same_placeholders() -> None:
    found = list(problems())
    assert not found, "catalog problems:\n" + "\n".join(found)


def test_each_language_has_a_catalog() -> None:
    assert {"en", "ko"} <= set(i18n.available_locales())


def test_use_locale_switches_the_language_and_restores_it() -> None:
    assert i18n.current_locale() == i18n.default_locale()
    with use_locale("ko"):
        assert i18n.current_locale() == "ko"
        with use_locale("en"):
            assert _("{day}, {time}") == "{day}, {time}"
        assert _("{day}, {time}") == "{day} {time}"
    assert i18n.current_locale() == i18n.default_locale()


def test_dates_and_times_per_language() -> None:
    with use_locale("en"):
        assert i18n.moment(AT, SEOUL, zone=False) == "Fri 4 Dec, 15:30"
        assert i18n.moment(AT, SEOUL) == "Fri 4 Dec, 15:30 (Asia/Seoul)"
        assert i18n.span(AT, AT.replace(hour=16), SEOUL) == "Fri 4 Dec, 15:30–16:30 (Asia/Seoul)"
    with use_locale("ko"):
        assert i18n.moment(AT, SEOUL, zone=False) == "12월 4일 (금) 오후 3:30"
        assert i18n.span(AT, AT.replace(hour=16), SEOUL) == (
            "12월 4일 (금) 오후 3:30~오후 4:30 (Asia/Seoul)"
        )
        late = AT.replace(hour=23)
        assert i18n.span(late, late.replace(day=5, hour=1), SEOUL, zone=False) == (
            "12월 4일 (금) 오후 11:30 ~ 12월 5일 (토) 오전 1:30"
        )


def test_a_language_without_patterns_gets_cldr_ones() -> None:
    i18n.install("fr", i18n.translations("en"), dates_like="fr")
    with use_locale("fr"):
        assert "déc." in i18n.day(AT, SEOUL)


def test_slack_locales_resolve_to_enabled_languages() -> None:
    enabled = ("en", "ko")
    assert i18n.resolve("ko-KR", enabled, "en") == "ko"
    assert i18n.resolve("en-US", enabled, "en") == "en"
    assert i18n.resolve("fr-FR", enabled, "en") == "en"
    assert i18n.resolve("fr-FR", enabled, "ko") == "ko"
    assert i18n.resolve(None, enabled, "en") == "en"
    assert i18n.resolve("ko-KR", ("en",), "en") == "en"
    assert i18n.resolve("pt-BR", ("pt", "pt_BR"), "en") == "pt_BR"


def test_plural_forms_follow_each_language() -> None:
    with use_locale("en"):
        assert ngettext("{count} minute", "{count} minutes", 1) == "{count} minute"
        assert ngettext("{count} minute", "{count} minutes", 2) == "{count} minutes"
