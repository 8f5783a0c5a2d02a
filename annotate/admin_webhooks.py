"""Admin pages of the outgoing webhooks: register a URL per campaign, see every delivery.

Registering goes through annotate.webhooks.services.webhook_create (the URL's addresses
are checked now, and again at every delivery). The secret is shown read-only (the
receiver needs it to check signatures) and can be rotated. Deliveries are read-only;
"Send again" re-queues them, "Send a test event" pings a webhook.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from annotate.input.forms import TextField
from annotate.models import Webhook, WebhookDelivery
from annotate.models.webhooks import SUBSCRIBABLE, WebhookEvent
from annotate.tasks_util import enqueue
from annotate.webhook_tasks import webhook_deliver
from annotate.webhooks import network, services


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e, WebhookEvent(e).label) for e in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        initial=list(SUBSCRIBABLE),
    )
    description = TextField(max_length=200, required=False)

    class Meta:
        model = Webhook
        fields = ("campaign", "url", "description", "events", "enabled")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            network.resolve(url)
        except network.AddressRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "status", "attempts", "last_status_code", "last_error", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Recent deliveries"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).order_by("-pk")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("campaign", "url", "enabled", "event_list", "created_at")
    list_filter = ("enabled", "campaign")
    list_select_related = ("campaign",)
    readonly_fields = ("secret", "labels_cursor", "created_by", "created_at")
    actions = ("send_test_event", "rotate_secret")
    inlines = (DeliveryInline,)

    @admin.display(description="events")
    def event_list(self, obj: Webhook) -> str:
        return ", ".join(obj.events or [])

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.webhook_create(
            campaign=form.cleaned_data["campaign"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data.get("description") or "",
            created_by=request.user,
        )
        Webhook.objects.filter(pk=created.pk).update(enabled=form.cleaned_data["enabled"])
        obj.pk = created.pk

    @admin.action(description="Send a test event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for hook in queryset.select_related("campaign"):
            delivery = services.webhook_ping(webhook=hook)
            transaction.on_commit(partial(enqueue, webhook_deliver, delivery.pk))
        self.message_user(request, "Test events queued; see each webhook's deliveries.")

    @admin.action(description="Rotate secret (update the receivers)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for hook in queryset:
            services.webhook_secret_rotate(webhook=hook)
        self.message_user(request, "New secrets set.", level=messages.WARNING)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "webhook__campaign")
    list_select_related = ("webhook__campaign",)
    readonly_fields = (
        "webhook",
        "event",
        "event_id",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "last_response",
        "created_at",
        "delivered_at",
    )
    actions = ("send_again",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Send again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        ids = services.deliveries_redeliver(
            delivery_ids=list(queryset.values_list("pk", flat=True))
        )
        for pk in ids:
            transaction.on_commit(partial(enqueue, webhook_deliver, pk))
        self.message_user(request, f"{len(ids)} deliveries queued again.")
