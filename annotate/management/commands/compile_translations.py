"""manage.py compile_translations: locale/*/LC_MESSAGES/django.po -> .mo, pure Python.

Run by the install step (make install / install-runtime), so a fresh machine without GNU
gettext serves every language. Only catalogs whose .mo is missing or older than the .po
are compiled (``--force``: all). ``--check`` also fails, naming each one, if any
message is untranslated, fuzzy or has placeholders that differ from the English text.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotate.i18n.catalogs import all_problems, compile_all, po_files


class Command(BaseCommand):
    help = "Compile the translation catalogs (.po -> .mo) without GNU gettext."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true", help="compile even fresh ones")
        parser.add_argument(
            "--check", action="store_true", help="fail on untranslated or fuzzy messages"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        compiled, found = 0, 0
        for locale_dir in settings.LOCALE_PATHS:
            found += len(po_files(locale_dir))
            compiled += len(compile_all(locale_dir, force=options["force"]))
            if options["check"]:
                problems = all_problems(po_files(locale_dir))
                if problems:
                    raise CommandError(
                        f"{len(problems)} translation problems:\n" + "\n".join(problems)
                    )
        fresh = found - compiled
        self.stdout.write(
            f"Translations: {found} catalogs, {compiled} compiled"
            + (f", {fresh} already up to date." if fresh else ".")
        )
