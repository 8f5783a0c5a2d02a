"""Which profile fields leave the system, and k-anonymity suppression. Pure: no Django.

Campaign.config["privacy"] (read here, documented in the README and the API docs)::

    {"profile_fields": ["age_band", "residence_country", ...], "k_anonymity": 5}

- ``profile_fields``: the only annotator profile fields any export, API answer or filter
  may use for this campaign. Missing key: ``DEFAULT_PROFILE_FIELDS`` (coarse
  demographics, no free text). An empty list publishes no profile fields.
- ``k_anonymity`` (k, default 5, 1 disables): a categorical value is published only when
  at least k distinct annotators of the same export share it; otherwise the cell is
  replaced by null ("suppressed"). For ``use_cases`` (a multi-select list) each option is
  counted on its own and rare options are dropped from the list. Free-text fields
  (self-descriptions, the stated system prompt) and the 0-100 preference sliders are not
  categories: k does not apply to them, so list them only when the study's consent covers
  releasing them.

Counting happens over the annotators of the export being built, so a filtered export
(one country, one task type) is suppressed against its own, smaller population.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CATEGORICAL_FIELDS = (
    "age_band",
    "gender",
    "birth_country",
    "residence_country",
    "first_language",
    "english_proficiency",
    "education",
    "employment",
    "marital_status",
    "ethnicity",
    "religion",
    "ai_familiarity",
    "ai_frequency",
)
LIST_FIELDS = ("use_cases",)
FREE_TEXT_FIELDS = (
    "gender_self_describe",
    "ethnicity_self_describe",
    "religion_self_describe",
    "self_description",
    "system_prompt",
)
NUMERIC_FIELDS = (
    "pref_values",
    "pref_creativity",
    "pref_fluency",
    "pref_factuality",
    "pref_diversity",
    "pref_safety",
    "pref_personalisation",
    "pref_helpfulness",
)
ALL_PROFILE_FIELDS = CATEGORICAL_FIELDS + LIST_FIELDS + FREE_TEXT_FIELDS + NUMERIC_FIELDS
DEFAULT_PROFILE_FIELDS = (
    "age_band",
    "gender",
    "residence_country",
    "first_language",
    "english_proficiency",
    "education",
    "ai_familiarity",
    "ai_frequency",
)
DEFAULT_K = 5
# Filter aliases researchers reach for first.
FIELD_ALIASES = {"country": "residence_country"}


class PrivacyConfigError(ValueError):
    pass


@dataclass(frozen=True)
class PrivacySettings:
    profile_fields: tuple[str, ...]
    k: int

    @property
    def k_fields(self) -> tuple[str, ...]:
        """Fields whose values are counted and suppressed below k."""
        return tuple(f for f in self.profile_fields if f in CATEGORICAL_FIELDS + LIST_FIELDS)


def privacy_settings(config: Mapping[str, Any] | None) -> PrivacySettings:
    """Read and check ``config["privacy"]``; raises PrivacyConfigError with a sentence."""
    raw = (config or {}).get("privacy") or {}
    if not isinstance(raw, Mapping):
        raise PrivacyConfigError("config.privacy must be an object.")
    fields = raw.get("profile_fields", list(DEFAULT_PROFILE_FIELDS))
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise PrivacyConfigError("config.privacy.profile_fields must be a list of field names.")
    unknown = sorted(set(fields) - set(ALL_PROFILE_FIELDS))
    if unknown:
        raise PrivacyConfigError(f"Unknown profile fields: {', '.join(unknown)}.")
    k = raw.get("k_anonymity", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise PrivacyConfigError("config.privacy.k_anonymity must be a whole number >= 1.")
    # Keep the canonical order so column order never depends on how an admin typed it.
    ordered = tuple(f for f in ALL_PROFILE_FIELDS if f in set(fields))
    return PrivacySettings(profile_fields=ordered, k=k)


def publishable_values(
    profiles: Iterable[tuple[Any, Mapping[str, Any]]], settings: PrivacySettings
) -> dict[str, set[Any]]:
    """From (annotator key, profile fields) pairs, the values shared by >= k annotators.

    An annotator with several profile versions counts once per distinct value.
    """
    holders: dict[str, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for annotator, profile in profiles:
        for field in settings.k_fields:
            value = profile.get(field)
            if value in (None, ""):
                continue
            values = value if isinstance(value, list) else [value]
            for v in values:
                holders[field][v].add(annotator)
    return {
        field: {v for v, who in holders[field].items() if len(who) >= settings.k}
        for field in settings.k_fields
    }


def suppress(
    profile: Mapping[str, Any] | None,
    settings: PrivacySettings,
    publishable: Mapping[str, set[Any]],
) -> dict[str, Any]:
    """The allowed fields of one profile with rare values replaced by None."""
    out: dict[str, Any] = {}
    for field in settings.profile_fields:
        value = None if profile is None else profile.get(field)
        if value is not None and field in publishable:
            allowed = publishable[field]
            if isinstance(value, list):
                value = [v for v in value if v in allowed]
            elif value not in allowed:
                value = None
        if value == "":
            value = None
        out[field] = value
    return out
