"""What an annotator types into a live conversation, checked (annotate/services/conversation).

Kept apart so the conversation service stays a readable size; the rules are the input
boundary's (annotate/input/checks.py) with messages in the conversation's own words.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from annotate.input.checks import InputError, parse_int, text_problem

from .errors import ServiceError

MAX_MESSAGE = 4000


class ConversationError(ServiceError):
    """A step that does not fit the conversation's state; the message says why."""


def clean_message(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ConversationError(gettext("Write a message first."))
    problem = text_problem(text)  # the input boundary's rule (NUL was a 500)
    if problem:
        raise ConversationError(f"text: {problem}")
    if len(text) > MAX_MESSAGE:
        raise ConversationError(
            gettext("Keep messages under %(n)s characters.") % {"n": MAX_MESSAGE}
        )
    return text


def score_value(value: Any, name: str) -> int:
    try:
        number = parse_int(value, field=name)
    except InputError:
        raise ConversationError(
            gettext("Give %(name)s a score from 1 to 100.") % {"name": name}
        ) from None
    if not 1 <= number <= 100:
        raise ConversationError(gettext("Scores run from 1 to 100 (%(name)s).") % {"name": name})
    return number
