"""Staff-only analytics dashboard: htmx pages over the newest analytics snapshot.

Every figure comes from ``AnalyticsSnapshot.data`` (see annotate/analytics/README.md);
the only live queries are the campaign list (one query, the newest snapshot's label
count and time joined), the freshness count and the texts of the inconsistent cases on
the page being shown. A campaign's page has one tab per section (``?tab=``, see
annotate.views.dashboard_tabs): it renders that section only. The inconsistent cases and
the annotators table page through with htmx. Anonymous users are sent to log in;
signed-in users without staff rights (annotators, researchers) get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotate import charts
from annotate.campaign_config.routing import routing_enabled
from annotate.models import Campaign
from annotate.roles import is_admin
from annotate.selectors.analytics import (
    analytics_snapshot_latest,
    dashboard_campaigns,
    inconsistent_case_rows,
    labels_since,
)
from annotate.services.analytics import analytics_snapshot_request
from annotate.services.routing import routing_plan_request
from annotate.views.common import redirect
from annotate.views.dashboard_tabs import (
    CASES_PER_PAGE,
    TAB_KEYS,
    TABS,
    annotator_context,
    page_of,
    tab_context,
)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login = resolve_url(settings.LOGIN_URL)
            return redirect(request, f"{login}?{urlencode({'next': request.get_full_path()})}")
        if not is_admin(request.user):
            raise PermissionDenied("The analytics dashboard is for staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


@require_GET
@staff_required
def dashboard_index(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/index.html", {"campaigns": dashboard_campaigns()})


@require_GET
@staff_required
def dashboard_campaign(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    tab = request.GET.get("tab", "progress")
    tab = tab if tab in TAB_KEYS else "progress"
    context: dict[str, Any] = {
        "campaign": campaign,
        "snapshot": snapshot,
        "since": labels_since(campaign=campaign, snapshot=snapshot),
        "tabs": TABS,
        "tab": tab,
        # Live, not from the snapshot: the button works as soon as routing is switched on.
        "routing_on": routing_enabled(campaign.config),
    }
    if snapshot is None:
        analytics_snapshot_request(campaign_id=campaign.pk)
        return render(request, "dashboard/campaign.html", context)
    data = snapshot.data
    context["data"] = data
    context.update(tab_context(tab, data, campaign.overall_attribute))
    if tab == "annotators":
        url = reverse("dashboard:annotators", args=[campaign.slug])
        context.update(annotator_context(request, data, url))
    elif tab == "cases":
        context.update(_cases_context(request, campaign, data))
    return render(request, "dashboard/campaign.html", context)


@require_GET
@staff_required
def dashboard_annotators(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    data = snapshot.data if snapshot else {}
    return render(
        request,
        "dashboard/_annotators.html",
        {
            "campaign": campaign,
            **annotator_context(request, data, reverse("dashboard:annotators", args=[slug])),
        },
    )


def _cases_context(
    request: HttpRequest, campaign: Campaign, data: dict[str, Any]
) -> dict[str, Any]:
    cases = data["consistency"]["cases"] if data else []
    who = request.GET.get("annotator", "").strip()[:80]
    if who:
        cases = [c for c in cases if c["annotator"] == who]
    page = page_of(cases, CASES_PER_PAGE, request.GET.get("page"))
    rows = inconsistent_case_rows(campaign=campaign, cases=list(page.object_list))
    url = reverse("dashboard:cases", args=[campaign.slug])
    return {
        "page": page,
        "rows": rows,
        "who": who,
        "total": len(cases),
        "pager_url": f"{url}?{urlencode({'annotator': who})}&" if who else f"{url}?",
    }


@require_GET
@staff_required
def dashboard_cases(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    context = _cases_context(request, campaign, snapshot.data if snapshot else {})
    return render(request, "dashboard/_cases.html", {"campaign": campaign, **context})


@require_GET
@staff_required
def dashboard_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    per_group = snapshot.data["leaderboard"].get("per_group", {}) if snapshot else {}
    field = request.GET.get("field", "")
    groups = per_group.get(field, {})
    panels = [
        {"group": g, "rows": rows, "svg": charts.interval_plot(rows)}
        for g, rows in sorted(groups.items())
    ]
    return render(
        request,
        "dashboard/_leaderboard_groups.html",
        {"campaign": campaign, "field": field, "panels": panels},
    )


@require_GET
@staff_required
def dashboard_freshness(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    shown = request.GET.get("shown", "")
    newer = snapshot is not None and str(snapshot.pk) != shown
    response = render(
        request,
        "dashboard/_freshness.html",
        {
            "campaign": campaign,
            "snapshot": snapshot,
            "since": labels_since(campaign=campaign, snapshot=snapshot),
            "newer": newer,
            "shown": shown,
        },
    )
    if newer and request.headers.get("HX-Request"):
        # Fresh figures arrived while the page was open: htmx reloads the page itself,
        # so nobody has to press a button to see them.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@staff_required
def dashboard_recompute(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    analytics_snapshot_request(campaign_id=campaign.pk, immediate=True)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    return render(
        request,
        "dashboard/_freshness.html",
        {
            "campaign": campaign,
            "snapshot": snapshot,
            "queued": True,
            "since": labels_since(campaign=campaign, snapshot=snapshot),
            "shown": request.POST.get("shown", ""),
            "newer": snapshot is not None and str(snapshot.pk) != request.POST.get("shown", ""),
        },
    )


@require_POST
@staff_required
def dashboard_routing_recompute(request: HttpRequest, slug: str) -> HttpResponse:
    """Recompute the routing plan now (on a worker); the tab shows it once the snapshot
    that follows the plan is in."""
    campaign = _campaign(slug)
    if not routing_enabled(campaign.config):
        return render(
            request,
            "dashboard/_routing_queued.html",
            {"error": "Routing is not enabled for this campaign (config key routing.enabled)."},
            status=400,
        )
    routing_plan_request(campaign=campaign, trigger="manual")
    return render(request, "dashboard/_routing_queued.html", {"campaign": campaign})
