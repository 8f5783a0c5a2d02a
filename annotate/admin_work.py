"""Django admin for the work people did: assignments, annotations, annotators, profiles.

Read-only where a change would break an invariant (DESIGN.md):
- annotations are labels: never edited, never deleted from here (a deleted label is a
  lost label, and the item's ``n_submitted`` and the assignment's status would lie);
- assignments are the lease ledger: read-only; only finished ones that hold no slot
  (skipped, expired) may be deleted, so ``Item.slots_taken`` stays right;
- profile versions are what labels were given under: read-only (deletion is refused by
  the database while a label points at one);
- annotators: only ``paused``/``paused_reason`` are editable.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from annotate.models import (
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Consent,
    Export,
    ProfileVersion,
)

HOLDS_SLOT = (AssignmentStatus.ACTIVE, AssignmentStatus.SUBMITTED)


class ViewOnlyAdmin(admin.ModelAdmin):
    """Staff can look (the change page renders read-only) but not add or change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ------------------------------------------------------------- assignments


@admin.register(Assignment)
class AssignmentAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "campaign",
        "item_id",
        "annotator",
        "status",
        "leased_at",
        "lease_expires_at",
        "finished_at",
    )
    list_filter = ("campaign", "status", "item__task_type", "leased_at")
    search_fields = ("=id", "=item__id", "annotator__pseudonym")
    list_select_related = ("campaign", "annotator")
    date_hierarchy = "leased_at"
    show_full_result_count = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status in HOLDS_SLOT:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
        holding = queryset.filter(status__in=HOLDS_SLOT).count()
        if holding:
            self.message_user(
                request,
                f"{holding} active or submitted assignment(s) kept: they hold an item slot.",
                level=messages.WARNING,
            )
        super().delete_queryset(request, queryset.exclude(status__in=HOLDS_SLOT))


# ------------------------------------------------------------- annotations


class FlagFilter(admin.SimpleListFilter):
    title = "quality flag"
    parameter_name = "flag"
    LOOKUPS = {
        "too_fast": ("Too fast", {"flags__too_fast": True}),
        "gold_wrong": ("Gold / attention check failed", {"flags__gold_correct": False}),
        "gold_right": ("Gold / attention check passed", {"flags__gold_correct": True}),
        "attention_check": ("Attention check", {"flags__attention_check": True}),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.LOOKUPS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.LOOKUPS.get(self.value() or "")
        return queryset.filter(**chosen[1]) if chosen else queryset


@admin.register(Annotation)
class AnnotationAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "campaign",
        "task_type",
        "item_id",
        "annotator",
        "time_spent_ms",
        "flag_list",
        "created_at",
    )
    list_filter = ("campaign", "task_type", FlagFilter, "created_at")
    search_fields = ("=id", "=item__id", "annotator__pseudonym")
    list_select_related = ("campaign", "annotator")
    date_hierarchy = "created_at"
    show_full_result_count = False
    raw_id_fields = ("assignment", "item", "guideline_version", "profile_version")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="flags")
    def flag_list(self, obj: Annotation) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted((obj.flags or {}).items())) or "-"


# ------------------------------------------------------ annotators, profiles


class ProfileInline(admin.TabularInline):
    model = ProfileVersion
    fields = ("version", "created_at", "age_band", "residence_country", "first_language")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentInline(admin.TabularInline):
    model = Consent
    fields = ("campaign", "version", "text_sha256", "given_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("campaign")


@admin.register(Annotator)
class AnnotatorAdmin(admin.ModelAdmin):
    list_display = ("pseudonym", "user", "paused", "profile_version", "deleted_at", "created_at")
    list_filter = ("paused", ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("pseudonym", "user__username", "user__email", "external_id", "study_id")
    list_select_related = ("user", "current_profile")
    readonly_fields = (
        "user",
        "pseudonym",
        "external_id",
        "study_id",
        "current_profile",
        "deleted_at",
        "created_at",
    )
    fields = (*readonly_fields, "paused", "paused_reason")
    inlines = (ProfileInline, ConsentInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # annotators sign up (annotator_get_or_create), admins do not invent them

    @admin.display(description="profile")
    def profile_version(self, obj: Annotator) -> str:
        return f"v{obj.current_profile.version}" if obj.current_profile else "-"


@admin.register(ProfileVersion)
class ProfileVersionAdmin(ViewOnlyAdmin):
    list_display = (
        "annotator",
        "version",
        "age_band",
        "gender",
        "residence_country",
        "english_proficiency",
        "ai_frequency",
        "created_at",
    )
    list_filter = (
        "age_band",
        "gender",
        "residence_country",
        "english_proficiency",
        "education",
        "ai_familiarity",
        "ai_frequency",
    )
    search_fields = ("annotator__pseudonym",)
    list_select_related = ("annotator",)
    show_full_result_count = False


@admin.register(Consent)
class ConsentAdmin(ViewOnlyAdmin):
    list_display = ("annotator", "campaign", "version", "given_at")
    list_filter = ("campaign", "version")
    search_fields = ("annotator__pseudonym",)
    list_select_related = ("annotator", "campaign")


@admin.register(Export)
class ExportAdmin(ViewOnlyAdmin):
    """Every export with the filters, row count and checksum needed to reproduce it."""

    list_display = (
        "id",
        "campaign",
        "shape",
        "format",
        "status",
        "row_count",
        "requested_by",
        "created_at",
    )
    list_filter = ("status", "shape", "format", "campaign")
    list_select_related = ("campaign", "requested_by")
    search_fields = ("campaign__slug", "sha256")
