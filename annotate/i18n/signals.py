"""At log-in, the annotator's saved UI language goes into the session, where the
language middleware reads it without a query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in

from annotate.selectors.onboarding import annotator_ui_language

from .languages import SESSION_KEY


def _remember_language(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None and user is not None and user.pk is not None:
        session[SESSION_KEY] = annotator_ui_language(user_id=user.pk)


def connect() -> None:
    user_logged_in.connect(_remember_language, dispatch_uid="chorus_remember_ui_language")
