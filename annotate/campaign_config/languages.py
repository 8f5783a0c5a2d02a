"""Languages (top level), read by Campaign.default_language (issue 17): guidelines and
the consent are written in the default language first; other languages are translations.
Also the data languages: per-language label quotas (annotate/services/language_quotas.py,
enforced by the queue) and the system prompt that asks live generation to answer in the
item's language (modelserve/generation/languages.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import DataLanguage, LanguageCode, Part, Section


class LanguageQuota(Part):
    """Labels of items in one language. A label counts from its lease: a leased slot is
    a label on its way, so concurrent leases can never overshoot ``max_labels``."""

    max_labels: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="The queue serves no more items in this language once its items hold "
        "this many labels (leased or submitted). Unset: no cap.",
    )
    min_labels: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="Until its items hold this many labels, items in this language are "
        "served before the others (priority order within each group). Unset: no floor.",
    )

    def problems(self) -> dict[str, str]:
        if (
            self.max_labels is not None
            and self.min_labels is not None
            and self.min_labels > self.max_labels
        ):
            return {"min_labels": "must not exceed max_labels"}
        return {}


class Languages(Section):
    title = "Languages"
    read_by = (
        "annotate/models/campaign.py (Campaign.default_language), "
        "annotate/services/language_quotas.py, modelserve/generation/languages.py"
    )

    default_language: LanguageCode | None = Field(
        None,
        description="The language guidelines and consent are written in first (one of the "
        "site's languages); unset: the site's (LANGUAGE_CODE).",
    )
    language_quotas: dict[DataLanguage, LanguageQuota] = Field(
        default_factory=dict,
        max_length=200,
        description='Labels per item language, e.g. {"fr": {"max_labels": 500}, "en": '
        '{"min_labels": 100}}; languages not listed have no quota.',
    )
    language_system_prompts: dict[
        DataLanguage, Annotated[str, StringConstraints(max_length=4000)]
    ] = Field(
        default_factory=dict,
        max_length=200,
        description="Per item language, the instruction live generation adds to the system "
        "prompt so the models answer in that language (built-in defaults for en, fr, es, "
        'de, ar, zh-hans; "" turns one off). Items in "und" get none.',
    )

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for code, quota in self.language_quotas.items():
            out.update({f"language_quotas.{code}.{k}": v for k, v in quota.problems().items()})
        return out
