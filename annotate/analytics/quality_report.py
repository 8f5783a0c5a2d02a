"""Report sections about people and progress: annotator quality, demographics, throughput."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from . import consistency as cons
from . import quality as q
from .data import TASK_TYPES, CampaignData, FloatArray

PAIRWISE, RATING = TASK_TYPES.index("pairwise"), TASK_TYPES.index("rating")
MAX_BINS = 400


def _num(x: float) -> float | None:
    x = float(x)
    return round(x, 6) if np.isfinite(x) else None


def progress(d: CampaignData) -> dict[str, Any]:
    out: dict[str, Any] = dict(d.progress)
    by_task = np.bincount(d.label_task, minlength=len(TASK_TYPES))
    out["labels_by_task_type"] = {
        t: int(by_task[i]) for i, t in enumerate(TASK_TYPES) if by_task[i]
    }
    out["throughput"] = throughput(d.label_created)
    return out


def throughput(created: FloatArray) -> dict[str, Any]:
    """Labels per hour (spans up to 3 days), per day, or per week, zero-filled."""
    if len(created) == 0:
        return {"bin": None, "series": []}
    start, end = float(created.min()), float(created.max())
    for name, width in (("hour", 3600), ("day", 86400), ("week", 7 * 86400)):
        first = np.floor(start / width) * width
        n_bins = int((end - first) // width) + 1
        if n_bins <= MAX_BINS or name == "week":
            break
    counts = np.bincount(((created - first) // width).astype(np.int64), minlength=n_bins)
    series = [
        [datetime.fromtimestamp(first + i * width, tz=UTC).isoformat(), int(c)]
        for i, c in enumerate(counts[:MAX_BINS])
    ]
    return {"bin": name, "series": series}


def annotator_table(
    d: CampaignData,
    order: FloatArray,
    within: cons.ConsistencyResult,
    kappa_mean: FloatArray | None,
) -> list[dict[str, Any]]:
    n_ann = d.n_annotators
    ann = d.label_annotator
    n_labels = np.bincount(ann, minlength=n_ann)
    canon = d.response_canonical

    # Leave-one-out consensus over pairwise choices and overall ratings together.
    loo_n = np.zeros(n_ann, dtype=np.int64)
    loo_a = np.zeros(n_ann, dtype=np.int64)
    self_n = np.zeros(n_ann, dtype=np.int64)
    self_a = np.zeros(n_ann, dtype=np.int64)
    n_resp = max(int(canon.max(initial=0)) + 1, 1)
    if len(d.pw_label):
        lo_first = d.pw_a <= d.pw_b
        cats = 1 - np.where(lo_first, d.pw_outcome, -d.pw_outcome)
        n, a = q.loo_consensus_agreement(d.label_item[d.pw_label], ann[d.pw_label], cats, 3, n_ann)
        loo_n += n
        loo_a += a
        ca, cb = canon[d.pw_a], canon[d.pw_b]
        content = np.minimum(ca, cb) * n_resp + np.maximum(ca, cb)
        val = np.where(ca <= cb, d.pw_outcome, -d.pw_outcome)
        n, a = q.self_consistency(ann[d.pw_label], content, val, order[d.pw_label], n_ann)
        self_n += n
        self_a += a
    mad = np.full(n_ann, np.nan)
    if len(d.rt_label) and d.overall_attribute in d.attributes:
        sel = d.rt_attribute == d.attributes.index(d.overall_attribute)
        lab = d.rt_label[sel]
        units = d.label_item[lab] * max(d.n_responses, 1) + d.rt_response[sel]
        low, high = d.rating_range
        cats = np.clip(np.rint(d.rt_value[sel] - low), 0, high - low).astype(np.int64)
        n, a = q.loo_consensus_agreement(units, ann[lab], cats, high - low + 1, n_ann)
        loo_n += n
        loo_a += a
        _, mad = q.loo_rating_deviation(units, ann[lab], d.rt_value[sel], n_ann)
    if len(d.rt_label):
        n_attr = max(len(d.attributes), 1)
        content = canon[d.rt_response] * n_attr + d.rt_attribute
        n, a = q.self_consistency(ann[d.rt_label], content, d.rt_value, order[d.rt_label], n_ann)
        self_n += n
        self_a += a

    gold = d.label_gold >= 0
    gold_n = np.bincount(ann[gold], minlength=n_ann)
    gold_ok = np.bincount(ann[gold & (d.label_gold == 1)], minlength=n_ann)
    att = d.label_attention >= 0
    att_n = np.bincount(ann[att], minlength=n_ann)
    att_fail = np.bincount(ann[att & (d.label_attention == 0)], minlength=n_ann)
    med_time = q.median_by_group(ann, d.label_time_ms, n_ann) / 1000.0
    cn, ck = cons.grouped(within, np.arange(n_ann, dtype=np.int64), n_ann)

    rows = []
    for i in np.flatnonzero(n_labels):
        rows.append(
            {
                "annotator": d.annotator_names[i],
                "paused": bool(d.annotator_paused[i]) if d.annotator_paused else False,
                "n_labels": int(n_labels[i]),
                "loo_agreement": _num(loo_a[i] / loo_n[i]) if loo_n[i] else None,
                "loo_n": int(loo_n[i]),
                "rating_mad": _num(mad[i]),
                "gold_n": int(gold_n[i]),
                "gold_accuracy": _num(gold_ok[i] / gold_n[i]) if gold_n[i] else None,
                "attention_checks": int(att_n[i]),
                "attention_failures": int(att_fail[i]),
                "median_time_s": _num(med_time[i]),
                "self_consistency": _num(self_a[i] / self_n[i]) if self_n[i] else None,
                "self_n": int(self_n[i]),
                "kappa_mean": _num(kappa_mean[i]) if kappa_mean is not None else None,
                "consistency_rate": _num(ck[i] / cn[i]) if cn[i] else None,
                "consistency_n": int(cn[i]),
            }
        )
    return rows


def demographics(d: CampaignData, quotas: dict[str, Any]) -> dict[str, Any]:
    """Who labelled (annotators with at least one label), against the quota targets.

    ``quotas`` is ``Campaign.config["quotas"]``: {"fields": [profile field, ...],
    "cells": {"<value>|<value>": target count, ...}} with values joined by "|" in field
    order, e.g. {"fields": ["residence_country", "age_band"], "cells": {"GB|25-34": 10}}.
    """
    active = np.zeros(d.n_annotators, dtype=bool)
    active[d.label_annotator] = True
    composition: dict[str, dict[str, int]] = {}
    for fname, (codes, names) in d.annotator_groups.items():
        c = codes[active]
        counts = np.bincount(c[c >= 0], minlength=len(names))
        row = {names[g]: int(counts[g]) for g in np.flatnonzero(counts)}
        if (c < 0).any():
            row["unknown"] = int((c < 0).sum())
        composition[fname] = row
    fields = [f for f in (quotas or {}).get("fields", []) if isinstance(f, str)]
    raw_targets = (quotas or {}).get("cells", {}) or {}
    # Config is edited by hand: keep numeric targets only, so a typo cannot break a page.
    targets = {
        str(k): v
        for k, v in (raw_targets.items() if isinstance(raw_targets, dict) else [])
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    }
    cells: list[dict[str, Any]] = []
    if fields:
        keys: list[str] = []
        for i in np.flatnonzero(active):
            parts = []
            for fname in fields:
                if fname in d.annotator_groups:
                    codes, names = d.annotator_groups[fname]
                    g = int(codes[i])
                    parts.append(names[g] if g >= 0 else "unknown")
                else:
                    parts.append("unknown")
            keys.append("|".join(parts))
        actual: dict[str, int] = {}
        for key in keys:
            actual[key] = actual.get(key, 0) + 1
        for key in sorted(set(targets) | set(actual)):
            target = targets.get(key)
            have = actual.get(key, 0)
            cells.append(
                {
                    "cell": key,
                    "target": target,
                    "actual": have,
                    "fill": _num(have / target)
                    if isinstance(target, int | float) and target
                    else None,
                }
            )
    return {
        "n_annotators": int(active.sum()),
        "composition": composition,
        "quota_fields": fields,
        "cells": cells,
    }
