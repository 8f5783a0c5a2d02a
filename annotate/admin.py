"""Django admin for campaigns, items and the texts labels refer to.

What admins may change and what they may only look at:
- Campaign configuration is edited through ``campaign_update`` (validated, row-locked);
  status changes go through the open/pause/close actions (``campaign_set_status``).
- Guideline versions are append-only: existing ones are shown read-only, a new text is
  published as the next version by ``guideline_publish``. Grants go through the grant
  services.
- Items: ``slots_taken`` and ``n_submitted`` are counters only the assignment services
  may touch (row locks, overlap constraint), so they are read-only here, as are the
  campaign, prompt, task type and overlap. Responses show inline, read-only.
- Prompts, responses and conversation turns are read-only: labels name them by id, and
  an edited text would silently change what a stored label judged. Deleting one that a
  label refers to is refused for the same reason.
Assignments, annotations, annotators and profiles live in ``annotate.admin_work``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from annotate.exports.privacy import PrivacyConfigError, privacy_settings
from annotate.models import (
    Campaign,
    CampaignGrant,
    CampaignStatus,
    Conversation,
    GuidelineVersion,
    Item,
    ItemResponse,
    Prompt,
    Response,
    Turn,
)
from annotate.services import campaign_set_status, guideline_publish, item_retire
from annotate.services.grants import (
    CAMPAIGN_EDITABLE,
    campaign_grant_create,
    campaign_grant_refusal,
    campaign_grant_revoke,
    campaign_update,
)


def excerpt(text: str, n: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------- campaigns


class GuidelineHistoryInline(ReadOnlyInline):
    model = GuidelineVersion
    fields = ("version", "text", "created_by", "created_at")
    readonly_fields = fields
    verbose_name_plural = "Guideline versions (append-only)"


class NewGuidelineInline(admin.StackedInline):
    """An empty form: saving it publishes the next version (see save_formset)."""

    model = GuidelineVersion
    fields = ("text",)
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "new guideline version"
    verbose_name_plural = "Publish a new guideline version"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GuidelineVersion]:
        return super().get_queryset(request).none()


class GrantInline(admin.TabularInline):
    """Existing grants: shown, revocable (delete), never re-pointed at another user."""

    model = CampaignGrant
    fields = ("user", "granted_by", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "Researcher grants"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignGrant]:
        return super().get_queryset(request).select_related("user", "granted_by")


class NewGrantForm(forms.ModelForm):
    def clean_user(self) -> Any:
        # The service's own rule, checked here so the admin shows it beside the field.
        user = self.cleaned_data.get("user")
        refusal = campaign_grant_refusal(user=user) if user is not None else None
        if refusal is not None:
            raise ValidationError(refusal)
        return user


class NewGrantInline(admin.TabularInline):
    """Empty rows: saving one grants the user through campaign_grant_create."""

    model = CampaignGrant
    form = NewGrantForm
    fields = ("user",)
    raw_id_fields = ("user",)
    extra = 1
    can_delete = False
    verbose_name = "new grant"
    verbose_name_plural = "Grant a researcher access"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignGrant]:
        return super().get_queryset(request).none()


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        # The same editable fields as the API's configure endpoint, plus the slug.
        fields = ("slug", *CAMPAIGN_EDITABLE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            privacy_settings(data.get("config") or {})
        except PrivacyConfigError as exc:
            self.add_error("config", str(exc))
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ("slug", "name", "status", "overlap", "rating_scale", "created_at")
    list_filter = ("status", "rating_scale", "created_at")
    search_fields = ("slug", "name", "description")
    list_select_related = ("created_by",)
    readonly_fields = ("status", "created_by", "created_at", "updated_at")
    actions = ("open_campaigns", "pause_campaigns", "close_campaigns")
    inlines = (GuidelineHistoryInline, NewGuidelineInline, GrantInline, NewGrantInline)
    prepopulated_fields = {"slug": ("name",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # URLs, exports and API clients name a campaign by slug: fixed once created.
        return ("slug", *self.readonly_fields) if obj is not None else self.readonly_fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return {} if obj is not None else self.prepopulated_fields

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
            super().save_model(request, obj, form, change)
            return
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in CAMPAIGN_EDITABLE}
        if fields:
            try:
                updated = campaign_update(campaign=obj, **fields)
            except ValidationError as exc:  # raced with another edit; the form was clean
                messages.error(request, f"Not saved: {'; '.join(exc.messages)}")
                return
            obj.updated_at = updated.updated_at

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Guidelines and grants are written by their services, never by the formset."""
        campaign: Campaign = form.instance
        if formset.model not in (GuidelineVersion, CampaignGrant):
            super().save_formset(request, form, formset, change)
            return
        # The admin's change message reads these after saving.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            data = inline_form.cleaned_data or {}
            if formset.model is GuidelineVersion:
                text = (data.get("text") or "").strip()
                if inline_form.instance.pk is None and text:
                    formset.new_objects.append(
                        guideline_publish(
                            campaign=campaign,
                            text=text,
                            created_by=request.user,  # type: ignore[arg-type]
                        )
                    )
            elif data.get("DELETE"):
                if inline_form.instance.pk is not None:
                    campaign_grant_revoke(grant=inline_form.instance)
                    formset.deleted_objects.append(inline_form.instance)
            elif inline_form.instance.pk is None and data.get("user"):
                grant, _ = campaign_grant_create(
                    campaign=campaign, user=data["user"], granted_by=request.user
                )
                formset.new_objects.append(grant)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Campaign], status: str) -> None:
        for campaign in queryset:
            campaign_set_status(campaign=campaign, status=status)
        self.message_user(
            request, f"{queryset.count()} campaign(s) now {status}.", level=messages.SUCCESS
        )

    @admin.action(description="Open selected campaigns")
    def open_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_status(request, queryset, CampaignStatus.OPEN)

    @admin.action(description="Pause selected campaigns")
    def pause_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_status(request, queryset, CampaignStatus.PAUSED)

    @admin.action(description="Close selected campaigns")
    def close_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_status(request, queryset, CampaignStatus.CLOSED)


# -------------------------------------------------------------------- items


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
        "prompt_excerpt",
        "status",
        "priority",
        "slots_taken",
        "overlap",
        "n_submitted",
        "is_gold",
        "is_attention_check",
    )
    list_filter = ("campaign", "task_type", "status", "is_gold", "is_attention_check")
    search_fields = ("=id", "prompt__text", "prompt__external_id")
    list_select_related = ("campaign", "prompt")
    readonly_fields = (
        "campaign",
        "task_type",
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
    list_display = ("id", "campaign", "text_excerpt", "external_id", "created_at")
    list_filter = ("campaign",)
    search_fields = ("=id", "text", "external_id")
    list_select_related = ("campaign",)
    readonly_fields = (
        "campaign",
        "conversation",
        "turn",
        "text",
        "messages",
        "external_id",
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
    list_display = ("id", "prompt_id", "source", "model_label", "text_excerpt", "created_at")
    list_filter = ("source", "endpoint", "prompt__campaign")
    search_fields = ("=id", "text")
    list_select_related = ("endpoint", "policy_version")
    readonly_fields = (
        "prompt",
        "text",
        "source",
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


from annotate import admin_work  # noqa: E402, F401  (registers the rest)
