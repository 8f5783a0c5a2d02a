"""Reads of generation: a campaign's model pool, the pre-generated pool's state, and the
endpoints a user may see over the API."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet

from annotate.models import Campaign, CampaignStatus, Item, ItemStatus, Prompt, TaskType
from annotate.roles import is_admin
from annotate.selectors.annotations import campaigns_visible_to
from modelserve.generation.models import (
    GenerationPurpose,
    GenerationRequest,
    GenerationStatus,
    ModelEndpoint,
)

DEFAULT_POOL_SIZE = 10
IN_FLIGHT = (GenerationStatus.PENDING, GenerationStatus.RUNNING)


def endpoint_pool(*, campaign: Campaign) -> list[ModelEndpoint]:
    """The campaign's enabled endpoints, in a stable order."""
    return list(campaign.model_pool.filter(enabled=True).order_by("id"))


def pool_has_endpoints(*, campaign_id: int) -> bool:
    return ModelEndpoint.objects.filter(campaigns=campaign_id, enabled=True).exists()


def campaigns_with_pool() -> list[int]:
    """Ids of the open campaigns with at least one enabled endpoint in their pool."""
    return list(
        Campaign.objects.filter(status=CampaignStatus.OPEN)
        .annotate(n=Count("model_pool", filter=Q(model_pool__enabled=True)))
        .filter(n__gt=0)
        .values_list("id", flat=True)
    )


def pool_size(campaign: Campaign) -> int:
    """``Campaign.config["pregen_pool_size"]`` (default 10; 0 turns pre-generation off)."""
    return max(0, int((campaign.config or {}).get("pregen_pool_size", DEFAULT_POOL_SIZE)))


def pool_status(*, campaign: Campaign) -> dict[str, int]:
    """Ready items and batches in flight (used by the topper, admin and bench)."""
    ready = Item.objects.filter(
        campaign=campaign, status=ItemStatus.OPEN, slots_taken__lt=F("overlap")
    ).exclude(task_type=TaskType.CONVERSATION)
    in_flight = (
        GenerationRequest.objects.filter(
            campaign=campaign, purpose=GenerationPurpose.POOL, status__in=IN_FLIGHT
        )
        .values("batch")
        .distinct()
    )
    return {"ready": ready.count(), "in_flight": in_flight.count(), "target": pool_size(campaign)}


def pool_sources(*, campaign: Campaign, per_prompt: int, limit: int) -> QuerySet[Prompt]:
    """Prompts that can become new items: outside live conversations, fewer than
    ``per_prompt`` items, no batch in flight and no failed request (an admin retries
    those, so a broken endpoint is not hammered every beat); fewest items first."""
    return (
        Prompt.objects.filter(campaign=campaign)
        .exclude(conversation__source="live")
        .annotate(
            n_items=Count("items", distinct=True),
            n_busy=Count(
                "generation_requests",
                filter=Q(generation_requests__status__in=[*IN_FLIGHT, GenerationStatus.FAILED]),
                distinct=True,
            ),
        )
        .filter(n_items__lt=per_prompt, n_busy=0)
        .order_by("n_items", "id")[:limit]
    )


def endpoints_visible_to(*, user: Any, campaign_slug: str = "") -> QuerySet[ModelEndpoint]:
    """Admins: every endpoint. Researchers: those in the pool of a campaign they are
    granted. Each endpoint's ``campaigns`` are prefetched, limited to visible ones."""
    visible = campaigns_visible_to(user)
    qs = ModelEndpoint.objects.prefetch_related(
        Prefetch("campaigns", queryset=visible.only("id", "slug"))
    )
    if not is_admin(user):
        qs = qs.filter(campaigns__in=visible.values("pk")).distinct()
    if campaign_slug:
        qs = qs.filter(campaigns__slug=campaign_slug).distinct()
    return qs
