"""Serializers of issue 13's endpoints: signed crowd join links and outgoing webhooks."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotate.models import Webhook
from annotate.models.webhooks import SUBSCRIBABLE as WEBHOOK_EVENTS


class JoinLinksSerializer(serializers.Serializer):
    participants = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9_.:@-]{1,200}$", max_length=200),
        min_length=1,
        max_length=10_000,
        help_text="Participant ids (as the crowd platform names them).",
    )
    study_id = serializers.CharField(required=False, allow_blank=True, max_length=200)


class JoinLinkSerializer(serializers.Serializer):
    participant = serializers.CharField()
    url = serializers.CharField()


class WebhookInSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        required=False,
        max_length=len(WEBHOOK_EVENTS),
        help_text="Default: every event.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)


class WebhookSerializer(serializers.ModelSerializer):
    campaign: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Webhook
        fields = ["id", "campaign", "url", "description", "events", "enabled", "created_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields
