"""The README's campaign-config reference, generated from the sections.

``config_reference_markdown()`` is the text between the markers
``<!-- campaign-config:start -->`` and ``<!-- campaign-config:end -->`` in README.md; a
test fails when they differ, and ``manage.py campaign_config --docs`` prints it.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .schema import SECTIONS

START = "<!-- campaign-config:start -->"
END = "<!-- campaign-config:end -->"


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type(a) for a in args if a is not type(None)]
        return " | ".join(names) + (" | null" if type(None) in args else "")
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"object of {_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {int: "integer", float: "number", str: "text", bool: "true/false"}.get(
        annotation, str(annotation)
    )


def _bounds(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        if isinstance(meta, Ge):
            parts.append(f">= {meta.ge}")
        elif isinstance(meta, Gt):
            parts.append(f"> {meta.gt}")
        elif isinstance(meta, Le):
            parts.append(f"<= {meta.le}")
        elif isinstance(meta, Lt):
            parts.append(f"< {meta.lt}")
        elif isinstance(meta, MaxLen):
            parts.append(f"at most {meta.max_length}")
        elif isinstance(meta, MinLen) and meta.min_length:
            parts.append(f"at least {meta.min_length}")
        elif getattr(meta, "pattern", None):
            parts.append(f"pattern `{meta.pattern}`")
    args = typing.get_args(field.annotation)
    if typing.get_origin(field.annotation) is typing.Annotated:
        for meta in args[1:]:
            if isinstance(meta, FieldInfo):
                parts.append(_bounds(meta))
    return ", ".join(p for p in parts if p)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "{}"
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        bounds = _bounds(field)
        kind = _type(field.annotation) + (f" ({bounds})" if bounds else "")
        about = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{path}` | {kind.replace('|', '/')} | {_default(field)} | {about} |")
        nested = [
            a
            for a in (typing.get_args(field.annotation) or (field.annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if nested:
            rows.extend(_rows(nested[0], f"{path}."))
    return rows


def config_reference_markdown() -> str:
    out = [START]
    for section in SECTIONS:
        where = f"`config[{json.dumps(section.key)}]`" if section.key else "top-level keys"
        out += [
            "",
            f"**{section.title}** ({where}; read by {section.read_by})",
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        prefix = f"{section.key}." if section.key else ""
        out += _rows(section, prefix)
    out += ["", END]
    return "\n".join(out)
