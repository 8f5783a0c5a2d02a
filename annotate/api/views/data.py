"""Items, annotations, assignments and annotator profiles (read), adding items (admins).

List endpoints run a constant number of queries whatever the page size (related rows
are joined or prefetched); the tests assert it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api.base import ChorusAPIView, IdCursorPagination, IsAdmin, campaign_or_404
from annotate.api.filters import PAGING_PARAMS, check_known, filter_param_names
from annotate.api.filters import parse_filters as parse_filter_params
from annotate.exports.privacy import PrivacyConfigError, privacy_settings, suppress
from annotate.exports.privacy import publishable_values as publishable
from annotate.input.drf import query_int
from annotate.models import Annotation, Annotator, Assignment, Item, ItemResponse
from annotate.roles import annotator_of, is_admin
from annotate.selectors.annotations import (
    annotations_filter,
    annotations_visible_to,
    campaigns_visible_to,
)
from annotate.services import ItemSpec, ItemSpecError, ResponseSpec, items_add
from annotate.services.items import conversation_items_add

FILTER_DOCS = [
    OpenApiParameter("task_type", str, description="Comma-separated task types."),
    OpenApiParameter("created_after", str, description="ISO date or date-time (inclusive)."),
    OpenApiParameter("created_before", str, description="ISO date or date-time (exclusive)."),
    OpenApiParameter("guideline_version", int, description="Guideline version number."),
    OpenApiParameter("endpoint", int, description="Labels whose item has a response from it."),
    OpenApiParameter("policy_version", int, description="Same, for a policy version."),
    OpenApiParameter("annotator", str, description="Pseudonymous annotator id."),
    OpenApiParameter(
        "country",
        str,
        description="Residence country (ISO alpha-2). Any published profile field "
        "(age_band, gender, ...) filters the same way; only fields the campaign's "
        "privacy setting publishes are accepted.",
    ),
    OpenApiParameter("age_band", str, description="Profile age band, e.g. 25-34."),
]
PAGE_DOCS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from next/previous."),
    OpenApiParameter("page_size", int, description="1-500, default 50."),
]


def _items_queryset() -> Any:
    return Item.objects.select_related("campaign", "prompt").prefetch_related(
        Prefetch(
            "item_responses",
            queryset=ItemResponse.objects.select_related("response").order_by("position"),
        )
    )


class ItemListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("task_type", str, description="Comma-separated task types."),
            *PAGE_DOCS,
        ],
        responses=s.ItemSerializer(many=True),
        tags=["items"],
    )
    def get(self, request: Request, slug: str) -> Response:
        """A campaign's items with their prompt and responses (canonical order)."""
        campaign = campaign_or_404(request, slug)
        check_known(request.query_params, ("task_type", *PAGING_PARAMS))
        filters = parse_filter_params(request.query_params, privacy=None, admin=True)
        qs = _items_queryset().filter(campaign=campaign)
        if filters.get("task_type"):
            qs = qs.filter(task_type__in=filters["task_type"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ItemSerializer(page, many=True).data)


class ItemDetailApi(ChorusAPIView):
    @extend_schema(responses=s.ItemSerializer, tags=["items"])
    def get(self, request: Request, slug: str, item_id: int) -> Response:
        campaign = campaign_or_404(request, slug)
        item = _items_queryset().filter(campaign=campaign, pk=item_id).first()
        if item is None:
            raise Http404("No such item.")
        return Response(s.ItemSerializer(item).data)


class ItemsAddApi(ChorusAPIView):
    @extend_schema(
        request=s.ItemsAddSerializer, responses={201: s.ItemsAddedSerializer}, tags=["items"]
    )
    def post(self, request: Request, slug: str) -> Response:
        """Add items with their prompt and responses, all or nothing (admins)."""
        campaign = campaign_or_404(request, slug)
        if not IsAdmin().has_permission(request, self):
            self.permission_denied(request, message=IsAdmin.message)
        data = s.ItemsAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        specs = [
            ItemSpec(
                task_type=it["task_type"],
                messages=[dict(m) for m in it["messages"]],
                responses=[
                    ResponseSpec(
                        text=r["text"],
                        source=r.get("source", ""),
                        endpoint_id=r.get("endpoint"),
                        policy_version_id=r.get("policy_version"),
                        generation_params=r.get("generation_params") or {},
                    )
                    for r in it["responses"]
                ],
                source="api",
                external_id=it.get("external_id", ""),
                metadata=it.get("metadata") or {},
                priority=it.get("priority", 0.0),
                is_gold=it.get("is_gold", False),
                is_attention_check=it.get("is_attention_check", False),
                gold_answer=it.get("gold_answer"),
                overlap=it.get("overlap"),
            )
            for it in data.validated_data["items"]
        ]
        try:
            items = items_add(campaign=campaign, specs=specs)
        except ItemSpecError as exc:
            raise ValidationError({"items": str(exc)}) from exc
        return Response(
            {"created": len(items), "ids": [i.pk for i in items]}, status=status.HTTP_201_CREATED
        )


class ConversationsAddApi(ChorusAPIView):
    @extend_schema(
        request=s.ConversationsAddSerializer,
        responses={201: s.ItemsAddedSerializer},
        tags=["items"],
    )
    def post(self, request: Request, slug: str) -> Response:
        """Add ``n`` live-conversation slots (admins): each is one PRISM conversation that
        an annotator opens with a prompt of their own; ``overlap`` annotators per slot."""
        campaign = campaign_or_404(request, slug)
        if not IsAdmin().has_permission(request, self):
            self.permission_denied(request, message=IsAdmin.message)
        data = s.ConversationsAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            items = conversation_items_add(
                campaign=campaign,
                n=data.validated_data["n"],
                overlap=data.validated_data.get("overlap"),
            )
        except ItemSpecError as exc:
            raise ValidationError({"n": str(exc)}) from exc
        return Response(
            {"created": len(items), "ids": [i.pk for i in items]}, status=status.HTTP_201_CREATED
        )


def _annotations_queryset(qs: Any) -> Any:
    return qs.select_related("campaign", "annotator", "guideline_version", "profile_version")


class AnnotationListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", str, description="Campaign slug."),
            *FILTER_DOCS,
            *PAGE_DOCS,
        ],
        responses=s.AnnotationSerializer(many=True),
        tags=["annotations"],
    )
    def get(self, request: Request) -> Response:
        """Labels you may read (annotators: their own), filtered; newest first."""
        params = request.query_params
        check_known(params, ("campaign", *filter_param_names(), *PAGING_PARAMS))
        qs = annotations_visible_to(request.user)
        privacy = None
        if params.get("campaign"):
            campaign = _campaign_for_annotations(request, str(params["campaign"]))
            qs = qs.filter(campaign=campaign)
            privacy = _privacy(campaign)
        filters = parse_filter_params(params, privacy=privacy, admin=is_admin(request.user))
        qs = _annotations_queryset(annotations_filter(qs, filters))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.AnnotationSerializer(page, many=True).data)


def _campaign_for_annotations(request: Request, slug: str) -> Any:
    """Researchers/admins: a visible campaign. Annotators: one they have labels in."""
    campaign = campaigns_visible_to(request.user).filter(slug=slug).first()
    if campaign is None:
        annotator = annotator_of(request.user)
        if annotator is not None:
            label = (
                Annotation.objects.filter(annotator=annotator, campaign__slug=slug)
                .select_related("campaign")
                .first()
            )
            campaign = label.campaign if label else None
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _privacy(campaign: Any) -> Any:
    try:
        return privacy_settings(campaign.config)
    except PrivacyConfigError as exc:
        raise ValidationError({"campaign": f"Privacy setting is invalid: {exc}"}) from exc


class AnnotationDetailApi(ChorusAPIView):
    @extend_schema(responses=s.AnnotationSerializer, tags=["annotations"])
    def get(self, request: Request, annotation_id: int) -> Response:
        annotation = (
            _annotations_queryset(annotations_visible_to(request.user))
            .filter(pk=annotation_id)
            .first()
        )
        if annotation is None:
            raise Http404("No such annotation.")
        return Response(s.AnnotationSerializer(annotation).data)


def _assignments_visible(request: Request) -> Any:
    if is_admin(request.user):
        return Assignment.objects.all()
    scope = Q(pk__in=[])
    campaigns = campaigns_visible_to(request.user).values("pk")
    scope |= Q(campaign_id__in=campaigns)
    annotator = annotator_of(request.user)
    if annotator is not None:
        scope |= Q(annotator=annotator)
    return Assignment.objects.filter(scope)


class AssignmentListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", str, description="Campaign slug."),
            OpenApiParameter("status", str, description="active, submitted, skipped, expired"),
            *PAGE_DOCS,
        ],
        responses=s.AssignmentSerializer(many=True),
        tags=["annotations"],
    )
    def get(self, request: Request) -> Response:
        """Assignments you may read (annotators: their own)."""
        params = request.query_params
        check_known(params, ("campaign", "status", *PAGING_PARAMS))
        qs = _assignments_visible(request).select_related("campaign")
        if params.get("campaign"):
            qs = qs.filter(campaign__slug=params["campaign"])
        if params.get("status"):
            if params["status"] not in {"active", "submitted", "skipped", "expired"}:
                raise ValidationError({"status": "Choose active, submitted, skipped or expired."})
            qs = qs.filter(status=params["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.AssignmentSerializer(page, many=True).data)


class AssignmentDetailApi(ChorusAPIView):
    @extend_schema(responses=s.AssignmentSerializer, tags=["annotations"])
    def get(self, request: Request, assignment_id: int) -> Response:
        found = (
            _assignments_visible(request)
            .select_related("campaign")
            .filter(pk=assignment_id)
            .first()
        )
        if found is None:
            raise Http404("No such assignment.")
        return Response(s.AssignmentSerializer(found).data)


class AnnotatorProfileListApi(ChorusAPIView):
    @extend_schema(
        parameters=[*PAGE_DOCS[1:]],
        responses=s.AnnotatorProfilePageSerializer,
        tags=["annotators"],
    )
    def get(self, request: Request, slug: str) -> Response:
        """Annotators who labelled in a campaign: pseudonymous id and published fields.

        Fields follow ``config.privacy.profile_fields``; a value shared by fewer than
        ``k_anonymity`` of this campaign's annotators is null. Not paginated beyond
        ``page_size`` (default 500, at most 5000): a campaign has few annotators.
        """
        campaign = campaign_or_404(request, slug)
        check_known(request.query_params, ("page_size",))
        privacy = _privacy(campaign)
        limit = _page_size(request)
        fields = [f"current_profile__{f}" for f in privacy.profile_fields]
        rows = list(
            Annotator.objects.filter(annotations__campaign=campaign)
            .annotate(n=Count("annotations", filter=Q(annotations__campaign=campaign)))
            .order_by("pseudonym")
            .values("pseudonym", "n", "deleted_at", "current_profile__version", *fields)[:limit]
        )
        profiles = [
            (
                r["pseudonym"],
                {f: r[f"current_profile__{f}"] for f in privacy.profile_fields}
                if r["current_profile__version"] is not None
                else None,
            )
            for r in rows
        ]
        allowed = publishable(((p, prof) for p, prof in profiles if prof), privacy)
        results = [
            {
                "annotator_id": r["pseudonym"],
                "n_annotations": r["n"],
                "profile_version": r["current_profile__version"],
                "deleted": r["deleted_at"] is not None,
                "profile": suppress(prof, privacy, allowed),
            }
            for r, (_, prof) in zip(rows, profiles, strict=True)
        ]
        return Response(
            s.AnnotatorProfilePageSerializer(
                {
                    "k_anonymity": privacy.k,
                    "profile_fields": list(privacy.profile_fields),
                    "results": results,
                }
            ).data
        )


def _page_size(request: Request) -> int:
    value = query_int(request.query_params, "page_size", min_value=1, max_value=5000)
    return 500 if value is None else value
