"""Every catalog is complete, up to date with the code, and compiles without gettext."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from annotate.i18n.catalogs import catalog_problems, compile_catalog, po_files, read_catalog
from annotate.i18n.extract import project_messages

ROOT = Path(__file__).resolve().parents[3]
LOCALE = ROOT / "locale"


def _ids(path: Path) -> set[object]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_catalog(path) if m.id}


def test_every_ui_language_but_english_has_a_catalog():
    have = {p.parent.parent.name for p in po_files(LOCALE)}
    wanted = {translation.to_locale(code) for code, _ in settings.LANGUAGES if code != "en"}
    assert have == wanted == {"fr", "es", "de", "ar", "zh_Hans"}


@pytest.mark.parametrize("language", ["fr", "es", "de", "ar", "zh_Hans"])
def test_catalog_is_complete_no_fuzzy_and_placeholders_match(language):
    assert catalog_problems(LOCALE / language / "LC_MESSAGES" / "django.po") == []


def test_catalogs_hold_exactly_the_messages_the_code_marks():
    """A string marked for translation but missing from a catalog would show in English;
    run makemessages (README) and translate it."""
    marked = project_messages(ROOT)
    assert len(marked) > 300
    for path in po_files(LOCALE):
        ids = _ids(path)
        assert marked - ids == set(), f"{path}: not in the catalog"
        assert ids - marked == set(), f"{path}: no longer in the code"


def test_the_checker_finds_untranslated_fuzzy_and_placeholder_problems(tmp_path):
    po = tmp_path / "xx" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Untranslated"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Fuzzy"\nmsgstr "Flou"\n\n'
        'msgid "Hello %(name)s"\nmsgstr "Bonjour %(nom)s"\n\n'
        'msgid "%(n)s task"\nmsgid_plural "%(n)s tasks"\nmsgstr[0] "%(n)s tâche"\n'
        'msgstr[1] "des tâches"\n\n'
        'msgid "Fine %(n)s"\nmsgstr "Bien %(n)s"\n',
        encoding="utf-8",
    )
    problems = "\n".join(catalog_problems(po))
    assert "'Untranslated' is not translated" in problems
    assert "'Fuzzy' is fuzzy" in problems
    assert "'Hello %(name)s': placeholders differ" in problems
    assert "'%(n)s task': the last form lacks placeholders" in problems
    assert "Fine" not in problems


def test_compile_is_pure_python_and_django_reads_the_result(tmp_path):
    mo = compile_catalog(LOCALE / "ar" / "LC_MESSAGES" / "django.po", tmp_path / "django.mo")
    assert mo.stat().st_size > 10_000
    import gettext

    catalog = gettext.GNUTranslations(mo.open("rb"))
    assert catalog.gettext("Submit") == "إرسال"
    # Arabic has six plural forms; two is the dual, spelled without a number.
    two = catalog.ngettext(
        "This task is reserved for you for %(minutes)s minute.",
        "This task is reserved for you for %(minutes)s minutes.",
        2,
    )
    assert two == "هذه المهمة محجوزة لك لمدة دقيقتين."


def test_compile_translations_command_compiles_stale_catalogs_and_checks(tmp_path, settings):
    from django.core.management import call_command

    target = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_bytes((LOCALE / "fr/LC_MESSAGES/django.po").read_bytes())
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    call_command("compile_translations", "--check")
    assert (target / "django.mo").exists()
    (target / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Submit"\nmsgstr ""\n',
        encoding="utf-8",
    )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="'Submit' is not translated"):
        call_command("compile_translations", "--check", "--force")
