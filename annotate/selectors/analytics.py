"""Reads for analytics: the ORM -> plain arrays translation, snapshots, drill-down rows.

``campaign_analytics_data`` reads a campaign's labels with a handful of queries (labels,
responses, annotators and profiles, item counts) and turns the normalised payloads
(annotate.payloads) into the arrays of ``annotate.analytics.data.CampaignData``. Nothing
else in analytics touches the ORM.

Campaign.config keys read here (all optional):
- ``analytics``: {"group_fields": [ProfileVersion field, ...] (default age_band, gender,
  residence_country), "n_boot": bootstrap resamples (default 200, 0..2000),
  "max_cases": inconsistent cases kept for the drill-down (default 500)}.
- ``quotas``: {"fields": [ProfileVersion field, ...], "cells": {"<v1>|<v2>": target}},
  target numbers of annotators per combination of field values, values joined with "|"
  in field order, e.g. {"fields": ["residence_country", "age_band"],
  "cells": {"GB|25-34": 10, "US|25-34": 10}}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import MD5

from annotate.analytics.agreement import mid_ranks
from annotate.analytics.data import TASK_TYPES, CampaignData
from annotate.analytics.report import ReportOptions
from annotate.models import (
    AnalyticsSnapshot,
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    Item,
    ProfileVersion,
    Response,
)

DEFAULT_GROUP_FIELDS = ("age_band", "gender", "residence_country")
_GROUPABLE = {
    f.name
    for f in ProfileVersion._meta.get_fields()
    if getattr(f, "get_internal_type", lambda: "")() == "CharField"
    and not f.name.endswith("self_describe")
}
_OUTCOME = {"A": 1, "tie": 0, "B": -1}


def analytics_options(campaign: Campaign) -> ReportOptions:
    """Report options from ``Campaign.config`` (unknown fields are ignored, not fatal)."""
    cfg = campaign.config.get("analytics", {}) if isinstance(campaign.config, dict) else {}
    cfg = cfg if isinstance(cfg, dict) else {}
    fields = cfg.get("group_fields", DEFAULT_GROUP_FIELDS)
    fields = (
        tuple(f for f in fields if isinstance(f, str) and f in _GROUPABLE)
        if isinstance(fields, list | tuple)
        else DEFAULT_GROUP_FIELDS
    )
    quotas = campaign.config.get("quotas", {}) if isinstance(campaign.config, dict) else {}
    quotas = quotas if isinstance(quotas, dict) else {}
    quota_fields = quotas.get("fields")
    quotas = {
        "fields": [f for f in quota_fields if isinstance(f, str) and f in _GROUPABLE]
        if isinstance(quota_fields, list)
        else [],
        "cells": quotas.get("cells") if isinstance(quotas.get("cells"), dict) else {},
    }
    n_boot = cfg.get("n_boot", 200)
    max_cases = cfg.get("max_cases", 500)
    return ReportOptions(
        n_boot=min(max(int(n_boot), 0), 2000) if isinstance(n_boot, int) else 200,
        group_fields=fields,
        quotas=quotas,
        max_cases=min(max(int(max_cases), 0), 5000) if isinstance(max_cases, int) else 500,
    )


def _float_or_nan(value: Any) -> float:
    """A JSON number read with ->> (text on PostgreSQL; SQLite may give 'null')."""
    if value is None or str(value).lower() in ("null", ""):
        return float("nan")
    return float(value)


def _model_name(endpoint: str | None, policy_version: int | None, source: str) -> str:
    if endpoint:
        return endpoint
    if policy_version is not None:
        return f"policy v{policy_version}"
    return source or "unknown"


def _codes(values: Iterable[Any]) -> tuple[np.ndarray, list[str]]:
    """Dense codes for values, None/"" -> -1; names sorted for a stable display."""
    vals = list(values)
    names = sorted({str(v) for v in vals if v not in (None, "")})
    index = {n: i for i, n in enumerate(names)}
    codes = np.array(
        [index.get(str(v), -1) if v not in (None, "") else -1 for v in vals], dtype=np.int64
    )
    return codes, names


def campaign_analytics_data(
    *, campaign: Campaign, group_fields: Iterable[str] = DEFAULT_GROUP_FIELDS
) -> CampaignData:
    fields = [f for f in dict.fromkeys(group_fields) if f in _GROUPABLE]
    # Scalars and the pairwise fields come out of the JSON in SQL (KT = ->>), so the bulk
    # of labels is never decoded in Python; only rating and ranking payloads are.
    rows = list(
        Annotation.objects.filter(campaign=campaign)
        .order_by("created_at", "id")
        .annotate(
            x_gold=KT("flags__gold_correct"),
            x_choice=KT("payload__choice"),
            x_shown_a=KT("payload__response_ids__0"),
            x_shown_b=KT("payload__response_ids__1"),
            x_strength=KT("payload__strength"),
        )
        .values_list(
            "id",
            "annotator_id",
            "item_id",
            "task_type",
            "time_spent_ms",
            "created_at",
            "profile_version_id",
            "item__is_gold",
            "item__is_attention_check",
            "x_gold",
            "x_choice",
            "x_shown_a",
            "x_shown_b",
            "x_strength",
        )
    )
    other = {
        pk: (payload, order)
        for pk, payload, order in Annotation.objects.filter(
            campaign=campaign, task_type__in=["rating", "ranking", "bws"]
        ).values_list("id", "payload", "assignment__presented_order")
    }
    d = CampaignData(
        attributes=list(campaign.rating_attributes),
        overall_attribute=campaign.overall_attribute,
        rating_range=campaign.rating_range,
        campaign={
            "id": campaign.pk,
            "slug": campaign.slug,
            "name": campaign.name,
            "overall_attribute": campaign.overall_attribute,
            "rating_scale": campaign.rating_scale,
        },
    )
    d.progress = _progress(campaign)
    # --- annotators and their profiles ---
    ann_ids = sorted({r[1] for r in rows})
    ann_index = {a: i for i, a in enumerate(ann_ids)}
    annotators = {a.pk: a for a in Annotator.objects.filter(pk__in=ann_ids)}
    d.annotator_names = [annotators[a].pseudonym for a in ann_ids]
    d.annotator_paused = [annotators[a].paused for a in ann_ids]
    profile_ids = {a.current_profile_id for a in annotators.values()} | {r[6] for r in rows}
    profiles = {
        p["id"]: p
        for p in ProfileVersion.objects.filter(pk__in=[p for p in profile_ids if p]).values(
            "id", *fields
        )
    }
    for fname in fields:
        cur = [profiles.get(annotators[a].current_profile_id, {}).get(fname) for a in ann_ids]
        d.annotator_groups[fname] = _codes(cur)
        # Labels: the profile in force when the label was given, else the current one.
        at_label = [
            profiles.get(r[6] or annotators[r[1]].current_profile_id, {}).get(fname) for r in rows
        ]
        codes, names = _codes(at_label)
        d.label_groups[fname] = (codes, names)

    # --- labels ---
    n = len(rows)
    d.label_id = np.array([r[0] for r in rows], dtype=np.int64)
    d.label_annotator = np.array([ann_index[r[1]] for r in rows], dtype=np.int64)
    d.label_item = np.array([r[2] for r in rows], dtype=np.int64)
    d.label_task = np.array(
        [TASK_TYPES.index(r[3]) if r[3] in TASK_TYPES else 0 for r in rows], dtype=np.int64
    )
    d.label_time_ms = np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float64)
    d.label_created = np.array([r[5].timestamp() for r in rows], dtype=np.float64)
    d.label_gold = np.full(n, -1, dtype=np.int64)
    d.label_attention = np.full(n, -1, dtype=np.int64)
    for i, r in enumerate(rows):
        correct = r[9]
        if correct is None or str(correct).lower() == "null":
            continue
        # PostgreSQL's ->> gives 'true'/'false'; SQLite's JSON_EXTRACT gives 1/0.
        ok = int(str(correct).lower() in ("true", "1"))
        if r[8]:
            d.label_attention[i] = ok
        elif r[7]:
            d.label_gold[i] = ok

    # --- payloads -> pairwise / ranking / rating arrays (response ids for now) ---
    pw: list[tuple[int, int, int, int, float]] = []
    rk: list[tuple[int, int, float, int]] = []
    rt: list[tuple[int, int, int, float]] = []
    bw: list[tuple[int, int, int]] = []
    attr_index = {a: i for i, a in enumerate(d.attributes)}
    for i, r in enumerate(rows):
        task = r[3]
        if task == "pairwise":
            if r[10] in _OUTCOME and r[11] is not None and r[12] is not None:
                pw.append((i, int(r[11]), int(r[12]), _OUTCOME[r[10]], _float_or_nan(r[13])))
        elif task == "ranking":
            payload, presented = other.get(r[0], ({}, []))
            groups = (payload or {}).get("ranking") or []
            shown = [int(x) for x in (presented or [])]
            ranks = mid_ranks([[int(x) for x in g] for g in groups])
            pos = {rid: p for p, rid in enumerate(shown)}
            for rid, rank in ranks.items():
                rk.append((i, int(rid), rank, pos.get(int(rid), len(pos) + int(rid))))
        elif task == "bws":
            payload, presented = other.get(r[0], ({}, []))
            best, worst = (payload or {}).get("best"), (payload or {}).get("worst")
            for rid in presented or []:
                bw.append((i, int(rid), 1 if rid == best else -1 if rid == worst else 0))
        elif task == "rating":
            payload = other.get(r[0], ({}, []))[0] or {}
            for rid, values in (payload.get("ratings") or {}).items():
                for attr, value in (values or {}).items():
                    if attr in attr_index and isinstance(value, int | float):
                        rt.append((i, int(rid), attr_index[attr], float(value)))

    # --- responses: codes, canonical (same prompt + same text), model names ---
    resp_ids = sorted(
        {x[1] for x in pw}
        | {x[2] for x in pw}
        | {x[1] for x in rk}
        | {x[1] for x in rt}
        | {x[1] for x in bw}
    )
    resp_rows = list(
        Response.objects.filter(pk__in=resp_ids)
        .annotate(text_md5=MD5("text"))
        .values_list(
            "id", "prompt_id", "text_md5", "endpoint__name", "policy_version__version", "source"
        )
        .order_by("id")
    )
    resp_index = {row[0]: i for i, row in enumerate(resp_rows)}
    d.response_id = np.array([row[0] for row in resp_rows], dtype=np.int64)
    first_of: dict[tuple[int, str], int] = {}
    d.response_canonical = np.array(
        [first_of.setdefault((row[1], row[2]), i) for i, row in enumerate(resp_rows)],
        dtype=np.int64,
    )
    models = [_model_name(row[3], row[4], row[5]) for row in resp_rows]
    d.response_model, d.model_names = _codes(models)

    pw = [x for x in pw if x[1] in resp_index and x[2] in resp_index]
    rk = [x for x in rk if x[1] in resp_index]
    rt = [x for x in rt if x[1] in resp_index]
    bw = [x for x in bw if x[1] in resp_index]
    d.bw_label = np.array([x[0] for x in bw], dtype=np.int64)
    d.bw_response = np.array([resp_index[x[1]] for x in bw], dtype=np.int64)
    d.bw_value = np.array([x[2] for x in bw], dtype=np.int64)
    d.pw_label = np.array([x[0] for x in pw], dtype=np.int64)
    d.pw_a = np.array([resp_index[x[1]] for x in pw], dtype=np.int64)
    d.pw_b = np.array([resp_index[x[2]] for x in pw], dtype=np.int64)
    d.pw_outcome = np.array([x[3] for x in pw], dtype=np.int64)
    d.pw_strength = np.array([x[4] for x in pw], dtype=np.float64)
    d.rk_label = np.array([x[0] for x in rk], dtype=np.int64)
    d.rk_response = np.array([resp_index[x[1]] for x in rk], dtype=np.int64)
    d.rk_rank = np.array([x[2] for x in rk], dtype=np.float64)
    d.rk_position = np.array([x[3] for x in rk], dtype=np.int64)
    d.rt_label = np.array([x[0] for x in rt], dtype=np.int64)
    d.rt_response = np.array([resp_index[x[1]] for x in rt], dtype=np.int64)
    d.rt_attribute = np.array([x[2] for x in rt], dtype=np.int64)
    d.rt_value = np.array([x[3] for x in rt], dtype=np.float64)
    return d


def _progress(campaign: Campaign) -> dict[str, Any]:
    by_task = {
        row["task_type"]: {
            "total": row["total"],
            "complete": row["complete"],
            "retired": row["retired"],
        }
        for row in Item.objects.filter(campaign=campaign)
        .values("task_type")
        .annotate(
            total=Count("id"),
            complete=Count("id", filter=Q(n_submitted__gte=F("overlap"))),
            retired=Count("id", filter=Q(status="retired")),
        )
        .order_by("task_type")
    }
    return {
        "items": {
            "total": sum(v["total"] for v in by_task.values()),
            "complete": sum(v["complete"] for v in by_task.values()),
            "by_task_type": by_task,
        },
        "active_assignments": Assignment.objects.filter(
            campaign=campaign, status=AssignmentStatus.ACTIVE
        ).count(),
    }


# --- snapshots and drill-down -----------------------------------------------------------


def analytics_snapshot_latest(*, campaign: Campaign) -> AnalyticsSnapshot | None:
    return (
        AnalyticsSnapshot.objects.filter(campaign=campaign).order_by("-computed_at", "-id").first()
    )


def dashboard_campaigns(*, limit: int = 200) -> list[Campaign]:
    """The newest campaigns, each annotated with its latest snapshot's label count and
    time (``snapshot_labels``, ``snapshot_at``; None before the first): one query."""
    latest = AnalyticsSnapshot.objects.filter(campaign=OuterRef("pk")).order_by(
        "-computed_at", "-id"
    )
    return list(
        Campaign.objects.annotate(
            snapshot_labels=Subquery(latest.values("n_labels")[:1]),
            snapshot_at=Subquery(latest.values("computed_at")[:1]),
        ).order_by("-created_at")[:limit]
    )


def labels_since(*, campaign: Campaign, snapshot: AnalyticsSnapshot | None) -> int:
    """Labels stored after the snapshot's newest label (0 when up to date)."""
    qs = Annotation.objects.filter(campaign=campaign)
    if snapshot is not None and snapshot.labels_until is not None:
        qs = qs.filter(created_at__gt=snapshot.labels_until)
    return qs.count()


def latest_label_time(*, campaign: Campaign) -> Any:
    return Annotation.objects.filter(campaign=campaign).aggregate(t=Max("created_at"))["t"]


def inconsistent_case_rows(
    *, campaign: Campaign, cases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The snapshot's inconsistent cases joined to prompt and response texts (2 queries)."""
    rids = {c["response_a"] for c in cases} | {c["response_b"] for c in cases}
    texts = {
        r["id"]: r
        for r in Response.objects.filter(pk__in=rids, prompt__campaign=campaign).values(
            "id", "text", "prompt__text", "prompt__messages"
        )
    }
    out = []
    for case in cases:
        a, b = texts.get(case["response_a"]), texts.get(case["response_b"])
        if a is None or b is None:
            continue  # deleted since the snapshot
        out.append(case | {"prompt": a["prompt__text"], "text_a": a["text"], "text_b": b["text"]})
    return out
