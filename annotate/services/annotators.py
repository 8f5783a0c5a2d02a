"""Annotators and their versioned profiles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from annotate.i18n.languages import language_codes
from annotate.models import Annotator, ProfileVersion


def annotator_get_or_create(
    *, user: AbstractBaseUser, external_id: str = "", study_id: str = ""
) -> Annotator:
    annotator, _ = Annotator.objects.get_or_create(
        user=user, defaults={"external_id": external_id, "study_id": study_id}
    )
    return annotator


@transaction.atomic
def annotator_sign_up(*, username: str, password: str) -> Any:
    """A new account that annotates: the user (password hashed) and its Annotator, in one
    transaction, so a failure leaves neither. The caller validated both (SignupForm)."""
    user = get_user_model().objects.create_user(username=username, password=password)
    annotator_get_or_create(user=user)
    return user


@transaction.atomic
def profile_version_create(*, annotator: Annotator, **fields: Any) -> ProfileVersion:
    """Save a new profile version and make it current. Old versions stay as they were.

    Locks the annotator row so two concurrent edits get distinct version numbers.
    Raises django.core.exceptions.ValidationError for invalid fields.
    """
    Annotator.objects.select_for_update().filter(pk=annotator.pk).first()
    latest = annotator.profiles.aggregate(v=Max("version"))["v"] or 0
    profile = ProfileVersion(annotator=annotator, version=latest + 1, **fields)
    profile.full_clean()
    profile.save()
    annotator.current_profile = profile
    annotator.save(update_fields=["current_profile"])
    return profile


def annotator_language_set(*, annotator: Annotator, language: str) -> Annotator:
    """Save the interface language the annotator chose ("" = follow the browser).

    Raises ValueError for a language that is not one of settings.LANGUAGES.
    """
    language = (language or "").strip().lower()
    if language and language not in language_codes():
        raise ValueError(f"Unknown language {language!r}.")
    if annotator.ui_language != language:
        annotator.ui_language = language
        annotator.save(update_fields=["ui_language"])
    return annotator
