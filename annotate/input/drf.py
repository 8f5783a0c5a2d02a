"""The REST API side of the input boundary: the JSON parser and query-parameter helpers.

``BoundedJSONParser`` is DRF's only JSON parser (settings: DEFAULT_PARSER_CLASSES). It
reads at most ``CHORUS_MAX_JSON_BYTES``, refuses what annotate.input.checks refuses
(NaN/Infinity, 1e400, 5,000-digit integers, nesting past 32 levels, NUL and unpaired
surrogates in any key or string) and answers 400 ``{"detail": "<path>: <why>"}`` naming
the place in the body, before any serializer or service sees the data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from annotate.input.checks import InputError, loads_json, parse_float, parse_int
from annotate.input.language import language_tag


def max_json_bytes() -> int:
    return int(getattr(settings, "CHORUS_MAX_JSON_BYTES", 32 * 1024 * 1024))


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with the input boundary's limits and checks."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = max_json_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"The JSON body is larger than {limit:,} bytes.")
        try:
            return loads_json(raw, field="", max_bytes=limit)
        except InputError as exc:
            where = exc.field or "JSON body"
            raise ParseError(f"{where}: {exc.message}") from None


def query_int(
    params: Any, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int | None:
    """An optional whole-number query parameter; a bad one is a 400 naming it."""
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_int(value, field=name, min_value=min_value, max_value=max_value)
    except InputError as exc:
        raise ValidationError({name: exc.message}) from None


def query_float(
    params: Any, name: str, *, min_value: float | None = None, max_value: float | None = None
) -> float | None:
    """An optional finite number query parameter; a bad one is a 400 naming it."""
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_float(value, field=name, min_value=min_value, max_value=max_value)
    except InputError as exc:
        raise ValidationError({name: exc.message}) from None


class LanguageTagField(serializers.CharField):
    """A BCP 47 language tag (annotate/input/language.py), stored normalised: a bad tag
    is a 400 naming the field, never a 500."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault(
            "help_text", "BCP 47 language tag (en, fr, pt-BR, zh-Hans); stored in lower case."
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return language_tag(super().to_internal_value(data))
        except InputError as exc:
            raise serializers.ValidationError(exc.message) from None
