"""Reads for the researcher page: granted campaigns with their progress, and exports.

Visibility follows the API exactly: a researcher sees the campaigns they hold a grant
for and, of exports, only their own and only while they still hold the campaign's
grant; admins see every campaign and every export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from rest_framework.authtoken.models import Token

from annotate.models import Campaign, Export, ItemStatus
from annotate.roles import is_admin
from annotate.selectors.annotations import campaigns_visible_to

EXPORTS_SHOWN = 20  # newest exports listed on the page; the API lists all of them


@dataclass(frozen=True)
class CampaignProgress:
    """A campaign with the counts of ``campaign_progress``, for one row of the table."""

    campaign: Campaign
    items: int
    open_items: int
    labels: int
    target: int  # labels wanted: the sum of the items' overlaps

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.labels / self.target)) if self.target else 0


def research_campaigns(*, user: Any) -> list[CampaignProgress]:
    """The campaigns ``user`` may read, by name, each with its progress (one query).

    Only the items relation is joined for the counts (a researcher's grant join matches
    one row per campaign: grants are unique per user), so no count is multiplied.
    """
    rows = (
        campaigns_visible_to(user)
        .annotate(
            n_items=Count("items"),
            n_open=Count("items", filter=Q(items__status=ItemStatus.OPEN)),
            n_labels=Sum("items__n_submitted"),
            n_target=Sum("items__overlap"),
        )
        .order_by("name", "pk")
    )
    return [
        CampaignProgress(
            campaign=c,
            items=int(c.n_items or 0),
            open_items=int(c.n_open or 0),
            labels=int(c.n_labels or 0),
            target=int(c.n_target or 0),
        )
        for c in rows
    ]


def exports_visible_to(*, user: Any) -> QuerySet[Export]:
    """Admins: every export. Others: their own, while they hold the campaign's grant."""
    qs = Export.objects.select_related("campaign")
    if is_admin(user):
        return qs
    return qs.filter(requested_by=user, campaign__in=campaigns_visible_to(user).values("pk"))


def research_exports(*, user: Any, limit: int = EXPORTS_SHOWN) -> list[Export]:
    """The user's own newest exports (admins too: the admin lists everyone's)."""
    own = exports_visible_to(user=user).filter(requested_by=user)
    return list(own.order_by("-created_at", "-pk")[:limit])


def research_export(*, user: Any, export_id: int) -> Export | None:
    """One export ``user`` may see, or None (another person's: answer 404)."""
    return exports_visible_to(user=user).filter(pk=export_id).first()


def api_token_for(*, user: Any) -> Token | None:
    """The user's API token, if any (its key is shown only right after creation)."""
    return Token.objects.filter(user=user).first()
