"""Reads of annotations: role scoping and the filters shared by the API and exports.

Filters arrive normalised (annotate.api.filters parses query strings into this dict, and
an Export row stores the same dict so the export can be rebuilt)::

    {"task_type": ["pairwise", ...], "created_after": iso, "created_before": iso,
     "guideline_version": 3, "endpoint": 7, "policy_version": 2,
     "profile": {"residence_country": ["GB", "US"], "age_band": ["25-34"]},
     "annotator": "ann_...", "source": ["ai"] | ["ai", "human"]}

``source`` absent means human labels only: AI judges' labels (issue 16) appear only
when a caller asks for them, through ``annotations_of_sources``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from annotate.models import Annotation, Campaign, CampaignGrant, ItemResponse
from annotate.roles import annotator_of, is_admin, is_researcher


def campaigns_visible_to(user: Any) -> QuerySet[Campaign]:
    """Admins: all. Researchers: granted. Others: none (annotators read no campaign data)."""
    if is_admin(user):
        return Campaign.objects.all()
    if is_researcher(user):
        return Campaign.objects.filter(grants__user=user)
    return Campaign.objects.none()


def campaign_visible_to(*, user: Any, slug: str) -> Campaign | None:
    return campaigns_visible_to(user).filter(slug=slug).first()


def annotations_of_sources(sources: Sequence[str] | None = None) -> QuerySet[Annotation]:
    """Human labels (``Annotation.objects``) unless ``sources`` asks for AI ones too."""
    wanted = set(sources or ("human",))
    if wanted == {"human"}:
        return Annotation.objects.all()
    return Annotation.all_sources.filter(source__in=sorted(wanted))


def annotations_visible_to(user: Any, sources: Sequence[str] | None = None) -> QuerySet[Annotation]:
    """Admins all; researchers their granted campaigns; annotators their own labels.
    Human labels only unless ``sources`` says otherwise."""
    base = annotations_of_sources(sources)
    if is_admin(user):
        return base
    scope = Q(pk__in=[])
    if is_researcher(user):
        # A subquery, not a join: a join on grants would repeat rows under the OR.
        scope |= Q(campaign_id__in=CampaignGrant.objects.filter(user=user).values("campaign_id"))
    annotator = annotator_of(user)
    if annotator is not None:
        scope |= Q(annotator=annotator)
    return base.filter(scope)


def annotations_for_api(
    *, user: Any, campaign: Campaign | None = None, filters: dict[str, Any] | None = None
) -> QuerySet[Annotation]:
    """The labels ``user`` may read (``annotations_visible_to``), in one campaign if given,
    filtered, with what the serializer shows joined: one query per page."""
    qs = annotations_visible_to(user, (filters or {}).get("source"))
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    qs = annotations_filter(qs, filters or {})
    return qs.select_related(
        "campaign", "annotator", "guideline_version", "profile_version", "judge"
    )


def annotation_for_api(*, user: Any, annotation_id: int) -> Annotation | None:
    return annotations_for_api(user=user).filter(pk=annotation_id).first()


def campaign_of_annotations(*, user: Any, slug: str) -> Campaign | None:
    """The campaign ``slug`` when ``user`` may list its labels: researchers and admins a
    campaign they can read, annotators one they have labels in (only theirs then)."""
    campaign = campaigns_visible_to(user).filter(slug=slug).first()
    if campaign is not None:
        return campaign
    annotator = annotator_of(user)
    if annotator is None:
        return None
    return Campaign.objects.filter(
        slug=slug, pk__in=Annotation.objects.filter(annotator=annotator).values("campaign_id")
    ).first()


def annotations_filter(qs: QuerySet[Annotation], filters: dict[str, Any]) -> QuerySet[Annotation]:
    if filters.get("task_type"):
        qs = qs.filter(task_type__in=filters["task_type"])
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=parse_datetime(filters["created_after"]))
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=parse_datetime(filters["created_before"]))
    if filters.get("guideline_version") is not None:
        qs = qs.filter(guideline_version__version=filters["guideline_version"])
    if filters.get("annotator"):
        qs = qs.filter(annotator__pseudonym=filters["annotator"])
    model_q = Q()
    if filters.get("endpoint") is not None:
        model_q &= Q(response__endpoint_id=filters["endpoint"])
    if filters.get("policy_version") is not None:
        model_q &= Q(response__policy_version_id=filters["policy_version"])
    if model_q:
        # "Labels involving this model": any of the item's responses came from it.
        qs = qs.filter(Exists(ItemResponse.objects.filter(model_q, item_id=OuterRef("item_id"))))
    for field, values in (filters.get("profile") or {}).items():
        lookup = f"profile_version__{field}"
        if field == "use_cases":
            cond = Q()
            if connection.vendor == "sqlite":  # no JSON containment there: match the text
                qs = qs.annotate(_use_cases=Cast(lookup, TextField()))
                for v in values:
                    cond |= Q(_use_cases__contains=json.dumps(v))
            else:
                for v in values:
                    cond |= Q(**{f"{lookup}__contains": [v]})
            qs = qs.filter(cond)
        else:
            qs = qs.filter(**{f"{lookup}__in": values})
    return qs
