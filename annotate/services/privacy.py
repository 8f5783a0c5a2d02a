"""An annotator's rights over their own data: a copy of it, and its deletion.

Deletion (``annotator_data_delete``) keeps the labels, because they are part of datasets
already promised to a study, but cuts every link back to the person:

- every profile version is deleted (annotations point at none afterwards), so no export
  can join a label to age, country or anything else the person told us;
- the annotator gets a fresh random pseudonym, so labels in exports made after the
  deletion cannot be linked to the pseudonym in exports made before it;
- crowd-platform ids (Prolific PID, study id) are blanked;
- ``Annotator.deleted_at`` is set: the annotator gets no further tasks (the lease
  service checks it).

Consent records stay: they prove what was agreed and hold nothing about the person.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Annotation, Annotator, ProfileVersion
from annotate.models.profile import new_pseudonym

PROFILE_EXPORT_EXCLUDE = {"id", "annotator"}


def annotator_data(*, annotator: Annotator) -> dict[str, Any]:
    """Everything stored about an annotator, for their own download (GDPR art. 15/20)."""
    profiles = [
        {
            f.name: getattr(p, f.name)
            for f in ProfileVersion._meta.concrete_fields
            if f.name not in PROFILE_EXPORT_EXCLUDE
        }
        for p in ProfileVersion.objects.filter(annotator=annotator).order_by("version")
    ]
    annotations = list(
        Annotation.objects.filter(annotator=annotator)
        .order_by("id")
        .values(
            "id",
            "campaign__slug",
            "task_type",
            "item_id",
            "item__prompt__text",
            "payload",
            "time_spent_ms",
            "created_at",
        )
    )
    consents = list(
        annotator.consents.order_by("given_at").values(
            "version", "campaign__slug", "text_sha256", "given_at"
        )
    )
    return {
        "annotator_id": annotator.pseudonym,
        "created_at": annotator.created_at,
        "deleted_at": annotator.deleted_at,
        "external_id": annotator.external_id,
        "study_id": annotator.study_id,
        "consents": consents,
        "profiles": profiles,
        "annotations": annotations,
    }


@transaction.atomic
def annotator_data_delete(*, annotator: Annotator) -> Annotator:
    """Delete profile data and pseudonymise labels. Idempotent; locks the annotator row."""
    locked = Annotator.objects.select_for_update().get(pk=annotator.pk)
    Annotation.objects.filter(annotator=locked).update(profile_version=None)
    locked.current_profile = None
    locked.save(update_fields=["current_profile"])
    ProfileVersion.objects.filter(annotator=locked).delete()
    locked.pseudonym = new_pseudonym()
    locked.external_id = ""
    locked.study_id = ""
    locked.deleted_at = locked.deleted_at or timezone.now()
    locked.save(update_fields=["pseudonym", "external_id", "study_id", "deleted_at"])
    return locked
