"""Annotators, their consent, and their versioned PRISM-style profile.

A profile edit creates a new ``ProfileVersion``; annotations keep the version in force
when they were given. Exports identify annotators by ``Annotator.pseudonym`` only.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.jsonutil import JSONEncoder


def new_pseudonym() -> str:
    return "ann_" + secrets.token_hex(8)


class Annotator(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotator"
    )
    pseudonym = models.CharField(max_length=40, unique=True, default=new_pseudonym)
    # Crowd-platform admission (e.g. Prolific PID and STUDY_ID).
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    study_id = models.CharField(max_length=200, blank=True)
    current_profile = models.ForeignKey(
        "ProfileVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Quality control may pause an annotator; they then get no tasks.
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=300, blank=True)
    # Issue 17: the language the annotator asked the interface to use ("" = follow the
    # browser). A code of settings.LANGUAGES, checked by annotator_language_set.
    ui_language = models.CharField(max_length=12, blank=True, default="")
    # Set when the annotator asked for their data to be deleted.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.pseudonym


class Consent(models.Model):
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="consents")
    campaign = models.ForeignKey(
        "annotate.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.CharField(max_length=40)
    # SHA-256 of the exact consent text shown, so a later text edit is detectable.
    text_sha256 = models.CharField(max_length=64)
    # The language of the text shown (and agreed to); its hash is of that text.
    language = models.CharField(max_length=12, default="en")
    given_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotator", "campaign", "version"], name="consent_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.version} by {self.annotator_id}"


PREFER_NOT = "prefer_not_to_say"


class AgeBand(models.TextChoices):
    A18_24 = "18-24", "18-24"
    A25_34 = "25-34", "25-34"
    A35_44 = "35-44", "35-44"
    A45_54 = "45-54", "45-54"
    A55_64 = "55-64", "55-64"
    A65 = "65+", _("65 or older")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    NON_BINARY = "non_binary", _("Non-binary")
    SELF_DESCRIBE = "self_describe", _("Prefer to self-describe")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class Proficiency(models.TextChoices):
    NATIVE = "native", _("Native speaker")
    FLUENT = "fluent", _("Fluent")
    ADVANCED = "advanced", _("Advanced")
    INTERMEDIATE = "intermediate", _("Intermediate")
    BASIC = "basic", _("Basic")


class Education(models.TextChoices):
    NONE = "none", _("Some primary school or none")
    PRIMARY = "primary", _("Primary school")
    SECONDARY = "secondary", _("Secondary school / high school")
    VOCATIONAL = "vocational", _("Vocational or technical")
    UNIVERSITY = "university", _("University bachelor's degree")
    GRADUATE = "graduate", _("Graduate or professional degree")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class Employment(models.TextChoices):
    FULL_TIME = "full_time", _("Working full-time")
    PART_TIME = "part_time", _("Working part-time")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    STUDENT = "student", _("Student")
    UNEMPLOYED = "unemployed", _("Unemployed, seeking work")
    HOMEMAKER = "homemaker", _("Homemaker / carer")
    RETIRED = "retired", _("Retired")
    OTHER = "other", _("Other")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class MaritalStatus(models.TextChoices):
    SINGLE = "single", _("Never married")
    RELATIONSHIP = "relationship", _("In a relationship")
    MARRIED = "married", _("Married or civil union")
    DIVORCED = "divorced", _("Divorced or separated")
    WIDOWED = "widowed", _("Widowed")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class Ethnicity(models.TextChoices):
    ASIAN = "asian", _("Asian")
    BLACK = "black", _("Black / African")
    HISPANIC = "hispanic", _("Hispanic / Latino")
    MIDDLE_EASTERN = "middle_eastern", _("Middle Eastern / North African")
    MIXED = "mixed", _("Mixed")
    PACIFIC = "pacific", _("Native Hawaiian / Pacific Islander")
    INDIGENOUS = "indigenous", _("Indigenous / First Nations")
    WHITE = "white", _("White")
    SELF_DESCRIBE = "self_describe", _("Prefer to self-describe")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class Religion(models.TextChoices):
    NONE = "none", _("No religion")
    CHRISTIAN = "christian", _("Christian")
    MUSLIM = "muslim", _("Muslim")
    HINDU = "hindu", _("Hindu")
    BUDDHIST = "buddhist", _("Buddhist")
    JEWISH = "jewish", _("Jewish")
    SIKH = "sikh", _("Sikh")
    FOLK = "folk", _("Folk or traditional religion")
    SELF_DESCRIBE = "self_describe", _("Prefer to self-describe")
    PREFER_NOT = PREFER_NOT, _("Prefer not to say")


class AIFamiliarity(models.TextChoices):
    NEVER_HEARD = "never_heard", _("Never heard of them")
    HEARD = "heard", _("Heard of them, never used one")
    SOMEWHAT = "somewhat", _("Somewhat familiar")
    VERY = "very", _("Very familiar")


class AIFrequency(models.TextChoices):
    NEVER = "never", _("Never")
    RARELY = "rarely", _("Less than once a month")
    MONTHLY = "monthly", _("Every month")
    WEEKLY = "weekly", _("Every week")
    DAILY = "daily", _("Every day")


USE_CASES = [
    ("research", _("Research and information")),
    ("writing", _("Writing and editing")),
    ("coding", _("Programming")),
    ("learning", _("Learning and homework")),
    ("work", _("Professional work")),
    ("creative", _("Creative projects")),
    ("advice", _("Personal advice")),
    ("health", _("Health questions")),
    ("emotional", _("Emotional support or company")),
    ("fun", _("Entertainment and curiosity")),
    ("other", _("Other")),
]

STATED_PREFERENCES = [
    "values",
    "creativity",
    "fluency",
    "factuality",
    "diversity",
    "safety",
    "personalisation",
    "helpfulness",
]


def _pref_field() -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)]
    )


class ProfileVersion(models.Model):
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="profiles")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    age_band = models.CharField(max_length=20, choices=AgeBand.choices)
    gender = models.CharField(max_length=20, choices=Gender.choices)
    gender_self_describe = models.CharField(max_length=100, blank=True)
    # ISO 3166-1 alpha-2 codes; "ZZ" for prefer not to say.
    birth_country = models.CharField(max_length=2)
    residence_country = models.CharField(max_length=2)
    first_language = models.CharField(max_length=60)
    english_proficiency = models.CharField(max_length=20, choices=Proficiency.choices)
    education = models.CharField(max_length=20, choices=Education.choices)
    employment = models.CharField(max_length=20, choices=Employment.choices)
    marital_status = models.CharField(max_length=20, choices=MaritalStatus.choices)
    ethnicity = models.CharField(max_length=20, choices=Ethnicity.choices)
    ethnicity_self_describe = models.CharField(max_length=100, blank=True)
    religion = models.CharField(max_length=20, choices=Religion.choices)
    religion_self_describe = models.CharField(max_length=100, blank=True)
    ai_familiarity = models.CharField(max_length=20, choices=AIFamiliarity.choices)
    ai_frequency = models.CharField(max_length=20, choices=AIFrequency.choices)
    use_cases = models.JSONField(default=list, blank=True, encoder=JSONEncoder)

    pref_values = _pref_field()
    pref_creativity = _pref_field()
    pref_fluency = _pref_field()
    pref_factuality = _pref_field()
    pref_diversity = _pref_field()
    pref_safety = _pref_field()
    pref_personalisation = _pref_field()
    pref_helpfulness = _pref_field()

    self_description = models.TextField(blank=True)
    system_prompt = models.TextField(blank=True)

    class Meta:
        ordering = ["annotator", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["annotator", "version"], name="profile_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.annotator.pseudonym} profile v{self.version}"

    @property
    def stated_preferences(self) -> dict[str, int]:
        return {name: getattr(self, f"pref_{name}") for name in STATED_PREFERENCES}
