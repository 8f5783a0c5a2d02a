"""The campaign admin's crowd links: how to point each platform at the campaign, a page
that signs links for a list of participant ids, and rotating the secret.

Everything here calls annotate.services.crowd_links; the secret itself is never shown.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from annotate.input.forms import TextField
from annotate.models import Campaign
from annotate.services.crowd_links import join_link, join_secret_rotate, platform_links
from annotate.services.onboarding import EXTERNAL_ID_RE

MAX_IDS = 10_000


class JoinLinksForm(forms.Form):
    participants = TextField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MAX_IDS * 201,
        help_text="One participant id per line (as the platform names them).",
    )
    study_id = TextField(required=False, max_length=200, label="Study id (optional)")

    def clean_participants(self) -> list[str]:
        ids = [line.strip() for line in self.cleaned_data["participants"].splitlines()]
        ids = [i for i in ids if i]
        bad = [i for i in ids if not EXTERNAL_ID_RE.match(i)]
        if bad:
            raise forms.ValidationError(
                f"Not a participant id (letters, digits and _ . : @ -, up to 200): {bad[0]!r}"
            )
        if not ids or len(ids) > MAX_IDS:
            raise forms.ValidationError(f"Give between 1 and {MAX_IDS} ids.")
        return ids


class CrowdLinksAdminMixin(admin.ModelAdmin):
    """Adds the "Crowd links" panel, the link-signing page and the rotate action."""

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The change page also shows the crowd links (templates/admin/annotate/campaign/
        change_form.html), built for the host the admin is using."""
        campaign = Campaign.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = dict(extra_context or {})
        if campaign is not None:
            extra["crowd_links"] = platform_links(
                campaign=campaign, base_url=request.build_absolute_uri("/")
            )
            extra["crowd_links_page"] = reverse(
                "admin:annotate_campaign_join_links", args=[campaign.pk]
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<int:object_id>/join-links/",
                self.admin_site.admin_view(self.join_links_view),
                name="annotate_campaign_join_links",
            )
        ]
        return own + super().get_urls()

    def join_links_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=object_id)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        form = JoinLinksForm(request.POST or None)
        links: list[tuple[str, str]] = []
        if request.method == "POST" and form.is_valid():
            base = request.build_absolute_uri("/")
            study = form.cleaned_data["study_id"]
            links = [
                (
                    pid,
                    join_link(campaign=campaign, participant_id=pid, study_id=study, base_url=base),
                )
                for pid in form.cleaned_data["participants"]
            ]
            if "csv" in request.POST:
                out = io.StringIO()
                writer = csv.writer(out)
                writer.writerow(["participant", "url"])
                writer.writerows(links)
                response = HttpResponse(out.getvalue(), content_type="text/csv")
                response["Content-Disposition"] = (
                    f'attachment; filename="{campaign.slug}-join-links.csv"'
                )
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"Crowd join links: {campaign}",
            "campaign": campaign,
            "form": form,
            "links": links,
            "opts": self.model._meta,
        }
        return render(request, "admin/annotate/campaign/join_links.html", context)

    @admin.action(description="Rotate join secret (voids every crowd link so far)")
    def rotate_join_secret(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            join_secret_rotate(campaign=campaign)
        self.message_user(
            request,
            f"{queryset.count()} campaign(s) have a new join secret; hand out new links.",
            level=messages.WARNING,
        )
