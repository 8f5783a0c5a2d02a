"""The campaign admin's config fields: the common keys as real form fields.

Made from the typed schema (annotate.campaign_config): every key a section lists in
``admin_keys`` becomes a form field of its type (a whole number with its range, a
number, a text with its length, a default/yes/no choice), labelled with the key and
described by the schema. Left empty, a field leaves its key unset (the default applies).
Every other key stays in the "Other settings (JSON)" textarea. On save the two are merged
and the whole config is checked by the schema; an error lands beside its own field, or
beside the textarea naming the key.
"""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from django import forms
from pydantic.fields import FieldInfo

from annotate.campaign_config import (
    SECTIONS,
    CampaignConfigError,
    Section,
    validate_campaign_config,
)
from annotate.input.forms import TextField, WholeNumberField

PREFIX = "cfg__"
OTHER = "config"  # the model field: what the typed fields do not cover


def _plain(annotation: Any) -> Any:
    """``float`` for ``Annotated[float, ...]`` and ``float | None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _plain(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) in (typing.Union, type(int | None)):
        return _plain(args[0])
    return annotation


def _limits(info: FieldInfo) -> dict[str, Any]:
    metas = list(info.metadata)
    if typing.get_origin(info.annotation) is typing.Annotated:
        for extra in typing.get_args(info.annotation)[1:]:
            metas.extend(getattr(extra, "metadata", []))
    out: dict[str, Any] = {}
    for meta in metas:
        if isinstance(meta, Ge | Gt):
            out["min_value"] = getattr(meta, "ge", None) or getattr(meta, "gt", None) or 0
        elif isinstance(meta, Le | Lt):
            out["max_value"] = getattr(meta, "le", None) or getattr(meta, "lt", None)
        elif isinstance(meta, MaxLen):
            out["max_length"] = meta.max_length
    return out


class _DefaultYesNo(forms.Select):
    """Default / yes / no: unset stays unset, so the schema's default applies."""

    def format_value(self, value: Any) -> Any:
        return {True: "true", False: "false"}.get(value, "")


def _field(section: type[Section], path: str) -> tuple[str, forms.Field]:
    name = path.rsplit(".", 1)[-1]
    info = section.model_fields[name]
    key = f"{section.key}.{path}" if section.key else path
    default = info.get_default(call_default_factory=True)
    help_text = f"{info.description or ''} Default: {json.dumps(default)}. Key: {key}."
    common: dict[str, Any] = {"required": False, "label": key, "help_text": help_text}
    kind = _plain(info.annotation)
    limits = _limits(info)
    field: forms.Field
    if kind is bool:
        choices = [
            ("", f"default ({'yes' if default else 'no'})"),
            ("true", "yes"),
            ("false", "no"),
        ]
        field = forms.TypedChoiceField(
            choices=choices,
            coerce=lambda v: v == "true",
            empty_value=None,
            widget=_DefaultYesNo(choices=choices),
            **common,
        )
    elif kind is int:
        field = WholeNumberField(
            min_value=limits.get("min_value"), max_value=limits.get("max_value"), **common
        )
    elif kind is float:
        field = forms.FloatField(
            min_value=limits.get("min_value"), max_value=limits.get("max_value"), **common
        )
    else:
        field = TextField(max_length=limits.get("max_length"), **common)
    return PREFIX + key.replace(".", "__"), field


def _fields() -> dict[str, tuple[str, type[Section], forms.Field]]:
    """form field name -> (config key path, section, field)."""
    out = {}
    for section in SECTIONS:
        for path in section.admin_keys:
            name, field = _field(section, path)
            key = f"{section.key}.{path}" if section.key else path
            out[name] = (key, section, field)
    return out


CONFIG_FIELDS = _fields()
KEY_TO_FIELD = {key: name for name, (key, _, _) in CONFIG_FIELDS.items()}


def _get(config: dict[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _pop(config: dict[str, Any], key: str) -> None:
    *parents, leaf = key.split(".")
    node: Any = config
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
        if parents and not node:  # an object left empty goes too
            _pop(config, ".".join(parents))


def _set(config: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def config_fieldsets() -> list[tuple[str, dict[str, Any]]]:
    """One admin fieldset per section with typed fields, then the JSON textarea."""
    sets: list[tuple[str, dict[str, Any]]] = []
    for section in SECTIONS:
        names = [n for n, (_, s, _) in CONFIG_FIELDS.items() if s is section]
        if names:
            sets.append((f"Config: {section.title}", {"fields": names}))
    sets.append(
        (
            "Config: other settings (JSON)",
            {
                "fields": [OTHER],
                "description": "Every other key of the campaign config, as JSON; the "
                "README's 'Campaign config' section lists them all. Keys with their own "
                "field above do not belong here.",
            },
        )
    )
    return sets


class CampaignConfigFieldsMixin(forms.ModelForm):
    """Splits Campaign.config into the typed fields and the JSON textarea, and back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = copy.deepcopy(self.instance.config or {}) if self.instance.pk else {}
        for name, (key, _, _) in CONFIG_FIELDS.items():
            self.initial.setdefault(name, _get(config, key))
            _pop(config, key)
        self.initial[OTHER] = config
        self.fields[OTHER].required = False
        self.fields[OTHER].label = "Other settings (JSON)"

    @property
    def changed_data(self) -> list[str]:
        changed = list(super().changed_data)
        if any(n in changed for n in CONFIG_FIELDS) and OTHER not in changed:
            changed.append(OTHER)  # a typed field is part of the stored config
        return changed

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        other = data.get(OTHER)
        if other is None:
            other = {}
        if not isinstance(other, dict):
            self.add_error(OTHER, "Give a JSON object of config keys.")
            return data
        merged = copy.deepcopy(other)
        for name, (key, _, _) in CONFIG_FIELDS.items():
            if _get(merged, key) is not None and name in self.fields:
                self.add_error(OTHER, f"{key} has its own field above; remove it here.")
            value = data.get(name)
            if value not in (None, ""):
                _set(merged, key, value)
        try:
            data[OTHER] = validate_campaign_config(merged)
        except CampaignConfigError as exc:
            for key, message in exc.errors.items():
                field_name = KEY_TO_FIELD.get(key)
                if field_name is not None:
                    self.add_error(field_name, message)
                else:
                    self.add_error(OTHER, f"{key}: {message}")
        return data


def campaign_admin_form(base: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """``base`` with the typed config fields declared (the admin lays out declared fields)."""
    attrs: dict[str, Any] = {n: copy.deepcopy(f) for n, (_, _, f) in CONFIG_FIELDS.items()}
    attrs["__module__"] = base.__module__
    return type(base.__name__, (CampaignConfigFieldsMixin, base), attrs)
