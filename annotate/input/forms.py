"""Django form fields of the input boundary: the page forms and the admin use these.

- ``TextField``: a CharField that also refuses unpaired surrogates (Django refuses NUL
  already) with the boundary's own message; its length limit is Django's validator.
- ``WholeNumberField``: ASCII digits only, at most 18 of them, in range (Django's
  IntegerField takes ``"١٢"`` and fails on 5,000 digits with a generic message).
- ``BoundedJSONField``: a JSON textarea parsed under the boundary's rules (depth, NaN,
  64-bit integers, NUL and surrogates) instead of a bare ``json.loads`` (a deep document
  was a RecursionError, i.e. a 500, in the admin).
- ``json_field_from_post``: the same parse for a JSON value a page sends in a form
  field (the critique page's highlighted spans).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput, JSONString

from annotate.input.checks import (
    MAX_JSON_DEPTH,
    InputError,
    check_text,
    loads_json,
    parse_int,
)


class TextField(forms.CharField):
    """The length limit is Django's own validator (its message is translated)."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if isinstance(value, str) and value:
            try:
                check_text(value, field=str(self.label or ""))
            except InputError as exc:
                raise ValidationError(exc.message, code="invalid") from None
        return value


class WholeNumberField(forms.IntegerField):
    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_int(value, field="")
        except InputError as exc:
            raise ValidationError(exc.message, code="invalid") from None


class BoundedJSONField(forms.JSONField):
    """forms.JSONField parsing through annotate.input.checks.loads_json, both when the
    form is cleaned and when it is shown again with the submitted text."""

    max_depth = MAX_JSON_DEPTH

    def _load(self, value: str) -> Any:
        return loads_json(value, field="", max_depth=self.max_depth, max_bytes=1_000_000)

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | JSONString):
            return value
        try:
            converted = self._load(value)
        except InputError as exc:
            raise ValidationError(exc.message, code="invalid") from None
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return self._load(data)
        except InputError:
            return InvalidJSONInput(data)


def json_field_from_post(value: str, *, field: str, max_depth: int = 4) -> Any:
    """Parse a JSON form value (raises InputError naming ``field``)."""
    return loads_json(value, field=field, max_depth=max_depth, max_bytes=1_000_000)
