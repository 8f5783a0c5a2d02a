"""One input boundary for every way input enters Chorus (issue 13).

``checks`` holds the rules (pure functions); ``forms`` the Django form fields that apply
them; ``drf`` the REST API's JSON parser and query-parameter helpers; ``middleware`` the
check of every query parameter and form field of every request; importers call
``checks`` directly. See annotate/input/checks.py for the rules themselves.
"""

from annotate.input.checks import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    InputError,
    check_json,
    check_text,
    loads_json,
    parse_float,
    parse_int,
    text_problem,
)

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "InputError",
    "check_json",
    "check_text",
    "loads_json",
    "parse_float",
    "parse_int",
    "text_problem",
]
