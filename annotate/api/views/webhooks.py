"""Outgoing webhooks of a campaign over REST (admins): list and register.

Registering checks the URL now (http/https, and every address the host resolves to
must be public unless CHORUS_WEBHOOK_ALLOWED_NETWORKS names it) and answers the signing
secret once. The admin site has the same, plus the delivery log.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers_links as sl
from annotate.api.base import ChorusAPIView, IsAdmin, campaign_or_404
from annotate.selectors.webhooks import webhooks_of
from annotate.webhooks import network, services


class CampaignWebhooksApi(ChorusAPIView):
    permission_classes = [IsAdmin]
    pagination_class: Any = None

    @extend_schema(responses=sl.WebhookSerializer(many=True), tags=["webhooks"])
    def get(self, request: Request, slug: str) -> Response:
        """The campaign's webhooks (without their secrets)."""
        campaign = campaign_or_404(request, slug)
        return Response(sl.WebhookSerializer(webhooks_of(campaign=campaign), many=True).data)

    @extend_schema(
        request=sl.WebhookInSerializer,
        responses={
            201: OpenApiResponse(
                sl.WebhookCreatedSerializer,
                description="Registered; ``secret`` signs every delivery (shown only now).",
            )
        },
        tags=["webhooks"],
    )
    def post(self, request: Request, slug: str) -> Response:
        """Register a URL that receives the campaign's signed events (README: Webhooks)."""
        campaign = campaign_or_404(request, slug)
        data = sl.WebhookInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            hook = services.webhook_create(
                campaign=campaign,
                url=data.validated_data["url"],
                events=data.validated_data.get("events"),
                description=data.validated_data.get("description", ""),
                created_by=request.user,
            )
        except network.AddressRefused as exc:
            raise ValidationError({"url": [str(exc)]}) from None
        return Response(sl.WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)
