"""Serializers: shapes of API answers and validation of API input (no writes here)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.i18n.texts import TextsError, language_code_clean, texts_by_language_clean
from annotate.models import (
    Annotation,
    Assignment,
    Campaign,
    CampaignGrant,
    Export,
    Item,
    RatingScale,
    Role,
    TaskType,
)
from annotate.services.items import ITEM_TEXT_MAX


def _slug() -> Any:
    """The campaign as its slug (a fresh field per serializer)."""
    return serializers.SlugRelatedField(slug_field="slug", read_only=True)


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "slug",
            "name",
            "description",
            "status",
            "task_mix",
            "overlap",
            "lease_seconds",
            "rating_scale",
            "rating_attributes",
            "overall_attribute",
            "critique_categories",
            "config",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CampaignDetailSerializer(CampaignSerializer):
    progress = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "progress"]
        read_only_fields = fields


class CampaignWriteSerializer(serializers.Serializer):
    """Input of create (all of it) and configure (PATCH: any subset but the slug)."""

    slug = serializers.SlugField(max_length=80)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    guidelines = serializers.JSONField(
        required=False,
        help_text=(
            "The first guideline version: a text in the campaign's default language "
            "(config.default_language, default en), or {language: text} for several "
            "languages, the default one included."
        ),
    )
    task_mix = serializers.DictField(child=serializers.FloatField(min_value=0), required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    lease_seconds = serializers.IntegerField(min_value=30, max_value=86400, required=False)
    rating_scale = serializers.ChoiceField(choices=RatingScale.choices, required=False)
    rating_attributes = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, min_length=1, max_length=20
    )
    overall_attribute = serializers.CharField(max_length=40, required=False)
    critique_categories = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=50
    )
    config = serializers.DictField(
        required=False,
        help_text="Campaign settings; every key is typed and documented (README, "
        "'Campaign config'). An unknown key or a value out of range is a 400 naming it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        guidelines = attrs.get("guidelines")
        if guidelines is None or guidelines == "":
            return attrs
        if isinstance(guidelines, str):
            if len(guidelines) > 100_000:
                raise serializers.ValidationError({"guidelines": "At most 100000 characters."})
            return attrs
        default = str((attrs.get("config") or {}).get("default_language") or "")
        try:
            attrs["guidelines"] = texts_by_language_clean(
                guidelines,
                default_language=(
                    language_code_clean(default) if default else settings.LANGUAGE_CODE
                ),
                field="guidelines",
            )
        except TextsError as exc:
            raise serializers.ValidationError({"guidelines": str(exc)}) from exc
        return attrs

    def validate_config(self, value: dict[str, Any]) -> dict[str, Any]:
        # The one typed schema (annotate.campaign_config), as the admin and imports use;
        # a bad refit schedule is a 400 here, not a periodic task failing every minute.
        try:
            return validate_campaign_config(value)
        except CampaignConfigError as exc:
            raise serializers.ValidationError(
                {path: [message] for path, message in exc.errors.items()}
            ) from None


class CampaignModelsSerializer(serializers.Serializer):
    """Add models to a campaign's generation pool (admins)."""

    default = serializers.IntegerField(
        min_value=0,
        max_value=4,
        required=False,
        default=0,
        help_text="How many of the packaged SmolLM2 endpoints to add (0-4).",
    )
    endpoints = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=50,
        help_text="Ids of existing model endpoints to add.",
    )


class ConversationsAddSerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=10_000)
    overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)


class GuidelineSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=100_000, help_text="The text in the campaign's default language."
    )
    translations = serializers.DictField(
        child=serializers.CharField(max_length=100_000),
        required=False,
        help_text="The same version in other languages: {language: text}.",
    )


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    content = serializers.CharField(max_length=ITEM_TEXT_MAX)


class ResponseOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    text = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    model = serializers.CharField()
    endpoint = serializers.IntegerField(allow_null=True)
    policy_version = serializers.IntegerField(allow_null=True)
    generation_params = serializers.DictField()
    n_tokens = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)


class ItemSerializer(serializers.ModelSerializer):
    campaign = _slug()
    prompt = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()
    responses = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "campaign",
            "task_type",
            "status",
            "overlap",
            "slots_taken",
            "n_submitted",
            "priority",
            "is_gold",
            "is_attention_check",
            "gold_answer",
            "metadata",
            "prompt",
            "messages",
            "responses",
            "created_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_prompt(self, item: Item) -> str | None:
        return item.prompt.text if item.prompt else None

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, item: Item) -> list[dict[str, str]]:
        return list(item.prompt.messages) if item.prompt else []

    @staticmethod
    def _response(link: Any) -> dict[str, Any]:
        r = link.response
        return {
            "id": r.pk,
            "position": link.position,
            "text": r.text,
            "source": r.source,
            "model": r.model_label,
            "endpoint": r.endpoint_id,
            "policy_version": r.policy_version_id,
            "generation_params": r.generation_params,
            "n_tokens": r.n_tokens,
            "latency_ms": r.latency_ms,
        }

    @extend_schema_field(ResponseOutSerializer(many=True))
    def get_responses(self, item: Item) -> list[dict[str, Any]]:
        return [self._response(link) for link in item.item_responses.all()]


class ResponseInSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=ITEM_TEXT_MAX)
    source = serializers.CharField(max_length=80, required=False, allow_blank=True)  # type: ignore[assignment]
    endpoint = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    policy_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    generation_params = serializers.DictField(required=False)


class ItemInSerializer(serializers.Serializer):
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    messages = MessageSerializer(many=True, min_length=1, max_length=200)  # type: ignore[call-arg]
    responses = ResponseInSerializer(many=True, max_length=16)  # type: ignore[call-arg]
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    priority = serializers.FloatField(required=False)
    is_gold = serializers.BooleanField(required=False)
    is_attention_check = serializers.BooleanField(required=False)
    gold_answer = serializers.JSONField(required=False, allow_null=True)
    overlap = serializers.IntegerField(required=False, min_value=1, max_value=100)
    metadata = serializers.DictField(required=False)


class ItemsAddSerializer(serializers.Serializer):
    items = ItemInSerializer(many=True, min_length=1, max_length=5000)  # type: ignore[call-arg]


class ItemsAddedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())


class AnnotationSerializer(serializers.ModelSerializer):
    campaign = _slug()
    annotator_id = serializers.CharField(source="annotator.pseudonym", read_only=True)
    guideline_version = serializers.IntegerField(
        source="guideline_version.version", read_only=True, allow_null=True, default=None
    )
    profile_version = serializers.IntegerField(
        source="profile_version.version", read_only=True, allow_null=True, default=None
    )
    judge = serializers.CharField(
        source="judge.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Annotation
        fields = [
            "id",
            "campaign",
            "item",
            "task_type",
            "annotator_id",
            "payload",
            "time_spent_ms",
            "guideline_version",
            "profile_version",
            "flags",
            "created_at",
            "source",
            "judge",
            "judge_prompt_version",
        ]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    campaign = _slug()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "campaign",
            "item",
            "status",
            "presented_order",
            "leased_at",
            "lease_expires_at",
            "finished_at",
        ]
        read_only_fields = fields


class AnnotatorProfileSerializer(serializers.Serializer):
    annotator_id = serializers.CharField()
    n_annotations = serializers.IntegerField()
    profile_version = serializers.IntegerField(allow_null=True)
    deleted = serializers.BooleanField()
    profile = serializers.DictField(
        help_text="Only the fields the campaign's privacy setting publishes; values shared "
        "by fewer than k annotators are null."
    )


class AnnotatorProfilePageSerializer(serializers.Serializer):
    k_anonymity = serializers.IntegerField()
    profile_fields = serializers.ListField(child=serializers.CharField())
    results = AnnotatorProfileSerializer(many=True)


class GrantCreateSerializer(serializers.Serializer):
    """Input of grant-create. A plain Serializer on purpose: a ModelSerializer derives a
    UniqueTogetherValidator from the (campaign, user) constraint and answers a repeated
    grant 400 before the idempotent service is reached."""

    campaign = serializers.SlugRelatedField(slug_field="slug", queryset=Campaign.objects.all())
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )


class GrantSerializer(serializers.ModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", queryset=Campaign.objects.all())
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )
    granted_by = serializers.CharField(
        source="granted_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = CampaignGrant
        fields = ["id", "campaign", "user", "granted_by", "created_at"]
        read_only_fields = ["id", "granted_by", "created_at"]


class ExportSerializer(serializers.ModelSerializer):
    campaign = _slug()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "campaign",
            "shape",
            "format",
            "options",
            "filters",
            "max_annotation_id",
            "is_async",
            "status",
            "progress",
            "row_count",
            "size_bytes",
            "sha256",
            "error",
            "created_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, export: Export) -> str | None:
        if not export.is_async or export.status != "done":
            return None
        request = self.context.get("request")
        path = f"/api/v1/exports/{export.pk}/download"
        return request.build_absolute_uri(path) if request else path


class AnalyticsSnapshotSerializer(serializers.Serializer):
    campaign = serializers.CharField()
    computed_at = serializers.DateTimeField()
    labels_until = serializers.DateTimeField(allow_null=True)
    n_labels = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    # The metaclass takes declared fields off the class, so Serializer.data stays intact.
    data = serializers.DictField()  # type: ignore[assignment]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    annotator_id = serializers.CharField(allow_null=True)


class DeleteConfirmSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(help_text="Must be true: deletion cannot be undone.")
    campaign = serializers.SlugField(
        required=False, help_text="Crowd accounts: the campaign of your join link."
    )
    sig = serializers.CharField(
        required=False, max_length=64, help_text="Crowd accounts: the signature of your join link."
    )
