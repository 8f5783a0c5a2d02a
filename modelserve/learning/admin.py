"""Admin pages of the learning loop: training runs (status, progress, config, data hash,
metrics, SVG curves, log), policy and reward-model versions, and per campaign what is
serving, the refit schedule and the history of versions.

Imported by ``modelserve/admin.py`` (Django's admin autodiscovery). Actions only call
services.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from annotate.charts import line_chart
from annotate.models import Campaign
from modelserve.learning.models import (
    CampaignServing,
    PolicyVersion,
    RewardModelVersion,
    TrainingRun,
)
from modelserve.learning.promotion import version_promote
from modelserve.learning.refits import RefitAlreadyActive, training_run_enqueue
from modelserve.learning.scheduling import refit_config, refit_settings_update
from modelserve.learning.selectors import runs_for_campaign, version_history

_HEADLINE = (
    "val_accuracy",
    "val_ece",
    "val_reward_accuracy",
    "val_ranking_accuracy",
    "kl_to_reference",
    "pairs_per_second",
)


def _pretty_json(value: Any) -> SafeString:
    return format_html(
        "<pre style='white-space:pre-wrap'>{}</pre>",
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


def _metrics_table(metrics: dict[str, Any]) -> SafeString:
    flat = {k: v for k, v in sorted(metrics.items()) if not isinstance(v, dict | list)}
    nested = {k: v for k, v in metrics.items() if isinstance(v, dict | list)}
    rows = format_html_join(
        "",
        "<tr><th style='text-align:left'>{}</th><td>{}</td></tr>",
        ((k, f"{v:.4g}" if isinstance(v, float) else v) for k, v in flat.items()),
    )
    extra = _pretty_json(nested) if nested else ""
    return format_html("<table>{}</table>{}", rows, extra)


def _headline(metrics: dict[str, Any]) -> str:
    parts = [f"{k}={metrics[k]:.3g}" for k in _HEADLINE if isinstance(metrics.get(k), float)]
    return ", ".join(parts[:3])


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "kind",
        "status",
        "progress_pct",
        "short_hash",
        "n_examples",
        "headline",
        "created_at",
        "finished_at",
    )
    list_filter = ("kind", "status", "campaign")
    search_fields = ("campaign__slug", "data_hash")
    fields = (
        "campaign",
        "kind",
        "status",
        "progress_pct",
        "data_hash",
        "n_examples",
        "created_at",
        "started_at",
        "finished_at",
        "artifact_dir",
        "celery_task_id",
        "curves_svg",
        "metrics_table",
        "config_json",
        "log_text",
        "error_text",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs start from the serving page, the schedule or `manage.py refit`

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="progress")
    def progress_pct(self, obj: TrainingRun) -> str:
        return f"{obj.progress * 100:.0f}%"

    @admin.display(description="data hash")
    def short_hash(self, obj: TrainingRun) -> str:
        return obj.data_hash[:12]

    @admin.display(description="metrics")
    def headline(self, obj: TrainingRun) -> str:
        return _headline(obj.metrics or {})

    @admin.display(description="curves")
    def curves_svg(self, obj: TrainingRun) -> SafeString:
        curves = obj.curves or {}
        # Each series gets its own chart: losses and accuracies live on different scales.
        # line_chart escapes every text it writes (a SafeString), so it joins as is.
        charts = [line_chart(name, {name: pts}) for name, pts in sorted(curves.items())]
        return mark_safe("".join(charts) or "no curves yet")

    @admin.display(description="metrics")
    def metrics_table(self, obj: TrainingRun) -> SafeString:
        return _metrics_table(obj.metrics or {})

    @admin.display(description="config")
    def config_json(self, obj: TrainingRun) -> SafeString:
        return _pretty_json(obj.config)

    @admin.display(description="log")
    def log_text(self, obj: TrainingRun) -> SafeString:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.log)

    @admin.display(description="error")
    def error_text(self, obj: TrainingRun) -> SafeString:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.error)


class _VersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "campaign", "status", "short_hash", "headline", "created_at")
    list_filter = ("status", "campaign")
    fields = (
        "campaign",
        "version",
        "status",
        "base_model",
        "artifact_dir",
        "training_run",
        "data_hash",
        "metrics_table",
        "config_json",
        "created_at",
    )
    readonly_fields = fields
    actions = ["promote"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="data hash")
    def short_hash(self, obj: Any) -> str:
        return obj.data_hash[:12]

    @admin.display(description="metrics")
    def headline(self, obj: Any) -> str:
        return _headline(obj.metrics or {})

    @admin.display(description="metrics")
    def metrics_table(self, obj: Any) -> SafeString:
        return _metrics_table(obj.metrics or {})

    @admin.display(description="config")
    def config_json(self, obj: Any) -> SafeString:
        return _pretty_json(obj.config)

    @admin.action(description="Promote (serve this version now, skipping the gates)")
    def promote(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for version in queryset:
            if version.campaign is None or not version.artifact_dir:
                self.message_user(request, f"{version}: no campaign or artifacts.", messages.ERROR)
                continue
            version_promote(version=version)
            self.message_user(request, f"{version} now serves {version.campaign.slug}.")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(_VersionAdmin):
    pass


@admin.register(RewardModelVersion)
class RewardModelVersionAdmin(_VersionAdmin):
    pass


class ServingForm(forms.ModelForm):
    """The campaign's refit schedule, stored in Campaign.config["refit"] (not a column)."""

    refit_enabled = forms.BooleanField(required=False, label="Scheduled refits on")
    every_minutes = forms.IntegerField(
        min_value=1, max_value=7 * 24 * 60, label="Check every N minutes"
    )
    min_new_labels = forms.IntegerField(min_value=1, label="Only when at least M new labels")
    kinds = forms.MultipleChoiceField(
        choices=[("reward", "Reward model"), ("dpo", "DPO policy")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = CampaignServing
        fields = ("campaign",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            cfg = refit_config(self.instance.campaign)
            self.fields["campaign"].disabled = True
        else:
            cfg = refit_config(Campaign())  # defaults for a campaign not chosen yet
        self.initial.update(
            refit_enabled=cfg["enabled"],
            every_minutes=cfg["every_minutes"],
            min_new_labels=cfg["min_new_labels"],
            kinds=cfg["kinds"],
        )


@admin.register(CampaignServing)
class CampaignServingAdmin(admin.ModelAdmin):
    form = ServingForm
    list_display = ("campaign", "policy", "reward_model", "schedule", "updated_at")
    readonly_fields = ("policy", "reward_model", "updated_at", "history")
    actions = ["start_reward", "start_dpo"]

    @admin.display(description="refit schedule")
    def schedule(self, obj: CampaignServing) -> str:
        cfg = refit_config(obj.campaign)
        if not cfg["enabled"]:
            return "off"
        return f"every {cfg['every_minutes']} min, >= {cfg['min_new_labels']} new labels"

    @admin.display(description="history of versions and runs")
    def history(self, obj: CampaignServing) -> SafeString:
        hist = version_history(campaign=obj.campaign)
        rows = [
            (
                kind,
                str(v),
                v.status,
                v.data_hash[:12],
                _headline(v.metrics or {}),
                f"{v.created_at:%Y-%m-%d %H:%M}",
            )
            for kind, key in (("policy", "policies"), ("reward", "reward_models"))
            for v in hist[key]
        ]
        versions = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        )
        runs = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (r.pk, r.kind, r.status, r.data_hash[:12], f"{r.created_at:%Y-%m-%d %H:%M}")
                for r in runs_for_campaign(campaign=obj.campaign)[:30]
            ),
        )
        return format_html(
            "<table><tr><th>kind</th><th>version</th><th>status</th><th>data</th>"
            "<th>metrics</th><th>created</th></tr>{}</table><h4>Recent runs</h4>"
            "<table>{}</table>",
            versions,
            runs,
        )

    def save_model(
        self, request: HttpRequest, obj: CampaignServing, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        try:
            refit_settings_update(
                campaign=obj.campaign,
                enabled=form.cleaned_data["refit_enabled"],
                every_minutes=form.cleaned_data["every_minutes"],
                min_new_labels=form.cleaned_data["min_new_labels"],
                kinds=list(form.cleaned_data["kinds"]),
            )
        except ValidationError as exc:
            self.message_user(request, f"Schedule not saved: {exc.messages[0]}", messages.ERROR)

    def _start(self, request: HttpRequest, queryset: QuerySet[CampaignServing], kind: str) -> None:
        for serving in queryset.select_related("campaign"):
            try:
                run = training_run_enqueue(campaign=serving.campaign, kind=kind, trigger="admin")
                self.message_user(
                    request, f"Queued {kind} run {run.pk} for {serving.campaign.slug}."
                )
            except RefitAlreadyActive as exc:
                self.message_user(request, str(exc), messages.WARNING)

    @admin.action(description="Start a reward-model refit now")
    def start_reward(self, request: HttpRequest, queryset: QuerySet[CampaignServing]) -> None:
        self._start(request, queryset, "reward")

    @admin.action(description="Start a DPO refit now")
    def start_dpo(self, request: HttpRequest, queryset: QuerySet[CampaignServing]) -> None:
        self._start(request, queryset, "dpo")
