"""Items, annotations, assignments and annotator profiles (read), adding items (admins).

List endpoints run a constant number of queries whatever the page size (related rows
are joined or prefetched); the tests assert it.
"""

from __future__ import annotations

from typing import Any

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
from annotate.exports.privacy import PrivacyConfigError, privacy_settings
from annotate.input.drf import query_int
from annotate.roles import is_admin
from annotate.selectors.annotations import (
    annotation_for_api,
    annotations_for_api,
    campaign_of_annotations,
)
from annotate.selectors.annotators import annotator_profiles
from annotate.selectors.assignments import assignment_visible_to, assignments_visible_to
from annotate.selectors.items import item_of_campaign, items_of_campaign
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
        "source",
        str,
        enum=["human", "ai", "all"],
        description="Who gave the labels: human (the default), ai (AI judges) or all. "
        "AI labels carry the judge's name and prompt version.",
    ),
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
        qs = items_of_campaign(campaign=campaign, task_types=filters.get("task_type"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ItemSerializer(page, many=True).data)


class ItemDetailApi(ChorusAPIView):
    @extend_schema(responses=s.ItemSerializer, tags=["items"])
    def get(self, request: Request, slug: str, item_id: int) -> Response:
        campaign = campaign_or_404(request, slug)
        item = item_of_campaign(campaign=campaign, item_id=item_id)
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
        campaign = privacy = None
        if params.get("campaign"):
            campaign = campaign_of_annotations(user=request.user, slug=str(params["campaign"]))
            if campaign is None:
                raise Http404("No such campaign.")
            privacy = _privacy(campaign)
        filters = parse_filter_params(params, privacy=privacy, admin=is_admin(request.user))
        qs = annotations_for_api(user=request.user, campaign=campaign, filters=filters)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.AnnotationSerializer(page, many=True).data)


def _privacy(campaign: Any) -> Any:
    try:
        return privacy_settings(campaign.config)
    except PrivacyConfigError as exc:
        raise ValidationError({"campaign": f"Privacy setting is invalid: {exc}"}) from exc


class AnnotationDetailApi(ChorusAPIView):
    @extend_schema(responses=s.AnnotationSerializer, tags=["annotations"])
    def get(self, request: Request, annotation_id: int) -> Response:
        annotation = annotation_for_api(user=request.user, annotation_id=annotation_id)
        if annotation is None:
            raise Http404("No such annotation.")
        return Response(s.AnnotationSerializer(annotation).data)


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
        status = str(params.get("status") or "")
        if status and status not in {"active", "submitted", "skipped", "expired"}:
            raise ValidationError({"status": "Choose active, submitted, skipped or expired."})
        qs = assignments_visible_to(
            user=request.user, campaign_slug=str(params.get("campaign") or ""), status=status
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.AssignmentSerializer(page, many=True).data)


class AssignmentDetailApi(ChorusAPIView):
    @extend_schema(responses=s.AssignmentSerializer, tags=["annotations"])
    def get(self, request: Request, assignment_id: int) -> Response:
        found = assignment_visible_to(user=request.user, assignment_id=assignment_id)
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
        results = annotator_profiles(campaign=campaign, privacy=privacy, limit=limit)
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
