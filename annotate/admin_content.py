"""Django admin for items and the texts labels refer to (see ``annotate.admin``'s
docstring for what admins may change and what they may only look at)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from annotate.admin_base import ReadOnlyInline, excerpt
from annotate.models import Conversation, Item, ItemResponse, Prompt, Response, Turn
from annotate.services import item_retire


class ItemResponseInline(ReadOnlyInline):
    model = ItemResponse
    fields = ("position", "response_link", "source", "model_label", "text")
    readonly_fields = fields
    verbose_name_plural = "Responses (canonical order; annotators see a shuffled one)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ItemResponse]:
        return super().get_queryset(request).select_related("response")

    @admin.display(description="response")
    def response_link(self, obj: ItemResponse) -> str:
        return f"#{obj.response_id}"

    @admin.display(description="source")
    def source(self, obj: ItemResponse) -> str:
        return obj.response.source

    @admin.display(description="model")
    def model_label(self, obj: ItemResponse) -> str:
        return obj.response.model_label

    @admin.display(description="text")
    def text(self, obj: ItemResponse) -> str:
        return excerpt(obj.response.text, 300)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "task_type",
        "language",
        "prompt_excerpt",
        "status",
        "priority",
        "slots_taken",
        "overlap",
        "n_submitted",
        "is_gold",
        "is_attention_check",
    )
    list_filter = ("campaign", "task_type", "language", "status", "is_gold", "is_attention_check")
    search_fields = ("=id", "prompt__text", "prompt__external_id")
    list_select_related = ("campaign", "prompt")
    readonly_fields = (
        "campaign",
        "task_type",
        "language",
        "prompt",
        "overlap",
        "slots_taken",
        "n_submitted",
        "created_at",
    )
    fields = (
        *readonly_fields,
        "status",
        "priority",
        "is_gold",
        "is_attention_check",
        "gold_answer",
        "metadata",
    )
    inlines = (ItemResponseInline,)
    actions = ("retire_items",)
    show_full_result_count = False  # a COUNT(*) over a big campaign on every page is waste

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items come from imports, generation and services (items_add)

    @admin.display(description="prompt")
    def prompt_excerpt(self, obj: Item) -> str:
        return excerpt(obj.prompt.text) if obj.prompt else "(live conversation)"

    @admin.action(description="Retire selected items (stop serving them)")
    def retire_items(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        n = 0
        for item in queryset.select_related(None).only("id"):
            item_retire(item=item)
            n += 1
        self.message_user(request, f"{n} item(s) retired.", level=messages.SUCCESS)


# ------------------------------------------------- texts that labels refer to


class ContentAdmin(admin.ModelAdmin):
    """Texts are read-only; deleting one that a stored label judged is refused."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def labelled(self, obj: Any) -> bool:
        raise NotImplementedError

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.labelled(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        # Bulk delete cannot check each row for labels: delete one at a time instead.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class TurnInline(ReadOnlyInline):
    model = Turn
    fields = ("depth", "role", "text", "parent", "response")
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(ContentAdmin):
    list_display = ("id", "campaign", "source", "external_id", "created_by", "created_at")
    list_filter = ("campaign", "source")
    search_fields = ("=id", "external_id", "created_by__username")
    list_select_related = ("campaign", "created_by")
    readonly_fields = ("campaign", "source", "external_id", "created_by", "created_at")
    fields = (*readonly_fields, "metadata")
    inlines = (TurnInline,)
    show_full_result_count = False

    def labelled(self, obj: Conversation) -> bool:
        return obj.prompts.filter(items__annotations__isnull=False).exists()


@admin.register(Prompt)
class PromptAdmin(ContentAdmin):
    list_display = ("id", "campaign", "language", "text_excerpt", "external_id", "created_at")
    list_filter = ("campaign", "language")
    search_fields = ("=id", "text", "external_id")
    list_select_related = ("campaign",)
    readonly_fields = (
        "campaign",
        "conversation",
        "turn",
        "text",
        "messages",
        "external_id",
        "language",
        "created_at",
    )
    fields = (*readonly_fields, "metadata")
    show_full_result_count = False

    @admin.display(description="text")
    def text_excerpt(self, obj: Prompt) -> str:
        return excerpt(obj.text)

    def labelled(self, obj: Prompt) -> bool:
        return obj.items.filter(annotations__isnull=False).exists()


@admin.register(Response)
class ResponseAdmin(ContentAdmin):
    list_display = (
        "id",
        "prompt_id",
        "source",
        "language",
        "model_label",
        "text_excerpt",
        "created_at",
    )
    list_filter = ("source", "language", "endpoint", "prompt__campaign")
    search_fields = ("=id", "text")
    list_select_related = ("endpoint", "policy_version")
    readonly_fields = (
        "prompt",
        "text",
        "source",
        "language",
        "endpoint",
        "policy_version",
        "generation_params",
        "sample_index",
        "n_tokens",
        "latency_ms",
        "created_at",
    )
    fields = (*readonly_fields, "metadata")
    show_full_result_count = False

    @admin.display(description="text")
    def text_excerpt(self, obj: Response) -> str:
        return excerpt(obj.text)

    def labelled(self, obj: Response) -> bool:
        return Item.objects.filter(item_responses__response=obj, annotations__isnull=False).exists()
