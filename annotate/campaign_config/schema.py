"""The campaign config as a whole: which section owns which key, and its validation.

``validate_campaign_config`` is the one check every writer calls (Campaign.clean, so
campaign_create and campaign_update: the admin, REST create/configure, import_items
``--config``, the demo). It returns the config normalised (numbers as their type, lists
as lists, only the keys given) or raises :class:`CampaignConfigError`, whose ``errors``
map a key path (``gold_rate``, ``quotas.cells.GB``, ``refit.gates.dpo_max_kl``) to why.

To add a section: a module with a :class:`~annotate.campaign_config.base.Section`
subclass, and one line in ``SECTIONS``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from annotate.input.checks import InputError, check_json

from .analytics import Analytics
from .base import Section
from .conversation import Conversation
from .generation import Generation
from .judges import Judges
from .languages import Languages
from .overlap import AdaptiveOverlap
from .participants import Participants
from .privacy import Privacy
from .quality import Quality
from .recruitment import Recruitment
from .refit import Refit
from .routing import Routing

SECTIONS: tuple[type[Section], ...] = (
    Quality,
    Participants,
    Languages,
    AdaptiveOverlap,
    Recruitment,
    Conversation,
    Generation,
    Analytics,
    Privacy,
    Refit,
    Judges,
    Routing,
)
MAX_DEPTH = 8


class CampaignConfigError(ValueError):
    """``errors``: {key path: why}, one entry per refused key."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    @property
    def messages(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.errors.items()]


def owners() -> dict[str, type[Section]]:
    """Every top-level key and the section that owns it."""
    out: dict[str, type[Section]] = {}
    for section in SECTIONS:
        for name in [section.key] if section.key else section.model_fields:
            if name in out:  # two sections claiming one key is a programming error
                raise RuntimeError(f"config key {name!r} is owned twice")
            out[name] = section
    return out


def _join(*parts: Any) -> str:
    """A key path as people write it: ``quotas.cells.GB``, ``privacy.profile_fields[0]``."""
    out = ""
    for part in parts:
        if part in ("", None, "[key]"):  # "[key]": pydantic's marker for a bad dict key
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _allowed_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "did you mean" hints."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        inner = [
            a
            for a in (getattr(annotation, "__args__", None) or (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def _unknown(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(allowed)}."
    return f"Unknown key{hint}"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown key."
    msg = str(error["msg"])
    # "Value error, must start with ..." -> "must start with ..."
    return msg.split(", ", 1)[1] if msg.startswith("Value error, ") else msg


def _validate_section(
    section: type[Section], data: Any, prefix: str, *, strict: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        if strict:
            model = section.model_validate_json(json.dumps(data), strict=True)
        else:
            model = section.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = tuple(error["loc"])
            path = _join(prefix, *loc) or prefix or section.__name__.lower()
            if error["type"] == "extra_forbidden":
                errors[path] = _unknown(str(loc[-1]), _allowed_at(section, loc[:-1]))
            else:
                errors.setdefault(path, _message(error))
        return {}, errors
    problems = {_join(prefix, k): v for k, v in model.problems().items()}
    return model.model_dump(mode="json", exclude_unset=True), problems


def validate_campaign_config(raw: Any, *, strict: bool = True) -> dict[str, Any]:
    """The config, checked and normalised; CampaignConfigError names every bad key.

    ``strict`` (every writer): types as JSON has them, "3" is not a number. ``strict=False``
    (the data migration) also takes what pydantic can coerce ("3" -> 3).
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CampaignConfigError({"config": "Must be a JSON object."})
    try:
        check_json(raw, field="", max_depth=MAX_DEPTH)  # the input boundary first
    except InputError as exc:
        raise CampaignConfigError({exc.field or "config": exc.message}) from None
    owned = owners()
    errors: dict[str, str] = {
        str(name): _unknown(str(name), sorted(owned)) for name in raw if name not in owned
    }
    out: dict[str, Any] = {}
    for section in SECTIONS:
        if section.key is not None:
            if section.key not in raw:
                continue
            dumped, problems = _validate_section(
                section, raw[section.key], section.key, strict=strict
            )
            if not problems:
                out[section.key] = dumped
        else:
            data = {k: raw[k] for k in section.model_fields if k in raw}
            if not data:
                continue
            dumped, problems = _validate_section(section, data, "", strict=strict)
            out.update(dumped)
        errors.update(problems)
    if errors:
        raise CampaignConfigError(errors)
    return {k: out[k] for k in raw if k in out}  # the caller's key order


def section_values(config: Mapping[str, Any] | None, section: type[Section]) -> Section:
    """Typed values of one section (defaults for what is unset). A stored config is valid
    by construction (every writer validates); an old invalid one yields the defaults."""
    config = config or {}
    data = (
        config.get(section.key)
        if section.key
        else {k: config[k] for k in section.model_fields if k in config}
    )
    try:
        return section.model_validate(data or {})
    except ValidationError:
        return section()
