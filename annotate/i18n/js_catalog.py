"""The sentences the page scripts write themselves, translated on the server.

The CSP forbids inline script, so they travel as JSON data in the page
(``{{ js_i18n|json_script:"chorus-i18n" }}`` in base.html); static/js/i18n.js reads them
(``chorusT(key, {name: value})``, placeholders written ``%(name)s``).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

JS_MESSAGES: dict[str, Promise] = {
    "lease_expired": gettext_lazy(
        "Your time for this task ran out. Submit anyway: it is kept if nobody else took "
        "the task, otherwise you get the next one."
    ),
    "diff_too_long": gettext_lazy(
        "The text is too long for a live diff; your edit is still saved."
    ),
    "distance_later": gettext_lazy("(computed when saved)"),
    "remove": gettext_lazy("Remove"),
    "remove_highlight": gettext_lazy("Remove highlight %(n)s"),
    "copied": gettext_lazy("Copied."),
    "press_copy": gettext_lazy("Press Ctrl+C to copy."),
}


def js_catalog() -> dict[str, str]:
    """JS_MESSAGES in the active language."""
    return {key: str(text) for key, text in JS_MESSAGES.items()}
