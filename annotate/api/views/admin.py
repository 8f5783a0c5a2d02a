"""Grants: which researcher may read which campaign (admins only)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api.base import ChorusAPIView, IdCursorPagination, IsAdmin
from annotate.api.filters import PAGING_PARAMS, check_known
from annotate.selectors.grants import grant_get, grants_list
from annotate.services.grants import campaign_grant_create, campaign_grant_revoke


class GrantListApi(ChorusAPIView):
    pagination_class = IdCursorPagination
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", str, description="Campaign slug."),
            OpenApiParameter("cursor", str, description="Opaque cursor from next/previous."),
            OpenApiParameter("page_size", int, description="1-500, default 50."),
        ],
        responses=s.GrantSerializer(many=True),
        tags=["grants"],
    )
    def get(self, request: Request) -> Response:
        check_known(request.query_params, ("campaign", *PAGING_PARAMS))
        qs = grants_list(campaign_slug=str(request.query_params.get("campaign") or ""))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.GrantSerializer(page, many=True).data)


class GrantCreateApi(ChorusAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=s.GrantCreateSerializer,
        responses={
            201: OpenApiResponse(s.GrantSerializer, description="Granted."),
            200: OpenApiResponse(
                s.GrantSerializer, description="Already granted: the existing grant, unchanged."
            ),
            (400, "application/json"): OpenApiResponse(
                description="Unknown campaign or user, or the user is not a researcher "
                '(the detail says so: add the user to the "researcher" group first).'
            ),
        },
        tags=["grants"],
    )
    def post(self, request: Request) -> Response:
        """Grant a researcher read access to a campaign (idempotent: repeating it is 200)."""
        data = s.GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant, created = campaign_grant_create(
            campaign=data.validated_data["campaign"],
            user=data.validated_data["user"],
            granted_by=request.user,
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.GrantSerializer(grant).data, status=code)


class GrantRevokeApi(ChorusAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={204: None}, tags=["grants"])
    def delete(self, request: Request, grant_id: int) -> Response:
        grant = grant_get(grant_id=grant_id)
        if grant is None:
            raise Http404("No such grant.")
        campaign_grant_revoke(grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
