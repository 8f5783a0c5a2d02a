"""Admin for the model registry and the generation ledger.

Admins see endpoint names; annotators never do (they see ``anon_label`` only). A
campaign's model pool is edited here through ``ModelEndpoint.campaigns``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from modelserve.generation.models import GenerationRequest, GenerationStatus, ModelEndpoint
from modelserve.generation.requests import generation_retry


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "anon_label", "backend", "model", "policy_version", "enabled")
    list_filter = ("backend", "enabled", "campaigns")
    list_editable = ("enabled",)
    search_fields = ("name", "anon_label", "model")
    filter_horizontal = ("campaigns",)
    raw_id_fields = ("policy_version",)
    fieldsets = (
        (None, {"fields": ("name", "anon_label", "enabled", "campaigns")}),
        (
            "Backend",
            {
                "fields": ("backend", "model", "base_url", "api_key_env", "policy_version"),
                "description": "Local: a Hugging Face folder, or 'default' for the packaged "
                "SmolLM2-135M-Instruct. OpenAI-compatible: the model name; the API key is "
                "read from the environment variable named here, never stored.",
            },
        ),
        (
            "Sampling defaults",
            {
                "fields": ("params",),
                "description": "JSON: temperature, top_p, max_new_tokens, seed, "
                "system_prompt, timeout_s, stop.",
            },
        ),
    )


@admin.register(GenerationRequest)
class GenerationRequestAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "endpoint",
        "purpose",
        "task_type",
        "sample_index",
        "status",
        "attempts",
        "n_tokens",
        "first_token_ms",
        "latency_ms",
        "short_error",
        "created_at",
    )
    list_filter = ("status", "purpose", "campaign", "endpoint")
    search_fields = ("error", "batch", "celery_task_id")
    raw_id_fields = ("campaign", "prompt", "endpoint", "response", "item")
    readonly_fields = ("created_at", "started_at", "finished_at", "partial_text")
    actions = ["retry_failed"]
    list_select_related = ("campaign", "endpoint")

    @admin.display(description="error")
    def short_error(self, obj: GenerationRequest) -> str:
        return obj.error[:80]

    @admin.action(description="Retry failed requests")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[GenerationRequest]) -> None:
        n = generation_retry(
            request_ids=list(
                queryset.filter(status=GenerationStatus.FAILED).values_list("pk", flat=True)
            )
        )
        self.message_user(request, f"Re-queued {n} failed request(s).", messages.SUCCESS)
