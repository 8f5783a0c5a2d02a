"""Reads of the outgoing webhooks."""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.models import Campaign, Webhook


def webhooks_of(*, campaign: Campaign) -> QuerySet[Webhook]:
    return Webhook.objects.filter(campaign=campaign).select_related("campaign").order_by("pk")
