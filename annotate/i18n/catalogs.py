"""The translation catalogs under locale/: compiled to .mo and checked, in pure Python.

Babel reads the .po files and writes the .mo files, so neither installing nor testing
needs GNU gettext (``msgfmt``), which a fresh machine may not have. ``catalog_problems``
is what the test suite and ``compile_translations --check`` hold every catalog to: every
message translated, nothing fuzzy, the same placeholders as the English text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "django"
# Python %-placeholders: %(name)s, %s, %d, %(n)r ... ("%%" is a literal percent sign).
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([sdifrxXeEgGc%])")


def placeholders(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for match in _PLACEHOLDER.finditer(text):
        if match.group(2) != "%":
            found[match.group(0)] += 1
    return found


def po_files(locale_dir: Path) -> list[Path]:
    """Every catalog of the project: locale/<language>/LC_MESSAGES/django.po."""
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, abort_invalid=True)


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def catalog_problems(path: Path) -> list[str]:
    """What keeps a catalog from being complete, one sentence per problem (empty: none)."""
    catalog = read_catalog(path)
    problems: list[str] = []
    where = path.parent.parent.name
    if catalog.fuzzy:
        problems.append(f"{where}: the header is marked fuzzy")
    for message in catalog:
        if not message.id:
            continue
        ids = _forms(message.id)
        strings = _forms(message.string)
        label = f"{where}: {ids[0][:60]!r}"
        if message.fuzzy:
            problems.append(f"{label} is fuzzy")
        if len(ids) > 1 and len(strings) != catalog.num_plurals:
            problems.append(
                f"{label} has {len(strings)} plural forms, the language has {catalog.num_plurals}"
            )
        if not strings or any(not s.strip() for s in strings):
            problems.append(f"{label} is not translated")
            continue
        if len(ids) == 1:
            if placeholders(strings[0]) != placeholders(ids[0]):
                problems.append(f"{label}: placeholders differ in {strings[0][:60]!r}")
            continue
        # Plural forms: each uses only the English placeholders (a form for one or two
        # may spell the number out, as Arabic does), the last uses them all.
        wanted = placeholders(ids[1])
        for n, form in enumerate(strings):
            got = placeholders(form)
            if set(got) - set(wanted):
                problems.append(f"{label}: form {n} has unknown placeholders {form[:60]!r}")
            elif n == len(strings) - 1 and set(got) != set(wanted):
                problems.append(f"{label}: the last form lacks placeholders {form[:60]!r}")
    return problems


def compile_catalog(po_path: Path, mo_path: Path | None = None) -> Path:
    """Write the .mo beside the .po (or at ``mo_path``); fuzzy entries are left out."""
    mo_path = mo_path or po_path.with_suffix(".mo")
    catalog = read_catalog(po_path)
    tmp = mo_path.with_suffix(".mo.tmp")
    with tmp.open("wb") as fh:
        write_mo(fh, catalog, use_fuzzy=False)
    tmp.replace(mo_path)  # atomic: a web process never reads half a file
    return mo_path


def stale(po_path: Path) -> bool:
    mo_path = po_path.with_suffix(".mo")
    return not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime


def compile_all(locale_dir: Path, *, force: bool = False) -> list[Path]:
    """Compile every catalog whose .mo is missing or older than its .po."""
    return [compile_catalog(po) for po in po_files(locale_dir) if force or stale(po)]


def all_problems(paths: Iterable[Path]) -> list[str]:
    return [problem for path in paths for problem in catalog_problems(path)]
