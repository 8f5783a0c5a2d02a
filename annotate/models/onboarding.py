"""Who was admitted to which campaign, and in which demographic quota cell.

A row is written once, the first time an annotator passes a campaign's eligibility and
quota checks (annotate.services.eligibility). Quota counts read these rows, so a later
profile edit never moves a participant between cells or re-opens a full one.
"""

from __future__ import annotations

from django.db import models


class CampaignAdmission(models.Model):
    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="admissions"
    )
    annotator = models.ForeignKey(
        "annotate.Annotator", on_delete=models.CASCADE, related_name="admissions"
    )
    # Quota cell key, values of Campaign.config["quotas"]["fields"] joined by "|"
    # (e.g. "GB|25-34"); empty when the campaign has no quotas.
    cell = models.CharField(max_length=200, blank=True)
    profile_version = models.ForeignKey(
        "annotate.ProfileVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    admitted_at = models.DateTimeField(auto_now_add=True)
    # Set when the participant reached the end of the campaign (completion code shown).
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "annotator"], name="admission_once_per_campaign"
            )
        ]
        indexes = [models.Index(fields=["campaign", "cell"])]

    def __str__(self) -> str:
        return f"{self.annotator_id} in {self.campaign_id} ({self.cell or 'no quota'})"
