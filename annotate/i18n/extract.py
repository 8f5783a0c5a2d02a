"""The messages the code marks for translation, found in pure Python.

What ``manage.py makemessages`` finds with GNU xgettext, found here with Django's own
template-to-Python step (``templatize``) and Babel's Python extractor, so a test can
check that every catalog is up to date on a machine without gettext.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.extract import extract_python
from django.utils.translation.template import templatize

Msgid = str | tuple[str, str]

_SINGULAR = {"gettext", "gettext_lazy", "gettext_noop", "_"}
_PLURAL = {"ngettext", "ngettext_lazy"}
# Folders that hold no annotator-facing code, or no code of ours.
SKIP_PARTS = {".venv", "tests", "bench", "var", "migrations", "test-artifacts", "node_modules"}


def _source_files(root: Path) -> Iterator[Path]:
    for pattern in ("annotate/**/*.py", "config/**/*.py", "modelserve/**/*.py", "templates/**/*"):
        for path in sorted(root.glob(pattern)):
            parts = set(path.relative_to(root).parts)
            if path.is_file() and not SKIP_PARTS & parts and path.suffix in (".py", ".html"):
                yield path


def messages_in(path: Path) -> Iterator[Msgid]:
    source = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        # templatize writes gettext calls among filler, indented at random: fine for
        # xgettext, an IndentationError for Python's tokenizer, so indentation goes.
        source = "\n".join(
            line.lstrip() for line in templatize(source, origin=str(path)).splitlines()
        )
    # Babel's keyword map: None means "the first argument is the message".
    keywords: dict[str, None] = dict.fromkeys(_SINGULAR | _PLURAL)
    for _line, func, message, _comments in extract_python(
        io.BytesIO(source.encode("utf-8")), keywords, [], {}
    ):
        if message is None:  # a call with no literal string, e.g. gettext(reason)
            continue
        parts = [message] if isinstance(message, str) else list(message)
        if func in _PLURAL and len(parts) >= 2 and parts[0] and parts[1]:
            yield (parts[0], parts[1])
        elif func in _SINGULAR and parts and isinstance(parts[0], str) and parts[0]:
            yield parts[0]


def project_messages(root: Path, files: Iterable[Path] | None = None) -> set[Msgid]:
    found: set[Msgid] = set()
    for path in files if files is not None else _source_files(root):
        found.update(messages_in(path))
    return found
