"""Query-string parsing for annotation filters and export options, with clear 400s.

The parsed filters are a JSON-safe dict (see annotate.selectors.annotations) so an
Export row can store exactly what was applied. Unknown parameters are rejected rather
than ignored: a typo such as ``?task-type=rating`` must not silently export everything.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from annotate.exports.privacy import (
    CATEGORICAL_FIELDS,
    FIELD_ALIASES,
    LIST_FIELDS,
    PrivacySettings,
)
from annotate.exports.schemas import SHAPES
from annotate.exports.shapes import RANKING_PAIRS, ShapeOptions
from annotate.exports.writers import FORMATS
from annotate.input.drf import query_float, query_int
from annotate.models import TaskType

FILTER_PARAMS = (
    "task_type",
    "created_after",
    "created_before",
    "guideline_version",
    "endpoint",
    "policy_version",
    "annotator",
    "source",
)
# Issue 16: human labels unless asked. "all" is both; a comma list works too.
SOURCES = ("human", "ai")
PROFILE_FILTERS = CATEGORICAL_FIELDS + LIST_FIELDS
PAGING_PARAMS = ("cursor", "page_size")
EXPORT_PARAMS = (
    "shape",
    "format",
    "conversational",
    "ranking_pairs",
    "min_margin",
    "attribute",
    "threshold",
    "sources",
    "async",
)
MAX_VALUES = 100
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _values(params: Any, name: str) -> list[str]:
    values: list[str] = []
    for raw in params.getlist(name):
        values.extend(v.strip() for v in str(raw).split(",") if v.strip())
    if len(values) > MAX_VALUES:
        raise ValidationError({name: f"At most {MAX_VALUES} values."})
    return values


def _moment(name: str, value: str, *, end: bool) -> str:
    parsed: datetime | None = None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                # A bare date means the whole day: after = its start, before = the next.
                parsed = datetime.combine(day, time.min)
                if end:
                    parsed = parsed + timedelta(days=1)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: "Use an ISO 8601 date or date-time, e.g. 2026-01-31."})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed.isoformat()


def _int(name: str, value: str | None) -> int | None:
    return query_int({name: value}, name)


def _bool(name: str, value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValidationError({name: "Use 1/0 or true/false."})


def _float(name: str, value: str | None) -> float | None:
    return query_float({name: value}, name)


def check_known(params: Any, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params.keys()) - set(allowed))
    if unknown:
        raise ValidationError(
            {
                "detail": f"Unknown parameter(s): {', '.join(unknown)}. "
                f"Allowed: {', '.join(sorted(allowed))}."
            }
        )


def parse_filters(params: Any, *, privacy: PrivacySettings | None, admin: bool) -> dict[str, Any]:
    """Filters from a query string. Profile filters only on fields the campaign publishes.

    ``privacy`` is None when no single campaign is in scope: then profile filters are
    refused (each campaign decides which of its fields may be used).
    """
    out: dict[str, Any] = {}
    task_types = _values(params, "task_type")
    bad = sorted(set(task_types) - set(TaskType.values))
    if bad:
        raise ValidationError(
            {
                "task_type": f"Unknown task type(s) {', '.join(bad)}; "
                f"choose from {', '.join(TaskType.values)}."
            }
        )
    if task_types:
        out["task_type"] = sorted(set(task_types))
    for name, end in (("created_after", False), ("created_before", True)):
        value = params.get(name)
        if value:
            out[name] = _moment(name, str(value), end=end)
    for name in ("guideline_version", "endpoint", "policy_version"):
        number = _int(name, params.get(name))
        if number is not None:
            out[name] = number
    if params.get("annotator"):
        out["annotator"] = str(params.get("annotator"))[:40]
    sources = set(_values(params, "source"))
    if "all" in sources:
        sources = (sources - {"all"}) | set(SOURCES)
    bad = sorted(sources - set(SOURCES))
    if bad:
        raise ValidationError(
            {"source": f"Unknown source(s) {', '.join(bad)}; choose from human, ai or all."}
        )
    if sources and sources != {"human"}:
        out["source"] = sorted(sources)  # absent means human only (the default)
    profile: dict[str, list[str]] = {}
    for key in params:
        field = FIELD_ALIASES.get(key, key)
        if field not in PROFILE_FILTERS:
            continue
        if privacy is None:
            raise ValidationError({key: "Profile filters need a single campaign (?campaign=)."})
        if not admin and field not in privacy.profile_fields:
            raise ValidationError(
                {key: "This campaign's privacy setting does not publish this profile field."}
            )
        values = _values(params, key)
        if values:
            profile.setdefault(field, [])
            profile[field] = sorted(set(profile[field]) | set(values))
    if profile:
        out["profile"] = profile
    return out


def filter_param_names() -> tuple[str, ...]:
    return FILTER_PARAMS + PROFILE_FILTERS + tuple(FIELD_ALIASES)


def parse_export(params: Any) -> tuple[str, str, ShapeOptions, bool]:
    """(shape, format, options, run_async) from the export query string."""
    shape = params.get("shape", "raw")
    if shape not in SHAPES:
        raise ValidationError(
            {"shape": f"Unknown shape {shape!r}; choose from {', '.join(SHAPES)}."}
        )
    fmt = params.get("format", "jsonl")
    if fmt not in FORMATS:
        raise ValidationError(
            {"format": f"Unknown format {fmt!r}; choose from {', '.join(FORMATS)}."}
        )
    ranking_pairs = params.get("ranking_pairs", "all")
    if ranking_pairs not in RANKING_PAIRS:
        raise ValidationError({"ranking_pairs": f"Choose from {', '.join(RANKING_PAIRS)}."})
    min_margin = _float("min_margin", params.get("min_margin"))
    if min_margin is not None and min_margin < 0:
        raise ValidationError({"min_margin": "Must be zero or more."})
    sources = tuple(_values(params, "sources")) or ShapeOptions.sources
    bad = sorted(set(sources) - set(ShapeOptions.sources))
    if bad:
        raise ValidationError(
            {
                "sources": f"Unknown source(s) {', '.join(bad)}; "
                f"choose from {', '.join(ShapeOptions.sources)}."
            }
        )
    attribute = params.get("attribute") or None
    options = ShapeOptions(
        conversational=_bool("conversational", params.get("conversational")),
        ranking_pairs=ranking_pairs,
        min_margin=1.0 if min_margin is None else min_margin,
        attribute=str(attribute)[:40] if attribute else None,
        threshold=_float("threshold", params.get("threshold")),
        sources=sources,
    )
    return shape, fmt, options, _bool("async", params.get("async"))
