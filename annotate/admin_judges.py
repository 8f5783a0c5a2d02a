"""Admin pages of AI judges (issue 16): judges and their versioned prompts are editable;
judgments are a read-only ledger.

- Adding a judge creates its AI annotator and version 1 of the default prompts.
- Saving a judge prompt never edits the row: it adds the next version
  (``judge_prompt_save``), so earlier judgments keep the text that produced them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from annotate.judge_prompts import TemplateError, template_check
from annotate.models import Judge, JudgePrompt, Judgment
from annotate.services.judges import (
    judge_annotator_create,
    judge_prompt_save,
    judge_prompts_default,
)


class JudgePromptInline(admin.TabularInline):
    model = JudgePrompt
    fields = ("task_type", "version", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Judge)
class JudgeAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign", "endpoint", "enabled", "inconsistent_policy", "created_at")
    list_filter = ("campaign", "enabled")
    search_fields = ("name",)
    list_select_related = ("campaign", "endpoint")
    fields = ("campaign", "name", "endpoint", "enabled", "inconsistent_policy", "annotator")
    readonly_fields = ("annotator",)
    inlines = (JudgePromptInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A judge's labels belong to its campaign: it cannot move to another one.
        return ("annotator", "campaign") if obj is not None else ("annotator",)

    def save_model(self, request: HttpRequest, obj: Judge, form: Any, change: bool) -> None:
        if not change:
            obj.annotator = judge_annotator_create()
        super().save_model(request, obj, form, change)
        if not change:
            judge_prompts_default(judge=obj)


class JudgePromptForm(forms.ModelForm):
    class Meta:
        model = JudgePrompt
        fields = ("judge", "task_type", "system", "template")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            # On a change the task type is read-only, so it is the instance's.
            task_type = data.get("task_type") or self.instance.task_type
            template_check(str(task_type or ""), str(data.get("template") or ""))
        except TemplateError as exc:
            raise forms.ValidationError({"template": str(exc)}) from None
        return data


@admin.register(JudgePrompt)
class JudgePromptAdmin(admin.ModelAdmin):
    form = JudgePromptForm
    list_display = ("judge", "task_type", "version", "created_at")
    list_filter = ("task_type", "judge__campaign")
    list_select_related = ("judge",)
    readonly_fields = ("version", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        base = ("version", "created_at")
        return (*base, "judge", "task_type") if obj is not None else base

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # judgments point at the text they were asked with

    def save_model(self, request: HttpRequest, obj: JudgePrompt, form: Any, change: bool) -> None:
        """An edit (or an add) is the next version; the shown row stays as it was."""
        new = judge_prompt_save(
            judge=obj.judge, task_type=obj.task_type, template=obj.template, system=obj.system
        )
        obj.pk, obj.version, obj.created_at = new.pk, new.version, new.created_at
        if change:
            messages.info(request, f"Saved as version {new.version}; earlier versions are kept.")


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "judge",
        "item_id",
        "prompt_version",
        "order",
        "parse_status",
        "parsed",
        "latency_ms",
        "created_at",
    )
    list_filter = ("parse_status", "order", "judge__campaign", "judge")
    search_fields = ("=id", "=item__id", "raw_output")
    list_select_related = ("judge",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
