"""Serializers of the model registry: endpoints and refit versions (read-only answers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from modelserve.generation.models import ModelEndpoint
from modelserve.learning.models import PolicyVersion, RewardModelVersion


def _campaign_slug() -> Any:
    return serializers.SlugRelatedField(slug_field="slug", read_only=True)


class ModelEndpointSerializer(serializers.ModelSerializer):
    campaigns = serializers.SerializerMethodField()

    class Meta:
        model = ModelEndpoint
        fields = [
            "id",
            "name",
            "anon_label",
            "backend",
            "model",
            "params",
            "policy_version",
            "enabled",
            "campaigns",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_campaigns(self, endpoint: ModelEndpoint) -> list[str]:
        # Prefetched with only the campaigns the caller may see (views.registry).
        return [c.slug for c in endpoint.campaigns.all()]


_VERSION_FIELDS = [
    "id",
    "campaign",
    "version",
    "status",
    "base_model",
    "data_hash",
    "config",
    "metrics",
    "training_run",
    "created_at",
]


class PolicyVersionSerializer(serializers.ModelSerializer):
    campaign = _campaign_slug()

    class Meta:
        model = PolicyVersion
        fields = [*_VERSION_FIELDS, "parent"]
        read_only_fields = fields


class RewardModelVersionSerializer(serializers.ModelSerializer):
    campaign = _campaign_slug()

    class Meta:
        model = RewardModelVersion
        fields = _VERSION_FIELDS
        read_only_fields = fields
