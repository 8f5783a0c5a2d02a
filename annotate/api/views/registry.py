"""Model registry (read): endpoints, policy versions and reward-model versions with metrics.

Researchers see the endpoints in the model pool of a campaign they are granted, and the
versions trained for those campaigns; admins see everything. Connection details
(base URL, API-key variable name) are never part of the answer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api import serializers_registry as rs
from annotate.api.base import ChorusAPIView, IdCursorPagination, IsAdmin, campaign_or_404
from annotate.api.filters import PAGING_PARAMS, check_known
from modelserve.generation.registry import UnknownEndpoints, campaign_pool_add
from modelserve.generation.selectors import endpoints_visible_to
from modelserve.learning.models import PolicyVersion, RewardModelVersion
from modelserve.learning.selectors import versions_visible_to

CAMPAIGN_PARAM = OpenApiParameter("campaign", str, description="Campaign slug.")
PAGE_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from next/previous."),
    OpenApiParameter("page_size", int, description="1-500, default 50."),
]


def _paginate(view: ChorusAPIView, request: Request, qs: Any, serializer: Any) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class ModelEndpointListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[CAMPAIGN_PARAM, *PAGE_PARAMS],
        responses=rs.ModelEndpointSerializer(many=True),
        tags=["models"],
    )
    def get(self, request: Request) -> Response:
        check_known(request.query_params, ("campaign", *PAGING_PARAMS))
        qs = endpoints_visible_to(
            user=request.user, campaign_slug=str(request.query_params.get("campaign") or "")
        )
        return _paginate(self, request, qs, rs.ModelEndpointSerializer)


def _versions(request: Request, model: Any) -> Any:
    check_known(request.query_params, ("campaign", *PAGING_PARAMS))
    return versions_visible_to(
        user=request.user,
        model=model,
        campaign_slug=str(request.query_params.get("campaign") or ""),
    )


class PolicyVersionListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[CAMPAIGN_PARAM, *PAGE_PARAMS],
        responses=rs.PolicyVersionSerializer(many=True),
        tags=["models"],
    )
    def get(self, request: Request) -> Response:
        """DPO policy versions with their config, data hash and metrics."""
        return _paginate(
            self, request, _versions(request, PolicyVersion), rs.PolicyVersionSerializer
        )


class RewardModelVersionListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[CAMPAIGN_PARAM, *PAGE_PARAMS],
        responses=rs.RewardModelVersionSerializer(many=True),
        tags=["models"],
    )
    def get(self, request: Request) -> Response:
        """Reward-model versions with their config, data hash and metrics."""
        return _paginate(
            self, request, _versions(request, RewardModelVersion), rs.RewardModelVersionSerializer
        )


class CampaignModelsApi(ChorusAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=s.CampaignModelsSerializer,
        responses={200: rs.ModelEndpointSerializer(many=True)},
        tags=["models"],
    )
    def post(self, request: Request, slug: str) -> Response:
        """Add models to a campaign's generation pool (admins); answers the whole pool.

        ``default`` adds that many endpoints over the packaged SmolLM2 (they differ in
        temperature and system prompt); ``endpoints`` adds existing endpoints by id."""
        campaign = campaign_or_404(request, slug)
        data = s.CampaignModelsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pool = campaign_pool_add(
                campaign=campaign,
                default=data.validated_data["default"],
                endpoint_ids=data.validated_data["endpoints"],
            )
        except UnknownEndpoints as exc:
            raise ValidationError({"endpoints": str(exc)}) from exc
        return Response(rs.ModelEndpointSerializer(pool, many=True).data)
