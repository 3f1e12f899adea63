"""What is wrong with the catalogs, one line each: a text the views use that a catalog lacks, a
translation that is missing or fuzzy, placeholders that differ between languages, an entry no view
uses any more. ``python -m tests.catalogs`` prints the list (``make messages`` runs it); the test
in tests/unit/test_catalogs.py fails on it.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.views.i18n import DOMAIN, LOCALE_DIR, SOURCE_LOCALE, available_locales

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ROOT / "bot" / "views"
FIX = "run `make messages`, then translate the new entries in bot/views/locales/*/LC_MESSAGES"


@dataclass(frozen=True)
class Used:
    msgid: str
    plural: str | None
    where: str
    context: str | None = None


def used() -> dict[tuple[str | None, str], Used]:
    """Every (context, msgid) the views pass to ``_``, ``pgettext`` or ``ngettext``, with where
    it first appears."""
    found: dict[tuple[str | None, str], Used] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(VIEWS), method_map=[("**.py", "python")]
    ):
        singular, plural = (
            (message[0], message[1]) if isinstance(message, tuple) else (message, None)
        )
        if singular and (context, singular) not in found:
            found[context, singular] = Used(
                singular, plural, f"bot/views/{filename}:{lineno}", context
            )
    return found


def catalog(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as stream:
        return read_po(stream, locale=locale, domain=DOMAIN)


def placeholders(text: str) -> set[str]:
    """The named fields of a ``str.format`` template; ``ValueError`` if it is not one."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems() -> Iterator[str]:
    texts = used()
    for locale in available_locales():
        entries = catalog(locale)
        for (context, msgid), use in texts.items():
            entry = entries.get(msgid, context=context)
            if entry is None:
                yield f"{locale}: {msgid!r} ({use.where}) is not in the catalog; {FIX}"
                continue
            if use.plural is not None and entry.pluralizable is False:
                yield f"{locale}: {msgid!r} ({use.where}) is plural in the code, not in the .po"
                continue
            forms = list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
            if locale != SOURCE_LOCALE and (entry.fuzzy or not all(forms)):
                state = "fuzzy (check it, then drop the fuzzy flag)" if entry.fuzzy else "empty"
                yield f"{locale}: the translation of {msgid!r} ({use.where}) is {state}"
                continue
            try:
                expected = placeholders(msgid) | placeholders(use.plural or "")
            except ValueError as exc:
                yield f"{use.where}: {msgid!r} is not a valid format string ({exc})"
                continue
            for form in filter(None, forms):
                try:
                    got = placeholders(form)
                except ValueError as exc:
                    yield f"{locale}: {form!r} (for {msgid!r}) is not a valid format string: {exc}"
                    continue
                # A singular may leave the number out ("one more"), never add a name of its own.
                allowed = got <= expected if use.plural is not None and len(forms) > 1 else False
                if got != expected and not allowed:
                    yield (
                        f"{locale}: placeholders of {msgid!r} ({use.where}) differ: "
                        f"{sorted(expected)} in the code, {sorted(got)} in {form!r}"
                    )
        for entry in entries:
            key = (entry.context, entry.id[0] if isinstance(entry.id, tuple) else entry.id)
            if entry.id and key not in texts:
                yield f"{locale}: {entry.id!r} is in the catalog but no view uses it; {FIX}"


def main() -> int:
    found = list(problems())
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} catalog problem(s)", file=sys.stderr)
        return 1
    print("catalogs complete: " + ", ".join(available_locales()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
