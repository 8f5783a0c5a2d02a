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
from functools import partial
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
)

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
from annotate.selectors import export_rows
from annotate.selectors.analytics_load import (
    NO_CHOICE,
    campaign_response_facts,
    label_columns,
    positions,
    release_freed_memory,
    response_rows,
    response_rows_from_facts,
)
from annotate.selectors.read_ahead import in_background

DEFAULT_GROUP_FIELDS = ("age_band", "gender", "residence_country")
_GROUPABLE = {
    f.name
    for f in ProfileVersion._meta.get_fields()
    if getattr(f, "get_internal_type", lambda: "")() == "CharField"
    and not f.name.endswith("self_describe")
}


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


def _codes(values: Iterable[Any]) -> tuple[np.ndarray, list[str]]:
    """Dense codes for values, None/"" -> -1; names sorted for a stable display."""
    vals = list(values)
    names = sorted({str(v) for v in vals if v not in (None, "")})
    index = {n: i for i, n in enumerate(names)}
    codes = np.array(
        [index.get(str(v), -1) if v not in (None, "") else -1 for v in vals], dtype=np.int64
    )
    return codes, names


def _value_codes(values: list[Any], used_at: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Dense codes for ``values[used_at]`` (-1 entries and None/"" -> -1), names sorted.

    ``values`` is small (one per profile); ``used_at`` is long (one per label): codes
    are found for the distinct values once, then gathered with numpy.
    """
    names_all = sorted({str(v) for v in values if v not in (None, "")})
    index = {n: i for i, n in enumerate(names_all)}
    code_of = np.array(
        [index[str(v)] if v not in (None, "") else -1 for v in values] + [-1], dtype=np.int64
    )
    raw = code_of[np.where(used_at >= 0, used_at, len(values))]
    used = np.unique(raw[raw >= 0])
    remap = np.full(len(names_all) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return remap[raw], [names_all[u] for u in used]


_PAYLOAD_TASKS = ["rating", "ranking", "bws"]


def _payload_rows(campaign: Campaign, after_id: int) -> list[tuple[int, str, Any, Any]]:
    """(id, task type, payload, shown order) of rating, ranking and best-worst labels."""
    qs = Annotation.objects.filter(
        campaign=campaign, task_type__in=_PAYLOAD_TASKS, id__gt=after_id
    ).values_list("id", "task_type", "payload", "assignment__presented_order")
    if connection.vendor != "postgresql":
        return list(qs)
    return [
        (pk, task, export_rows.loads(payload), export_rows.loads(order))
        for pk, task, payload, order in export_rows.fetch(qs)
    ]


def campaign_analytics_data(
    *,
    campaign: Campaign,
    group_fields: Iterable[str] = DEFAULT_GROUP_FIELDS,
    after_id: int = 0,
    fast: bool | None = None,
) -> CampaignData:
    """The campaign's labels (those with ``id > after_id``) as ``CampaignData`` arrays.

    Pairwise labels never leave numpy (annotate.selectors.analytics_load); only rating
    and ranking payloads, whose shapes vary, are decoded in Python.
    """
    data = _campaign_data(campaign, group_fields, after_id, fast)
    release_freed_memory()  # the load's temporaries, now freed (analytics_load says why)
    return data


def _campaign_data(
    campaign: Campaign, group_fields: Iterable[str], after_id: int, fast: bool | None
) -> CampaignData:
    fields = [f for f in dict.fromkeys(group_fields) if f in _GROUPABLE]
    facts = None
    if after_id == 0 and (connection.vendor == "postgresql" if fast is None else fast):
        # A whole campaign: its responses are read in another thread while the labels
        # load (which responses the labels use is only known after), 1M labels: the
        # load's 2.7 s wall had ~1 s of this query after the labels' COPY.
        facts = in_background(partial(campaign_response_facts, campaign.pk))
    cols = label_columns(campaign=campaign, after_id=after_id, fast=fast)
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
    ann_ids, label_ann = np.unique(cols["annotator"], return_inverse=True)
    label_ann = label_ann.astype(np.int64).ravel()
    annotators = {
        pk: (name, paused, current)
        for pk, name, paused, current in Annotator.objects.filter(
            pk__in=ann_ids.tolist()
        ).values_list("id", "pseudonym", "paused", "current_profile_id")
    }
    d.annotator_names = [annotators[a][0] for a in ann_ids.tolist()]
    d.annotator_paused = [annotators[a][1] for a in ann_ids.tolist()]
    current = np.array(
        [-1 if annotators[a][2] is None else annotators[a][2] for a in ann_ids.tolist()],
        dtype=np.int64,
    )
    # Labels: the profile in force when the label was given, else the current one.
    label_profile = np.where(cols["profile"] >= 0, cols["profile"], current[label_ann])
    profile_ids = np.unique(np.r_[current, label_profile])
    profile_ids = profile_ids[profile_ids >= 0]
    profiles = {
        p["id"]: p
        for p in ProfileVersion.objects.filter(pk__in=profile_ids.tolist()).values("id", *fields)
    }
    p_keys = np.array(sorted(profiles), dtype=np.int64)
    for fname in fields:
        values = [profiles[p][fname] for p in p_keys.tolist()]
        for target, pids in ((d.annotator_groups, current), (d.label_groups, label_profile)):
            at, found = positions(p_keys, pids)
            target[fname] = _value_codes(values, np.where(found & (pids >= 0), at, -1))

    # --- labels ---
    n = len(cols["id"])
    d.label_id = cols["id"]
    d.label_annotator = label_ann
    d.label_item = cols["item"]
    d.label_task = cols["task"].astype(np.int64)
    d.label_time_ms = cols["time_ms"]
    d.label_created = cols["created"]
    # Issue 17: a label's language is its item's; items are few next to labels, so their
    # tags are read once and gathered onto the labels with numpy.
    # So are their gold and attention-check flags.
    items = list(
        Item.objects.filter(campaign=campaign).values_list(
            "id", "language", "is_gold", "is_attention_check"
        )
    )
    item_keys = np.array([row[0] for row in items], dtype=np.int64)
    at, found = positions(item_keys, cols["item"])
    d.label_language, d.language_names = _value_codes(
        [row[1] for row in items], np.where(found, at, -1)
    )
    item_gold = np.array([row[2] for row in items] + [False], dtype=bool)
    item_attention = np.array([row[3] for row in items] + [False], dtype=bool)
    at = np.where(found, at, len(items))  # a label of an unknown item: neither
    judged = cols["correct"] >= 0
    attention = judged & item_attention[at]
    gold = judged & ~attention & item_gold[at]
    d.label_attention = np.where(attention, cols["correct"], -1).astype(np.int64)
    d.label_gold = np.where(gold, cols["correct"], -1).astype(np.int64)

    # --- payloads -> pairwise / ranking / rating arrays (response ids for now) ---
    pw_at = np.flatnonzero(
        (cols["task"] == TASK_TYPES.index("pairwise"))
        & (cols["choice"] != NO_CHOICE)
        & (cols["shown_a"] >= 0)
        & (cols["shown_b"] >= 0)
    )
    rk: list[tuple[int, int, float, int]] = []
    rt: list[tuple[int, int, int, float]] = []
    bw: list[tuple[int, int, int]] = []
    attr_index = {a: i for i, a in enumerate(d.attributes)}
    # Their payloads are read only when there are some: the query scans the campaign.
    has_others = np.isin(cols["task"], [TASK_TYPES.index(t) for t in _PAYLOAD_TASKS]).any()
    others = _payload_rows(campaign, after_id) if has_others else []
    other_at, other_ok = positions(cols["id"], np.array([o[0] for o in others], dtype=np.int64))
    for i, ok, (_pk, task, payload, presented) in zip(
        other_at.tolist(), other_ok.tolist(), others, strict=True
    ):
        if not ok:  # stored after the label columns were read: the next snapshot has it
            continue
        payload = payload or {}
        if task == "ranking":
            groups = payload.get("ranking") or []
            shown = [int(x) for x in (presented or [])]
            ranks = mid_ranks([[int(x) for x in g] for g in groups])
            pos = {rid: p for p, rid in enumerate(shown)}
            for rid, rank in ranks.items():
                rk.append((i, int(rid), rank, pos.get(int(rid), len(pos) + int(rid))))
        elif task == "bws":
            best, worst = payload.get("best"), payload.get("worst")
            for rid in presented or []:
                bw.append((i, int(rid), 1 if rid == best else -1 if rid == worst else 0))
        else:
            for rid, values in (payload.get("ratings") or {}).items():
                for attr, value in (values or {}).items():
                    if attr in attr_index and isinstance(value, int | float):
                        rt.append((i, int(rid), attr_index[attr], float(value)))
    # Labels keep their (created, id) order within each kind, as the row loop gave them.
    rk.sort(key=lambda x: x[0])
    rt.sort(key=lambda x: x[0])
    bw.sort(key=lambda x: x[0])
    rk_arr = np.array(rk, dtype=np.float64).reshape(-1, 4)
    bw_arr = np.array(bw, dtype=np.float64).reshape(-1, 3)
    rt_arr = np.array(rt, dtype=np.float64).reshape(-1, 4)

    # --- responses: codes, canonical (same prompt + same text), model names ---
    resp_ids = np.unique(
        np.r_[
            cols["shown_a"][pw_at], cols["shown_b"][pw_at], rk_arr[:, 1], rt_arr[:, 1], bw_arr[:, 1]
        ]
    ).astype(np.int64)
    resp_rows = response_rows_from_facts(facts(), resp_ids) if facts is not None else None
    if resp_rows is None:
        resp_rows = response_rows(resp_ids.tolist())
    resp_keys = np.array([row[0] for row in resp_rows], dtype=np.int64)
    d.response_id = resp_keys
    d.response_canonical = positions(
        resp_keys, np.array([row[1] for row in resp_rows], dtype=np.int64)
    )[0]
    d.response_model, d.model_names = _codes([row[2] for row in resp_rows])
    del resp_rows

    a_at, a_ok = positions(resp_keys, cols["shown_a"][pw_at])
    b_at, b_ok = positions(resp_keys, cols["shown_b"][pw_at])
    keep = a_ok & b_ok
    d.pw_label = pw_at[keep]
    d.pw_a, d.pw_b = a_at[keep], b_at[keep]
    d.pw_outcome = cols["choice"][d.pw_label].astype(np.int64)
    d.pw_strength = cols["strength"][d.pw_label]
    r_at, r_ok = positions(resp_keys, rk_arr[:, 1].astype(np.int64))
    d.rk_label = rk_arr[r_ok, 0].astype(np.int64)
    d.rk_response = r_at[r_ok]
    d.rk_rank = rk_arr[r_ok, 2]
    d.rk_position = rk_arr[r_ok, 3].astype(np.int64)
    t_at, t_ok = positions(resp_keys, rt_arr[:, 1].astype(np.int64))
    d.rt_label = rt_arr[t_ok, 0].astype(np.int64)
    d.rt_response = t_at[t_ok]
    d.rt_attribute = rt_arr[t_ok, 2].astype(np.int64)
    d.rt_value = rt_arr[t_ok, 3]
    w_at, w_ok = positions(resp_keys, bw_arr[:, 1].astype(np.int64))
    d.bw_label = bw_arr[w_ok, 0].astype(np.int64)
    d.bw_response = w_at[w_ok]
    d.bw_value = bw_arr[w_ok, 2].astype(np.int64)
    assert n == len(d.label_id)
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
    # Items per language: each language's section of the report shows its own progress.
    by_language = {
        row["language"]: {"items": {"total": row["total"], "complete": row["complete"]}}
        for row in Item.objects.filter(campaign=campaign)
        .values("language")
        .annotate(total=Count("id"), complete=Count("id", filter=Q(n_submitted__gte=F("overlap"))))
        .order_by("language")
    }
    return {
        "items": {
            "total": sum(v["total"] for v in by_task.values()),
            "complete": sum(v["complete"] for v in by_task.values()),
            "by_task_type": by_task,
        },
        "by_language": by_language,
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


def labels_through(*, campaign: Campaign, max_id: int) -> int:
    """Labels of the campaign with ``id <= max_id`` (an incremental snapshot's check that
    none it counted has been deleted since)."""
    return Annotation.objects.filter(campaign=campaign, id__lte=max_id).count()


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
