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
Items, prompts, responses and conversations live in ``annotate.admin_content``;
assignments, annotations, annotators and profiles in ``annotate.admin_work``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

# The other admin modules register their models when imported (nothing here needs them).
from annotate import admin_content, admin_judges, admin_webhooks, admin_work  # noqa: F401
from annotate.admin_base import ReadOnlyInline
from annotate.admin_config import CONFIG_FIELDS, OTHER, campaign_admin_form, config_fieldsets
from annotate.admin_crowd import CrowdLinksAdminMixin
from annotate.exports.privacy import PrivacyConfigError, privacy_settings
from annotate.models import (
    Campaign,
    CampaignGrant,
    CampaignStatus,
    GuidelineVersion,
)
from annotate.services import campaign_set_status, guideline_publish
from annotate.services.grants import (
    CAMPAIGN_EDITABLE,
    campaign_grant_create,
    campaign_grant_refusal,
    campaign_grant_revoke,
    campaign_update,
)

# ---------------------------------------------------------------- campaigns


class GuidelineHistoryInline(ReadOnlyInline):
    model = GuidelineVersion
    fields = ("version", "language", "text", "created_by", "created_at")
    readonly_fields = fields
    verbose_name_plural = "Guideline versions (append-only)"


class NewGuidelineForm(forms.ModelForm):
    language = forms.ChoiceField(choices=settings.LANGUAGES)

    class Meta:
        model = GuidelineVersion
        fields = ("language", "text")


class NewGuidelineFormSet(forms.BaseInlineFormSet):
    """One row per language, the campaign's default language first; the texts filled in
    are published together as the next version (issue 17), which needs the default
    language's text (what languages without a translation show)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        default = instance.default_language if instance is not None else settings.LANGUAGE_CODE
        codes = [default, *(c for c, _name in settings.LANGUAGES if c != default)]
        kwargs.setdefault("initial", [{"language": c} for c in codes])
        super().__init__(*args, **kwargs)

    def texts(self) -> dict[str, str]:
        return {
            f.cleaned_data["language"]: f.cleaned_data["text"].strip()
            for f in self.forms
            if getattr(f, "cleaned_data", None) and (f.cleaned_data.get("text") or "").strip()
        }

    def clean(self) -> None:
        super().clean()
        filled = [
            f.cleaned_data["language"]
            for f in self.forms
            if getattr(f, "cleaned_data", None) and (f.cleaned_data.get("text") or "").strip()
        ]
        if len(filled) != len(set(filled)):
            raise ValidationError("Give each language at most one text.")
        default = self.instance.default_language
        if filled and default not in filled:
            raise ValidationError(
                f"Include the text in the campaign's default language ({default}): "
                "languages without their own text show it."
            )


class NewGuidelineInline(admin.StackedInline):
    """Empty forms, one per language: saving publishes the next version (save_formset)."""

    model = GuidelineVersion
    form = NewGuidelineForm
    formset = NewGuidelineFormSet
    fields = ("language", "text")
    extra = len(settings.LANGUAGES)
    max_num = len(settings.LANGUAGES)
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


class _CampaignAdminForm(forms.ModelForm):
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


# The common config keys as typed form fields, the rest as JSON (annotate.admin_config).
CampaignAdminForm = campaign_admin_form(_CampaignAdminForm)


@admin.register(Campaign)
class CampaignAdmin(CrowdLinksAdminMixin, admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ("slug", "name", "status", "overlap", "rating_scale", "created_at")
    list_filter = ("status", "rating_scale", "created_at")
    search_fields = ("slug", "name", "description")
    list_select_related = ("created_by",)
    readonly_fields = ("status", "created_by", "created_at", "updated_at")
    actions = ("open_campaigns", "pause_campaigns", "close_campaigns", "rotate_join_secret")
    inlines = (GuidelineHistoryInline, NewGuidelineInline, GrantInline, NewGrantInline)
    prepopulated_fields = {"slug": ("name",)}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        typed = {OTHER, *CONFIG_FIELDS}
        fields = [f for f in self.get_fields(request, obj) if f not in typed]
        return [(None, {"fields": fields}), *config_fieldsets()]

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
        if formset.model is GuidelineVersion:
            # The history inline is read-only; the new-version one publishes its texts.
            texts = formset.texts() if isinstance(formset, NewGuidelineFormSet) else {}
            if texts:
                formset.new_objects.append(
                    guideline_publish(
                        campaign=campaign,
                        texts=texts,
                        created_by=request.user,  # type: ignore[arg-type]
                    )
                )
            return
        for inline_form in formset.forms:
            data = inline_form.cleaned_data or {}
            if data.get("DELETE"):
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
