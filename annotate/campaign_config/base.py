"""What every section of the campaign config shares (pydantic v2, no Django).

A section is a pydantic model for a group of keys of ``Campaign.config``. A section
with ``key = None`` owns top-level keys (``gold_rate``, ``min_seconds``: the flat keys
Chorus has always read); a section with a ``key`` owns the object under that key
(``config["refit"]``). Every field carries its default, its range and a description:
the README table (annotate.campaign_config.docs) and the admin's form fields
(annotate.admin_config) are made from them, so the documentation cannot drift.
Unknown keys are refused at every level (``extra="forbid"``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from annotate.exports.privacy import (
    ALL_PROFILE_FIELDS,
    CATEGORICAL_FIELDS,
    LIST_FIELDS,
)
from annotate.i18n.texts import TextsError, language_code_clean
from annotate.input.checks import InputError
from annotate.input.language import language_tag


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ClassVar[str | None] = None  # None: top-level keys; else the object's key
    title: ClassVar[str] = ""
    read_by: ClassVar[str] = ""  # the module that reads these keys
    # Keys (dotted below this section) the admin shows as form fields, not JSON.
    admin_keys: ClassVar[tuple[str, ...]] = ()

    def problems(self) -> dict[str, str]:
        """Rules across keys: {key: why}; empty when the section is consistent."""
        return {}


class Part(BaseModel):
    """A nested object inside a section (``quotas``, ``refit.gates``, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _profile_field(name: str) -> str:
    if name not in ALL_PROFILE_FIELDS:
        raise ValueError(
            f"unknown profile field {name!r}; choose from {', '.join(ALL_PROFILE_FIELDS)}"
        )
    return name


def _category_field(name: str) -> str:
    if name not in CATEGORICAL_FIELDS + LIST_FIELDS:
        raise ValueError(
            f"{name!r} is not a categorical profile field; choose from "
            f"{', '.join(CATEGORICAL_FIELDS + LIST_FIELDS)}"
        )
    return name


def _language(code: str) -> str:
    try:
        return language_code_clean(code, field="language")
    except TextsError as exc:
        raise ValueError(str(exc).split(": ", 1)[-1]) from None


def _data_language(code: str) -> str:
    try:
        return language_tag(code)
    except InputError as exc:
        raise ValueError(exc.message) from None


ProfileField = Annotated[str, AfterValidator(_profile_field)]
# One of settings.LANGUAGES, normalised ("zh_Hans" -> "zh-hans"): annotate.i18n.texts.
LanguageCode = Annotated[str, AfterValidator(_language)]
# Any BCP 47 tag, normalised ("pt-BR" -> "pt-br"): the language of data, not of the UI.
DataLanguage = Annotated[str, AfterValidator(_data_language)]
CategoryField = Annotated[str, AfterValidator(_category_field)]
Rate = Annotated[float, Field(ge=0, le=1)]
