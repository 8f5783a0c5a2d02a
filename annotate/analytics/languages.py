"""Every figure per item language: the campaign's labels cut into one ``CampaignData``
per language, each of which the whole report runs on (issue 17).

Cutting keeps the annotator and response codes as they are (their tables do not change)
and renumbers only the labels: the pairwise, ranking and rating entries of the kept
labels follow them. Pure numpy, no Django.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from .data import CampaignData, IntArray

BoolArray = npt.NDArray[np.bool_]


def _follow(label: IntArray, keep: BoolArray, new_index: IntArray) -> tuple[IntArray, BoolArray]:
    """(the kept entries' new label indexes, which entries were kept)."""
    sel = keep[label] if len(label) else np.zeros(0, dtype=bool)
    return new_index[label[sel]], sel


def subset_labels(d: CampaignData, keep: BoolArray, *, progress: dict[str, Any]) -> CampaignData:
    """``d`` restricted to the labels where ``keep`` is true (one bool per label).

    ``progress``: the database counts that belong to the subset (its items).
    """
    new_index = np.full(len(keep), -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()), dtype=np.int64)
    pw_label, pw = _follow(d.pw_label, keep, new_index)
    rk_label, rk = _follow(d.rk_label, keep, new_index)
    rt_label, rt = _follow(d.rt_label, keep, new_index)
    return dataclasses.replace(
        d,
        label_id=d.label_id[keep],
        label_annotator=d.label_annotator[keep],
        label_item=d.label_item[keep],
        label_task=d.label_task[keep],
        label_time_ms=d.label_time_ms[keep],
        label_created=d.label_created[keep],
        label_gold=d.label_gold[keep],
        label_attention=d.label_attention[keep],
        label_language=d.label_language[keep],
        label_groups={f: (codes[keep], names) for f, (codes, names) in d.label_groups.items()},
        pw_label=pw_label,
        pw_a=d.pw_a[pw],
        pw_b=d.pw_b[pw],
        pw_outcome=d.pw_outcome[pw],
        pw_strength=d.pw_strength[pw],
        rk_label=rk_label,
        rk_response=d.rk_response[rk],
        rk_rank=d.rk_rank[rk],
        rk_position=d.rk_position[rk],
        rt_label=rt_label,
        rt_response=d.rt_response[rt],
        rt_attribute=d.rt_attribute[rt],
        rt_value=d.rt_value[rt],
        progress=progress,
    )


def by_language(d: CampaignData) -> dict[str, CampaignData]:
    """{language: the labels of items in it}, for every language that has labels.

    ``d.progress["by_language"]`` (items per language, from the database) becomes each
    subset's progress, so a language's progress counts its own items.
    """
    per_language_progress = (d.progress or {}).get("by_language") or {}
    out: dict[str, CampaignData] = {}
    if len(d.label_language) != len(d.label_id):
        return out  # built without languages (older callers): nothing to split
    for code, name in enumerate(d.language_names):
        keep = d.label_language == code
        if keep.any():
            out[name] = subset_labels(d, keep, progress=per_language_progress.get(name, {}))
    return out
