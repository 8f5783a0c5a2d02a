"""The Judges tab of the analytics dashboard (issue 16): pure functions of the snapshot's
``judges`` key (annotate/analytics/README.md), shaped for templates/dashboard/tabs/_judges.html."""

from __future__ import annotations

from typing import Any

from annotate import charts

CATEGORY_NAMES = {"pairwise": ["first", "tie", "second"]}
MEASURES = [
    ("kappa", "Cohen's kappa"),
    ("percent_agreement", "Percent agreement"),
    ("majority_accuracy", "Accuracy vs human majority"),
]


def _measure_rows(block: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, title in MEASURES:
        fig = block.get(key) or {}
        title = (
            "Quadratic-weighted kappa"
            if key == "kappa" and block.get("weighting") == "quadratic"
            else title
        )
        rows.append(
            {"measure": title, "value": fig.get("value"), "ci": fig.get("ci"), "n": fig.get("n")}
        )
    return rows


def _group_tables(task: dict[str, Any]) -> list[dict[str, Any]]:
    """One table per breakdown (profile:<field>, language) that has at least two groups."""
    tables = []
    for key in sorted(task):
        if not (key.startswith("profile:") or key == "language"):
            continue
        rows = [
            {
                "group": r["group"],
                "kappa": (r.get("kappa") or {}).get("value"),
                "ci": (r.get("kappa") or {}).get("ci"),
                "agreement": (r.get("percent_agreement") or {}).get("value"),
                "n_labels": r.get("n_labels"),
                "n_annotators": r.get("n_annotators"),
            }
            for r in task[key]
        ]
        if len(rows) >= 2:
            tables.append({"name": key.removeprefix("profile:"), "rows": rows})
    return tables


def judges_context(judges: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(judges):
        judge = judges[name]
        tasks = []
        for task_type in ("pairwise", "rating", "ranking"):
            task = (judge.get("task_types") or {}).get(task_type)
            if not task:
                continue
            overall = task.get("overall") or {}
            groups = _group_tables(task)
            kappa_rows = [
                {"label": f"{table['name']}: {r['group']}", "kappa": r["kappa"], "ci": r["ci"]}
                for table in groups
                for r in table["rows"]
            ]
            conf = overall.get("confusion") or []
            names = CATEGORY_NAMES.get(task_type) or [str(i) for i in range(len(conf))]
            tasks.append(
                {
                    "task_type": task_type,
                    "version": task.get("version"),
                    "n_labels": overall.get("n_labels"),
                    "n_items": overall.get("n_items"),
                    "measures": _measure_rows(overall | {"weighting": task.get("weighting")}),
                    "versions": task.get("versions") or [],
                    "swap": task.get("swap"),
                    "groups": groups,
                    "kappa_svg": charts.interval_plot(
                        kappa_rows, value_key="kappa", label_key="label"
                    )
                    if kappa_rows
                    else None,
                    "confusion_svg": charts.confusion_heatmap(
                        conf, names, rows_title="judge", columns_title="human"
                    )
                    if conf and len(conf) <= 12
                    else None,
                }
            )
        out.append(
            {"name": name, **{k: v for k, v in judge.items() if k != "task_types"}, "tasks": tasks}
        )
    return out
