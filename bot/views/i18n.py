"""Languages: gettext catalogs (Babel) and dates and times as each reader's language writes them.

Views call :func:`_`, :func:`pgettext` and :func:`ngettext` at render time; the caller picks the
language around the render with ``with use_locale(locale):``. The active locale is a context
variable, so two threads (Bolt's listener pool, the dispatcher's lanes) rendering for two people
never see each other's.
Outside any ``use_locale`` block views speak :func:`default_locale` (``DEFAULT_LOCALE``, set once
by the bootstrap).

Catalogs live in ``bot/views/locales/<locale>/LC_MESSAGES/roombot.po`` and are compiled to ``.mo``
by ``make catalogs`` or the package build (``setup.py``). A ``.po`` newer than its ``.mo`` (a
translation edited since the last compile) is read directly with Babel, so a test run right after
an edit sees the edit. Source strings are English: an English reader gets the msgid itself unless
``en`` translates it.

Times are shown in the reader's zone with the zone's name: ``Fri 4 Dec, 15:30 (Asia/Seoul)`` /
``12월 4일 (금) 오후 3:30 (Asia/Seoul)``, formatted with Babel (CLDR day and month names). Channel
messages read by many use Slack date tokens instead (:func:`token`).
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "roombot"
LOCALE_DIR = Path(__file__).parent / "locales"
SOURCE_LOCALE = "en"

#: Day and time patterns (CLDR syntax) per language; a language missing here gets CLDR's own
#: "abbreviated weekday, day, month" and short time.
DATE_PATTERNS = {
    "en": ("EEE d MMM", "HH:mm"),
    "ko": ("MMM d일 (E)", "a h:mm"),
}


class _Lazy:
    """A locale looked up on first use (a ``users.info`` answer), then kept for the block."""

    def __init__(self, find: Callable[[], str | None]) -> None:
        self._find = find
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = self._find() or _default
        return self._value


_active: ContextVar[str | _Lazy | None] = ContextVar("roombot_locale", default=None)
_default = SOURCE_LOCALE
_lock = threading.Lock()
_loaded: dict[str, gettext.NullTranslations] = {}
#: Which Babel locale formats dates for a catalog locale that is not a real language (tests).
_date_locale: dict[str, str] = {}


# --- which language ------------------------------------------------------------------------------


def set_default_locale(locale: str) -> None:
    """The language of renders outside ``use_locale`` (the bootstrap sets DEFAULT_LOCALE)."""
    global _default
    _default = locale


def default_locale() -> str:
    return _default


def current_locale() -> str:
    active = _active.get()
    if isinstance(active, _Lazy):
        return active()
    return active or _default


@contextmanager
def use_locale(locale: str | Callable[[], str | None] | None) -> Iterator[None]:
    """Render in ``locale`` inside the block (``None``: the default language). A callable is
    asked on the first text rendered, so a listener that renders nothing looks nothing up."""
    chosen: str | _Lazy = _Lazy(locale) if callable(locale) else (locale or _default)
    token_ = _active.set(chosen)
    try:
        yield
    finally:
        _active.reset(token_)


def available_locales() -> list[str]:
    """Every language with a catalog in the repository."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def resolve(slack_locale: str | None, enabled: Iterable[str], default: str) -> str:
    """The enabled language for a Slack locale (``ko-KR`` -> ``ko``), else ``default``.

    A regional catalog (``pt_BR``) wins over its language (``pt``) when both are enabled.
    """
    allowed = {e.replace("-", "_").lower(): e for e in enabled}
    if slack_locale:
        tag = slack_locale.replace("-", "_")
        language = tag.split("_", 1)[0]
        for candidate in (tag.lower(), language.lower()):
            if candidate in allowed:
                return allowed[candidate]
    return default


# --- catalogs ------------------------------------------------------------------------------------


def translations(locale: str) -> gettext.NullTranslations:
    found = _loaded.get(locale)  # every text rendered asks: no lock once it is loaded
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(locale)
        if found is None:
            found = _loaded[locale] = _load(locale)
        return found


def _load(locale: str) -> gettext.NullTranslations:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as stream:
            return gettext.GNUTranslations(stream)
    if po.exists():
        if locale != SOURCE_LOCALE:
            log.info("catalog %s is not compiled (or older than its .po): reading the .po", locale)
        with po.open("rb") as stream:
            catalog = read_po(stream, locale=locale, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    if locale != SOURCE_LOCALE:
        log.warning("no catalog for locale %r: texts stay in English", locale)
    return gettext.NullTranslations()


def install(locale: str, catalog: gettext.NullTranslations, *, dates_like: str = "en") -> None:
    """Use ``catalog`` for ``locale``, dates formatted as in ``dates_like`` (tests: pseudo)."""
    with _lock:
        _loaded[locale] = catalog
        _date_locale[locale] = dates_like


def _(message: str) -> str:
    """``message`` in the active language. Placeholders are named: ``_("{room}").format(...)``."""
    return translations(current_locale()).gettext(message)


def pgettext(context: str, message: str) -> str:
    """``message`` in the active language, told apart by ``context`` from the same English word
    elsewhere (a status word, ``"booking status"``, is not the verb or the adjective)."""
    return translations(current_locale()).pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the active language (format it after)."""
    return translations(current_locale()).ngettext(singular, plural, n)


P = ParamSpec("P")
T = TypeVar("T")
#: Renders kept per function by :func:`per_language` before it starts afresh.
KEPT_RENDERS = 64


def per_language(build: Callable[P, T]) -> Callable[P, T]:
    """``build``, remembered for each language (its catalog and its date names) and each set of
    (hashable, positional) arguments: for a part of a view that depends on nothing else, such
    as the booking form's room options, rendered once instead of at every request.

    What it returns is shared by every render that asks for it afterwards: never change it (copy
    a list before adding to it)."""
    kept: dict[tuple[Any, ...], T] = {}

    @functools.wraps(build)
    def render(*args: P.args, **kwargs: P.kwargs) -> T:
        assert not kwargs, "per_language keys on positional arguments only"
        locale = current_locale()
        key = (locale, translations(locale), _date_locale.get(locale, locale), *args)
        found = kept.get(key)
        if found is None:
            if len(kept) >= KEPT_RENDERS:
                kept.clear()
            found = kept[key] = build(*args, **kwargs)
        return found

    return render


# --- dates and times -----------------------------------------------------------------------------


def _babel_locale() -> str:
    locale = current_locale()
    return _date_locale.get(locale, locale)


def local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def day(value: datetime, tz: ZoneInfo) -> str:
    """``Fri 4 Dec`` / ``12월 4일 (금)``."""
    locale = _babel_locale()
    at = local(value, tz)
    pattern = DATE_PATTERNS.get(locale.split("_")[0])
    if pattern is None:
        return format_skeleton("MMMEd", at, locale=locale)
    return format_datetime(at, pattern[0], locale=locale)


def clock(value: datetime, tz: ZoneInfo) -> str:
    """``15:30`` / ``오후 3:30``."""
    locale = _babel_locale()
    at = local(value, tz)
    pattern = DATE_PATTERNS.get(locale.split("_")[0])
    if pattern is None:
        return format_skeleton("jm", at, locale=locale)
    return format_datetime(at, pattern[1], locale=locale)


def calendar_day(value: date) -> str:
    """A date with no time of day: ``Sun 8 Mar`` / ``3월 8일 (일)``, as :func:`day` writes it."""
    return day(datetime.combine(value, time(12), tzinfo=UTC), _UTC)


def wall_time(value: time) -> str:
    """A time of day on no clock in particular (one a clock change skips, say): ``02:30`` /
    ``오전 2:30``, as :func:`clock` writes it."""
    return clock(datetime.combine(date(2000, 1, 1), value, tzinfo=UTC), _UTC)


_UTC = ZoneInfo("UTC")


def _zoned(text: str, tz: ZoneInfo, zone: bool) -> str:
    return _("{when} ({zone})").format(when=text, zone=tz.key) if zone else text


def moment(value: datetime, tz: ZoneInfo, *, zone: bool = True) -> str:
    """``Fri 4 Dec, 15:30 (Asia/Seoul)`` / ``12월 4일 (금) 오후 3:30 (Asia/Seoul)``."""
    text = _("{day}, {time}").format(day=day(value, tz), time=clock(value, tz))
    return _zoned(text, tz, zone)


def span(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, *, zone: bool = True) -> str:
    """``Fri 4 Dec, 15:30–16:30 (Asia/Seoul)``; both days are named when it spans two."""
    start, end = local(starts_at, tz), local(ends_at, tz)
    if start.date() == end.date():
        text = _("{day}, {start}–{end}").format(
            day=day(start, tz), start=clock(start, tz), end=clock(end, tz)
        )
    else:
        text = _("{start_day}, {start} – {end_day}, {end}").format(
            start_day=day(start, tz),
            start=clock(start, tz),
            end_day=day(end, tz),
            end=clock(end, tz),
        )
    return _zoned(text, tz, zone)


def token(value: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token: every reader of a channel message sees it in their own zone and
    language. The fallback (for clients that cannot render tokens) is neutral UTC."""
    fallback = value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(value.timestamp())}^{fmt}|{fallback}>"


def token_span(starts_at: datetime, ends_at: datetime) -> str:
    return f"{token(starts_at)}–{token(ends_at, '{time}')}"
