"""Staff-only analytics dashboard: htmx pages over the newest analytics snapshot.

Every figure comes from ``AnalyticsSnapshot.data`` (see annotate/analytics/README.md);
the only live queries are the freshness count, the campaign list and the texts of the
inconsistent cases on the page being shown. Anonymous users are sent to log in; signed-in
users without staff rights (annotators, researchers) get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render, resolve_url
from django.views.decorators.http import require_GET, require_POST

from annotate.input.checks import InputError, parse_int
from annotate.models import Campaign
from annotate.roles import is_admin
from annotate.selectors.analytics import (
    analytics_snapshot_latest,
    inconsistent_case_rows,
    labels_since,
)
from annotate.services.analytics import analytics_snapshot_request
from annotate.views import charts
from annotate.views.common import redirect

ANNOTATOR_COLUMNS = [
    ("annotator", "Annotator"),
    ("n_labels", "Labels"),
    ("loo_agreement", "Agrees w/ others"),
    ("kappa_mean", "Mean kappa"),
    ("rating_mad", "Rating MAD"),
    ("gold_accuracy", "Gold acc."),
    ("attention_failures", "Attention fails"),
    ("median_time_s", "Median s"),
    ("self_consistency", "Self-consistency"),
    ("consistency_rate", "Ratings vs pairs"),
]
CASES_PER_PAGE = 20
METRIC_ORDER = [
    "alpha_nominal",
    "alpha_ordinal",
    "alpha_interval",
    "alpha_ratio",
    "alpha_interval_strength",
    "fleiss_kappa",
    "percent_agreement",
    "cohen_kappa (weighted mean over pairs)",
    "cohen_kappa_quadratic (weighted mean over pairs)",
    "kendall_w",
    "alpha_ordinal_ranks",
]


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
    campaigns = list(Campaign.objects.order_by("-created_at")[:200])
    rows = [{"campaign": c, "snapshot": analytics_snapshot_latest(campaign=c)} for c in campaigns]
    return render(request, "dashboard/index.html", {"rows": rows})


def _agreement_rows(agreement: dict[str, Any], overall: str = "") -> list[dict[str, Any]]:
    """Flatten the agreement section into table rows (task type, attribute, metric)."""
    rows: list[dict[str, Any]] = []

    def add(task: str, attribute: str, block: dict[str, Any]) -> None:
        for key, fig in block.items():
            if isinstance(fig, dict) and "value" in fig:
                rows.append(
                    {
                        "task": task,
                        "attribute": attribute,
                        "metric": key,
                        "value": fig["value"],
                        "ci": fig.get("ci"),
                        "n": fig.get("n", block.get("n_items")),
                    }
                )
        kappa = block.get("cohen_kappa")
        if kappa:
            for key in ("kappa", "kappa_quadratic"):
                rows.append(
                    {
                        "task": task,
                        "attribute": attribute,
                        "metric": f"cohen_{key} (weighted mean over pairs)",
                        "value": kappa[key]["weighted_mean"],
                        "ci": kappa[key]["quartiles"],
                        "ci_is_iqr": True,
                        "n": kappa["n_pairs_min_items"],
                    }
                )

    if "pairwise" in agreement:
        add("pairwise", "choice", agreement["pairwise"])
    for attr in sorted(agreement.get("rating", {}), key=lambda a: (a != overall, a)):
        add("rating", attr, agreement["rating"][attr])
    if "ranking" in agreement:
        add("ranking", "order", agreement["ranking"])
    # JSONB does not keep key order: show measures in a fixed, readable order.
    rank = {m: i for i, m in enumerate(METRIC_ORDER)}
    task_rank = {"pairwise": 0, "rating": 1, "ranking": 2}
    rows.sort(
        key=lambda r: (
            task_rank[r["task"]],
            r["attribute"] != overall,
            r["attribute"],
            rank.get(r["metric"], len(rank)),
        )
    )
    return rows


@require_GET
@staff_required
def dashboard_campaign(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    context: dict[str, Any] = {
        "campaign": campaign,
        "snapshot": snapshot,
        "since": labels_since(campaign=campaign, snapshot=snapshot),
    }
    if snapshot is None:
        analytics_snapshot_request(campaign_id=campaign.pk)
        return render(request, "dashboard/campaign.html", context)
    data = snapshot.data
    within = data["consistency"]["within_annotator"]
    throughput = data["progress"].get("throughput", {})
    context.update(
        {
            "data": data,
            "agreement_rows": _agreement_rows(
                data.get("agreement", {}), campaign.overall_attribute
            ),
            "throughput_svg": charts.throughput_bars(
                throughput.get("series", []), throughput.get("bin")
            ),
            "confusion_svg": charts.confusion_heatmap(
                within["confusion"], within["confusion_labels"]["order"]
            ),
            "leaderboard_svg": charts.interval_plot(data["leaderboard"]["overall"]),
            "quota_svg": charts.quota_bars(data["demographics"]["cells"]),
            "group_fields": sorted(data["leaderboard"].get("per_group", {})),
            "columns": ANNOTATOR_COLUMNS,
        }
    )
    context.update(_annotator_context(request, data))
    return render(request, "dashboard/campaign.html", context)


def _annotator_context(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    rows = list(data.get("annotators", []))
    query = request.GET.get("q", "").strip().lower()[:80]
    if query:
        rows = [r for r in rows if query in r["annotator"].lower()]
    try:
        min_labels = max(parse_int(request.GET.get("min_labels") or 0, field="min_labels"), 0)
    except InputError:
        min_labels = 0
    rows = [r for r in rows if r["n_labels"] >= min_labels]
    if request.GET.get("flagged"):
        # Worth a look: failed an attention check, below 60% gold, or paused.
        rows = [
            r
            for r in rows
            if r["attention_failures"]
            or r["paused"]
            or (r["gold_accuracy"] is not None and r["gold_accuracy"] < 0.6)
        ]
    keys = {k for k, _ in ANNOTATOR_COLUMNS}
    sort = request.GET.get("sort", "n_labels")
    sort = sort if sort in keys else "n_labels"
    descending = request.GET.get("dir", "desc") != "asc"
    present = [r for r in rows if r.get(sort) is not None]
    missing = [r for r in rows if r.get(sort) is None]  # unknown values sort last
    present.sort(key=lambda r: r[sort], reverse=descending)
    return {
        "annotator_rows": (present + missing)[:500],
        "n_annotator_rows": len(rows),
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "q": query,
        "min_labels": min_labels,
        "flagged": bool(request.GET.get("flagged")),
        "columns": ANNOTATOR_COLUMNS,
    }


@require_GET
@staff_required
def dashboard_annotators(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    data = snapshot.data if snapshot else {}
    return render(
        request,
        "dashboard/_annotators.html",
        {"campaign": campaign, **_annotator_context(request, data)},
    )


@require_GET
@staff_required
def dashboard_cases(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    snapshot = analytics_snapshot_latest(campaign=campaign)
    cases = snapshot.data["consistency"]["cases"] if snapshot else []
    who = request.GET.get("annotator", "").strip()[:80]
    if who:
        cases = [c for c in cases if c["annotator"] == who]
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = inconsistent_case_rows(campaign=campaign, cases=list(page.object_list))
    return render(
        request,
        "dashboard/_cases.html",
        {"campaign": campaign, "page": page, "rows": rows, "who": who, "total": len(cases)},
    )


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
