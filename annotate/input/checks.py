"""The input boundary's rules, as pure functions (no Django): text, numbers, JSON.

Every way input enters Chorus (page forms, the REST API's query parameters and JSON
bodies, the import commands, the admin) calls these, so one rule holds everywhere:

- **Text** may not hold a NUL character (PostgreSQL text cannot store it) or an
  unpaired surrogate (not Unicode; UTF-8 cannot encode it), and may have a length limit.
- **Integers** are ASCII digits with an optional sign, at most ``MAX_INT_DIGITS`` of
  them, inside a range. ``int()`` alone accepts ``"١٢"`` (Arabic-Indic digits) and fails
  on ``"²"`` (which ``str.isdigit()`` accepts) or on 5,000 digits (past Python's
  int-string limit); those were 500s.
- **Numbers** are finite: NaN and Infinity are refused (no JSON column can store them
  and no client can read them back).
- **JSON** is at most ``max_bytes`` long and ``max_depth`` deep (deeper documents made
  the parser hit Python's recursion limit), its integers fit in 64 bits, and every key
  and string follows the text rule.

A refusal raises :class:`InputError`, which names the field (a form field, a query
parameter, or a path into a JSON document such as ``items[0].metadata``) and says why
in a sentence a person can act on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

MAX_INT_DIGITS = 18  # below 2**63 whatever the digits: fits every integer column
INT64_MAX = 2**63 - 1
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 32 * 1024 * 1024
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class InputError(ValueError):
    """A value the boundary refuses. ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}" if field else message)


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a sentence), or None if it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Contains a NUL character, which Chorus does not accept."
    return "Contains an unpaired surrogate (not valid Unicode)."


def check_text(value: str, *, field: str, max_length: int | None = None) -> str:
    """``value`` unchanged if it is storable text within ``max_length`` characters."""
    if not isinstance(value, str):
        raise InputError(field, "Must be text.")
    problem = text_problem(value)
    if problem:
        raise InputError(field, problem)
    if max_length is not None and len(value) > max_length:
        raise InputError(field, f"At most {max_length:,} characters (this has {len(value):,}).")
    return value


def _range(number: int | float, field: str, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and not low <= number <= high:
        raise InputError(field, f"Must be between {low:g} and {high:g}.")
    if low is not None and number < low:
        raise InputError(field, f"Must be at least {low:g}.")
    if high is not None and number > high:
        raise InputError(field, f"Must be at most {high:g}.")


def parse_int(
    value: Any,
    *,
    field: str,
    min_value: int | None = None,
    max_value: int | None = None,
    max_digits: int = MAX_INT_DIGITS,
) -> int:
    """A whole number from an int, an integral float, or ASCII digits with a sign.

    ``True`` is not a number here, nor ``"²"``, a fullwidth ``"1"`` or ``"1_000"``.
    """
    if isinstance(value, bool):
        raise InputError(field, "Must be a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-")
        if len(digits.lstrip("0") or "0") > max_digits:
            raise InputError(field, f"Must be a whole number of at most {max_digits} digits.")
        number = int(value.strip())
    else:
        raise InputError(field, "Must be a whole number (digits 0-9).")
    if abs(number) > INT64_MAX:
        raise InputError(field, "Must be a whole number of at most 18 digits.")
    _range(number, field, min_value, max_value)
    return number


def parse_float(
    value: Any,
    *,
    field: str,
    min_value: float | None = None,
    max_value: float | None = None,
) -> float:
    """A finite number from an int, a float, or an ASCII decimal (``1``, ``-0.5``, ``2e3``)."""
    if isinstance(value, bool):
        raise InputError(field, "Must be a number.")
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e308 else math.inf
    elif isinstance(value, str) and len(value) < 100 and _FLOAT.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise InputError(field, "Must be a number (digits 0-9, optionally with . and e).")
    if not math.isfinite(number):
        raise InputError(field, "Must be a finite number (not NaN or Infinity).")
    _range(number, field, min_value, max_value)
    return number


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _walk(value: Any, path: str) -> Iterator[tuple[Any, str, int]]:
    """(value, path, depth) for every value of a JSON document, without recursion."""
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        current, where, depth = stack.pop()
        yield current, where, depth
        if isinstance(current, dict):
            stack.extend((v, _child(where, str(k)), depth + 1) for k, v in current.items())
        elif isinstance(current, list | tuple):
            stack.extend((v, _child(where, n), depth + 1) for n, v in enumerate(current))


def check_json(value: Any, *, field: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` unchanged if it is a JSON document the boundary accepts (see module)."""
    for current, where, depth in _walk(value, field):
        if depth > max_depth:
            raise InputError(field, f"Nested more than {max_depth} levels deep.")
        if isinstance(current, str):
            problem = text_problem(current)
            if problem:
                raise InputError(where, problem)
        elif isinstance(current, bool) or current is None:
            continue
        elif isinstance(current, int):
            if abs(current) > INT64_MAX:
                raise InputError(where, "Integers must fit in 64 bits (at most 18 digits).")
        elif isinstance(current, float):
            if not math.isfinite(current):
                # 1e400 parses as Infinity: refused the same way.
                raise InputError(where, "Must be a finite number (not NaN or Infinity).")
        elif isinstance(current, _LongInteger):
            raise InputError(
                where, f"An integer of {current.digits:,} digits (at most {MAX_INT_DIGITS})."
            )
        elif isinstance(current, dict):
            for key in current:
                if not isinstance(key, str):
                    # Python callers may key by id; json.dumps writes such keys as text.
                    if not isinstance(key, int | float) or isinstance(key, bool):
                        raise InputError(where, "Object keys must be text.")
                    continue
                problem = text_problem(key)
                if problem:
                    raise InputError(where, f"A key: {problem[0].lower()}{problem[1:]}")
        elif not isinstance(current, list | tuple):
            raise InputError(where, f"Not a JSON value ({type(current).__name__}).")
    return value


class _LongInteger:
    """Stands for an integer literal too long to convert (Python refuses past 4,300
    digits), so that check_json reports it with its place in the document."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def _constant(name: str) -> float:
    # NaN, Infinity and -Infinity become floats; check_json refuses them by path.
    return float(name)


def _integer(text: str) -> int | _LongInteger:
    if len(text.lstrip("-").lstrip("0")) > MAX_INT_DIGITS:
        return _LongInteger(text)
    return int(text)


def loads_json(
    raw: str | bytes,
    *,
    field: str,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
) -> Any:
    """Parse JSON text under the boundary's rules; InputError names ``field`` and why."""
    if len(raw) > max_bytes:
        raise InputError(field, f"The JSON is larger than {max_bytes:,} bytes.")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(field, f"Not valid UTF-8 (byte {exc.start}).") from None
    try:
        value = json.loads(raw, parse_constant=_constant, parse_int=_integer)
    except RecursionError:
        # The C scanner unwinds cleanly; nothing this deep is ever a real document.
        raise InputError(field, f"Nested more than {max_depth} levels deep.") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            field, f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:
        raise InputError(field, f"Not accepted JSON: {exc}.") from None
    return check_json(value, field=field, max_depth=max_depth)
