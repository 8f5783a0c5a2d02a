"""Campaigns: list and read (researchers: granted ones), create/configure/open/close (admins)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api import serializers_links as sl
from annotate.api.base import ChorusAPIView, IdCursorPagination, IsAdmin, campaign_or_404
from annotate.models import CampaignStatus
from annotate.selectors.analytics import analytics_snapshot_latest
from annotate.selectors.annotations import campaigns_visible_to
from annotate.selectors.assignments import campaign_progress
from annotate.selectors.guidelines import guideline_languages
from annotate.services import campaign_create, campaign_set_status, guideline_publish
from annotate.services.crowd_links import join_link
from annotate.services.grants import campaign_update


class CampaignListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(responses=s.CampaignSerializer(many=True), tags=["campaigns"])
    def get(self, request: Request) -> Response:
        """Campaigns you may read: all for admins, granted ones for researchers."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(campaigns_visible_to(request.user), request, view=self)
        return paginator.get_paginated_response(s.CampaignSerializer(page, many=True).data)


class CampaignCreateApi(ChorusAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=s.CampaignWriteSerializer,
        responses={201: s.CampaignSerializer},
        tags=["campaigns"],
    )
    def post(self, request: Request) -> Response:
        """Create a campaign (admins). ``guidelines`` becomes guideline version 1."""
        data = s.CampaignWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        campaign = campaign_create(created_by=cast(Any, request.user), **fields)
        return Response(s.CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(ChorusAPIView):
    @extend_schema(responses=s.CampaignDetailSerializer, tags=["campaigns"])
    def get(self, request: Request, slug: str) -> Response:
        campaign = campaign_or_404(request, slug)
        campaign.progress = campaign_progress(campaign=campaign)  # type: ignore[attr-defined]
        return Response(s.CampaignDetailSerializer(campaign).data)


class CampaignConfigureApi(ChorusAPIView):
    @extend_schema(
        request=s.CampaignWriteSerializer(partial=True),
        responses=s.CampaignSerializer,
        tags=["campaigns"],
    )
    def patch(self, request: Request, slug: str) -> Response:
        """Change configuration (admins); ``config.privacy`` is checked here."""
        campaign = campaign_or_404(request, slug)
        if not IsAdmin().has_permission(request, self):
            self.permission_denied(request, message=IsAdmin.message)
        data = s.CampaignWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "slug" in fields or "guidelines" in fields:
            return Response(
                {"detail": "slug cannot change; publish guidelines with POST .../guidelines/."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        campaign = campaign_update(campaign=campaign, **fields)
        return Response(s.CampaignSerializer(campaign).data)


class _CampaignStatusApi(ChorusAPIView):
    target: ClassVar[str]

    @extend_schema(request=None, responses=s.CampaignSerializer, tags=["campaigns"])
    def post(self, request: Request, slug: str) -> Response:
        campaign = campaign_or_404(request, slug)
        if not IsAdmin().has_permission(request, self):
            self.permission_denied(request, message=IsAdmin.message)
        campaign = campaign_set_status(campaign=campaign, status=self.target)
        return Response(s.CampaignSerializer(campaign).data)


class CampaignOpenApi(_CampaignStatusApi):
    """Open a campaign: annotators start getting its items (admins)."""

    target = CampaignStatus.OPEN


class CampaignPauseApi(_CampaignStatusApi):
    """Pause a campaign: no new leases; running leases may still be submitted (admins)."""

    target = CampaignStatus.PAUSED


class CampaignCloseApi(_CampaignStatusApi):
    """Close a campaign for good (admins)."""

    target = CampaignStatus.CLOSED


class GuidelinePublishApi(ChorusAPIView):
    @extend_schema(request=s.GuidelineSerializer, responses={201: dict}, tags=["campaigns"])
    def post(self, request: Request, slug: str) -> Response:
        """Publish a new guideline version (admins): ``text`` in the campaign's default
        language, ``translations`` in others; labels record the version and language seen."""
        campaign = campaign_or_404(request, slug)
        if not IsAdmin().has_permission(request, self):
            self.permission_denied(request, message=IsAdmin.message)
        data = s.GuidelineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # A bad language is a Django ValidationError: the API's handler answers 400.
        version = guideline_publish(
            campaign=campaign,
            text=data.validated_data["text"],
            texts=data.validated_data.get("translations") or {},
            created_by=cast(Any, request.user),
        )
        languages = guideline_languages(campaign=campaign, version=version.version)
        return Response(
            {"version": version.version, "languages": languages}, status=status.HTTP_201_CREATED
        )


class AnalyticsSnapshotApi(ChorusAPIView):
    @extend_schema(responses={200: s.AnalyticsSnapshotSerializer}, tags=["analytics"])
    def get(self, request: Request, slug: str) -> Response:
        """The newest analytics snapshot of a campaign (read-only; 404 if none yet)."""
        campaign = campaign_or_404(request, slug)
        snapshot = analytics_snapshot_latest(campaign=campaign)
        if snapshot is None:
            return Response(
                {"detail": "No analytics snapshot has been computed yet."},
                status=status.HTTP_404_NOT_FOUND,
            )
        payload: dict[str, Any] = {
            "campaign": campaign.slug,
            "computed_at": snapshot.computed_at,
            "labels_until": snapshot.labels_until,
            "n_labels": snapshot.n_labels,
            "duration_ms": snapshot.duration_ms,
            "data": snapshot.data,
        }
        return Response(s.AnalyticsSnapshotSerializer(payload).data)


class JoinLinksApi(ChorusAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=sl.JoinLinksSerializer,
        responses={200: sl.JoinLinkSerializer(many=True)},
        tags=["campaigns"],
    )
    def post(self, request: Request, slug: str) -> Response:
        """Signed crowd join links, one per participant id (admins).

        Each link is ``/join/<slug>/?<participant_param>=<id>&sig=<signature>``; the
        signature is an HMAC of the id under the campaign's secret, so only the holder of
        the link can enter as that participant (README, "Crowd links")."""
        campaign = campaign_or_404(request, slug)
        data = sl.JoinLinksSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        base = request.build_absolute_uri("/")
        links = [
            {
                "participant": pid,
                "url": join_link(
                    campaign=campaign,
                    participant_id=pid,
                    study_id=data.validated_data.get("study_id", ""),
                    base_url=base,
                ),
            }
            for pid in data.validated_data["participants"]
        ]
        return Response(sl.JoinLinkSerializer(links, many=True).data)
