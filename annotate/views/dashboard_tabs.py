"""What each tab of a campaign's analytics dashboard shows, from the newest snapshot.

Pure functions of ``AnalyticsSnapshot.data`` (see annotate/analytics/README.md) and the
request's parameters: the view picks the tab and renders only what it needs, so a tab is
a page or two high, not one page with every table and every case.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from annotate import charts
from annotate.input.checks import InputError, parse_int
from annotate.views.dashboard_judges import judges_context

TABS = [
    ("progress", "Progress"),
    ("agreement", "Agreement"),
    ("consistency", "Ratings vs rankings"),
    ("cases", "Inconsistent cases"),
    ("annotators", "Annotator quality"),
    ("leaderboard", "Model leaderboard"),
    ("people", "Who labelled"),
    ("judges", "Judges"),
    ("routing", "Routing"),
]
TAB_KEYS = {key for key, _ in TABS}
CASES_PER_PAGE = 10
ANNOTATORS_PER_PAGE = 25
WORST_ANNOTATORS_SHOWN = 15  # on the consistency tab; all of them on "annotators"
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


def language_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per item language (the report's ``per_language``): labels, people,
    items, pairwise agreement and the top model, so languages compare at a glance."""
    rows = []
    for language, section in sorted((data.get("per_language") or {}).items()):
        items = (section.get("progress") or {}).get("items") or {}
        pairwise = (section.get("agreement") or {}).get("pairwise") or {}
        board = (section.get("leaderboard") or {}).get("overall") or []
        top = max(board, key=lambda r: r.get("rating") or 0.0) if board else None
        rows.append(
            {
                "language": language,
                "n_labels": section.get("n_labels", 0),
                "n_annotators": section.get("n_annotators", 0),
                "items_total": items.get("total"),
                "items_complete": items.get("complete"),
                "agreement": (pairwise.get("percent_agreement") or {}).get("value"),
                "top_model": top["model"] if top else None,
            }
        )
    return rows


def page_of(rows: list[Any], per_page: int, number: Any) -> Page:
    """One page of ``rows`` (a bad or out-of-range page number gives the nearest page)."""
    return Paginator(rows, per_page).get_page(number)


def tab_context(tab: str, data: dict[str, Any], overall: str) -> dict[str, Any]:
    """The figures of one tab (the SVG charts only where they are shown)."""
    if tab == "progress":
        throughput = data["progress"].get("throughput", {})
        return {
            "throughput_svg": charts.throughput_bars(
                throughput.get("series", []), throughput.get("bin")
            ),
            "language_rows": language_rows(data),
        }
    if tab == "agreement":
        return {"agreement_rows": _agreement_rows(data.get("agreement", {}), overall)}
    if tab == "consistency":
        within = data["consistency"]["within_annotator"]
        worst = sorted(
            data["consistency"].get("per_annotator", []),
            key=lambda r: (r.get("rate") is None, r.get("rate") or 0.0, -r.get("n_pairs", 0)),
        )
        return {
            "confusion_svg": charts.confusion_heatmap(
                within["confusion"], within["confusion_labels"]["order"]
            ),
            "worst_annotators": worst[:WORST_ANNOTATORS_SHOWN],
            "more_annotators": max(0, len(worst) - WORST_ANNOTATORS_SHOWN),
        }
    if tab == "leaderboard":
        return {
            "leaderboard_svg": charts.interval_plot(data["leaderboard"]["overall"]),
            "group_fields": sorted(data["leaderboard"].get("per_group", {})),
        }
    if tab == "routing":
        routing = data.get("routing") or {}  # snapshots from before issue 16 lack it
        gain = routing.get("gain") or {}
        return {
            "routing": routing,
            "gain_svg": charts.gain_scatter(routing.get("points", []), gain.get("bins", [])),
        }
    if tab == "people":
        return {"quota_svg": charts.quota_bars(data["demographics"]["cells"])}
    if tab == "judges":
        return {"judges": judges_context(data.get("judges") or {})}
    return {}


def annotator_context(request: HttpRequest, data: dict[str, Any], url: str) -> dict[str, Any]:
    """The annotators table: filtered, sorted, one page of it; ``url`` is the partial's
    address (the pager keeps the filters and the order)."""
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
    page = page_of(present + missing, ANNOTATORS_PER_PAGE, request.GET.get("page"))
    keep = {"sort": sort, "dir": "desc" if descending else "asc", "q": query}
    if min_labels:
        keep["min_labels"] = str(min_labels)
    if request.GET.get("flagged"):
        keep["flagged"] = "1"
    return {
        "annotator_page": page,
        "annotator_pager_url": f"{url}?{urlencode(keep)}&",
        "annotator_rows": list(page.object_list),
        "n_annotator_rows": len(rows),
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "q": query,
        "min_labels": min_labels,
        "flagged": bool(request.GET.get("flagged")),
        "columns": ANNOTATOR_COLUMNS,
    }
