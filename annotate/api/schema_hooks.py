"""drf-spectacular post-processing: every operation documents its error answers.

Whatever the view, the API can answer 400 (a parameter or body the input boundary or a
serializer refuses), 401 (no or a bad token), 403 (not allowed), 404 (not found or not
visible to you) and 429 (rate limit), each as JSON: ``{"detail": "..."}`` or, for field
errors, ``{"<field>": ["..."]}`` (annotate.api.base.api_exception_handler). Operations
that document one of these themselves keep their own description.
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": '{"detail": "why"}, or field errors {"<field>": ["why", ...]}.',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
STATUSES = {
    "400": "Bad request: a parameter or the body is refused; the answer names it.",
    "401": "Authentication credentials were not provided or are invalid.",
    "403": "You may not do this (e.g. only administrators may).",
    "404": "Not found, or not visible to you.",
    "429": "Too many requests (per-user rate limit, CHORUS_API_THROTTLE).",
}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    ref = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in STATUSES.items():
                existing = responses.get(code)
                if existing is None:
                    responses[code] = {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    }
                elif "content" not in existing:
                    existing["content"] = {"application/json": {"schema": ref}}
    return result
