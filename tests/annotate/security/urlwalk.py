"""Walk every URL pattern of the project, so security tests cover views added later."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name" or "" for unnamed patterns
    route: str  # the pattern text, e.g. "tasks/<int:assignment_id>/submit/"
    params: tuple[str, ...]  # converter / group names
    view: object


def _params(pattern: object) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return tuple(converters)
    regex = getattr(pattern, "regex", None)
    if regex is not None:
        return tuple(regex.groupindex)
    return ()


def iter_routes(
    patterns: list | None = None, prefix: str = "", namespace: str = "", params: tuple = ()
) -> Iterator[Route]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(entry.pattern)
        found = params + _params(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from iter_routes(entry.url_patterns, text, ns, found)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield Route(name=name, route=text, params=found, view=entry.callback)
